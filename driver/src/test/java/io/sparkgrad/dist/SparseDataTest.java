package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sparse (CSR) blocks against the local engine on the same values: {@code X.matmul(W)},
 * {@code X.T().matmul(G)} and a logistic regression's loss and gradient, at densities 0, 0.1%, 5%
 * and 60%, with an empty row and an empty block, on 1, 2 and 7 blocks, to 1e-12 relative (the
 * sparse kernels add the non-zeros in column order, BLAS in its own); and the readers that make
 * sparse blocks (LIBSVM, a {@code SparseVector} column), whose values equal the dense reading's
 * bit for bit.
 */
class SparseDataTest {
    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    @AfterEach
    void defaults() {
        Dist.setSparseThreshold(0.25);
    }

    /** A rows x cols matrix with about {@code density} of its entries non-zero, row 1 all zeros. */
    static double[][] random(int rows, int cols, double density, long seed) {
        Random r = new Random(seed);
        double[][] d = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (i != 1 && r.nextDouble() < density) {
                    d[i][j] = Math.round(r.nextGaussian() * 1000) / 100.0;
                }
            }
        }
        return d;
    }

    static void assertClose(NDArray want, NDArray got, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        double[] w = want.toArray();
        double[] g = got.toArray();
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], g[i], 1e-12 * Math.max(1, Math.abs(w[i])), what + ", element " + i);
        }
    }

    static void assertAllSparse(NDArray x, String what) {
        for (Block b : ((DistArray) x).rdd().collect()) {
            assertTrue(b.isSparse(), what + ": " + b);
        }
    }

    @Test
    void productsAndALogisticGradientOverSparseBlocksEqualTheLocalEngine() {
        int cols = 40;
        for (double density : new double[] {0, 0.001, 0.05, 0.6}) {
            for (int[] shape : new int[][] {{60, 1}, {60, 2}, {60, 7}, {6, 7}}) { // 6 rows in 7 blocks: one is empty
                int rows = shape[0];
                int blocks = shape[1];
                String what = "density " + density + ", " + rows + " rows in " + blocks + " blocks";
                NDArray local = Np.array(random(rows, cols, density, rows * 7L + blocks + (long) (density * 1e4)));
                NDArray x = Dist.sparse(local, blocks);
                assertAllSparse(x, what);
                Np.seed(blocks);
                NDArray w = Np.randomNormal(0, 1, cols);
                NDArray wm = Np.randomNormal(0, 1, cols, 3);
                NDArray g = Np.randomNormal(0, 1, rows, 3);
                assertClose(local.matmul(w), x.matmul(w).toLocal(), what + ": X w");
                assertClose(local.matmul(wm), x.matmul(wm).toLocal(), what + ": X W");
                assertClose(local.T().matmul(g), x.T().matmul(Dist.fromLocal(g, x)).toLocal(), what + ": X^T G");

                NDArray t = Np.randomUniform(0, 1, rows).gt(0.5);
                NDArray td = Dist.fromLocal(t, blocks); // split as x: evenly
                NDArray[] want = logistic(local, t, w);
                NDArray[] got = logistic(x, td, w);
                assertClose(want[0], got[0], what + ": logistic loss");
                assertClose(want[1], got[1], what + ": logistic gradient");
                assertTrue(!got[1].isDistributed(), "the gradient of a local weight is a local (dense) array");
            }
        }
    }

    /** The loss and the weights' gradient of logistic regression with an L2 term. */
    private static NDArray[] logistic(NDArray x, NDArray t, NDArray w0) {
        NDArray w = Np.array(w0.shape(), w0.toArray());
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), t).add(w.square().sum().mul(0.01));
        }
        loss.backward();
        return new NDArray[] {loss.toLocal(), w.grad().toLocal()};
    }

    @Test
    void zeroPreservingOpsOnSparseBlocksKeepThemSparseAndOthersGiveTheDenseValues() {
        NDArray local = Np.array(random(30, 12, 0.2, 5));
        NDArray x = Dist.sparse(local, 3);
        NDArray scaled = Dist.cache(x.mul(2.5).abs().slice(1, 2, 9));
        assertAllSparse(scaled, "|2.5 x|[:, 2:9]");
        assertArrayEquals(local.mul(2.5).abs().slice(1, 2, 9).toArray(), scaled.toArray());
        NDArray filled = x.exp().add(1);
        assertArrayEquals(local.exp().add(1).toArray(), filled.toArray(), "exp fills the zeros: dense, same values");
        assertClose(local.sum(0), x.sum(0), "sum over the rows");
        assertClose(local.square().mean(), x.square().mean(), "mean of squares");
    }

    @Test
    void sparseFromCsrArraysChecksThemAndNamesTheProblem() {
        NDArray x = Dist.sparse(3, 4, new int[] {0, 2, 2, 3}, new int[] {0, 3, 1}, new double[] {1, 2, 3}, 2);
        assertArrayEquals(new double[] {1, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0}, x.toArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Dist.sparse(2, 4, new int[] {0, 2, 3}, new int[] {3, 0, 1}, new double[] {1, 2, 3}, 1));
        assertTrue(e.getMessage().startsWith("sparse: csr: row 0 has column 0 after column 3"), e.getMessage());
    }

    @Test
    void libsvmIsReadIntoSparseBlocksWithTheDenseReadingsValues() throws IOException {
        Random r = new Random(3);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            text.append(r.nextInt(2));
            if (i % 50 != 7) { // some lines hold a label alone
                int j = 0;
                while ((j += 1 + r.nextInt(60)) <= 2000) {
                    text.append(' ').append(j).append(':').append(Math.round(r.nextGaussian() * 100) / 10.0);
                }
            }
            text.append(i % 97 == 0 ? "  # a comment\n" : "\n");
        }
        text.append("1 2001:0.5\n");
        Path file = dir.resolve("data.libsvm");
        Files.writeString(file, text);
        NDArray sparse = Dist.readLibsvm(file.toString());
        assertAllSparse(sparse, "LIBSVM rows");
        Dist.setSparseThreshold(0);
        NDArray dense = Dist.readLibsvm(file.toString());
        assertArrayEquals(new long[] {401, 2002}, sparse.shape());
        assertArrayEquals(dense.toArray(), sparse.toArray(), "the values of the dense reading");
        // the features without the label stay sparse, and X w is the dense reading's
        NDArray x = Dist.cache(sparse.slice(1, 0, 2001));
        assertAllSparse(x, "the features");
        NDArray w = Np.randomNormal(0, 1, 2001);
        assertClose(dense.slice(1, 0, 2001).matmul(w).toLocal(), x.matmul(w).toLocal(), "X w");
    }

    @Test
    void aSparseVectorColumnStaysSparseBelowTheThresholdAndDenseAbove() {
        StructType schema = new StructType(new StructField[] {
            new StructField("label", DataTypes.DoubleType, false, Metadata.empty()),
            new StructField("features", new DataIOTest.VectorUDT(), false, Metadata.empty())});
        Random r = new Random(8);
        List<Row> rows = new ArrayList<>();
        List<Row> denser = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int[] idx = i % 40 == 3 ? new int[0] : new int[] {r.nextInt(300), 300 + r.nextInt(300), 600 + r.nextInt(400)};
            double[] v = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            rows.add(RowFactory.create((double) (i % 3), new DataIOTest.Vec(1000, idx, java.util.Arrays.copyOf(v, idx.length))));
            denser.add(RowFactory.create((double) i, new DataIOTest.Vec(4, new int[] {0, 1, 3}, v)));
        }
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(3);
        Dataset<Row> dense4 = spark.createDataFrame(denser, schema).coalesce(2);
        NDArray x = Dist.fromDataFrame(df, Dist.Blocking.SOURCE_PARTITIONS, "features");
        NDArray xy = Dist.fromDataFrame(df, Dist.Blocking.SOURCE_PARTITIONS, "label", "features");
        assertAllSparse(x, "3 of 1000 a row");
        assertAllSparse(xy, "the label and 3 of 1000 a row");
        NDArray moved = Dist.fromDataFrame(df, "features"); // 3 partitions re-blocked into 1 block
        assertEquals(1, ((DistArray) moved).numBlocks());
        assertAllSparse(moved, "re-blocked rows");
        assertArrayEquals(x.toArray(), moved.toArray());
        NDArray four = Dist.fromDataFrame(dense4, "features");
        for (Block b : ((DistArray) four).rdd().collect()) {
            assertTrue(!b.isSparse(), "3 of 4 a row is dense: " + b);
        }
        Dist.setSparseThreshold(0);
        assertArrayEquals(Dist.fromDataFrame(df, Dist.Blocking.SOURCE_PARTITIONS, "features").toArray(), x.toArray());
        assertArrayEquals(Dist.fromDataFrame(df, Dist.Blocking.SOURCE_PARTITIONS, "label", "features").toArray(),
            xy.toArray());
        assertArrayEquals(Dist.fromDataFrame(dense4, "features").toArray(), four.toArray());
    }
}
