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
}
