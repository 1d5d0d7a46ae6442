package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.FaultInjector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lost work is recomputed from lineage and gives the same bits: failed task attempts in the
 * forward pass, in a backward aggregation and while a distributed gradient is materialised leave
 * values and gradients identical to a fault-free run; a task that always fails surfaces as one
 * exception naming the tape op.
 */
class FaultToleranceTest {
    private static NDArray xLocal;
    private static NDArray tLocal;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(9);
        xLocal = Np.randomNormal(0, 1, 400, 5);
        tLocal = xLocal.matmul(Np.array(1, -1, 0.5, 0, 2)).gt(0);
    }

    @AfterEach
    void noFaults() {
        FaultInjector.clear();
    }

    /**
     * Loss, gradient of w and gradient of X of logistic regression on 4 blocks; the loss is read
     * before backward when {@code lossFirst} (a forward job of its own), after it otherwise (one
     * job for the loss and w's gradient).
     */
    private static double[][] run(boolean lossFirst) {
        NDArray x = Dist.fromLocal(xLocal, 4);
        NDArray t = Dist.fromLocal(tLocal, 4);
        x.attachGrad();
        NDArray w = Np.array(0.1, 0.2, -0.3, 0.4, 0);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), t);
        }
        double value = lossFirst ? loss.item() : Double.NaN;
        loss.backward();
        return new double[][] {{lossFirst ? value : loss.item()}, w.grad().toArray(), x.grad().toArray()};
    }

    private static void assertSameBits(double[][] expected, double[][] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], "result " + i + " differs after recomputation");
        }
    }

    @Test
    void failedAttemptsInForwardBackwardAndMaterialisationChangeNothing() {
        double[][] clean = run(true);
        FaultInjector.failAttempts(Activity.Phase.FORWARD, "sum", 1, 1);
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "matmul", 2, 2);
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "store gradients", 3, 1);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        double[][] faulty = run(true);
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertSameBits(clean, faulty);
        assertEquals(1 + 2 + 1, d.failedTasks(), "the injected faults happened and were retried");
    }

    @Test
    void failedAttemptsInAFusedJobChangeNothing() {
        double[][] clean = run(false);
        assertSameBits(clean, run(true));
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "matmul", 1, 2); // the loss and w's gradient
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "store gradients", 3, 1);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        double[][] faulty = run(false);
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertSameBits(clean, faulty);
        assertEquals(2 + 1, d.failedTasks(), "the injected faults happened and were retried");
    }

    @Test
    void aTaskThatAlwaysFailsSurfacesAsOneErrorNamingTheTapeOp() {
        NDArray x = Dist.fromLocal(xLocal, 4);
        NDArray w = Np.ones(5);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).square().sum();
        }
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "matmul", 0, 100);
        var e = assertThrows(SparkJobException.class, loss::backward);
        assertTrue(e.getMessage().matches("(?s)sparkgrad backward: matmul#\\d+ -> grad of input 1 \\(in one pass with "
            + "forward: sum#\\d+\\): the Spark job failed: InjectedFault: injected fault.*"), e.getMessage());
        // Spark's own exception is the cause: the job aborted after the task's 4 attempts (local[2,4]),
        // and below it the executor's exception itself
        var spark = assertInstanceOf(org.apache.spark.SparkException.class, e.getCause());
        assertTrue(spark.getMessage().contains("failed 4 times"), spark.getMessage());
        var injected = assertInstanceOf(FaultInjector.InjectedFault.class, spark.getCause());
        assertTrue(injected.getMessage().startsWith("injected fault in 'sparkgrad backward: matmul#"), injected.getMessage());
    }

    @Test
    void blocksCachedByAnAbandonedTapeAreReleasedOnceUnreachable() throws Exception {
        var sc = SparkTests.session().sparkContext();
        java.util.Set<Object> before = new java.util.HashSet<>(
            scala.jdk.javaapi.CollectionConverters.asJava(sc.getPersistentRDDs()).keySet());
        NDArray x = Dist.fromLocal(xLocal, 4);
        NDArray w = Np.ones(5);
        w.attachGrad();
        try {
            try (var r = Autograd.record()) {
                NDArray h = x.matmul(w).tanh();
                h.sum().item(); // a forward job: a block program computes h chunk by chunk and keeps nothing
                h.toLocal(); // Spark computes h's blocks, and caches them for a backward that never comes
                throw new IllegalStateException("the user's code fails before backward");
            }
        } catch (IllegalStateException expected) {
            // the tape is abandoned
        }
        java.util.Set<Object> added = new java.util.HashSet<>(
            scala.jdk.javaapi.CollectionConverters.asJava(sc.getPersistentRDDs()).keySet());
        added.removeAll(before);
        assertEquals(2, added.size(), "x's blocks and the cached intermediate: " + added);
        x = null; // the user drops the data too
        long deadline = System.nanoTime() + 20_000_000_000L;
        java.util.Set<Object> left;
        do {
            System.gc();
            Thread.sleep(100);
            left = new java.util.HashSet<>(scala.jdk.javaapi.CollectionConverters.asJava(sc.getPersistentRDDs()).keySet());
            left.retainAll(added);
        } while (!left.isEmpty() && System.nanoTime() < deadline);
        assertEquals(java.util.Set.of(), left, "Spark's ContextCleaner released what the tape cached");
    }

    @Test
    void anExceptionInsideARecordScopeLeavesRecordingOffAndTheNextIterationWorks() {
        NDArray x = Dist.fromLocal(xLocal, 4);
        NDArray w = Np.ones(5);
        w.attachGrad();
        assertThrows(IllegalArgumentException.class, () -> {
            try (var r = Autograd.record()) {
                NDArray z = x.matmul(w);
                z.add(Np.ones(7)); // a user's shape mistake
            }
        });
        assertFalse(Autograd.isRecording());
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).sum();
        }
        loss.backward();
        assertArrayEquals(xLocal.sum(0).toArray(), w.grad().toArray(), 1e-9);
        assertEquals(0, Dist.liveBroadcasts());
    }
}
