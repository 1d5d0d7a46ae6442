package io.sparkgrad.worker;

import io.sparkgrad.np.Backend;
import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The edges of the sparse kernels: which factors keep a block sparse (a scalar, a row of the
 * block's width, a column of its height, and nothing else), negative axes of a sum, products of
 * a chunk of rows, and shapes that do not fit refused naming both.
 */
class SparseKernelsEdgeTest {

    /** 3 x 4, row 1 empty. */
    static final double[] D = {0, 2, 0, -1, 0, 0, 0, 0, 4, 0, 0.5, 0};
    static final Csr X = Csr.fromDense(3, 4, D);
    static final NDArray DENSE = Np.array(new int[] {3, 4}, D);

    @Test
    void onlyAScalarARowOfTheWidthAColumnOfTheHeightOrAnArrayOfItsShapeScaleASparseBlock() {
        NDArray[] sparseFactors = {Np.array(3.0), Np.array(new int[] {1, 1}, new double[] {3}),
            Np.array(1, 2, 4, 8), Np.array(new int[] {1, 4}, new double[] {1, 2, 4, 8}),
            Np.array(new int[] {3, 1}, new double[] {2, 4, 8}), Np.array(new int[] {3, 4}, new double[12]).add(2.0)};
        for (NDArray s : sparseFactors) {
            for (BinaryFn f : new BinaryFn[] {BinaryFn.MUL, BinaryFn.DIV}) {
                NDArray got = Sparse.scaled(f, X, s);
                assertTrue(got instanceof SparseRows, f + " by " + java.util.Arrays.toString(s.shape()));
                assertArrayEquals(Kernels.binary(f).apply(0, new NDArray[] {DENSE, s}).toArray(),
                    got.toArray(), 0.0, f + " by " + java.util.Arrays.toString(s.shape()));
            }
        }
        NDArray[] denseFactors = {Np.array(1, 2, 3),
            Np.array(new int[] {1, 1, 1}, new double[] {2}), Np.array(new int[] {2, 1}, new double[] {1, 2}),
            Np.array(new int[] {3, 2}, new double[6]).add(1.0), Np.array(new int[] {2, 4}, new double[8]).add(1.0),
            Np.array(new int[] {4, 1}, new double[] {1, 2, 3, 4})};
        for (NDArray s : denseFactors) {
            assertNull(Sparse.scaled(BinaryFn.MUL, X, s), java.util.Arrays.toString(s.shape()));
        }
    }

    @Test
    void aFactorThatWouldTurnZerosIntoNaNTakesTheDensePath() {
        assertNull(Sparse.scaled(BinaryFn.MUL, X, Np.array(1, Double.NEGATIVE_INFINITY, 1, 1)));
        assertNull(Sparse.scaled(BinaryFn.DIV, X, Np.array(new int[] {3, 1}, new double[] {1, 0, 1})));
        assertNull(Sparse.scaled(BinaryFn.DIV, X, Np.array(new int[] {3, 1}, new double[] {1, Double.NaN, 1})));
        // infinite divisors keep zeros zero
        NDArray inf = Sparse.scaled(BinaryFn.DIV, X, Np.array(Double.POSITIVE_INFINITY));
        assertTrue(inf instanceof SparseRows);
        assertArrayEquals(new double[12], inf.toArray(), 0.0);
        // the dense path of the kernel gives the dense values, NaN included
        NDArray nan = Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {new SparseRows(X), Np.array(Double.NaN)});
        assertFalse(nan instanceof SparseRows);
        assertTrue(java.util.Arrays.stream(nan.toArray()).allMatch(Double::isNaN));
    }

    @Test
    void sumsTakeNegativeAxesAndKeepTheirDimensions() {
        for (int axis : new int[] {-2, -1, 0, 1, Backend.ALL}) {
            for (boolean keep : new boolean[] {false, true}) {
                NDArray want = DENSE.toLocal();
                want = axis == Backend.ALL ? (keep ? want.sum(0, true).sum(1, true) : want.sum()) : want.sum(axis, keep);
                NDArray got = Sparse.sum(X, axis, keep);
                assertArrayEquals(want.shape(), got.shape(), "axis " + axis + ", keepdims " + keep);
                assertArrayEquals(want.toArray(), got.toArray(), 0.0, "axis " + axis + ", keepdims " + keep);
            }
        }
    }

    @Test
    void aChunkOfRowsTimesAMatrixIsThoseRowsOfTheProduct() {
        NDArray w = Np.array(new double[][] {{1, 2}, {3, 4}, {5, 6}, {7, 8}});
        NDArray want = DENSE.matmul(w);
        for (int[] r : new int[][] {{0, 3}, {1, 3}, {0, 1}, {2, 2}}) {
            NDArray got = Sparse.timesRows(X, r[0], r[1], w);
            assertEquals(want.slice(0, r[0], r[1]), got, r[0] + ":" + r[1]);
        }
        double[] acc = {100, 0, 0, 0, 0, 0, 0, 0};
        NDArray g = Np.array(new double[][] {{1, -1}, {2, 2}});
        Sparse.addTransposeTimesRows(X, 1, 3, g, acc);
        NDArray contrib = DENSE.slice(0, 1, 3).T().matmul(g);
        double[] want2 = contrib.toArray();
        want2[0] += 100;
        assertArrayEquals(want2, acc, 0.0, "added to what the partial held");
    }

    @Test
    void shapesThatDoNotFitAreRefusedNamingBoth() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sparse.times(X, Np.ones(3, 2)));
        assertEquals("matmul: a sparse block of shape (3, 4) times an array of shape (3, 2)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Sparse.timesRows(X, 0, 1, Np.ones(4)));
        assertEquals("matmul: a sparse block of shape (3, 4) times an array of shape (4,)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Sparse.transposeTimes(X, Np.ones(2, 1)));
        assertEquals("matmul: a^T b needs equal rows, got 3 rows of a sparse block of shape (3, 4) and shape (2, 1)",
            e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
            () -> Sparse.addTransposeTimesRows(X, 0, 2, Np.ones(2), new double[4]));
        assertEquals("matmul: a^T b needs equal rows, got 2 rows of a sparse block of shape (3, 4) and shape (2,)",
            e.getMessage());
    }
}
