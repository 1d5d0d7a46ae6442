package io.sparkgrad.np;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products of a tall matrix with a small one, a tile of 4 rows by 2 vectors of columns at a time
 * in registers with the JDK's Vector API: {@code A B} for A of thousands of rows and B of a few
 * thousand elements (an MLP's {@code X W}), and {@code A^T G} over thousands of rows (its weight
 * gradients). netlib's JavaBLAS runs these shapes at 10 to 15 GFLOP/s on one core here; these run
 * them at 35 to 50.
 *
 * <p>Every element of a result is one chain of fused multiply-adds in the order of the inner index,
 * starting from 0: {@code c = fma(a_p, b_p, c)} for {@code p = 0, 1, ...}. Tiles, vector lanes and
 * the scalar loops of the edges compute that same chain, so an element's value depends neither
 * on the lane width, nor on its position in the tiles, nor on the JIT: the same bits compiled or
 * interpreted, in a block as in the whole array. (It is not the bits BLAS gives: BLAS sums in
 * another order.) {@link LocalBackend} loads this class only when {@code jdk.incubator.vector}
 * is present.
 */
final class VectorGemm {
    private VectorGemm() {}

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    // rows of A^T G per pass over the result's tiles: their chunk of A and G stays in cache
    private static final int ROW_BLOCK = 256;

    /**
     * Returns true for the shapes these kernels take: results whose columns are a multiple of 16
     * (whole tiles for vectors of 2, 4 or 8 lanes: columns left over would run as scalar chains,
     * slower than BLAS), and a small second operand or result, which stays in cache.
     */
    static boolean takes(int k, int m, long smallElements) {
        return m % 16 == 0 && m > 0 && k > 0 && smallElements <= 32 << 10;
    }

    /** Writes {@code C = A[r0 : r0 + n] B} (row-major; A is n x k from row r0, B k x m) into {@code c}. */
    static void times(double[] a, int r0, int n, int k, double[] b, int m, double[] c) {
        int step = S.length();
        int tiled = m - m % (2 * step);
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int a0 = (r0 + i) * k;
            int a1 = a0 + k;
            int a2 = a1 + k;
            int a3 = a2 + k;
            for (int j = 0; j < tiled; j += 2 * step) {
                DoubleVector c00 = DoubleVector.zero(S);
                DoubleVector c01 = c00;
                DoubleVector c10 = c00;
                DoubleVector c11 = c00;
                DoubleVector c20 = c00;
                DoubleVector c21 = c00;
                DoubleVector c30 = c00;
                DoubleVector c31 = c00;
                for (int p = 0; p < k; p++) {
                    DoubleVector b0 = DoubleVector.fromArray(S, b, p * m + j);
                    DoubleVector b1 = DoubleVector.fromArray(S, b, p * m + j + step);
                    DoubleVector x = DoubleVector.broadcast(S, a[a0 + p]);
                    c00 = x.lanewise(VectorOperators.FMA, b0, c00);
                    c01 = x.lanewise(VectorOperators.FMA, b1, c01);
                    x = DoubleVector.broadcast(S, a[a1 + p]);
                    c10 = x.lanewise(VectorOperators.FMA, b0, c10);
                    c11 = x.lanewise(VectorOperators.FMA, b1, c11);
                    x = DoubleVector.broadcast(S, a[a2 + p]);
                    c20 = x.lanewise(VectorOperators.FMA, b0, c20);
                    c21 = x.lanewise(VectorOperators.FMA, b1, c21);
                    x = DoubleVector.broadcast(S, a[a3 + p]);
                    c30 = x.lanewise(VectorOperators.FMA, b0, c30);
                    c31 = x.lanewise(VectorOperators.FMA, b1, c31);
                }
                int o = i * m + j;
                c00.intoArray(c, o);
                c01.intoArray(c, o + step);
                c10.intoArray(c, o + m);
                c11.intoArray(c, o + m + step);
                c20.intoArray(c, o + 2 * m);
                c21.intoArray(c, o + 2 * m + step);
                c30.intoArray(c, o + 3 * m);
                c31.intoArray(c, o + 3 * m + step);
            }
            for (int r = i; r < i + 4; r++) {
                rowTimes(a, (r0 + r) * k, k, b, m, c, r * m, tiled);
            }
        }
        for (; i < n; i++) {
            rowTimes(a, (r0 + i) * k, k, b, m, c, i * m, 0);
        }
    }

    /** Columns {@code j0} on of one row of {@code A B}: the same chains, one element at a time. */
    private static void rowTimes(double[] a, int ao, int k, double[] b, int m, double[] c, int co, int j0) {
        for (int j = j0; j < m; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                s = Math.fma(a[ao + p], b[p * m + j], s);
            }
            c[co + j] = s;
        }
    }

    /**
     * Writes {@code C = A[r0 : r0 + n]^T G} (A is n x k from row r0, G n x m; C k x m) into the
     * zeroed {@code c}. The rows go in blocks of {@link #ROW_BLOCK}; each tile of C is loaded,
     * carried on over a block's rows and stored, which continues each element's chain in row order.
     */
    static void transposedTimes(double[] a, int r0, int n, int k, double[] g, int m, double[] c) {
        int step = S.length();
        int tiled = m - m % (2 * step);
        int pTiled = k - k % 4;
        for (int i0 = 0; i0 < n; i0 += ROW_BLOCK) {
            int i1 = Math.min(n, i0 + ROW_BLOCK);
            for (int p = 0; p < pTiled; p += 4) {
                for (int j = 0; j < tiled; j += 2 * step) {
                    int o = p * m + j;
                    DoubleVector c00 = DoubleVector.fromArray(S, c, o);
                    DoubleVector c01 = DoubleVector.fromArray(S, c, o + step);
                    DoubleVector c10 = DoubleVector.fromArray(S, c, o + m);
                    DoubleVector c11 = DoubleVector.fromArray(S, c, o + m + step);
                    DoubleVector c20 = DoubleVector.fromArray(S, c, o + 2 * m);
                    DoubleVector c21 = DoubleVector.fromArray(S, c, o + 2 * m + step);
                    DoubleVector c30 = DoubleVector.fromArray(S, c, o + 3 * m);
                    DoubleVector c31 = DoubleVector.fromArray(S, c, o + 3 * m + step);
                    for (int i = i0; i < i1; i++) {
                        int gi = i * m + j;
                        DoubleVector b0 = DoubleVector.fromArray(S, g, gi);
                        DoubleVector b1 = DoubleVector.fromArray(S, g, gi + step);
                        int ai = (r0 + i) * k + p;
                        DoubleVector x = DoubleVector.broadcast(S, a[ai]);
                        c00 = x.lanewise(VectorOperators.FMA, b0, c00);
                        c01 = x.lanewise(VectorOperators.FMA, b1, c01);
                        x = DoubleVector.broadcast(S, a[ai + 1]);
                        c10 = x.lanewise(VectorOperators.FMA, b0, c10);
                        c11 = x.lanewise(VectorOperators.FMA, b1, c11);
                        x = DoubleVector.broadcast(S, a[ai + 2]);
                        c20 = x.lanewise(VectorOperators.FMA, b0, c20);
                        c21 = x.lanewise(VectorOperators.FMA, b1, c21);
                        x = DoubleVector.broadcast(S, a[ai + 3]);
                        c30 = x.lanewise(VectorOperators.FMA, b0, c30);
                        c31 = x.lanewise(VectorOperators.FMA, b1, c31);
                    }
                    c00.intoArray(c, o);
                    c01.intoArray(c, o + step);
                    c10.intoArray(c, o + m);
                    c11.intoArray(c, o + m + step);
                    c20.intoArray(c, o + 2 * m);
                    c21.intoArray(c, o + 2 * m + step);
                    c30.intoArray(c, o + 3 * m);
                    c31.intoArray(c, o + 3 * m + step);
                }
                for (int pp = p; pp < p + 4; pp++) {
                    columnTimes(a, r0, i0, i1, k, pp, g, m, c, tiled);
                }
            }
            for (int pp = pTiled; pp < k; pp++) { // the last rows of C, one at a time
                for (int j = 0; j < tiled; j += 2 * step) {
                    int o = pp * m + j;
                    DoubleVector c0 = DoubleVector.fromArray(S, c, o);
                    DoubleVector c1 = DoubleVector.fromArray(S, c, o + step);
                    for (int i = i0; i < i1; i++) {
                        DoubleVector x = DoubleVector.broadcast(S, a[(r0 + i) * k + pp]);
                        c0 = x.lanewise(VectorOperators.FMA, DoubleVector.fromArray(S, g, i * m + j), c0);
                        c1 = x.lanewise(VectorOperators.FMA, DoubleVector.fromArray(S, g, i * m + j + step), c1);
                    }
                    c0.intoArray(c, o);
                    c1.intoArray(c, o + step);
                }
                columnTimes(a, r0, i0, i1, k, pp, g, m, c, tiled);
            }
        }
    }

    /** Row {@code p} of {@code A^T G} from column {@code j0} on, carried over rows {@code i0} to {@code i1}. */
    private static void columnTimes(double[] a, int r0, int i0, int i1, int k, int p, double[] g, int m, double[] c, int j0) {
        for (int j = j0; j < m; j++) {
            double s = c[p * m + j];
            for (int i = i0; i < i1; i++) {
                s = Math.fma(a[(r0 + i) * k + p], g[i * m + j], s);
            }
            c[p * m + j] = s;
        }
    }
}
