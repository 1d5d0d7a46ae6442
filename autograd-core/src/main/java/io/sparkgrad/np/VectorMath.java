package io.sparkgrad.np;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp}, {@code sigmoid}, {@code softplus}, {@code tanh} and {@code log} over whole arrays, a vector of lanes at a time
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
 *   <li>tanh: {@code e / (e + 2)} with {@code e = expm1(2|x|)}, and the sign of x; expm1 reduces as
 *       exp does (but keeps {@code k = 0} below {@code ln 2}, with the Taylor polynomial to degree
 *       17) and forms {@code 2^k (e^r - 1) + (2^k - 1)} in one fused step, so that no cancellation
 *       near 0 loses bits. Beyond {@code |x| = 20} tanh rounds to 1.</li>
 *   <li>log: {@code x = 2^k m} with {@code m} in {@code [sqrt(1/2), sqrt(2))} from the exponent
 *       bits (subnormals scaled by {@code 2^54} first), then {@code log(1 + f)} for {@code f = m - 1}
 *       (exact) as {@code f - (f^2/2 - s (f^2/2 + R))}, {@code s = f / (2 + f)}, {@code R} the
 *       atanh series in {@code s^2 <= 0.03} to {@code s^24}: the large part {@code f} is exact and
 *       the corrections are small, the way fdlibm's {@code log} does it.</li>
 * </ul>
 * exp, sigmoid and log agree with their {@code Math} definitions within 2 ulps, softplus and tanh
 * within 4 (tested; {@code Math.tanh} itself is off by up to 2 ulps, this tanh by up to 3 against
 * 60-digit decimal arithmetic), except below the normal range, where results keep fewer bits.
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
    // 1/n! for n = 17 down to 2: expm1's r reaches ln 2 in tanh
    private static final double[] EXPM1_TAYLOR = new double[16];
    // 1/(2i+1) for i = 15 down to 0
    private static final double[] ATANH_SERIES = new double[16];
    // 2/(2i+1) for i = 12 down to 1: log's R / s^2
    private static final double[] LOG_SERIES = new double[12];
    private static final double SQRT2 = 1.4142135623730951;
    private static final long SIGN_BIT = 0x8000000000000000L;
    private static final long MANTISSA = 0x000fffffffffffffL;
    private static final long EXPONENT_OF_ONE = 0x3ff0000000000000L;

    static {
        double f = 1;
        for (int n = 2; n <= 13; n++) {
            f *= n;
            EXP_TAYLOR[13 - n] = 1.0 / f;
        }
        f = 1;
        for (int n = 2; n <= 17; n++) {
            f *= n;
            EXPM1_TAYLOR[17 - n] = 1.0 / f;
        }
        for (int i = 0; i < 16; i++) {
            ATANH_SERIES[15 - i] = 1.0 / (2 * i + 1);
        }
        for (int i = 1; i <= 12; i++) {
            LOG_SERIES[12 - i] = 2.0 / (2 * i + 1);
        }
    }

    /** Returns true if {@link #apply} computes {@code f}. */
    static boolean covers(UnaryFn f) {
        return f == UnaryFn.EXP || f == UnaryFn.SIGMOID || f == UnaryFn.SOFTPLUS || f == UnaryFn.TANH || f == UnaryFn.LOG;
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
            case TANH:
                tanhLoop(x, o, n);
                break;
            case LOG:
                logLoop(x, o, n);
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

    /**
     * Writes tanh(x) = sign(x) e / (e + 2), e = expm1(2|x|), for the first {@code n} elements;
     * NaN stays NaN, -0.0 stays -0.0. The body sits in the loop, not in a helper: log's would be
     * too big for the JIT to inline, and the two are written alike.
     */
    private static void tanhLoop(double[] x, double[] o, int n) {
        int step = S.length();
        for (int i = 0; i < n; i += step) {
            DoubleVector v = DoubleVector.fromArray(S, x, i);
            DoubleVector a = v.abs().min(20.0); // tanh(20) rounds to 1: 2 e^-40 is below half an ulp of 1
            DoubleVector y = a.add(a);
            // expm1(y) for y in [0, 40], reduced as exp is, y = k ln 2 + r, except that k = 0 below
            // ln 2: there 2^k (e^r - 1) + 2^k - 1 would cancel, and e^r - 1 = y - 0 loses nothing
            DoubleVector t = y.mul(LOG2E).add(ROUND).blend(ROUND, y.compare(VectorOperators.LT, LN2_HI));
            DoubleVector k = t.sub(ROUND);
            DoubleVector r = k.lanewise(VectorOperators.FMA, -LN2_HI, y);
            r = k.lanewise(VectorOperators.FMA, -LN2_LO, r);
            DoubleVector p = DoubleVector.broadcast(S, EXPM1_TAYLOR[0]);
            for (int j = 1; j < EXPM1_TAYLOR.length; j++) {
                p = p.lanewise(VectorOperators.FMA, r, DoubleVector.broadcast(S, EXPM1_TAYLOR[j]));
            }
            p = p.lanewise(VectorOperators.FMA, r, DoubleVector.broadcast(S, 1.0));
            DoubleVector q = p.mul(r); // e^r - 1, with no cancellation
            // 2^k for k in [0, 58]: no overflow, and 2^k - 1 is exact where it matters (k <= 53)
            DoubleVector s = t.reinterpretAsLongs().sub(ROUND_BITS).add(1023).lanewise(VectorOperators.LSHL, 52)
                .reinterpretAsDoubles();
            DoubleVector e = s.lanewise(VectorOperators.FMA, q, s.sub(1.0));
            DoubleVector th = e.div(e.add(2.0));
            th.reinterpretAsLongs().or(v.reinterpretAsLongs().and(SIGN_BIT)).reinterpretAsDoubles().intoArray(o, i);
        }
    }

    /**
     * Writes the natural logarithm of the first {@code n} elements: NaN below 0 and for NaN,
     * -infinity at +-0, infinity at infinity.
     */
    private static void logLoop(double[] xs0, double[] o, int n) {
        int step = S.length();
        for (int i = 0; i < n; i += step) {
            DoubleVector x = DoubleVector.fromArray(S, xs0, i);
            VectorMask<Double> subnormal = x.compare(VectorOperators.LT, Double.MIN_NORMAL);
            LongVector bits = x.blend(x.mul(0x1p54), subnormal).reinterpretAsLongs();
            // the biased exponent as a double: an integer below 2^51 added to ROUND's bits adds to its value
            DoubleVector k = bits.lanewise(VectorOperators.LSHR, 52).add(ROUND_BITS).reinterpretAsDoubles()
                .sub(ROUND + 1023);
            k = k.blend(k.sub(54.0), subnormal);
            DoubleVector m = bits.and(MANTISSA).or(EXPONENT_OF_ONE).reinterpretAsDoubles(); // in [1, 2)
            VectorMask<Double> high = m.compare(VectorOperators.GT, SQRT2);
            m = m.blend(m.mul(0.5), high);
            k = k.blend(k.add(1.0), high);
            DoubleVector f = m.sub(1.0); // exact: m is within a factor 2 of 1
            DoubleVector s = f.div(f.add(2.0));
            DoubleVector z = s.mul(s);
            DoubleVector p = DoubleVector.broadcast(S, LOG_SERIES[0]);
            for (int j = 1; j < LOG_SERIES.length; j++) {
                p = p.lanewise(VectorOperators.FMA, z, DoubleVector.broadcast(S, LOG_SERIES[j]));
            }
            DoubleVector hfsq = f.mul(f).mul(0.5);
            // k ln2_hi + (f - (hfsq - (s (hfsq + R) + k ln2_lo))), the large parts added last
            DoubleVector small = s.lanewise(VectorOperators.FMA, hfsq.add(p.mul(z)), k.mul(LN2_LO));
            DoubleVector result = k.lanewise(VectorOperators.FMA, LN2_HI, f.sub(hfsq.sub(small)));
            result = result.blend(Double.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0.0));
            result = result.blend(Double.NaN, x.compare(VectorOperators.LT, 0.0));
            // NaN and infinity are themselves
            result.blend(x, x.compare(VectorOperators.NE, x).or(x.compare(VectorOperators.EQ, Double.POSITIVE_INFINITY)))
                .intoArray(o, i);
        }
    }
}
