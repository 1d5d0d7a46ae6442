package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The local kernels' fast paths against the element-by-element definition: every binary
 * function with a scalar on either side and between arrays of one shape (NaN, infinities and
 * ties included), the product accumulated into an output across column panels, and indices
 * named by their global position.
 */
class LocalBackendEdgeTest {

    static final LocalBackend L = LocalBackend.INSTANCE;
    static final double[] V = {-2, 0, 1.5, 2, Double.NaN, Double.POSITIVE_INFINITY, -0.0, 2};

    @Test
    void everyBinaryFunctionWithAScalarOnEitherSideIsTheElementwiseDefinition() {
        NDArray x = Np.array(V);
        NDArray two = Np.array(2.0);
        double[] w = new double[V.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = V[(i + 3) % V.length];
        }
        NDArray y = Np.array(w);
        for (BinaryFn f : BinaryFn.values()) {
            double[] left = L.binary(f, two, x).toArray();
            double[] right = L.binary(f, x, two).toArray();
            double[] both = L.binary(f, x, y).toArray();
            for (int i = 0; i < V.length; i++) {
                String what = f + " at " + i;
                assertEquals(f.apply(2.0, V[i]), left[i], 0.0, "scalar first, " + what);
                assertEquals(f.apply(V[i], 2.0), right[i], 0.0, "scalar second, " + what);
                assertEquals(f.apply(V[i], w[i]), both[i], 0.0, "same shapes, " + what);
            }
        }
    }

    @Test
    void theComparisonsGiveOneOrZeroWithTiesAndNaN() {
        NDArray x = Np.array(1, 2, 3, Double.NaN);
        NDArray two = Np.array(2.0);
        assertArrayEquals(new double[] {1, 1, 0, 0}, L.binary(BinaryFn.GE, two, x).toArray());
        assertArrayEquals(new double[] {0, 1, 1, 0}, L.binary(BinaryFn.LE, two, x).toArray());
        assertArrayEquals(new double[] {0, 1, 0, 0}, L.binary(BinaryFn.EQ, two, x).toArray());
        assertArrayEquals(new double[] {1, 0, 0, 0}, L.binary(BinaryFn.GT, two, x).toArray());
        assertArrayEquals(new double[] {0, 0, 1, 0}, L.binary(BinaryFn.LT, two, x).toArray());
        assertArrayEquals(new double[] {0, 1, 1, 0}, L.binary(BinaryFn.GE, x, two).toArray());
        assertArrayEquals(new double[] {1, 1, 0, 0}, L.binary(BinaryFn.LE, x, two).toArray());
    }

    @Test
    void matmulAddAccumulatesIntoTheOutputAcrossColumnPanels() {
        int n = 2;
        int k = 3;
        int m = LocalBackend.GEMM_PANEL + 6; // two panels, the second of 6 columns
        double[] a = {1, -2, 0.5, 3, 0, -1};
        double[] b = new double[k * m];
        for (int i = 0; i < b.length; i++) {
            b[i] = (i % 7) - 3;
        }
        double[] c = new double[n * m];
        java.util.Arrays.fill(c, 10);
        L.matmulAdd(a, b, c, n, k, m);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double s = 10;
                for (int p = 0; p < k; p++) {
                    s += a[i * k + p] * b[p * m + j];
                }
                assertEquals(s, c[i * m + j], 0.0, "(" + i + ", " + j + ")");
            }
        }
        double[] none = {7};
        L.matmulAdd(new double[0], new double[0], none, 1, 0, 1);
        assertArrayEquals(new double[] {7}, none, "an empty contraction adds nothing");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> L.matmulAdd(new double[6], new double[6], new double[3], 2, 3, 2));
        assertEquals("internal: matmulAdd of 6, 6 and 3 values for (2, 3) (3, 2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> L.matmulAdd(new double[5], new double[6], new double[4], 2, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> L.matmulAdd(new double[6], new double[5], new double[4], 2, 3, 2));
    }

    @Test
    void aBadIndexOfAChunkIsNamedByItsGlobalPosition() {
        NDArray idx = Np.array(0, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> L.scatterAdd(new int[] {3, 2}, idx, Np.ones(2, 2), 10));
        assertEquals("scatterAdd: index 3 (position 11 of the indices) is out of range for an axis of length 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> L.scatterAdd(new int[] {3, 2}, idx, Np.ones(2, 2), -1));
        assertEquals("scatterAdd: index 3 is out of range for an axis of length 3", e.getMessage());
        assertArrayEquals(new double[] {1, 1, 0, 0, 2, 2}, L.scatterAdd(new int[] {3, 2}, Np.array(-1, 0, 2),
            Np.ones(3, 2), 0).toArray());
        assertEquals(0, LocalBackend.row("take", new double[] {-3}, 0, 0, 3), "-3 is row 0 of 3");
        e = assertThrows(IllegalArgumentException.class, () -> LocalBackend.row("take", new double[] {-4}, 0, 0, 3));
        assertEquals("take: index -4 (position 0 of the indices) is out of range for an axis of length 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
            () -> LocalBackend.row("take", new double[] {Double.POSITIVE_INFINITY}, 0, 2, 3));
        assertEquals("take: index Infinity (position 2 of the indices) is not an integer", e.getMessage());
    }
}
