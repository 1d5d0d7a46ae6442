package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused plan: a loss over distributed rows, read after its backward, costs one Spark job for
 * the loss and every gradient of its local parameters, with the values of the unfused plan bit for
 * bit and those of the local engine within 1e-12. The models are written as plain user code.
 */
class FusedExecutionTest {
    private static final int N = 3_000;
    private static final int D = 6;
    private static final int K = 3;

    private static NDArray xLocal;
    private static NDArray yBinary;
    private static NDArray yReal;
    private static NDArray yClass;
    private static NDArray x;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(7);
        xLocal = Np.randomNormal(0, 1, N, D);
        NDArray score = xLocal.matmul(Np.randomNormal(0, 1, D, K));
        yBinary = score.slice(1, 0, 1).reshape(-1).add(Np.randomNormal(0, 1, N)).gt(0);
        yReal = score.slice(1, 1, 2).reshape(-1).add(Np.randomNormal(0, 0.1, N));
        // the class with the largest noisy score
        NDArray noisy = score.add(Np.randomNormal(0, 1, N, K));
        NDArray best = noisy.max(1, true);
        yClass = noisy.slice(1, 1, 2).eq(best.reshape(-1, 1)).reshape(-1)
            .add(noisy.slice(1, 2, 3).eq(best.reshape(-1, 1)).reshape(-1).mul(2));
        x = Dist.cache(Dist.fromLocal(xLocal, 5));
    }

    @AfterEach
    void restore() {
        Dist.setFusion(true);
        Dist.setAggregationFanIn(64);
        Dist.setTreeAggregationBytes(32L << 20);
    }

    /** A model as user code: parameters, labels, and the loss. */
    private record Model(String name, List<int[]> shapes, NDArray labels,
                         BiFunction<NDArray, NDArray[], NDArray> scores, Loss loss) {}

    @FunctionalInterface
    private interface Loss {
        NDArray of(NDArray scores, NDArray labels);
    }

    private static NDArray oneHot(NDArray labels) {
        return labels.reshape(-1, 1).eq(Np.arange(K));
    }

    private static List<Model> models() {
        Loss logistic = (z, y) -> z.softplus().sub(z.mul(y)).mean();
        Loss squares = (z, y) -> z.sub(y).square().mean().mul(0.5);
        Loss crossEntropy = (s, y) -> s.logSoftmax(1).mul(oneHot(y)).sum(1).neg().mean();
        return List.of(
            new Model("logistic", List.of(new int[] {D}, new int[0]), yBinary,
                (xs, p) -> xs.matmul(p[0]).add(p[1]), logistic),
            new Model("linear", List.of(new int[] {D}, new int[0]), yReal,
                (xs, p) -> xs.matmul(p[0]).add(p[1]), squares),
            new Model("softmax", List.of(new int[] {D, K}, new int[] {K}), yClass,
                (xs, p) -> xs.matmul(p[0]).add(p[1]), crossEntropy),
            new Model("two-layer MLP", List.of(new int[] {D, 8}, new int[] {8}, new int[] {8, K}, new int[] {K}), yClass,
                (xs, p) -> xs.matmul(p[0]).add(p[1]).relu().matmul(p[2]).add(p[3]), crossEntropy),
            new Model("two-layer MLP with a data-dependent branch",
                List.of(new int[] {D, 8}, new int[] {8}, new int[] {8, K}, new int[] {K}), yClass,
                (xs, p) -> {
                    NDArray h = xs.matmul(p[0]).add(p[1]);
                    if (h.max().item() > 1e6) { // Java control flow on a value of the data
                        h = h.div(1e6);
                    }
                    return h.relu().matmul(p[2]).add(p[3]);
                }, crossEntropy));
    }

    /** Loss and gradients, read after backward as a training loop does. */
    private static double[][] lossAndGradients(Model m, NDArray data, NDArray labels) {
        Np.seed(11);
        NDArray[] p = new NDArray[m.shapes().size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = Np.randomNormal(0, 0.3, m.shapes().get(i));
            p[i].attachGrad();
        }
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = m.loss().of(m.scores().apply(data, p), labels).add(p[0].square().sum().mul(0.01));
        }
        loss.backward();
        double[][] out = new double[p.length + 1][];
        out[0] = new double[] {loss.item()};
        for (int i = 0; i < p.length; i++) {
            out[i + 1] = p[i].grad().toArray();
        }
        return out;
    }

    @Test
    void everyModelCostsOneJobPerLossAndGradientWithTheUnfusedValuesBitForBit() {
        for (Model m : models()) {
            NDArray labels = Dist.fromLocal(m.labels(), 5);
            Dist.setFusion(false);
            double[][] unfused = lossAndGradients(m, x, labels);
            Dist.setFusion(true);
            lossAndGradients(m, x, labels); // warm
            Metrics.Snapshot before = Dist.metrics().snapshot();
            double[][] fused = lossAndGradients(m, x, labels);
            Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
            double[][] local = lossAndGradients(m, xLocal, m.labels());

            // a value the model's own code asks for (h.max().item()) needs a job of its own
            long expected = m.name().endsWith("branch") ? 2 : 1;
            assertEquals(expected, d.jobs(), m.name() + ": Spark jobs for the loss and all its gradients");
            assertEquals(expected, d.stages(), m.name() + ": one stage each, a pass over the cached blocks");
            for (int i = 0; i < fused.length; i++) {
                assertArrayEquals(unfused[i], fused[i], 0.0, m.name() + ": result " + i + " fused vs unfused");
                for (int j = 0; j < fused[i].length; j++) {
                    double scale = Math.max(1, Math.abs(local[i][j]));
                    assertEquals(local[i][j], fused[i][j], 1e-12 * scale, m.name() + ": result " + i + "[" + j + "] vs local");
                }
            }
        }
    }

    @Test
    void theReadmeTrainingLoopOverParquetCostsOneJobPerIteration(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        NDArray table = Np.concat(List.of(xLocal.slice(1, 0, 3), yBinary.reshape(-1, 1)), 1);
        Dist.fromLocal(table, 3).writeParquet(tmp.resolve("points.parquet").toString());

        NDArray data = Dist.readParquet(tmp.resolve("points.parquet").toString(), "c0", "c1", "c2", "c3");
        NDArray xs = data.slice(1, 0, 3);
        NDArray t = data.slice(1, 3, 4).reshape(-1);
        NDArray w = Np.zeros(3);
        w.attachGrad();
        NDArray wLocal = Np.zeros(3);
        wLocal.attachGrad();
        for (int it = 0; it < 3; it++) {
            Metrics.Snapshot before = Dist.metrics().snapshot();
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = Np.binaryCrossEntropyWithLogits(xs.matmul(w), t);
            }
            loss.backward();
            w.assign(w.sub(w.grad().mul(0.5)));
            double value = loss.item();
            assertEquals(1, Dist.metrics().snapshot().minus(before).jobs(), "iteration " + it);

            NDArray lossLocal;
            try (var r = Autograd.record()) {
                lossLocal = Np.binaryCrossEntropyWithLogits(table.slice(1, 0, 3).matmul(wLocal), yBinary);
            }
            lossLocal.backward();
            wLocal.assign(wLocal.sub(wLocal.grad().mul(0.5)));
            assertEquals(lossLocal.item(), value, 1e-12);
            assertArrayEquals(wLocal.toArray(), w.toArray(), 1e-12);
        }
    }

    @Test
    void aLossReadBeforeBackwardRunsItsOwnJobAndTheGradientsAnother() {
        NDArray w = Np.full(new int[] {D}, 0.1);
        w.attachGrad();
        NDArray labels = Dist.fromLocal(yReal, 5);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).sub(labels).square().mean();
        }
        assertTrue(loss instanceof LocalArray && ((LocalArray) loss).isPending(), "nothing has run yet");
        assertEquals(0, Dist.metrics().snapshot().minus(before).jobs());
        double value = loss.item();
        assertEquals(1, Dist.metrics().snapshot().minus(before).forwardJobs());
        loss.backward();
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertEquals(1, d.backwardJobs());
        assertEquals(2, d.jobs());
        NDArray expected = xLocal.matmul(Np.full(new int[] {D}, 0.1)).sub(yReal).square().mean();
        assertEquals(expected.item(), value, 1e-12 * Math.abs(value));
    }

    @Test
    void pendingReductionsOfAForwardRunTogetherWhenTheFirstIsRead() {
        NDArray sum = x.sum(0);
        NDArray max = x.max();
        NDArray sumOfSquares = x.square().sum();
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray meanOfSums = sum.mean(); // local ops on pending values stay pending
        assertEquals(0, Dist.metrics().snapshot().minus(before).jobs());
        assertEquals(xLocal.sum(0).mean().item(), meanOfSums.item(), 1e-12);
        assertEquals(1, Dist.metrics().snapshot().minus(before).jobs());
        assertEquals(xLocal.max().item(), max.item());
        assertEquals(xLocal.square().sum().item(), sumOfSquares.item(), 1e-9);
        assertEquals(1, Dist.metrics().snapshot().minus(before).jobs(), "the other two came with the first");
    }

    @Test
    void aggregationsOverDifferentBlocksInOneJobKeepTheirOwnPartials() {
        // 12 blocks of 250 rows and 12 blocks of 100 rows: two groups of partials, each combined
        // through the same tree (fan-in 3: 12 -> 4 -> driver), joined into one job
        NDArray other = Np.randomNormal(0, 1, 1_200, D);
        NDArray a = Dist.fromLocal(xLocal, 250);
        NDArray b = Dist.fromLocal(other, 100);
        Dist.setTreeAggregationBytes(0);
        Dist.setAggregationFanIn(3);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray sumA = a.sum(0);
        NDArray sumB = b.square().sum(0);
        assertArrayEquals(other.square().sum(0).toArray(), sumB.toArray(), 1e-9);
        assertArrayEquals(xLocal.sum(0).toArray(), sumA.toArray(), 1e-9);
        assertEquals(1, Dist.metrics().snapshot().minus(before).jobs());
    }

    @Test
    void treeAggregationIsDeterministicAndAgreesWithTheDirectCombine() {
        NDArray x23 = Dist.cache(Dist.fromLocal(xLocal, 23));
        NDArray w = Np.full(new int[] {D}, 0.2);
        double[] direct = x23.T().matmul(x23.matmul(w).tanh()).toArray();
        double directSum = x23.sum().item();
        Dist.setTreeAggregationBytes(0); // partials this small go to the driver unless told otherwise
        for (int fanIn : new int[] {2, 3, 5}) {
            Dist.setAggregationFanIn(fanIn);
            Metrics.Snapshot before = Dist.metrics().snapshot();
            double[] tree = x23.T().matmul(x23.matmul(w).tanh()).toArray();
            double treeSum = x23.sum().item();
            Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
            int levels = fanIn == 2 ? 4 : fanIn == 3 ? 2 : 1; // 23 -> 12 -> 6 -> 3 -> 2; 23 -> 8 -> 3; 23 -> 5
            assertEquals(2, d.jobs(), "each aggregation one job, however deep its tree");
            assertEquals(2 * (1 + levels), d.stages(), "fan-in " + fanIn + ": a stage per level of the tree");
            for (int i = 0; i < D; i++) {
                assertEquals(direct[i], tree[i], 1e-12 * Math.max(1, Math.abs(direct[i])), "fan-in " + fanIn);
            }
            assertEquals(directSum, treeSum, 1e-9);
            for (int rep = 0; rep < 2; rep++) {
                assertArrayEquals(tree, x23.T().matmul(x23.matmul(w).tanh()).toArray(), 0.0, "fan-in " + fanIn + " repeated");
            }
        }
        Dist.setTreeAggregationBytes(32L << 20);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        assertArrayEquals(direct, x23.T().matmul(x23.matmul(w).tanh()).toArray(), 0.0, "small partials: direct");
        assertEquals(1, Dist.metrics().snapshot().minus(before).stages());
        ((DistArray) x23).rdd().unpersist(false);
    }

    @Test
    void aFailedFusedJobFailsEveryValueItServesWithOneErrorNamingTheOps() {
        NDArray w = Np.full(new int[] {D}, 0.1);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).square().mean();
        }
        io.sparkgrad.worker.FaultInjector.failAttempts(Activity.Phase.BACKWARD, "matmul", 0, 100);
        try {
            var e = assertThrows(SparkJobException.class, loss::backward);
            assertTrue(e.getMessage().matches("(?s)sparkgrad backward: matmul#\\d+ -> grad of input 1 \\(in one pass with "
                + "forward: sum#\\d+\\): the Spark job failed: InjectedFault: .*"), e.getMessage());
            var again = assertThrows(SparkJobException.class, loss::item, "the loss came from the same job");
            assertEquals(e.getMessage(), again.getMessage());
        } finally {
            io.sparkgrad.worker.FaultInjector.clear();
        }
    }

    @Test
    void fusionOffRunsEachReductionAtOnce() {
        Dist.setFusion(false);
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray s = x.sum();
        assertEquals(1, Dist.metrics().snapshot().minus(before).jobs());
        assertFalse(((LocalArray) s).isPending());
        assertEquals(xLocal.sum().item(), s.item(), 1e-9);
    }

    @Test
    void whatTheFusedJobKeepsForItselfIsReleasedAfterIt() {
        // z feeds both the loss and the gradient: the fused job keeps it in memory while it runs
        java.util.Set<Object> cachedBefore = new java.util.HashSet<>(
            scala.jdk.javaapi.CollectionConverters.asJava(SparkTests.session().sparkContext().getPersistentRDDs()).keySet());
        NDArray w = Np.full(new int[] {D}, 0.1);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray z = x.matmul(w);
            loss = z.softplus().sub(z.mul(0.5)).mean();
        }
        loss.backward();
        List<Object> left = new ArrayList<>(
            scala.jdk.javaapi.CollectionConverters.asJava(SparkTests.session().sparkContext().getPersistentRDDs()).keySet());
        left.removeAll(cachedBefore);
        assertEquals(List.of(), left, "nothing stays cached after the job");
    }
}
