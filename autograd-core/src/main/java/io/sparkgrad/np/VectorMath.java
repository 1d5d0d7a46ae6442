package io.sparkgrad.np;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp}, {@code sigmoid} and {@code softplus} over whole arrays, a vector of lanes at a time
 * with the JDK's Vector API. The JIT does not vectorise a loop that calls {@code Math.exp}, and
 * {@code Math.log1p} is a native call per element on Java 17: {@code softplus} and {@code sigmoid}
 * cost as much as the matrix products of a logistic regression. Here they take a sixth to a tenth
 * of the scalar loops' time.
 *
 * <p>The functions are built from additions, multiplications, fused multiply-adds and exponent
 * bit arithmetic only, never from the Vector API's own transcendental operators: those run a
 * different algorithm before and after the JIT compiles the loop, so a value would depend on
 * when it was computed. These are exactly rounded steps, the same interpreted or compiled, so a
 * result never depends on timing. Every element, the last few included, also goes through the
 * same vector code, so its value does not depend on where it sits in its array either: a
 * distributed array's blocks get the values the local engine gets for the whole array.
 *
 * <ul>
 *   <li>exp: {@code x = k ln 2 + r} with {@code |r| <= ln 2 / 2} (Cody and Waite's two-part
 *       {@code ln 2}), {@code e^r} by its Taylor polynomial of degree 13 (truncation below 1e-17),
 *       scaled by {@code 2^k} in two steps so that no exponent overflows before the result does;</li>
 *   <li>log1p on {@code [0, 1]} (for softplus): {@code 2 atanh(s)} with {@code s = e / (2 + e)
 *       <= 1/3}, its odd series to {@code s^31}.</li>
 * </ul>
 * exp and sigmoid agree with their {@code Math.exp} definitions within 2 ulps, softplus within 4
 * (tested), except below the normal range, where results keep fewer bits.
 * {@link LocalBackend} loads this class only when the {@code jdk.incubator.vector} module is present
 * ({@code --add-modules=jdk.incubator.vector}, which sparkgrad's JVM flags include).
 */
final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    private static final double LOG2E = 1.4426950408889634;
    // ln 2 in two parts; k * LN2_HI is exact for the |k| <= 1076 used here
    private static final double LN2_HI = 6.93147180369123816490e-01;
    private static final double LN2_LO = 1.90821492927058770002e-10;
    private static final double ROUND = 0x1.8p52; // adding and subtracting it rounds to an integer
    private static final long ROUND_BITS = Double.doubleToRawLongBits(ROUND);

    // 1/n! for n = 13 down to 2
    private static final double[] EXP_TAYLOR = new double[12];
    // 1/(2i+1) for i = 15 down to 0
    private static final double[] ATANH_SERIES = new double[16];

    static {
        double f = 1;
        for (int n = 2; n <= 13; n++) {
            f *= n;
            EXP_TAYLOR[13 - n] = 1.0 / f;
        }
        for (int i = 0; i < 16; i++) {
            ATANH_SERIES[15 - i] = 1.0 / (2 * i + 1);
        }
    }

    /** Returns true if {@link #apply} computes {@code f}. */
    static boolean covers(UnaryFn f) {
        return f == UnaryFn.EXP || f == UnaryFn.SIGMOID || f == UnaryFn.SOFTPLUS;
    }

    /** Returns {@code f(x)} for one value, through the same vector code as arrays. */
    static double apply(UnaryFn f, double x) {
        double[] in = new double[S.length()];
        double[] out = new double[S.length()];
        in[0] = x;
        run(f, in, out, in.length);
        return out[0];
    }

    /** Writes {@code f(x[i])} into {@code o[i]} for every {@code i}; {@code f} must be {@linkplain #covers covered}. */
    static void apply(UnaryFn f, double[] x, double[] o) {
        int n = x.length;
        int step = S.length();
        int bulk = n - n % step;
        run(f, x, o, bulk);
        if (bulk < n) {
            // the tail runs as one padded vector, through the same code as the rest
            double[] in = new double[step];
            double[] out = new double[step];
            System.arraycopy(x, bulk, in, 0, n - bulk);
            run(f, in, out, step);
            System.arraycopy(out, 0, o, bulk, n - bulk);
        }
    }

    /**
     * The loops over the first {@code n} elements, a multiple of the vector length. Each loop calls
     * one helper, which the JIT inlines: a helper that calls another is compiled on its own, and
     * vectors passed between compiled methods are boxed, which makes them ten times slower. So
     * sigmoid and softplus first write {@code exp(-|x|)} to {@code o}, then finish in a second
     * pass over the (cached) chunk.
     */
    private static void run(UnaryFn f, double[] x, double[] o, int n) {
        int step = S.length();
        switch (f) {
            case EXP:
                expLoop(x, o, n, false);
                break;
            case SIGMOID:
                expLoop(x, o, n, true);
                for (int i = 0; i < n; i += step) {
                    DoubleVector e = DoubleVector.fromArray(S, o, i);
                    DoubleVector s = DoubleVector.broadcast(S, 1.0).div(e.add(1.0));
                    // 1 / (1 + e) where x >= 0 and e / (1 + e) elsewhere: neither overflows
                    VectorMask<Double> nonNegative = DoubleVector.fromArray(S, x, i).compare(VectorOperators.GE, 0.0);
                    e.mul(s).blend(s, nonNegative).intoArray(o, i);
                }
                break;
            case SOFTPLUS:
                expLoop(x, o, n, true);
                for (int i = 0; i < n; i += step) {
                    // max(x, 0) + log1p(exp(-|x|)), which never overflows
                    DoubleVector.fromArray(S, x, i).max(0.0).add(log1pUnit(DoubleVector.fromArray(S, o, i))).intoArray(o, i);
                }
                break;
            default:
                throw new IllegalArgumentException("internal: no vector kernel for " + f);
        }
    }

    /** Writes {@code exp(x)}, or {@code exp(-|x|)} with {@code negAbs}, for the first {@code n} elements. */
    private static void expLoop(double[] x, double[] o, int n, boolean negAbs) {
        int step = S.length();
        for (int i = 0; i < n; i += step) {
            DoubleVector v = DoubleVector.fromArray(S, x, i);
            exp(negAbs ? v.abs().neg() : v).intoArray(o, i);
        }
    }

    /** e^x; NaN stays NaN, overflow gives infinity and underflow 0. */
    private static DoubleVector exp(DoubleVector x) {
        DoubleVector xc = x.max(-746.0).min(710.0); // beyond these the result is 0 or infinity anyway
        DoubleVector t = xc.mul(LOG2E).add(ROUND); // k + ROUND: k, rounded, sits in the low bits
        DoubleVector k = t.sub(ROUND);
        DoubleVector r = k.lanewise(VectorOperators.FMA, -LN2_HI, xc);
        r = k.lanewise(VectorOperators.FMA, -LN2_LO, r);
        DoubleVector p = DoubleVector.broadcast(S, EXP_TAYLOR[0]);
        for (int i = 1; i < EXP_TAYLOR.length; i++) {
            p = p.lanewise(VectorOperators.FMA, r, DoubleVector.broadcast(S, EXP_TAYLOR[i]));
        }
        p = p.lanewise(VectorOperators.FMA, r, DoubleVector.broadcast(S, 1.0)); // r/1!
        p = p.lanewise(VectorOperators.FMA, r, DoubleVector.broadcast(S, 1.0)); // 1
        // 2^k as two powers of two whose exponents stay in range for every k in [-1077, 1025]; k as
        // an integer comes from t's bits (a double-to-long conversion is not compiled to vector code)
        LongVector kl = t.reinterpretAsLongs().sub(ROUND_BITS);
        LongVector k1 = kl.lanewise(VectorOperators.ASHR, 1);
        LongVector k2 = kl.sub(k1);
        DoubleVector s1 = k1.add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
        DoubleVector s2 = k2.add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
        return p.mul(s1).mul(s2);
    }

    /** log(1 + e) for e in [0, 1] (or NaN): 2 atanh(e / (2 + e)). */
    private static DoubleVector log1pUnit(DoubleVector e) {
        DoubleVector s = e.div(e.add(2.0));
        DoubleVector z = s.mul(s);
        DoubleVector p = DoubleVector.broadcast(S, ATANH_SERIES[0]);
        for (int i = 1; i < ATANH_SERIES.length; i++) {
            p = p.lanewise(VectorOperators.FMA, z, DoubleVector.broadcast(S, ATANH_SERIES[i]));
        }
        return s.add(s).mul(p);
    }
}
