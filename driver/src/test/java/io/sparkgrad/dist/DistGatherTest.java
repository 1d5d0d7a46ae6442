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
    void bothDistributedCollectsTheTableWhenItFitsAndOtherwiseSaysWhatToChange() {
        double[][] local = embedding(tableL.mul(1), idxL, featL.mul(1));
        NDArray idx = Dist.fromLocal(idxL, 2);
        assertSame(local, embedding(Dist.fromLocal(tableL, 2), idx, Dist.fromLocal(featL, 2)), "both distributed");
        long limit = Dist.maxLocalBytes();
        try {
            Dist.setMaxLocalBytes(100);
            NDArray table = Dist.fromLocal(tableL, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> table.take(idx));
            String m = e.getMessage();
            assertTrue(m.startsWith("take: ") && m.contains("(7, 3)") && m.contains("(20,)")
                && m.contains("Dist.setMaxLocalBytes"), m);
        } finally {
            Dist.setMaxLocalBytes(limit);
        }
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
}
