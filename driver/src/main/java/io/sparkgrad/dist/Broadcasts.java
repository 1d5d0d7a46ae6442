package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The life of the broadcasts that carry large local operands to the executors. A broadcast
 * shipped by a forward op is released when the op's graph is freed; one shipped during a backward
 * walk is released when the walk ends; one read by a single aggregation job is released after it.
 * Releasing unpersists the executors' copies; a task that still needs the value fetches it again
 * from the driver, and Spark's ContextCleaner destroys it once no RDD refers to it.
 */
final class Broadcasts {
    private Broadcasts() {}

    private static final Map<Broadcast<Block>, Boolean> LIVE = Collections.synchronizedMap(new WeakHashMap<>());
    private static final ThreadLocal<List<Broadcast<Block>>> IN_BACKWARD = ThreadLocal.withInitial(ArrayList::new);

    static {
        Autograd.onBackwardEnd(Broadcasts::backwardEnded);
    }

    static Broadcast<Block> create(Block value) {
        Broadcast<Block> b = JavaSparkContext.fromSparkContext(Dist.session().sparkContext()).broadcast(value);
        LIVE.put(b, Boolean.TRUE);
        Dist.metrics().broadcastCreated();
        String activity = Autograd.activity();
        if (activity != null && activity.startsWith("backward")) {
            IN_BACKWARD.get().add(b);
        }
        return b;
    }

    static void release(Broadcast<Block> b) {
        if (LIVE.remove(b) != null) {
            b.unpersist(false);
        }
    }

    private static void backwardEnded() {
        List<Broadcast<Block>> made = IN_BACKWARD.get();
        made.forEach(Broadcasts::release);
        made.clear();
    }

    /** Returns how many broadcasts sparkgrad made that are not released yet. */
    static int live() {
        return LIVE.size();
    }
}
