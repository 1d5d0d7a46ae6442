package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The scalar form of every elementwise function ({@link UnaryFn#apply}, {@link BinaryFn#apply})
 * gives what the array kernels give, on values that tell the edge cases apart: both zeros, NaN,
 * infinities, ties. To one ulp, not bit for bit: the array kernels of some functions are
 * vectorised ({@code sigmoid(-1)} differs from the scalar form in the last bit).
 */
class ElementFnTest {

    /** Equal, or within one ulp of a finite value; NaN matches NaN, and a zero's sign counts. */
    static void assertSame(double want, double got, String what) {
        if (Double.doubleToLongBits(want) == Double.doubleToLongBits(got)) {
            return;
        }
        boolean close = Double.isFinite(want) && want != 0 && Math.abs(want - got) <= Math.ulp(want);
        assertEquals(true, close, what);
    }

    static final double[] VALUES = {-1e300, -2.5, -1, -0.5, -0.0, 0.0, 0.5, 0.75, 1, 1.5, 2.5, 710, Double.NaN,
        Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};

    @Test
    void everyUnaryFunctionsScalarFormIsItsArrayKernelElementByElement() {
        NDArray x = Np.array(VALUES);
        for (UnaryFn f : UnaryFn.values()) {
            double[] want = LocalBackend.INSTANCE.unary(f, x).toArray();
            for (int i = 0; i < VALUES.length; i++) {
                assertSame(want[i], f.apply(VALUES[i]),
                    f + "(" + VALUES[i] + "): array kernel " + want[i] + ", scalar " + f.apply(VALUES[i]));
            }
        }
    }

    @Test
    void everyBinaryFunctionsScalarFormIsItsArrayKernelOnEveryPairIncludingTies() {
        int n = VALUES.length;
        double[] a = new double[n * n];
        double[] b = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = VALUES[i];
                b[i * n + j] = VALUES[j];
            }
        }
        for (BinaryFn f : BinaryFn.values()) {
            double[] want = LocalBackend.INSTANCE.binary(f, Np.array(a), Np.array(b)).toArray();
            for (int k = 0; k < a.length; k++) {
                assertSame(want[k], f.apply(a[k], b[k]),
                    f + "(" + a[k] + ", " + b[k] + "): array kernel " + want[k] + ", scalar " + f.apply(a[k], b[k]));
            }
        }
    }

    @Test
    void signAndComparisonsAtTheEdges() {
        assertEquals(0.0, UnaryFn.SIGN.apply(-0.0), "sign(-0.0) is 0.0");
        assertEquals(Double.doubleToLongBits(0.0), Double.doubleToLongBits(UnaryFn.SIGN.apply(-0.0)));
        assertEquals(Double.NaN, UnaryFn.SIGN.apply(Double.NaN));
        assertEquals(0.5, UnaryFn.SIGMOID.apply(0.0));
        assertEquals(0.0, BinaryFn.GT.apply(2, 2));
        assertEquals(0.0, BinaryFn.LT.apply(2, 2));
        assertEquals(1.0, BinaryFn.GE.apply(2, 2));
        assertEquals(1.0, BinaryFn.LE.apply(2, 2));
        assertEquals(1.0, BinaryFn.EQ.apply(2, 2));
        assertEquals(0.0, BinaryFn.EQ.apply(Double.NaN, Double.NaN));
    }
}
