package io.sparkgrad.np;

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
}
