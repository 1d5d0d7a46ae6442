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

    /** The values of {@code x}, whose blocks must all be sparse, in one job. */
    static double[] sparseValues(NDArray x, String what) {
        List<Block> blocks = ((DistArray) x).rdd().collect();
        double[] out = new double[Math.toIntExact(x.size())];
        int at = 0;
        for (Block b : blocks) {
            assertTrue(b.isSparse(), what + ": " + b);
            double[] v = b.csr().toDense();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        assertEquals(out.length, at, what + ": values");
        return out;
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
                NDArray[] want = SparkTests.logistic(local, t, w);
                NDArray[] got = SparkTests.logistic(x, td, w);
                assertClose(want[0], got[0], what + ": logistic loss");
                assertClose(want[1], got[1], what + ": logistic gradient");
                assertTrue(!got[1].isDistributed(), "the gradient of a local weight is a local (dense) array");
            }
        }
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

    /**
     * Row slices, {@code dot} with a local vector, {@code mean}, products with a sparse operand of
     * the same pattern, of another pattern and with a dense one, and the zero-preserving functions
     * equal the local engine on the dense values, keep the elementwise results in sparse blocks,
     * and so do the gradients of a dense weight through them.
     */
    @Test
    void rowSlicesProductsMeansAndZeroPreservingOpsStaySparseWithTheDenseValues() {
        int cols = 30;
        for (double density : new double[] {0, 0.001, 0.05, 0.6}) {
            for (int[] shape : new int[][] {{40, 1}, {40, 2}, {40, 7}, {6, 7}}) { // 6 rows in 7 blocks: one is empty
                int rows = shape[0];
                int blocks = shape[1];
                String what = "density " + density + ", " + rows + " rows in " + blocks + " blocks";
                long seed = rows * 11L + blocks + (long) (density * 1e4);
                NDArray a = Np.array(random(rows, cols, density, seed));
                NDArray other = Np.array(random(rows, cols, density, seed + 1));
                Np.seed(seed);
                NDArray full = Np.randomNormal(0, 1, rows, cols);
                NDArray samePattern = a.mul(full.abs().add(0.5)); // a's zeros, other values
                NDArray x = Dist.sparse(a, blocks);
                NDArray y = Dist.sparse(samePattern, blocks);
                NDArray z = Dist.sparse(other, blocks);
                NDArray d = Dist.fromLocal(full, x);

                NDArray rowSlice = x.slice(0, 1, rows - 2);
                assertArrayEquals(a.slice(0, 1, rows - 2).toArray(), sparseValues(rowSlice, what + ": x[1:-2]"),
                    what + ": x[1:-2]");
                assertArrayEquals(a.get(rows - 1).toArray(), x.get(rows - 1).toArray(), what + ": x[-1]");
                NDArray[][] sparseResults = {
                    {x.mul(y), a.mul(samePattern)}, {x.mul(z), a.mul(other)}, {x.mul(d), a.mul(full)},
                    {d.mul(x), full.mul(a)}, {x.div(d), a.div(full)}, {x.sign(), a.sign()}, {x.relu(), a.relu()},
                    {x.abs(), a.abs()}, {x.square(), a.square()}, {x.abs().sqrt(), a.abs().sqrt()},
                    {rowSlice.mul(y.slice(0, 1, rows - 2)).relu(), a.slice(0, 1, rows - 2).mul(samePattern.slice(0, 1, rows - 2)).relu()}};
                for (int k = 0; k < sparseResults.length; k++) {
                    assertSameValues(sparseResults[k][1].toArray(), sparseValues(sparseResults[k][0], what + ", result " + k),
                        what + ", result " + k);
                }
                NDArray v = Np.randomNormal(0, 1, cols);
                assertClose(a.dot(v), x.dot(v).toLocal(), what + ": x . v");
                assertClose(a.mean(), x.mean(), what + ": mean");
                assertClose(a.mean(0), x.mean(0), what + ": mean over the rows");
                assertClose(a.mean(1), x.mean(1).toLocal(), what + ": mean of each row");
                assertClose(a.mul(samePattern).mean(0), x.mul(y).mean(0), what + ": mean of x * y");

                // the gradient of a dense weight through them is the local engine's
                NDArray[] want = through(a, samePattern, full, v, rows);
                NDArray[] got = through(x, y, d, v, rows);
                assertClose(want[0], got[0], what + ": loss");
                assertClose(want[1], got[1], what + ": gradient of w");
            }
        }
    }

    /** A loss of {@code w} through a row slice, products, relu, abs and a mean; returns it and w's gradient. */
    private static NDArray[] through(NDArray x, NDArray y, NDArray d, NDArray w0, int rows) {
        NDArray w = Np.array(w0.shape(), w0.toArray());
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray s = x.slice(0, 1, rows).mul(y.slice(0, 1, rows)).relu().dot(w).sigmoid().sum();
            loss = s.add(x.mul(d).abs().matmul(w).square().mean()).add(x.sign().dot(w.square()).mean());
        }
        loss.backward();
        return new NDArray[] {loss.toLocal(), w.grad().toLocal()};
    }

    /**
     * The gradient with respect to sparse data keeps its pattern: the dense rule's gradient on the
     * non-zeros, zeros elsewhere, in sparse blocks (also accumulated with {@code GradReq.ADD}); the
     * same data in dense blocks gets the whole dense gradient.
     */
    @Test
    void aGradientWithRespectToSparseDataIsTheDenseGradientOnItsNonZeros() {
        int cols = 12;
        for (double density : new double[] {0, 0.001, 0.05, 0.6}) {
            for (int[] shape : new int[][] {{30, 1}, {30, 2}, {30, 7}, {6, 7}}) {
                int rows = shape[0];
                int blocks = shape[1];
                String what = "density " + density + ", " + rows + " rows in " + blocks + " blocks";
                NDArray a = Np.array(random(rows, cols, density, rows * 5L + blocks + (long) (density * 1e4)));
                Np.seed(blocks);
                NDArray w = Np.randomNormal(0, 1, cols);
                NDArray c = Np.randomNormal(0, 1, rows, cols);
                NDArray local = Np.array(a.shape(), a.toArray());
                local.attachGrad();
                lossOfData(local, w, c).backward();
                NDArray masked = local.grad().mul(a.abs().gt(0)); // the dense gradient on the non-zeros
                NDArray x = Dist.sparse(a, blocks);
                x.attachGrad();
                lossOfData(x, w, Dist.fromLocal(c, x)).backward();
                assertClose(masked, Np.array(x.shape(), sparseValues(x.grad(), what + ": x.grad()")), what + ": x.grad()");

                NDArray dense = Dist.fromLocal(a, blocks);
                dense.attachGrad();
                lossOfData(dense, w, Dist.fromLocal(c, dense)).backward();
                assertClose(local.grad(), dense.grad().toLocal(), what + ": the gradient of dense blocks");

                NDArray acc = Dist.sparse(a, blocks);
                acc.attachGrad(io.sparkgrad.autograd.GradReq.ADD);
                lossOfData(acc, w, Dist.fromLocal(c, acc)).backward();
                lossOfData(acc, w, Dist.fromLocal(c, acc)).backward();
                assertClose(masked.mul(2), Np.array(acc.shape(), sparseValues(acc.grad(), what + ": accumulated")),
                    what + ": accumulated twice");
            }
        }
    }

    /** A loss of the data {@code x} that fills the zeros of its gradient: sigmoid(x w), x * c, a mean. */
    private static NDArray lossOfData(NDArray x, NDArray w, NDArray c) {
        try (var r = Autograd.record()) {
            return x.matmul(w).sigmoid().sum().add(x.mul(c).sum()).add(x.square().mean());
        }
    }

    /** Equal values, but for the sign of a zero (a sparse block's zeros are +0.0; a dense kernel may make -0.0). */
    static void assertSameValues(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": lengths");
        for (int i = 0; i < want.length; i++) {
            if (!(want[i] == got[i] || Double.doubleToLongBits(want[i]) == Double.doubleToLongBits(got[i]))) {
                throw new AssertionError(what + ", element " + i + ": want " + want[i] + ", got " + got[i]);
            }
        }
    }

    /**
     * On rows so wide that not even one of them has a dense form (2^31 - 9 columns: more values
     * than a local array holds) these ops still run: on the non-zeros. An op that would fill the
     * zeros fails naming the block's shape.
     */
    @Test
    void opsOnTheNonZerosRunOnRowsWhoseDenseFormCannotExist() {
        int rows = 50;
        int cols = Integer.MAX_VALUE - 8;
        int[] ptr = new int[rows + 1];
        int[] idx = new int[2 * rows];
        double[] val = new double[2 * rows];
        for (int i = 0; i < rows; i++) {
            ptr[i + 1] = 2 * (i + 1);
            idx[2 * i] = i * 7919;
            idx[2 * i + 1] = cols - 1 - i;
            val[2 * i] = i % 5 - 2.5;
            val[2 * i + 1] = i == 3 ? 0.5 : 1;
        }
        NDArray x = Dist.sparse(rows, cols, ptr, idx, val, 2);
        double sum = 0;
        double sumSq = 0;
        double positive = 0;
        for (double v : val) {
            sum += v;
            sumSq += v * v;
            positive += Math.max(v, 0);
        }
        assertEquals(sum / ((double) rows * cols), x.mean().item(), 1e-24);
        assertEquals(sumSq, x.mul(x).abs().sum().item(), 1e-9);
        assertEquals(val[6] + val[7] + val[8] + val[9], x.slice(0, 3, 5).sum().item(), 1e-12);
        assertEquals((val[6] + val[7]) / cols, x.mean(1).toLocal().toArray()[3], 1e-24);
        assertEquals(positive, x.relu().sum(1).sum().item(), 1e-9);
        assertEquals(sumSq, x.square().mul(x.sign().square()).sum().item(), 1e-9);
        Exception e = assertThrows(Exception.class, () -> x.exp().sum().item());
        assertTrue(String.valueOf(e.getMessage()).contains(cols + ")"), e::toString);
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

    /** With key columns kept, a SparseVector column is still read into sparse blocks, each key beside its row. */
    @Test
    void aSparseVectorColumnReadWithKeysStaysSparseAndKeepsEachRowsKey() {
        StructType schema = new StructType(new StructField[] {
            new StructField("id", DataTypes.StringType, false, Metadata.empty()),
            new StructField("label", DataTypes.DoubleType, false, Metadata.empty()),
            new StructField("features", new DataIOTest.VectorUDT(), false, Metadata.empty())});
        Random r = new Random(4);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int[] idx = i % 30 == 5 ? new int[0] : new int[] {r.nextInt(400), 400 + r.nextInt(600)};
            double[] v = {r.nextGaussian(), r.nextGaussian()};
            rows.add(RowFactory.create("row" + i, (double) (i % 2), new DataIOTest.Vec(1000, idx,
                java.util.Arrays.copyOf(v, idx.length))));
        }
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(3);
        Dist.Labeled d = Dist.fromDataFrame(df, new String[] {"features"}, "label", "id");
        assertAllSparse(d.x(), "2 of 1000 a row, with keys");
        // the keys follow the rows: each row's label and vector are those of its id
        NDArray scores = d.x().matmul(Np.arange(1000.0)).add(d.y().mul(1e6));
        List<Row> out = Dist.toDataFrame(scores.toLocal(), d.keys(), "score").collectAsList();
        assertEquals(200, out.size());
        for (Row o : out) {
            Row in = rows.get(Integer.parseInt(o.getString(0).substring(3)));
            DataIOTest.Vec vec = (DataIOTest.Vec) in.get(2);
            double want = in.getDouble(1) * 1e6;
            for (int k = 0; k < vec.indices.length; k++) {
                want += vec.indices[k] * vec.values[k];
            }
            assertEquals(want, o.getDouble(1), 1e-9 * Math.abs(want) + 1e-12, o.toString());
        }
        Dist.setSparseThreshold(0);
        Dist.Labeled dense = Dist.fromDataFrame(df, new String[] {"features"}, "label", "id");
        assertArrayEquals(dense.x().toArray(), d.x().toArray(), "the dense reading's values");
        assertArrayEquals(dense.y().toArray(), d.y().toArray());
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
