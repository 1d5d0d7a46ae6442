package io.sparkgrad.np;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Kernels of the local backend that have no NDArray method of their own. */
class LocalBackendTest {
    private static final LocalBackend L = LocalBackend.INSTANCE;

    @Test
    void transposedLeftProductEqualsTransposeThenMatmul() {
        for (int[] nkm : new int[][] {{7, 3, 2}, {1, 1, 1}, {64, 17, 5}, {0, 3, 2}}) {
            Np.seed(nkm[0]);
            NDArray a = Np.randomNormal(0, 1, nkm[0], nkm[1]);
            NDArray b = Np.randomNormal(0, 1, nkm[0], nkm[2]);
            NDArray expected = a.T().matmul(b);
            NDArray actual = L.matmulTransposedLeft(a, b);
            assertArrayEquals(expected.shape(), actual.shape());
            assertArrayEquals(expected.toArray(), actual.toArray(), 1e-12);
        }
    }

    @Test
    void productsOverARangeOfRowsEqualProductsOfTheSlice() {
        Np.seed(3);
        NDArray a = Np.randomNormal(0, 1, 9, 4);
        for (int m : new int[] {1, 3}) { // one column runs dgemv, more run dgemm
            NDArray b = Np.randomNormal(0, 1, 4, m);
            NDArray g = Np.randomNormal(0, 1, 5, m);
            for (int[] r : new int[][] {{0, 9}, {2, 7}, {4, 4}, {8, 9}}) {
                NDArray rows = a.slice(0, r[0], r[1]);
                assertArrayEquals(rows.matmul(b).toArray(), L.matmulRows(a, r[0], r[1], b).toArray(), 1e-14);
                assertArrayEquals(new long[] {r[1] - r[0], m}, L.matmulRows(a, r[0], r[1], b).shape());
                NDArray gr = g.slice(0, 0, Math.min(5, r[1] - r[0])).pad(0, 0, Math.max(0, r[1] - r[0] - 5));
                assertArrayEquals(rows.T().matmul(gr).toArray(), L.matmulTransposedLeftRows(a, r[0], r[1], gr).toArray(), 1e-14);
            }
        }
        var e = assertThrows(IllegalArgumentException.class, () -> L.matmulTransposedLeftRows(a, 2, 5, Np.zeros(4, 1)));
        assertEquals("matmul: a^T b needs equal rows, got shapes 3 rows of (9, 4) and (4, 1)", e.getMessage());
    }

    @Test
    void transposedLeftProductChecksRows() {
        var e = assertThrows(IllegalArgumentException.class,
            () -> L.matmulTransposedLeft(Np.zeros(3, 2), Np.zeros(4, 2)));
        assertEquals("matmul: a^T b needs equal rows, got shapes (3, 2) and (4, 2)", e.getMessage());
    }

    @Test
    void reductionOfAnEmptyAxisGivesTheIdentityOfMaxAndMin() {
        NDArray empty = Np.zeros(0, 3);
        assertArrayEquals(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY},
            L.reduce(ReduceFn.MAX, empty, 0, false).toArray());
        assertArrayEquals(new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY},
            L.reduce(ReduceFn.MIN, empty, 0, false).toArray());
        assertArrayEquals(new double[] {0, 0, 0}, L.reduce(ReduceFn.SUM, empty, 0, false).toArray());
    }

    @Test
    void lazyConstantsBehaveAsTheirValues() {
        NDArray ones = L.fullLike(Np.zeros(2, 3), 1.0);
        assertEquals(Np.ones(2, 3), ones);
        assertEquals("array([[1., 1., 1.],\n       [1., 1., 1.]])", ones.toString());
        NDArray col = L.broadcastTo(Np.array(new double[][] {{2}}), new int[] {3, 1});
        NDArray row = Np.array(new double[][] {{1, 2, 3, 4}});
        // a (3, 1) constant against a (1, 4) array broadcasts to (3, 4)
        assertEquals(Np.array(new double[][] {{3, 4, 5, 6}, {3, 4, 5, 6}, {3, 4, 5, 6}}), col.add(row));
        assertEquals(Np.full(new int[] {3, 1}, -2), col.neg());
        assertEquals(Np.full(new int[] {3, 1}, 4), col.mul(col));
        assertEquals(6, col.sum().item());
        assertEquals(Np.full(new int[] {3, 1}, 1.5), col.clip(0, 1.5));
    }

    @Test
    void assigningIntoALazyConstantMakesItAnOrdinaryArray() {
        NDArray z = L.fullLike(Np.zeros(3), 0.0);
        NDArray view = z.reshape(3, 1);
        z.assign(Np.array(1, 2, 3));
        assertArrayEquals(new double[] {1, 2, 3}, z.toArray());
        assertArrayEquals(new double[] {1, 2, 3}, view.toArray(), "a reshape shares the values");
        assertEquals(Np.array(2, 4, 6), z.mul(2));
    }

    private static final UnaryFn[] VECTORISED = {UnaryFn.EXP, UnaryFn.SIGMOID, UnaryFn.SOFTPLUS, UnaryFn.TANH, UnaryFn.LOG};

    /**
     * Arguments from tiny to saturating, the edges of exp's range, and for log positive values
     * near 1, near the square root of 2 where its reduction switches, and of every magnitude.
     */
    static double[] vectorTestArguments() {
        java.util.Random r = new java.util.Random(11);
        double[] x = new double[30_011];
        for (int i = 0; i < x.length; i++) {
            double scale = i % 4 == 0 ? 1e-8 : i % 4 == 1 ? 3 : i % 4 == 2 ? 40 : 300;
            x[i] = r.nextGaussian() * scale;
            if (i >= 20_000) {
                int kind = i % 3;
                x[i] = kind == 0 ? 1 + r.nextGaussian() * 1e-3 : kind == 1 ? Math.sqrt(2) * (1 + r.nextGaussian() * 1e-12)
                    : Math.exp(r.nextGaussian() * 300);
            }
        }
        double[] edges = {709.78, 709.7827128933840, -708.39, -744.44, -745.13, 1e-320, -1e-320, 0.5 * Math.log(2),
            -0.5 * Math.log(2), 36.7, -36.7, 1e-300, 19.06, -19.07, 20.0, 22.5, 0.173, -0.174, 1.0, 2.0, 0.5,
            Double.MAX_VALUE, Double.MIN_NORMAL, Double.MIN_VALUE, Math.nextDown(1.0), Math.nextUp(1.0)};
        System.arraycopy(edges, 0, x, 0, edges.length);
        return x;
    }

    @Test
    void vectorKernelsAgreeWithTheScalarDefinitionsWithinAFewUlps() {
        double[] x = vectorTestArguments();
        for (UnaryFn f : VECTORISED) {
            assertEquals(true, VectorMath.covers(f), f.name());
            double[] out = new double[x.length];
            VectorMath.apply(f, x, out);
            for (int i = 0; i < x.length; i++) {
                double expected = f.apply(x[i]);
                double ulps = out[i] == expected || Double.isNaN(out[i]) && Double.isNaN(expected) ? 0
                    : Math.abs(out[i] - expected) / Math.ulp(expected);
                // below the normal range the result keeps fewer bits: compare absolutely there
                boolean subnormal = Math.abs(expected) < Double.MIN_NORMAL && Math.abs(out[i] - expected) <= 2 * Double.MIN_VALUE;
                // softplus adds log1p's error to exp's; Math.tanh itself is off by up to 2 ulps (this
                // tanh by up to 3 against 60-digit decimal arithmetic)
                double bound = f == UnaryFn.SOFTPLUS || f == UnaryFn.TANH ? 4 : 2;
                if (!(ulps <= bound) && !subnormal) {
                    throw new AssertionError(f + "(" + x[i] + ") = " + out[i] + ", scalar " + expected + " (" + ulps + " ulps)");
                }
            }
        }
    }

    @Test
    void vectorKernelsKeepTheSpecialValues() {
        double inf = Double.POSITIVE_INFINITY;
        double[] x = {inf, -inf, Double.NaN, 0.0, -0.0, 800, -800, 1e-310};
        double[][] expected = {
            {inf, 0, Double.NaN, 1, 1, inf, 0, 1},                               // exp
            {1, 0, Double.NaN, 0.5, 0.5, 1, 0, 0.5},                              // sigmoid
            {inf, 0, Double.NaN, Math.log(2), Math.log(2), 800, 0, Math.log(2)},  // softplus
            {1, -1, Double.NaN, 0.0, -0.0, 1, -1, 1e-310},                        // tanh
            {inf, Double.NaN, Double.NaN, -inf, -inf, Math.log(800), Double.NaN, Math.log(1e-310)}, // log
        };
        for (int k = 0; k < VECTORISED.length; k++) {
            double[] out = new double[x.length];
            VectorMath.apply(VECTORISED[k], x, out);
            for (int i = 0; i < x.length; i++) {
                double e = expected[k][i];
                boolean ok = Double.isNaN(e) ? Double.isNaN(out[i]) : e == out[i] && (e != 0 || 1 / e == 1 / out[i])
                    || e != 0 && Math.abs(e - out[i]) <= Math.ulp(e);
                if (!ok) {
                    throw new AssertionError(VECTORISED[k] + "(" + x[i] + ") = " + out[i] + ", expected " + e);
                }
            }
            assertEquals(out[0], VectorMath.apply(VECTORISED[k], x[0]), 0.0, "one value goes through the same code");
        }
    }

    @Test
    void anElementsValueDoesNotDependOnItsPositionInTheArray() {
        java.util.Random r = new java.util.Random(5);
        double[] x = new double[37];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * 4;
        }
        for (UnaryFn f : VECTORISED) {
            double[] whole = L.unary(f, Np.array(x)).toArray();
            for (int shift = 1; shift < 9; shift++) { // the same values behind 1..8 others, and cut short
                double[] moved = new double[x.length + shift];
                System.arraycopy(x, 0, moved, shift, x.length);
                double[] out = L.unary(f, Np.array(moved)).toArray();
                assertArrayEquals(whole, java.util.Arrays.copyOfRange(out, shift, out.length), 0.0, f + " shifted by " + shift);
                double[] head = L.unary(f, Np.array(java.util.Arrays.copyOf(x, x.length - shift))).toArray();
                assertArrayEquals(java.util.Arrays.copyOf(whole, head.length), head, 0.0, f + " cut by " + shift);
            }
            // a lazy constant goes through the same code as its elements
            assertEquals(L.unary(f, Np.full(new int[] {3}, x[0])).toArray()[2], whole[0], 0.0, f + " of a constant");
        }
    }

    /** {@code A[r0 : r0 + n] B} as chains of fused multiply-adds in the order of the inner index: the products' definition. */
    private static double[] fmaChains(double[] a, int r0, int n, int k, double[] b, int m, boolean transposedLeft) {
        double[] c = new double[transposedLeft ? k * m : n * m];
        int rows = transposedLeft ? k : n;
        int inner = transposedLeft ? n : k;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int p = 0; p < inner; p++) {
                    s = transposedLeft ? Math.fma(a[(r0 + p) * k + i], b[p * m + j], s) : Math.fma(a[(r0 + i) * k + p], b[p * m + j], s);
                }
                c[i * m + j] = s;
            }
        }
        return c;
    }

    /**
     * Shapes (rows, inner, columns) of the products VectorGemm takes (columns a multiple of 16),
     * with every kind of edge: rows not a multiple of 4, an inner size not a multiple of 4, one row.
     */
    private static final int[][] PRODUCT_SHAPES = {{1, 5, 16}, {3, 7, 32}, {4, 50, 64}, {517, 50, 64}, {1030, 33, 48},
        {600, 64, 32}, {9, 1, 16}, {301, 11, 80}};

    @Test
    void productsOfATallAndASmallMatrixAreChainsOfFusedMultiplyAddsInOrder() {
        java.util.Random r = new java.util.Random(17);
        for (int[] sh : PRODUCT_SHAPES) {
            int n = sh[0];
            int k = sh[1];
            int m = sh[2];
            int r0 = 3; // from row 3 of a taller matrix, as a block program multiplies a chunk
            double[] a = new double[(n + r0 + 2) * k];
            double[] b = new double[k * m];
            double[] g = new double[n * m];
            for (double[] v : new double[][] {a, b, g}) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = r.nextGaussian();
                }
            }
            String what = Arrays.toString(sh);
            assertEquals(true, VectorGemm.takes(k, m, (long) k * m), what);
            double[] c = new double[n * m];
            VectorGemm.times(a, r0, n, k, b, m, c);
            assertArrayEquals(fmaChains(a, r0, n, k, b, m, false), c, 0.0, "A B " + what);
            double[] ct = new double[k * m];
            VectorGemm.transposedTimes(a, r0, n, k, g, m, ct);
            assertArrayEquals(fmaChains(a, r0, n, k, g, m, true), ct, 0.0, "A^T G " + what);
            // the backend's products agree with them within rounding, whichever kernel it picked
            NDArray an = LocalArray.wrap(new int[] {n + r0 + 2, k}, a);
            assertArrayEquals(c, L.matmulRows(an, r0, r0 + n, LocalArray.wrap(new int[] {k, m}, b)).toArray(), 1e-12 * k,
                "backend A B " + what);
            assertArrayEquals(ct, L.matmulTransposedLeftRows(an, r0, r0 + n, LocalArray.wrap(new int[] {n, m}, g)).toArray(),
                1e-12 * n, "backend A^T G " + what);
        }
    }

    /** Prints a checksum of the vector kernels' bits over {@link #vectorTestArguments()}, one line per function. */
    public static void main(String[] args) {
        System.out.println(vectorChecksums());
    }

    static String vectorChecksums() {
        double[] x = vectorTestArguments();
        StringBuilder sb = new StringBuilder();
        for (UnaryFn f : VECTORISED) {
            double[] out = new double[x.length];
            VectorMath.apply(f, x, out);
            long h = 17;
            for (double v : out) {
                h = h * 31 + Double.doubleToRawLongBits(v);
            }
            sb.append(f).append(' ').append(h).append(' ').append(java.util.Arrays.toString(java.util.Arrays.copyOf(out, 6))).append('\n');
        }
        // the products, over the same arguments: A (600 x 50) B (50 x 64) and A^T G (G 600 x 64)
        NDArray a = LocalArray.wrap(new int[] {600, 50}, java.util.Arrays.copyOf(x, 600 * 50));
        NDArray b = LocalArray.wrap(new int[] {50, 64}, java.util.Arrays.copyOfRange(x, 1000, 1000 + 50 * 64));
        NDArray g = LocalArray.wrap(new int[] {600, 64}, java.util.Arrays.copyOfRange(x, 5000, 5000 + 600 * 64));
        double[] ab = new double[600 * 64];
        VectorGemm.times(((LocalArray) a).data(), 0, 600, 50, ((LocalArray) b).data(), 64, ab);
        double[] atg = new double[50 * 64];
        VectorGemm.transposedTimes(((LocalArray) a).data(), 0, 600, 50, ((LocalArray) g).data(), 64, atg);
        for (double[] out : new double[][] {ab, atg, L.matmul(a, b).toArray(), L.matmulTransposedLeft(a, g).toArray()}) {
            long h = 17;
            for (double v : out) {
                h = h * 31 + Double.doubleToRawLongBits(v);
            }
            sb.append("product ").append(h).append('\n');
        }
        return sb.toString();
    }

    @Test
    void theInterpreterComputesTheSameBitsAsCompiledCode() throws Exception {
        for (int i = 0; i < 200; i++) {
            vectorChecksums(); // compiled by the JIT by now
        }
        String compiled = vectorChecksums();
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xint", "--add-modules=jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
            LocalBackendTest.class.getName()).redirectErrorStream(false).start();
        String interpreted = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(compiled.strip(), interpreted.strip(), "exp, sigmoid, softplus, tanh, log and the products in the interpreter (-Xint) and compiled");
    }
}
