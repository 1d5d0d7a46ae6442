package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Layouts under the user's control: distributed operands with the same rows in different blocks
 * are moved into one layout (a shuffle by row range that the job names) rather than refused, and
 * a local array can be split like a distributed one.
 */
class LayoutTest {
    private static SparkSession spark;
    private static final int ROWS = 11;
    private static NDArray xl;
    private static NDArray yl;

    @BeforeAll
    static void data() {
        spark = SparkTests.session();
        Np.seed(5);
        xl = Np.randomNormal(0, 1, ROWS, 3);
        yl = Np.randomNormal(0, 1, ROWS, 3);
    }

    @Test
    void operandsInDifferentBlocksGiveTheLocalValuesAndGradients() {
        for (int[] blocks : new int[][] {{3, 5}, {1, 7}, {14, 2}}) { // 14 blocks of 11 rows: some empty
            NDArray a = Dist.fromLocal(xl, blocks[0]);
            NDArray b = Dist.fromLocal(yl, blocks[1]);
            assertArrayEquals(xl.add(yl).toArray(), a.add(b).toArray(), 0.0, "add, blocks " + blocks[0] + "/" + blocks[1]);

            double[][] local = lossAndGradients(xl.mul(1), yl.mul(1));
            double[][] dist = lossAndGradients(a, b);
            for (int i = 0; i < local.length; i++) {
                assertArrayEquals(local[i], dist[i], 1e-12, "result " + i + ", blocks " + blocks[0] + "/" + blocks[1]);
            }
        }
    }

    /** The loss sum(a * b + a^2) and the gradients of a and b; each gradient keeps its variable's blocks. */
    private static double[][] lossAndGradients(NDArray a, NDArray b) {
        a.attachGrad();
        b.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = a.mul(b).add(a.square()).sum();
        }
        loss.backward();
        if (a.isDistributed()) {
            assertEquals(((DistArray) a).layout(), ((DistArray) a.grad()).layout());
            assertEquals(((DistArray) b).layout(), ((DistArray) b.grad()).layout());
        }
        return new double[][] {{loss.item()}, a.grad().toArray(), b.grad().toArray()};
    }

    @Test
    void theJobThatMovesRowsSaysSo() {
        DistAutogradTest.Descriptions jobs = new DistAutogradTest.Descriptions();
        spark.sparkContext().addSparkListener(jobs);
        try {
            NDArray a = Dist.fromLocal(xl, 2);
            NDArray b = Dist.fromLocal(yl.slice(1, 0, 1), 4); // narrower: its rows move
            assertEquals(xl.mul(yl.slice(1, 0, 1)).sum().item(), a.mul(b).sum().item(), 1e-12);
            Dist.metrics().snapshot();
            assertTrue(jobs.seen.stream().anyMatch(d -> d.matches("sparkgrad forward: sum.*; moves rows: re-block \\(4 -> 2 blocks\\)")),
                jobs.seen.toString());
        } finally {
            spark.sparkContext().removeSparkListener(jobs);
        }
    }

    @Test
    void aLocalArraySplitLikeADistributedOneMovesNothing() {
        DistArray a = Dist.fromLocal(xl, 3);
        DistArray b = Dist.fromLocal(yl, a);
        assertEquals(a.layout(), b.layout());
        DistAutogradTest.Descriptions jobs = new DistAutogradTest.Descriptions();
        spark.sparkContext().addSparkListener(jobs);
        try {
            assertEquals(xl.sub(yl).sum().item(), a.sub(b).sum().item(), 1e-12);
            Dist.metrics().snapshot();
            assertTrue(jobs.seen.stream().noneMatch(d -> d.contains("moves rows")), jobs.seen.toString());
        } finally {
            spark.sparkContext().removeSparkListener(jobs);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.fromLocal(Np.zeros(4, 3), a));
        assertTrue(e.getMessage().contains("11 rows"), e.getMessage());
    }

    @Test
    void movedRowsKeepTheirValuesBitForBitAndTheirOrder() {
        NDArray big = Np.randomNormal(0, 1, 1_000, 2);
        DistArray from = Dist.fromLocal(big, 7);
        for (int n : new int[] {1, 3, 7, 64}) {
            DistArray moved = DistBackend.reblock(from, Layout.even(1_000, n, new int[] {2}));
            assertEquals(n, moved.numBlocks());
            assertArrayEquals(big.toArray(), moved.toArray(), 0.0, n + " blocks");
            assertEquals(List.of(), moved.rdd().collect().stream()
                .filter(blk -> blk.rowStart() != moved.layout().rowStart(blk.index())).toList());
        }
    }

    @Test
    void operandsWithDifferentRowCountsAreRefusedNamingBoth() {
        NDArray a = Dist.fromLocal(xl, 2);
        NDArray b = Dist.fromLocal(Np.zeros(4, 3), 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("(11, 3)") && e.getMessage().contains("(4, 3)"), e.getMessage());
    }
}
