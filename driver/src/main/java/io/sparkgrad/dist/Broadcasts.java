package io.sparkgrad.dist;

import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockProgram;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * How the local operands of kernels reach the executors, and for how long. An op keeps its local
 * operands as snapshots ({@link Block}s on the driver); only when Spark work is made from the op
 * does each become what tasks receive: the block itself, inside the task, when small, or a Spark
 * broadcast above {@link Dist#broadcastThreshold()}. Every broadcast belongs to a {@link Scope}:
 * <ul>
 *   <li>the scope of one job's block program, destroyed as soon as the job ends (MLlib's
 *       {@code RDDLossFunction} does the same with its coefficients);</li>
 *   <li>the scope of one node's RDD, which lives as long as the RDD may be recomputed: released
 *       (the executors' copies dropped; a task that needs the value fetches it again) when the
 *       graph that made it is freed, and destroyed by Spark's ContextCleaner once unreachable.</li>
 * </ul>
 */
final class Broadcasts {
    private Broadcasts() {}

    private static final Set<Broadcast<Block>> LIVE = Collections.synchronizedSet(
        Collections.newSetFromMap(new WeakHashMap<>()));
    // the ids of the last broadcasts made, for tests that look for them in Spark's block managers
    private static final java.util.ArrayDeque<Long> RECENT = new java.util.ArrayDeque<>();
    private static final int RECENT_KEPT = 10_000;

    /** The broadcasts made for one purpose, released or destroyed together. */
    static final class Scope implements AutoCloseable {
        private final SparkContext sc;
        private final Map<Block, Broadcast<Block>> made = new IdentityHashMap<>();

        Scope(SparkContext sc) {
            this.sc = sc;
        }

        /** Returns what tasks receive for a local operand: the block, or its broadcast (made once per scope). */
        synchronized Object ship(Object value) {
            if (!(value instanceof Block)) {
                return value;
            }
            Block b = (Block) value;
            if (8L * b.dataRef().length <= Dist.broadcastThreshold()) {
                return b;
            }
            return made.computeIfAbsent(b, v -> {
                Broadcast<Block> bc = JavaSparkContext.fromSparkContext(sc).broadcast(v);
                LIVE.add(bc);
                synchronized (RECENT) {
                    if (RECENT.size() == RECENT_KEPT) {
                        RECENT.removeFirst();
                    }
                    RECENT.addLast(bc.id());
                }
                Dist.metrics().broadcastCreated();
                return bc;
            });
        }

        /** Returns {@code k} with its local operands as tasks receive them (itself when none changes). */
        BlockProgram.Kernel ship(BlockProgram.Kernel k) {
            Object[] shipped = k.shipped();
            Object[] out = null;
            for (int i = 0; i < shipped.length; i++) {
                Object s = ship(shipped[i]);
                if (s != shipped[i]) {
                    if (out == null) {
                        out = shipped.clone();
                    }
                    out[i] = s;
                }
            }
            return out == null ? k
                : new BlockProgram.Kernel(k.kind(), k.fn(), k.gen(), out, k.rowShape(), k.axis(), k.combine());
        }

        /** Drops the executors' copies; a task that still needs a value fetches it again from the driver. */
        synchronized void release() {
            for (Broadcast<Block> b : made.values()) {
                if (LIVE.remove(b)) {
                    b.unpersist(false);
                }
            }
        }

        /** Destroys every broadcast of the scope: for work that is over and cannot be recomputed. */
        @Override
        public synchronized void close() {
            for (Broadcast<Block> b : made.values()) {
                LIVE.remove(b);
                b.destroy(false);
            }
            made.clear();
        }

    }

    /** Returns the ids of the last (up to 10,000) broadcasts sparkgrad made, oldest first. */
    static List<Long> recentIds() {
        synchronized (RECENT) {
            return new ArrayList<>(RECENT);
        }
    }

    /** Returns how many broadcasts sparkgrad made that are neither released nor destroyed. */
    static int live() {
        return LIVE.size();
    }
}
