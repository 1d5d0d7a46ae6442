package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code take} (a gather of rows) and {@code scatterAdd} (its gradient) with every placement of
 * table, indices and values, against the local engine.
 */
class DistGatherTest {
    private static final int V = 7; // rows of the table
    private static final int D = 3;
    private static final int N = 20; // rows of the data

    private static NDArray tableL;
    private static NDArray idxL;
    private static NDArray featL;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(11);
        tableL = Np.randomNormal(0, 1, V, D);
        idxL = Np.randomUniform(0, V, N).floor();
        featL = Np.randomNormal(0, 1, N, D);
    }

    /** An embedding model's loss and the gradients of its table and its features. */
    private static double[][] embedding(NDArray table, NDArray idx, NDArray feat) {
        table.attachGrad();
        feat.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray e = table.take(idx);                    // (N, D): a row of the table per row of data
            loss = e.mul(feat).sum(1).tanh().square().mean();
        }
        loss.backward();
        return new double[][] {{loss.item()}, table.grad().toArray(), feat.grad().toArray()};
    }

    private static void assertSame(double[][] expected, double[][] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], 1e-12, what + ", result " + i);
        }
    }

    @Test
    void anEmbeddingLookupFromAColumnOfTheDataRunsInOneJobPerGradient() {
        double[][] local = embedding(tableL.mul(1), idxL, featL.mul(1));
        NDArray idx = Dist.fromLocal(idxL, 3);
        NDArray feat = Dist.fromLocal(featL, 3); // the rows of the indices
        NDArray table = tableL.mul(1);
        double[][] dist = embedding(table, idx, feat);
        assertSame(local, dist, "local table, distributed indices");
        assertFalse(table.grad().isDistributed(), "a local table's gradient is local");
        assertTrue(feat.grad().isDistributed());
        // a training step: the loss and the table's gradient (scatter-added per block) in one job
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = table.take(idx).mul(feat).sum(1).tanh().square().mean();
        }
        loss.backward();
        table.assign(table.sub(table.grad().mul(0.1)));
        assertEquals(local[0][0], loss.item(), 1e-12);
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertEquals(2, d.jobs(), "one job for the loss and the table gradient, one caching the features' gradient");
    }

    @Test
    void aDistributedTableGatheredByLocalIndicesKeepsItsGradientInItsBlocks() {
        double[][] local = embedding(tableL.mul(1), idxL, featL.mul(1));
        for (int blocks : new int[] {1, 3, 9}) { // 9 blocks of 7 rows: some empty
            NDArray table = Dist.fromLocal(tableL, blocks);
            double[][] dist = embedding(table, idxL, featL.mul(1));
            assertSame(local, dist, blocks + " blocks of the table");
            assertTrue(table.grad().isDistributed(), "the gradient of a distributed table stays distributed");
            assertEquals(blocks, ((DistArray) table.grad()).numBlocks());
        }
    }

    @Test
    void bothDistributedJoinByRowAndTheDriverNeverHoldsTheTable() {
        double[][] local = embedding(tableL.mul(1), idxL, featL.mul(1));
        long limit = Dist.maxLocalBytes();
        for (int tb : new int[] {1, 3, 9}) { // 9 blocks of 7 rows: some empty
            for (int ib : new int[] {1, 4}) {
                NDArray table = Dist.fromLocal(tableL, tb);
                NDArray idx = Dist.fromLocal(idxL, ib);
                NDArray feat = Dist.fromLocal(featL, ib);
                double loss;
                try {
                    Dist.setMaxLocalBytes(8L * V * D - 1); // collecting the table would fail
                    table.attachGrad();
                    feat.attachGrad();
                    NDArray l;
                    try (var r = Autograd.record()) {
                        l = table.take(idx).mul(feat).sum(1).tanh().square().mean();
                    }
                    l.backward();
                    loss = l.item();
                } finally {
                    Dist.setMaxLocalBytes(limit);
                }
                String what = tb + " table blocks, " + ib + " blocks of indices";
                assertEquals(local[0][0], loss, 1e-12, what);
                assertArrayEquals(local[1], table.grad().toArray(), 1e-12, what);
                assertArrayEquals(local[2], feat.grad().toArray(), 1e-12, what);
                assertEquals(tb, ((DistArray) table.grad()).numBlocks(), "the table's gradient is summed in its blocks");
            }
        }
    }

    @Test
    void aJoinedGatherKeepsTheIndicesShapeAndBlocks() {
        NDArray idx2 = Np.array(new int[] {6, 2}, new double[] {6, 0, -1, 3, 3, 3, 0, 0, -7, 2, 5, 4});
        for (int tb : new int[] {1, 2, 7}) {
            DistArray got = (DistArray) Dist.fromLocal(tableL, tb).take(Dist.fromLocal(idx2, 4));
            assertArrayEquals(new long[] {6, 2, 3}, got.shape());
            assertEquals(4, got.numBlocks(), "blocked like the indices");
            assertArrayEquals(tableL.take(idx2).toArray(), got.toArray(), 0.0, tb + " table blocks");
        }
        NDArray vector = Np.arange(10).mul(1.5); // a table of scalars: a weight vector
        NDArray picks = Np.array(9, 0, 0, 4, -1);
        assertArrayEquals(vector.take(picks).toArray(),
            Dist.fromLocal(vector, 3).take(Dist.fromLocal(picks, 2)).toArray(), 0.0);
    }

    @Test
    void scatterAddIntoADistributedArraySumsInTheLocalOrderToTheBit() {
        Np.seed(5);
        NDArray idx = Np.randomUniform(0, 5, 400).floor();       // many repeats of each row
        NDArray val = Np.randomNormal(0, 1, 400, 2).mul(Np.randomNormal(0, 5, 400, 2).exp()); // magnitudes 1e-6..1e6
        double[] expected = Np.scatterAdd(Np.zeros(9, 2), idx, val).toArray();
        // the sums' rounding depends on their order: added backwards, they differ
        double[] backwards = new double[18];
        double[] i = idx.toArray();
        double[] v = val.toArray();
        for (int k = i.length - 1; k >= 0; k--) {
            backwards[2 * (int) i[k]] += v[2 * k];
            backwards[2 * (int) i[k] + 1] += v[2 * k + 1];
        }
        assertFalse(java.util.Arrays.equals(expected, backwards), "a test of the order needs sums that depend on it");
        for (int lb : new int[] {1, 4}) {
            for (int ib : new int[] {1, 3, 8}) {
                NDArray got = Np.scatterAdd(Dist.fromLocal(Np.zeros(9, 2), lb), Dist.fromLocal(idx, ib),
                    Dist.fromLocal(val, 5)); // the values in other blocks: moved to the indices' first
                assertTrue(got.isDistributed());
                assertEquals(lb, ((DistArray) got).numBlocks());
                assertArrayEquals(expected, got.toArray(), 0.0, lb + " blocks, " + ib + " blocks of indices");
            }
        }
    }

    @Test
    void aJoinedGatherNamesAnIndexOutOfRangeInOneLine() {
        NDArray table = Dist.fromLocal(tableL, 2);
        SparkJobException e = assertThrows(SparkJobException.class,
            () -> table.take(Dist.fromLocal(Np.array(1, 2, 0, 7.5), 2)).sum().item());
        String m = e.getMessage();
        assertTrue(m.contains("take: index 7.5 (position 3 of the indices) is not an integer"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void aColumnBlockedTableIsGatheredInEachBlock() {
        NDArray wide = Dist.fromLocal(tableL.T(), 2).T(); // (7, 3) split into blocks of columns
        assertEquals(1, ((DistArray) wide).layout().axis());
        NDArray idx2 = Np.array(new int[] {2, 2}, new double[] {6, 0, -1, 3});
        NDArray got = wide.take(idx2);
        assertArrayEquals(new long[] {2, 2, 3}, got.shape());
        assertArrayEquals(tableL.take(idx2).toArray(), got.toArray(), 0.0);
        assertEquals(2, ((DistArray) got).layout().axis(), "blocked along the table's columns");
    }

    @Test
    void scatterAddGivesTheLocalValuesWithEveryPlacement() {
        NDArray like = Np.zeros(V, D);
        NDArray expected = Np.scatterAdd(like, idxL, featL);
        NDArray[] likes = {like, Dist.fromLocal(Np.zeros(V, D), 3)};
        for (NDArray l : likes) {
            for (int ib = 0; ib <= 1; ib++) {
                for (int vb = 0; vb <= 1; vb++) {
                    NDArray idx = ib == 0 ? idxL : Dist.fromLocal(idxL, 3);
                    NDArray val = vb == 0 ? featL : Dist.fromLocal(featL, 4);
                    NDArray r = Np.scatterAdd(l, idx, val);
                    String what = "like " + (l.isDistributed() ? "distributed" : "local") + ", indices " + ib + ", values "
                        + vb;
                    assertEquals(l.isDistributed(), r.isDistributed(), what);
                    assertArrayEquals(expected.toArray(), r.toArray(), 1e-12, what);
                }
            }
        }
    }

    @Test
    void secondOrderThroughAGatherOfDistributedIndices() {
        NDArray idx = Dist.fromLocal(idxL, 3);
        double[] localHv = hessianVector(tableL.mul(1), idxL);
        assertArrayEquals(localHv, hessianVector(tableL.mul(1), idx), 1e-12);
    }

    /** The Hessian of sum(take(t, idx)^3) times ones: 6 * count(row) * t. */
    private static double[] hessianVector(NDArray t, NDArray idx) {
        t.attachGrad();
        NDArray hv;
        try (var r = Autograd.record()) {
            NDArray g = Autograd.grad(List.of(t.take(idx).mul(t.take(idx)).mul(t.take(idx)).sum()), List.of(t), null,
                true, true).get(0);
            hv = Autograd.grad(List.of(g.sum()), List.of(t), null, false, false).get(0);
        }
        return hv.toArray();
    }

    @Test
    void anIndexThatNamesNoRowFailsTheJobWithOneLine() {
        NDArray bad = Dist.fromLocal(Np.array(1, 2, 7, 0), 2);
        SparkJobException e = assertThrows(SparkJobException.class, () -> tableL.take(bad).sum().item());
        String m = e.getMessage();
        assertTrue(m.contains("take: index 7 is out of range for an axis of length 7"), m);
        assertFalse(m.contains("\n"), m);
        IllegalArgumentException local = assertThrows(IllegalArgumentException.class,
            () -> Dist.fromLocal(tableL, 2).take(Np.array(0, -8)));
        assertTrue(local.getMessage().contains("index -8 (position 1 of the indices)"), local.getMessage());
    }

    /**
     * A join's result is made once per step: with the loss read before or after backward, the
     * step reads the shuffles of one gather and one scatter-add; the loss read after backward
     * comes from the blocks the gradients' job cached (the tape releases them only after the
     * gradients are stored and the pending loss is read from them).
     */
    @Test
    void aJoinedGatherReadsItsShuffleOncePerStepWhenTheLossIsReadAfterBackward() {
        double[][] local = embedding(tableL.mul(1), idxL, featL.mul(1));
        NDArray table = Dist.fromLocal(tableL, 3);
        NDArray idx = Dist.cache(Dist.fromLocal(idxL, 4));
        NDArray feat = Dist.cache(Dist.fromLocal(featL, 4));
        try {
            long gather = shuffleRecords(() -> table.take(idx).toArray());
            long scatter = shuffleRecords(() -> Np.scatterAdd(table, idx, feat).toArray());
            assertTrue(gather > 0 && scatter > 0, gather + " and " + scatter + " records");
            for (boolean lossFirst : new boolean[] {true, false}) {
                table.attachGrad();
                double[] value = new double[1];
                long[] lossJobs = new long[1];
                long records = shuffleRecords(() -> {
                    NDArray loss;
                    try (var r = Autograd.record()) {
                        loss = table.take(idx).mul(feat).sum(1).tanh().square().mean();
                    }
                    value[0] = lossFirst ? loss.item() : Double.NaN;
                    loss.backward();
                    table.grad().toArray();
                    Metrics.Snapshot before = Dist.metrics().snapshot();
                    if (!lossFirst) {
                        value[0] = loss.item();
                    }
                    lossJobs[0] = Dist.metrics().snapshot().minus(before).jobs();
                });
                String what = lossFirst ? "loss read first" : "loss read after backward";
                assertEquals(local[0][0], value[0], 1e-12, what);
                assertArrayEquals(local[1], table.grad().toArray(), 1e-12, what);
                assertEquals(gather + scatter, records, what + ": shuffle records read by the step");
                assertEquals(0, lossJobs[0], what + ": jobs left for the loss");
            }
        } finally {
            ((DistArray) idx).rdd().unpersist(false);
            ((DistArray) feat).rdd().unpersist(false);
        }
    }

    /** The records that the jobs of {@code step} read from shuffles. */
    private static long shuffleRecords(Runnable step) {
        var sc = Dist.session().sparkContext();
        java.util.concurrent.atomic.AtomicLong records = new java.util.concurrent.atomic.AtomicLong();
        org.apache.spark.scheduler.SparkListener counter = new org.apache.spark.scheduler.SparkListener() {
            @Override
            public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
                if (e.taskMetrics() != null) {
                    records.addAndGet(e.taskMetrics().shuffleReadMetrics().recordsRead());
                }
            }
        };
        Dist.waitForListeners();
        sc.addSparkListener(counter);
        try {
            step.run();
            Dist.waitForListeners();
            return records.get();
        } finally {
            sc.removeSparkListener(counter);
        }
    }
}
