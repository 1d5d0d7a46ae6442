package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.GradReq;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.SparkContext;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BroadcastBlockId;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * "Nothing leaks" where something is cached for real: with block programs off, the recorded
 * reductions' operands become RDDs cached for backward; every local operand travels as a
 * broadcast; the data {@code x} is itself a variable whose distributed gradient is cached when
 * backward ends; and each iteration walks a retained graph twice. Spark's own books are read:
 * {@code SparkContext.getPersistentRDDs} for cached RDDs, and the block manager master for the
 * pieces of sparkgrad's broadcasts. Each iteration must have created cached RDDs and broadcasts,
 * and must leave no cached RDD but x's gradient; once the driver has collected its garbage, the
 * broadcasts still held are those the lineage of x's current gradient reads, however many
 * iterations ran.
 */
class CachedTrainingLeakTest {
    static final int ITERATIONS = 6;

    static Set<Integer> persistedRdds(SparkContext sc) {
        return new TreeSet<>(scala.jdk.javaapi.CollectionConverters.asJava(sc.getPersistentRDDs()).keySet()
            .stream().map(k -> (Integer) k).toList());
    }

    /**
     * sparkgrad's broadcasts from id {@code since} on of which some block manager still holds a
     * piece (Spark's own, the stages' task binaries, go when the ContextCleaner sees them unreachable).
     */
    static Set<Long> broadcastsHeld(long since) {
        Set<Long> ours = new HashSet<>(Broadcasts.recentIds());
        scala.Function1<BlockId, Object> recent = id -> id instanceof BroadcastBlockId
            && ((BroadcastBlockId) id).broadcastId() >= since && ours.contains(((BroadcastBlockId) id).broadcastId());
        Set<Long> ids = new HashSet<>();
        for (BlockId id : scala.jdk.javaapi.CollectionConverters.asJava(
            org.apache.spark.SparkEnv.get().blockManager().master().getMatchingBlockIds(recent, true))) {
            ids.add(((BroadcastBlockId) id).broadcastId());
        }
        return ids;
    }

    /** The held broadcasts once unreachable RDDs had a chance to be cleaned (ContextCleaner, after GC). */
    static Set<Long> broadcastsHeldAfterGc(long since) throws InterruptedException {
        Set<Long> held = broadcastsHeld(since);
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(200);
            Set<Long> now = broadcastsHeld(since);
            if (now.equals(held) && i >= 2) {
                break;
            }
            held = now;
        }
        return held;
    }

    static NDArray loss(NDArray x, NDArray t, NDArray w) {
        NDArray h = x.matmul(w);
        return Np.binaryCrossEntropyWithLogits(h, t).add(x.square().mean().mul(0.01)).add(h.tanh().max());
    }

    /** Trains {@code iterations} steps with x's gradient kept as {@code req} asks; returns the broadcasts left after GC. */
    static Set<Long> train(GradReq req, int iterations) throws Exception {
        SparkContext sc = SparkTests.session().sparkContext();
        boolean programs = Dist.blockPrograms();
        long threshold = Dist.broadcastThreshold();
        Dist.setBlockPrograms(false);
        Dist.setBroadcastThreshold(0);
        try {
            Np.seed(8);
            NDArray xl = Np.randomNormal(0, 1, 300, 4);
            NDArray tl = xl.matmul(Np.array(1, -2, 0.5, 0)).gt(0);
            NDArray x = Dist.fromLocal(xl, 3);
            NDArray t = Dist.fromLocal(tl, 3);
            x.attachGrad(req);
            NDArray w = Np.zeros(4);
            w.attachGrad();
            // the same training on local arrays: the reference for the gradients
            NDArray xr = xl.mul(1.0);
            xr.attachGrad(req);
            NDArray wr = Np.zeros(4);
            wr.attachGrad();

            Set<Integer> before = persistedRdds(sc);
            long since = sc.broadcast(0, scala.reflect.ClassTag$.MODULE$.apply(Integer.class)).id() + 1;
            long made = Dist.metrics().snapshot().broadcasts();
            for (int it = 0; it < iterations; it++) {
                NDArray l;
                try (var r = Autograd.record()) {
                    l = loss(x, t, w);
                }
                l.backward(null, true);
                Set<Integer> held = persistedRdds(sc);
                held.removeAll(before);
                assertTrue(held.size() >= 2, "iteration " + it + ": the retained graph holds the blocks cached for "
                    + "backward, and x's gradient is cached: " + held);
                assertFalse(broadcastsHeld(since).isEmpty(), "iteration " + it + ": broadcasts were made");
                l.backward(); // the second walk frees the graph
                w.assign(w.sub(w.grad().mul(0.5)));

                NDArray lr;
                try (var r = Autograd.record()) {
                    lr = loss(xr, tl, wr);
                }
                lr.backward(null, true);
                lr.backward();
                wr.assign(wr.sub(wr.grad().mul(0.5)));

                Set<Integer> left = persistedRdds(sc);
                left.removeAll(before);
                assertTrue(left.size() <= 1, "iteration " + it + " left cached RDDs besides x's gradient: " + left);
                assertEquals(lr.item(), l.item(), 1e-12, "iteration " + it + ": the local run's loss");
            }
            assertArrayEquals(wr.toArray(), w.toArray(), 1e-12, "the weights of the local run");
            double[] gx = x.grad().toArray();
            double[] gr = xr.grad().toArray();
            for (int i = 0; i < gr.length; i++) {
                assertEquals(gr[i], gx[i], 1e-12 * Math.max(1, Math.abs(gr[i])), "x's gradient, element " + i);
            }
            assertTrue(Dist.metrics().snapshot().broadcasts() - made >= 2L * iterations, "every iteration made broadcasts");
            return broadcastsHeldAfterGc(since);
        } finally {
            Dist.setBlockPrograms(programs);
            Dist.setBroadcastThreshold(threshold);
        }
    }

    @Test
    void trainingThatCachesForBackwardKeepsOnlyTheCurrentGradientsRddAndBroadcasts() throws Exception {
        Set<Long> held = train(GradReq.WRITE, ITERATIONS);
        // measured: 9, the broadcasts of w that the lineage of x's last gradient reads (17 per iteration are made)
        assertTrue(held.size() <= 20, "broadcasts held by Spark's block managers after " + ITERATIONS + " iterations: "
            + held);
    }

    /**
     * A distributed variable whose gradient accumulates keeps the lineage of every earlier backward:
     * its new gradient is the old one plus this backward's, computed from the old blocks, so the
     * broadcasts every earlier iteration's gradient read stay alive (found by issue 19's leak test:
     * 6 iterations left 96 of sparkgrad's broadcasts live after GC, 17 more per iteration, where
     * {@link GradReq#WRITE} leaves 9). With a checkpoint directory, every
     * {@link Settings#checkpointInterval()} assigns cut that lineage: the broadcasts held are those
     * since the last checkpoint, however many iterations ran, and the values stay the local run's.
     */
    @Test
    void anAccumulatedDistributedGradientKeepsOnlyTheBroadcastsSinceItsLastCheckpoint(@TempDir Path dir)
            throws Exception {
        SparkContext sc = SparkTests.session().sparkContext();
        int interval = Dist.settings().checkpointInterval();
        sc.setCheckpointDir(dir.toString());
        Dist.settings().setCheckpointInterval(2);
        try {
            Set<Long> held = train(GradReq.ADD, ITERATIONS);
            assertTrue(held.size() <= 20, "broadcasts held by Spark's block managers after " + ITERATIONS
                + " iterations: " + held.size());
            try (var files = Files.walk(dir)) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("part-")),
                    "the gradient's blocks were checkpointed");
            }
        } finally {
            sc.setCheckpointDir(null);
            Dist.settings().setCheckpointInterval(interval);
        }
    }
}
