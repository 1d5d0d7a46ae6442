package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Block programs: an aggregation job runs the row-local ops between its reductions and the cached
 * blocks a chunk of rows at a time. The chunk size changes only the order in which partials are
 * added: values agree with whole-block execution and with the local engine within 1e-12, and
 * repeat bit for bit.
 */
class BlockProgramTest {
    private static final int N = 2_003; // blocks of 401 and 400 rows: chunks rarely divide them
    private static final int D = 5;
    private static final int K = 3;

    private static NDArray xLocal;
    private static NDArray yBinary;
    private static NDArray yClass;
    private static NDArray x;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(21);
        xLocal = Np.randomNormal(0, 1, N, D);
        yBinary = xLocal.matmul(Np.randomNormal(0, 1, D)).add(Np.randomNormal(0, 1, N)).gt(0);
        NDArray scores = xLocal.matmul(Np.randomNormal(0, 1, D, K)).add(Np.randomNormal(0, 1, N, K));
        NDArray best = scores.max(1, true);
        yClass = scores.eq(best).mul(Np.arange(K)).sum(1);
        x = Dist.cache(Dist.fromLocal(xLocal, 5));
    }

    @AfterEach
    void restore() {
        Dist.setBlockPrograms(true);
        Dist.setProgramChunkBytes(16L << 20);
    }

    /** The loss and the gradients of {@code params}, read after backward. */
    private static double[][] run(Function<NDArray[], NDArray> loss, NDArray... params) {
        NDArray[] p = new NDArray[params.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Np.array(params[i].toArray()).reshape(params[i].shape());
            p[i].attachGrad();
        }
        NDArray l;
        try (var r = Autograd.record()) {
            l = loss.apply(p);
        }
        l.backward();
        double[][] out = new double[p.length + 1][];
        out[0] = new double[] {l.item()};
        for (int i = 0; i < p.length; i++) {
            out[i + 1] = p[i].grad().toArray();
        }
        return out;
    }

    private static void assertClose(double[][] expected, double[][] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                double scale = Math.max(1, Math.abs(expected[i][j]));
                assertEquals(expected[i][j], actual[i][j], 1e-12 * scale, what + ": result " + i + "[" + j + "]");
            }
        }
    }

    /** Runs {@code loss} over the distributed data with whole blocks, and with chunks of several sizes. */
    private static void checkChunking(String name, Function<NDArray[], NDArray> dist, Function<NDArray[], NDArray> local,
                                      NDArray... params) {
        double[][] expected = run(local, params);
        Dist.setBlockPrograms(false);
        double[][] wholeBlocks = run(dist, params);
        assertClose(expected, wholeBlocks, name + ", op by op");
        Dist.setBlockPrograms(true);
        for (long bytes : new long[] {1, 8 * D * 7, 8 * D * 64, 256L << 10}) { // 1, 7, 64 rows, the whole block
            Dist.setProgramChunkBytes(bytes);
            double[][] chunked = run(dist, params);
            assertClose(expected, chunked, name + ", chunks of " + bytes + " bytes");
            double[][] again = run(dist, params);
            for (int i = 0; i < chunked.length; i++) {
                assertArrayEquals(chunked[i], again[i], 0.0, name + ": a repeat gives the same bits");
            }
        }
    }

    @Test
    void logisticRegressionChunkByChunkAgreesWithWholeBlocksAndTheLocalEngine() {
        NDArray t = Dist.fromLocal(yBinary, 5);
        Np.seed(3);
        checkChunking("logistic",
            p -> Np.binaryCrossEntropyWithLogits(x.matmul(p[0]).add(p[1]), t),
            p -> Np.binaryCrossEntropyWithLogits(xLocal.matmul(p[0]).add(p[1]), yBinary),
            Np.randomNormal(0, 0.5, D), Np.scalar(0.1));
    }

    @Test
    void softmaxAndAnMlpChunkByChunkAgreeWithWholeBlocksAndTheLocalEngine() {
        NDArray oneHotLocal = yClass.reshape(-1, 1).eq(Np.arange(K));
        NDArray oneHot = Dist.fromLocal(oneHotLocal, 5);
        Np.seed(4);
        checkChunking("softmax",
            p -> x.matmul(p[0]).add(p[1]).logSoftmax(1).mul(oneHot).sum(1).neg().mean(),
            p -> xLocal.matmul(p[0]).add(p[1]).logSoftmax(1).mul(oneHotLocal).sum(1).neg().mean(),
            Np.randomNormal(0, 0.5, D, K), Np.zeros(K));
        checkChunking("mlp",
            p -> x.matmul(p[0]).tanh().matmul(p[1]).relu().logSoftmax(1).mul(oneHot).sum(1).neg().mean()
                .add(x.matmul(p[0]).square().max(0).sum()),
            p -> xLocal.matmul(p[0]).tanh().matmul(p[1]).relu().logSoftmax(1).mul(oneHotLocal).sum(1).neg().mean()
                .add(xLocal.matmul(p[0]).square().max(0).sum()),
            Np.randomNormal(0, 0.5, D, 8), Np.randomNormal(0, 0.5, 8, K));
    }

    @Test
    void aRowSliceAndACachedIntermediateAreReadAsBlocksInsideTheProgram() {
        // the row slice is not row-local (it cuts blocks), and the cached scores are in memory:
        // both enter the program as blocks that Spark makes, and the rest runs chunk by chunk
        NDArray cachedScores = Dist.cache(x.matmul(Np.full(new int[] {D}, 0.3)));
        NDArray scoresLocal = xLocal.matmul(Np.full(new int[] {D}, 0.3));
        Np.seed(5);
        checkChunking("slice",
            p -> x.slice(0, 150, 1900).matmul(p[0]).tanh().sum().add(cachedScores.mul(p[1]).sigmoid().sum()),
            p -> xLocal.slice(0, 150, 1900).matmul(p[0]).tanh().sum().add(scoresLocal.mul(p[1]).sigmoid().sum()),
            Np.randomNormal(0, 0.5, D), Np.scalar(0.7));
        ((DistArray) cachedScores).rdd().unpersist(false);
    }

    @Test
    void opsCompiledIntoAProgramNeverBecomeRdds() {
        NDArray t = Dist.fromLocal(yBinary, 5);
        var jsc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(SparkTests.session().sparkContext());
        for (int rep = 0; rep < 2; rep++) {
            int first = jsc.emptyRDD().id();
            // a dozen ops on distributed rows, forward and backward
            run(p -> Np.binaryCrossEntropyWithLogits(x.matmul(p[0]).add(p[1]).tanh().mul(3), t), Np.full(new int[] {D}, 0.2),
                Np.scalar(0.1));
            int made = jsc.emptyRDD().id() - first - 1;
            assertEquals(3, made, "the leaves zipped (2) and the program (1), whatever the number of ops");
        }
    }

    @Test
    void blocksWithNoRowsGiveTheIdentitiesOfTheirReductions() {
        NDArray small = Dist.fromLocal(xLocal.slice(0, 0, 3), 5); // 3 rows over 5 blocks
        Dist.setProgramChunkBytes(8);
        assertEquals(5, ((DistArray) small).numBlocks());
        assertArrayEquals(xLocal.slice(0, 0, 3).max(0).toArray(), small.max(0).toArray(), 0.0);
        assertArrayEquals(xLocal.slice(0, 0, 3).min(0).toArray(), small.min(0).toArray(), 0.0);
        assertEquals(xLocal.slice(0, 0, 3).tanh().sum().item(), small.tanh().sum().item(), 1e-12);
    }

    @Test
    void aLossOverFreshlyComputedBlocksCostsOneStageAndLeavesNothingCached() {
        NDArray t = Dist.fromLocal(yBinary, 5); // data: cached as it is made
        java.util.Set<Object> before = new java.util.HashSet<>(
            scala.jdk.javaapi.CollectionConverters.asJava(SparkTests.session().sparkContext().getPersistentRDDs()).keySet());
        Metrics.Snapshot m0 = Dist.metrics().snapshot();
        double[][] r = run(p -> Np.binaryCrossEntropyWithLogits(x.matmul(p[0]), t), Np.full(new int[] {D}, 0.2));
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(m0);
        assertEquals(1, d.jobs());
        assertEquals(1, d.stages());
        assertEquals(5, d.tasks(), "one task per block, each running the whole program");
        double[][] local = run(p -> Np.binaryCrossEntropyWithLogits(xLocal.matmul(p[0]), yBinary), Np.full(new int[] {D}, 0.2));
        assertClose(local, r, "logistic");
        java.util.Set<Object> after = new java.util.HashSet<>(
            scala.jdk.javaapi.CollectionConverters.asJava(SparkTests.session().sparkContext().getPersistentRDDs()).keySet());
        after.removeAll(before);
        var all = scala.jdk.javaapi.CollectionConverters.asJava(SparkTests.session().sparkContext().getPersistentRDDs());
        assertEquals(java.util.Set.of(), after, "what the tape marked for backward is released with it: "
            + after.stream().map(all::get).map(String::valueOf).toList() + " before " + before);
    }
}
