package io.sparkgrad.np;

import static io.sparkgrad.np.DType.FLOAT32;
import static io.sparkgrad.np.DType.FLOAT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgrad.autograd.Autograd;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;

/**
 * float32 arrays: the promotion table (numpy's, NEP 50: Java doubles are weak), float32 values as
 * float64 values rounded once per primitive, astype and its gradient, printing.
 */
class DTypeTest {
    private static final Random RNG = new Random(14);

    private static double[] gaussian(int n, double scale) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = scale * RNG.nextGaussian();
        }
        return d;
    }

    private static NDArray f32(int[] shape, double[] v) {
        return Np.array(shape, v, FLOAT32);
    }

    /** The values of {@code a} rounded to float, as a float64 array: the reference of one float32 primitive. */
    private static double[] rounded(NDArray a) {
        double[] v = a.toArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) v[i];
        }
        return v;
    }

    private static void assertAllFloats(NDArray a) {
        for (double v : a.toArray()) {
            assertEquals(v, (double) (float) v, "not a float: " + v);
        }
    }

    // ------------------------------------------------------------------ promotion

    @Test
    void promotionTableCoversEveryKindOfPrimitive() {
        NDArray a32 = f32(new int[] {2, 3}, gaussian(6, 1));
        NDArray b32 = f32(new int[] {2, 3}, gaussian(6, 1));
        NDArray a64 = Np.array(new int[] {2, 3}, gaussian(6, 1));
        NDArray m32 = f32(new int[] {3, 2}, gaussian(6, 1));
        NDArray m64 = Np.array(new int[] {3, 2}, gaussian(6, 1));
        NDArray s32 = Np.scalar(2.0, FLOAT32); // a 0-d array made with a dtype: not weak
        NDArray s64 = Np.array(new int[0], new double[] {2.0});

        // binary: array x array
        assertEquals(FLOAT32, a32.add(b32).dtype());
        assertEquals(FLOAT64, a32.add(a64).dtype());
        assertEquals(FLOAT64, a64.mul(a32).dtype());
        // array x weak Java double (and Np.scalar): the array's type
        assertEquals(FLOAT32, a32.mul(2.0).dtype());
        assertEquals(FLOAT32, a32.rsub(1.0).dtype());
        assertEquals(FLOAT32, Np.scalar(0.5).div(a32).dtype());
        assertEquals(FLOAT64, a64.mul(2.0).dtype());
        assertEquals(FLOAT64, Np.scalar(1.0).add(Np.scalar(2.0)).dtype());
        // 0-d arrays with a type are arrays, not weak: numpy 2 promotes them like any array
        assertEquals(FLOAT64, a32.mul(s64).dtype());
        assertEquals(FLOAT32, a32.mul(s32).dtype());
        assertEquals(FLOAT64, a64.mul(s32).dtype());
        // unary, clip, reductions keep the operand's type
        assertEquals(FLOAT32, a32.exp().dtype());
        assertEquals(FLOAT32, a32.clip(-0.5, 0.5).dtype());
        assertEquals(FLOAT32, a32.sum().dtype());
        assertEquals(FLOAT32, a32.sum(1).dtype());
        assertEquals(FLOAT32, a32.max(0).dtype());
        assertEquals(FLOAT32, a32.norm().dtype());
        assertEquals(FLOAT32, a32.mean().dtype());
        assertEquals(FLOAT64, a64.sum().dtype());
        // matmul promotes
        assertEquals(FLOAT32, a32.matmul(m32).dtype());
        assertEquals(FLOAT64, a32.matmul(m64).dtype());
        assertEquals(FLOAT64, a64.matmul(m32).dtype());
        // comparisons give 0/1 in the promoted type (numpy's bool has no sparkgrad type; MXNet
        // returns the operands' type), so that masks such as relu's keep a gradient float32
        assertEquals(FLOAT32, a32.gt(0.0).dtype());
        assertEquals(FLOAT32, a32.eq(b32).dtype());
        assertEquals(FLOAT64, a32.lt(a64).dtype());
        // where: the condition does not take part
        assertEquals(FLOAT32, Np.where(a64.gt(0.0), a32, b32).dtype());
        assertEquals(FLOAT32, Np.where(a32.gt(0.0), a32, 0.0).dtype());
        assertEquals(FLOAT64, Np.where(a32.gt(0.0), a32, a64).dtype());
        // shape ops, take and the "like" factories keep the type
        assertEquals(FLOAT32, a32.reshape(3, 2).dtype());
        assertEquals(FLOAT32, a32.T().dtype());
        assertEquals(FLOAT32, a32.slice(1, 0, 2).dtype());
        assertEquals(FLOAT32, a32.pad(0, 1, 1).dtype());
        assertEquals(FLOAT32, a32.broadcastTo(4, 2, 3).dtype());
        assertEquals(FLOAT32, Np.concat(a32, b32).dtype());
        assertEquals(FLOAT64, Np.concat(a32, a64).dtype());
        assertEquals(FLOAT32, a32.take(Np.array(1, 0)).dtype());
        assertEquals(FLOAT32, a32.zerosLike().dtype());
        assertEquals(FLOAT32, a32.fullLike(0.1).dtype());
        assertEquals(0.1f, a32.fullLike(0.1).toArray()[0]);
        assertEquals(FLOAT32, Np.randomUniformLike(a32, 3).dtype());
        assertEquals(FLOAT64, Np.zeros(2, 3).dtype());
        assertEquals(FLOAT32, Np.zeros(new int[] {2}, FLOAT32).dtype());
    }

    // ------------------------------------------------------------------ values

    @Test
    void singlePrimitivesEqualTheFloat64ResultRoundedOnce() {
        int n = 1000;
        NDArray x = f32(new int[] {n}, gaussian(n, 3));
        NDArray y = f32(new int[] {n}, gaussian(n, 3));
        NDArray x64 = x.astype(FLOAT64);
        NDArray y64 = y.astype(FLOAT64);
        float[] xf = new float[n];
        float[] yf = new float[n];
        for (int i = 0; i < n; i++) {
            xf[i] = (float) x.toArray()[i];
            yf[i] = (float) y.toArray()[i];
        }
        // + - * / in Java floats are IEEE float32's correctly rounded results
        double[] add = x.add(y).toArray();
        double[] mul = x.mul(y).toArray();
        double[] div = x.div(y).toArray();
        double[] sub = x.sub(y).toArray();
        double[] sqrt = x.abs().sqrt().toArray();
        for (int i = 0; i < n; i++) {
            assertEquals(xf[i] + yf[i], add[i]);
            assertEquals(xf[i] * yf[i], mul[i]);
            assertEquals(xf[i] / yf[i], div[i]);
            assertEquals(xf[i] - yf[i], sub[i]);
            assertEquals((float) Math.sqrt(Math.abs(xf[i])), sqrt[i]);
        }
        // everything else: the float64 primitive over the same values, rounded once
        assertArrayEquals(rounded(x64.exp()), x.exp().toArray());
        assertArrayEquals(rounded(x64.tanh()), x.tanh().toArray());
        assertArrayEquals(rounded(x64.softplus()), x.softplus().toArray());
        assertArrayEquals(rounded(x64.mul(0.1)), x.mul(0.1).toArray());
        assertArrayEquals(rounded(x64.sum()), x.sum().toArray()); // accumulated in float64, rounded once
        assertArrayEquals(rounded(x64.norm()), x.norm().toArray());
        NDArray m = f32(new int[] {50, 20}, gaussian(1000, 1));
        NDArray w = f32(new int[] {20, 3}, gaussian(60, 1));
        assertArrayEquals(rounded(m.astype(FLOAT64).matmul(w.astype(FLOAT64))), m.matmul(w).toArray());
        assertArrayEquals(rounded(m.astype(FLOAT64).sum(0)), m.sum(0).toArray());
        assertAllFloats(x.exp());
        assertAllFloats(Np.randomUniformLike(m, 5));
    }

    /** A logistic loss and its gradient, written once and run on either type. */
    private static NDArray[] logistic(NDArray x, NDArray y, NDArray w) {
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray z = x.matmul(w);
            loss = z.softplus().sub(y.mul(z)).mean();
        }
        loss.backward();
        return new NDArray[] {loss, w.grad()};
    }

    @Test
    void aFloat32ProgramIsTheFloat64ProgramWithinFloat32Rounding() {
        int n = 400;
        int d = 8;
        double[] xv = rounded(Np.array(new int[] {n, d}, gaussian(n * d, 1)));
        double[] yv = new double[n];
        for (int i = 0; i < n; i++) {
            yv[i] = RNG.nextBoolean() ? 1 : 0;
        }
        double[] wv = rounded(Np.array(gaussian(d, 0.5)));
        NDArray[] r32 = logistic(f32(new int[] {n, d}, xv), f32(new int[] {n, 1}, yv), f32(new int[] {d, 1}, wv));
        NDArray[] r64 = logistic(Np.array(new int[] {n, d}, xv), Np.array(new int[] {n, 1}, yv), Np.array(new int[] {d, 1}, wv));
        assertEquals(FLOAT32, r32[0].dtype());
        assertEquals(FLOAT32, r32[1].dtype()); // a float32 parameter's gradient is float32
        assertAllFloats(r32[1]);
        assertTrue(r32[0].allClose(r64[0], 1e-5, 0), r32[0] + " vs " + r64[0]);
        assertTrue(r32[1].allClose(r64[1], 1e-4, 1e-6), r32[1] + " vs " + r64[1]);
        assertFalse(r32[1].equals(r64[1]), "float32 rounding should show somewhere in the gradient");

        // bit for bit: the float64 program with every primitive's result rounded to float by hand
        Function<NDArray, NDArray> r = a -> Np.array(a.shape(), rounded(a));
        NDArray x = Np.array(new int[] {n, d}, xv);
        NDArray y = Np.array(new int[] {n, 1}, yv);
        NDArray w = Np.array(new int[] {d, 1}, wv);
        NDArray z = r.apply(x.matmul(w));
        NDArray loss = r.apply(r.apply(r.apply(z.softplus()).sub(r.apply(y.mul(z)))).sum().div((double) n));
        assertEquals(loss.item(), r32[0].item());
        // backward of mean, sub, mul, softplus, matmul, each step rounded
        NDArray g = r.apply(Np.scalar(1.0).div((double) n).broadcastTo(n, 1)); // mean: sum's gradient / n
        NDArray gz = r.apply(r.apply(g.mul(r.apply(z.sigmoid()))).add(r.apply(r.apply(g.neg()).mul(y))));
        NDArray gw = r.apply(x.T().matmul(gz));
        assertArrayEquals(gw.toArray(), r32[1].toArray());
    }

    // ------------------------------------------------------------------ astype

    @Test
    void astypeRoundsToFloatAndBackExactly() {
        double[] v = {0.1, 1.0 / 3, -2.5, 1e40, -1e-50, Double.NaN, Double.NEGATIVE_INFINITY, 16777217};
        NDArray x = Np.array(v);
        NDArray x32 = x.astype(FLOAT32);
        assertEquals(FLOAT32, x32.dtype());
        double[] got = x32.toArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals((double) (float) v[i], got[i], "element " + i); // 1e40 overflows to inf, as numpy
        }
        NDArray back = x32.astype(FLOAT64);
        assertEquals(FLOAT64, back.dtype());
        assertArrayEquals(got, back.toArray());
        assertEquals(FLOAT32, Np.array(v, FLOAT32).dtype());
        assertArrayEquals(got, Np.array(v, FLOAT32).toArray());
        assertThrows(NullPointerException.class, () -> x.astype(null));
    }

    @Test
    void astypeGradientIsCastBackToTheInputsType() {
        NDArray x = Np.array(0.1, 0.2, 0.3);
        x.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.astype(FLOAT32).mul(0.1).sum();
        }
        assertEquals(FLOAT32, y.dtype());
        y.backward();
        assertEquals(FLOAT64, x.grad().dtype());
        assertArrayEquals(new double[] {0.1f, 0.1f, 0.1f}, x.grad().toArray()); // the float32 gradient, widened
    }

    @Test
    void aFloat32InputOfAMixedOpGetsAFloat32Gradient() {
        NDArray x = Np.array(new double[] {1, 2, 3}, FLOAT32);
        NDArray w = Np.array(0.1, 0.2, 0.3); // float64
        x.attachGrad();
        w.attachGrad();
        try (var r = Autograd.record()) {
            x.mul(w).sum().backward();
        }
        assertEquals(FLOAT32, x.grad().dtype());
        assertArrayEquals(new double[] {0.1f, 0.2f, 0.3f}, x.grad().toArray());
        assertEquals(FLOAT64, w.grad().dtype());
        assertArrayEquals(new double[] {1, 2, 3}, w.grad().toArray());
    }

    @Test
    void assignIntoAFloat32ArrayRoundsAsNumpyDoes() {
        NDArray x = Np.zeros(new int[] {2}, FLOAT32);
        x.assign(Np.array(0.1, 0.7));
        assertArrayEquals(new double[] {0.1f, 0.7f}, x.toArray());
        assertEquals(FLOAT32, x.dtype());
    }

    @Test
    void factoriesRoundTheirValues() {
        assertArrayEquals(new double[] {0.1f, 0.1f}, Np.full(new int[] {2}, 0.1, FLOAT32).toArray());
        assertAllFloats(Np.randomNormal(0, 1, FLOAT32, 100));
        NDArray u = Np.randomUniform(0, 1, FLOAT32, 1000);
        assertAllFloats(u);
        assertTrue(u.max().item() < 1.0);
        assertEquals(FLOAT32, Np.ones(new int[] {3}, FLOAT32).dtype());
        assertEquals(DType.FLOAT32, DType.parse("Float32"));
        assertThrows(IllegalArgumentException.class, () -> DType.parse("int8"));
    }

    // ------------------------------------------------------------------ printing

    @Test
    void float32ArraysPrintTheirShortestFloatDigitsAndDtype() {
        assertEquals("array([0.1, 0.7], dtype=float32)", Np.array(new double[] {0.1, 0.7}, FLOAT32).toString());
        assertEquals("array([0.33333334], dtype=float32)", Np.array(new double[] {1.0 / 3}, FLOAT32).toString());
        assertEquals("array(0.1, dtype=float32)", Np.scalar(0.1, FLOAT32).toString());
        assertEquals("array([], dtype=float32)", Np.zeros(new int[] {0}, FLOAT32).toString());
        assertEquals("array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n"
            + "       13., 14., 15., 16., 17., 18., 19.], dtype=float32)", Np.arange(20).astype(FLOAT32).toString());
        assertEquals("array([0.1, 0.7])", Np.array(0.1, 0.7).toString());
    }
}
