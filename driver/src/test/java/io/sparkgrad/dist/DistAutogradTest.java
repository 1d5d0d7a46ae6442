package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.GradReq;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Autograd semantics on distributed arrays: jobs, their names, requests, generation on executors. */
class DistAutogradTest {
    private static SparkSession spark;

    @BeforeAll
    static void spark() {
        spark = SparkTests.session();
    }

    /** Records the description of every job that starts. */
    static final class Descriptions extends SparkListener {
        final List<String> seen = new CopyOnWriteArrayList<>();

        @Override
        public void onJobStart(SparkListenerJobStart e) {
            seen.add(e.properties().getProperty("spark.job.description"));
        }
    }

    @Test
    void jobsAreNamedAfterTheTapeOpAndDirection() {
        Descriptions d = new Descriptions();
        spark.sparkContext().addSparkListener(d);
        try {
            NDArray x = Dist.fromLocal(Np.arange(12.0).reshape(6, 2), 3);
            NDArray w = Np.array(1, -1);
            w.attachGrad();
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = x.matmul(w).square().sum();
            }
            loss.item(); // read before backward: a forward job of its own
            loss.backward();
            Dist.metrics().snapshot(); // drains the listener bus
            assertTrue(d.seen.stream().anyMatch(s -> s.matches("sparkgrad forward: sum#\\d+")), d.seen.toString());
            assertTrue(d.seen.stream().anyMatch(s -> s.matches("sparkgrad backward: matmul#\\d+ -> grad of input 1")),
                d.seen.toString());
        } finally {
            spark.sparkContext().removeSparkListener(d);
        }
    }

    @Test
    void eachTestOfADataDependentLoopRunsOneJob() {
        NDArray b = Dist.fromLocal(Np.array(0.5, -0.25, 1), 2);
        int tests = 0;
        Metrics.Snapshot before = Dist.metrics().snapshot();
        while (Np.linalg().norm(b).item() < 1000) {
            b = b.mul(2);
            tests++;
        }
        tests++;
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertEquals(tests, d.jobs());
    }

    @Test
    void addRequestAccumulatesDistributedGradients() {
        NDArray x = Dist.fromLocal(Np.array(1, 2, 3), 2);
        x.attachGrad(GradReq.ADD);
        for (int i = 0; i < 3; i++) {
            NDArray y;
            try (var r = Autograd.record()) {
                y = x.mul(x).sum();
            }
            y.backward();
        }
        assertTrue(x.grad().isDistributed());
        assertArrayEquals(new double[] {6, 12, 18}, x.grad().toArray());
    }

    @Test
    void retainGraphAndDetachWorkAcrossBlocks() {
        NDArray x = Dist.fromLocal(Np.array(1, 2, 3, 4), 3);
        x.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).sum();
        }
        y.backward(null, true);
        y.backward();
        assertArrayEquals(new double[] {2, 4, 6, 8}, x.grad().toArray());
        NDArray u = x.detach();
        assertTrue(u.isDistributed());
        assertFalse(u.requiresGrad());
    }

    @Test
    void localVariableGetsALocalGradientFromDistributedWork() {
        NDArray x = Dist.fromLocal(Np.array(new double[][] {{1, 2}, {3, 4}, {5, 6}}), 2);
        NDArray bias = Np.array(0.5, -0.5);
        bias.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.add(bias).square().sum();
        }
        y.backward();
        assertFalse(bias.grad().isDistributed());
        // d/db sum (x + b)^2 = 2 * column sums of (x + b)
        assertArrayEquals(new double[] {2 * (1.5 + 3.5 + 5.5), 2 * (1.5 + 3.5 + 5.5)}, bias.grad().toArray(), 1e-12);
    }

    @Test
    void randomArraysAreMadeOnTheExecutorsReproducibly() {
        NDArray a = Dist.randomNormal(7, 100, 1000, 3);
        NDArray b = Dist.randomNormal(7, 100, 1000, 3);
        NDArray c = Dist.randomNormal(8, 100, 1000, 3);
        assertEquals(10, ((DistArray) a).numBlocks());
        assertArrayEquals(a.toArray(), b.toArray());
        assertNotEquals(a.mean().item(), c.mean().item());
        assertEquals(0, a.mean().item(), 0.1);
        assertEquals(1, a.square().mean().item(), 0.1);
        NDArray u = Dist.randomUniform(3, 64, 500);
        assertTrue(u.min().item() >= 0 && u.max().item() < 1);
        assertEquals(0.5, u.mean().item(), 0.05);
    }

    @Test
    void outsideRecordingNothingIsCachedForBackward() {
        int before = spark.sparkContext().getPersistentRDDs().size();
        NDArray x = Dist.randomUniform(1, 10, 40, 2);
        double s = x.exp().sum().item();
        assertTrue(s > 0);
        assertTrue(spark.sparkContext().getPersistentRDDs().size() <= before);
    }
}
