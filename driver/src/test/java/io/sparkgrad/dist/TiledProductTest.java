package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Products of two distributed matrices too big to collect (here: with
 * {@link Settings#productBroadcastBytes()} 0, so that no operand is), for every placement pair of
 * blocks of rows and blocks of columns, against the local engine, with their gradients; and the
 * broadcast-based product when one operand is small.
 */
class TiledProductTest {
    private static SparkSession spark;
    private static long savedBroadcast;
    private static long savedTile;
    private static final List<String> report = new ArrayList<>();

    private static final int N = 13;
    private static final int K = 11;
    private static final int M = 9;
    private static NDArray al;
    private static NDArray bl;

    @BeforeAll
    static void setUp() {
        spark = SparkTests.session();
        savedBroadcast = Dist.settings().productBroadcastBytes();
        savedTile = Dist.settings().productTileBytes();
        Np.seed(5);
        al = Np.randomNormal(0, 1, N, K);
        bl = Np.randomNormal(0, 1, K, M);
    }

    @AfterAll
    static void tearDown() {
        Dist.settings().setProductBroadcastBytes(savedBroadcast).setProductTileBytes(savedTile);
        System.out.println("TiledProductTest: " + String.join("; ", report));
    }

    /** Tiles of 200 bytes: several pieces of every axis (a 13 x 11 matrix is 1,144 bytes). */
    private static void tiled() {
        Dist.settings().setProductBroadcastBytes(0).setProductTileBytes(200);
    }

    /** Split in blocks of rows ({@code blocks} of them, one empty). */
    private static DistArray rows(NDArray local, long... sizes) {
        return Dist.fromLocal(local, Layout.ofBlockSizes(sizes, new int[] {(int) local.shape()[1]}));
    }

    /** Split in blocks of columns. */
    private static DistArray cols(NDArray local, long... sizes) {
        int n = (int) local.shape()[0];
        return Dist.fromLocal(local, Layout.ofBlockSizes(sizes, new int[] {n}).along(1, new int[] {n}));
    }

    private static final class Case {
        final String name;
        final Function<NDArray, NDArray> a;
        final Function<NDArray, NDArray> b;

        Case(String name, Function<NDArray, NDArray> a, Function<NDArray, NDArray> b) {
            this.name = name;
            this.a = a;
            this.b = b;
        }
    }

    private static List<Case> placements() {
        return List.of(
            new Case("rows x rows", x -> rows(x, 5, 0, 8), y -> rows(y, 4, 7)),
            new Case("rows x columns", x -> rows(x, 6, 7), y -> cols(y, 2, 3, 4)),
            new Case("columns x columns", x -> cols(x, 3, 8), y -> cols(y, 9)),
            new Case("columns x rows, split alike", x -> cols(x, 4, 0, 7), y -> rows(y, 4, 0, 7)),
            new Case("columns x rows, split apart", x -> cols(x, 4, 7), y -> rows(y, 1, 5, 5)),
            new Case("transposed rows x rows (X^T Y)", x -> rows(x.T(), 6, 5).T(), y -> rows(y, 6, 5)),
            new Case("rows x transposed rows", x -> rows(x, 7, 6), y -> rows(y.T(), 3, 3, 3).T()));
    }

    @Test
    void everyPlacementPairMultipliesAsTheLocalEngineDoes() {
        tiled();
        double[] expected = al.matmul(bl).toArray();
        for (Case c : placements()) {
            Metrics.Snapshot before = Dist.metrics().snapshot();
            NDArray p = c.a.apply(al).matmul(c.b.apply(bl));
            assertTrue(p.isDistributed(), c.name + ": a product of two big matrices stays distributed");
            assertArrayEquals(new long[] {N, M}, p.shape());
            assertArrayEquals(expected, p.toArray(), 1e-12, c.name);
            report.add(c.name + ": " + Dist.metrics().snapshot().minus(before).jobs() + " job(s)");
        }
    }

    @Test
    void theProductKeepsTheBlocksOfTheLeftOperandsRowsOrTheRightOperandsColumns() {
        tiled();
        DistArray a = rows(al, 5, 0, 8);
        DistArray p = (DistArray) a.matmul(rows(bl, 4, 7));
        assertEquals(0, p.layout().axis());
        assertArrayEquals(a.layout().rowStarts(), p.layout().rowStarts());
        DistArray q = (DistArray) cols(al, 3, 8).matmul(cols(bl, 2, 3, 4));
        assertEquals(1, q.layout().axis());
        assertArrayEquals(new long[] {0, 2, 5, 9}, q.layout().rowStarts());
        assertArrayEquals(al.matmul(bl).toArray(), q.toArray(), 1e-12);
    }

    /** The loss of a product and the gradients of both factors, all from the placement of {@code c}. */
    private static double[][] lossAndGradients(NDArray a, NDArray b) {
        a.attachGrad();
        b.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = a.matmul(b).tanh().square().sum();
        }
        loss.backward();
        return new double[][] {{loss.item()}, a.grad().toArray(), b.grad().toArray()};
    }

    @Test
    void theGradientsOfBothFactorsAreTiledProductsToo() {
        tiled();
        double[][] local = lossAndGradients(al.mul(1), bl.mul(1));
        for (Case c : placements()) {
            Metrics.Snapshot before = Dist.metrics().snapshot();
            NDArray a = c.a.apply(al);
            NDArray b = c.b.apply(bl);
            double[][] dist = lossAndGradients(a, b);
            for (int i = 0; i < local.length; i++) {
                assertArrayEquals(local[i], dist[i], 1e-11, c.name + ", result " + i);
            }
            assertTrue(a.grad().isDistributed() && b.grad().isDistributed(), c.name + ": big gradients stay distributed");
            report.add(c.name + " with gradients: " + Dist.metrics().snapshot().minus(before).jobs() + " job(s)");
        }
    }

    @Test
    void aTiledProductRepeatsBitForBit() {
        tiled();
        DistArray a = rows(al, 5, 0, 8);
        DistArray b = rows(bl, 4, 7);
        double[] first = a.matmul(b).toArray();
        for (int run = 0; run < 3; run++) {
            assertArrayEquals(first, a.matmul(b).toArray(), 0.0);
        }
        double[] partials = a.T().matmul(rows(Np.randomNormal(0, 1, N, M), 5, 0, 8)).toArray();
        assertEquals(K * M, partials.length);
    }

    @Test
    void theJobSaysWhichProductItChose() {
        DistAutogradTest.Descriptions jobs = new DistAutogradTest.Descriptions();
        spark.sparkContext().addSparkListener(jobs);
        try {
            tiled();
            rows(al, 6, 7).matmul(rows(bl, 4, 7)).sum().item();
            cols(al, 4, 7).matmul(rows(bl, 4, 7)).sum().item();
            Dist.metrics().snapshot();
            assertTrue(jobs.seen.stream().anyMatch(d -> d.contains("moves rows: tiled product (")), jobs.seen.toString());
            assertTrue(jobs.seen.stream().anyMatch(d -> d.contains("moves rows: partial products of 2 block pairs")),
                jobs.seen.toString());
            jobs.seen.clear();
            Dist.settings().setProductBroadcastBytes(savedBroadcast);
            NDArray p = rows(al, 6, 7).matmul(rows(bl, 4, 7));
            assertTrue(p.isDistributed());
            assertArrayEquals(al.matmul(bl).toArray(), p.toArray(), 1e-12, "broadcast-based");
            NDArray g = cols(al, 4, 7).matmul(rows(bl, 4, 7));
            assertFalse(g.isDistributed(), "a small contraction over the blocks is local");
            Dist.metrics().snapshot();
            assertTrue(jobs.seen.stream().noneMatch(d -> d.contains("tiled") || d.contains("partial products")),
                jobs.seen.toString());
        } finally {
            spark.sparkContext().removeSparkListener(jobs);
            tiled();
        }
    }

    /** Random sizes that sum to {@code total} in {@code parts} blocks, some of them empty. */
    private static long[] sizes(java.util.Random r, int total, int parts) {
        long[] s = new long[parts];
        for (int i = 0; i < total; i++) {
            s[r.nextInt(parts)]++;
        }
        return s;
    }

    /** {@code x} distributed at random: in blocks of rows or of columns, directly or as a transpose. */
    private static NDArray placed(java.util.Random r, NDArray x, StringBuilder how) {
        int rows = (int) x.shape()[0];
        int cols = (int) x.shape()[1];
        switch (r.nextInt(4)) {
            case 0: how.append("rows"); return rows(x, sizes(r, rows, 1 + r.nextInt(4)));
            case 1: how.append("cols"); return cols(x, sizes(r, cols, 1 + r.nextInt(4)));
            case 2: how.append("T(rows)"); return rows(x.T(), sizes(r, cols, 1 + r.nextInt(4))).T();
            default: how.append("T(cols)"); return cols(x.T(), sizes(r, rows, 1 + r.nextInt(4))).T();
        }
    }

    @Test
    void randomShapesBlocksAndTilesGiveTheLocalValuesAndGradients() {
        java.util.Random r = new java.util.Random(2026);
        for (int c = 0; c < 6; c++) {
            int n = 1 + r.nextInt(12);
            int k = 1 + r.nextInt(12);
            int m = 1 + r.nextInt(12);
            int p = 1 + r.nextInt(6);
            Np.seed(c);
            NDArray x = Np.randomNormal(0, 1, n, k);
            NDArray y = Np.randomNormal(0, 1, k, m);
            NDArray z = Np.randomNormal(0, 1, m, p);
            Dist.settings().setProductBroadcastBytes(0).setProductTileBytes(8L * (1 + r.nextInt(40)));
            StringBuilder how = new StringBuilder("case " + c + " (" + n + ", " + k + ", " + m + ", " + p + "): ");
            NDArray xd = placed(r, x, how);
            how.append(" x ");
            NDArray yd = placed(r, y, how);
            how.append(" x ");
            NDArray zd = placed(r, z, how);
            // a chain of two products: the second multiplies the first's (tiled) result
            double[][] local = chain(x.mul(1), y.mul(1), z.mul(1));
            double[][] dist = chain(xd, yd, zd);
            for (int i = 0; i < local.length; i++) {
                assertArrayEquals(local[i], dist[i], 1e-11, how + ", result " + i);
            }
        }
    }

    private static double[][] chain(NDArray x, NDArray y, NDArray z) {
        x.attachGrad();
        y.attachGrad();
        z.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(y).tanh().matmul(z).square().sum();
        }
        loss.backward();
        return new double[][] {{loss.item()}, x.grad().toArray(), y.grad().toArray(), z.grad().toArray()};
    }
}
