package io.sparkgrad.np;

/**
 * The scalar functions numpy has and {@link Math} lacks: the error function, the inverse
 * hyperbolic functions and the base-2 logarithm, written from their defining identities with
 * arithmetic and {@code Math}'s {@code exp}, {@code log}, {@code log1p} and {@code sqrt}, so that an
 * element gets the same value in a block of a distributed array as in a local one.
 *
 * <p>Accuracy, measured against 50-digit values (mpmath) at 100,000 points per function spread over
 * their ranges, for results in the normal range (a subnormal result has fewer bits):
 * <ul>
 *   <li>{@link #erf}: within 6e-16 relative (5 ulps); {@code erf(x) == 1.0} from {@code x = 6},
 *       where the true value is within 2.2e-17 of 1.</li>
 *   <li>{@link #erfc}: within 6e-16 relative (5 ulps) from {@code x = 1.5}; below that it is
 *       {@code 1 - erf(x)}, within 4e-16 absolute (so 1e-14 relative just below 1.5, where erfc is
 *       0.034); 0 from {@code x = 27.3}, where it underflows.</li>
 *   <li>{@link #asinh}, {@link #acosh}, {@link #atanh}: within 1.5 ulps; {@link #log2}: within
 *       1 ulp, and exact at powers of two.</li>
 * </ul>
 */
final class ScalarMath {
    private ScalarMath() {}

    // correctly rounded (from 50-digit values); the rule table uses the package-private ones
    static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    static final double ONE_OVER_SQRT_2PI = 0.3989422804014327;
    static final double SQRT1_2 = 0.7071067811865476;
    static final double LN2 = 0.6931471805599453;
    static final double LN10 = 2.302585092994046;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;
    private static final double ONE_OVER_LN2 = 1.4426950408889634;
    private static final double SQRT2 = 1.4142135623730951;
    /** 2^28: above it, sqrt(x^2 + 1) equals |x| in double precision. */
    private static final double HUGE = 0x1p28;
    /** 2^-28: below it, asinh(x) and atanh(x) equal x in double precision. */
    private static final double TINY = 0x1p-28;

    // erf's series needs at most 26 terms below this, erfc's continued fraction at most 56 levels
    // above it, and both are accurate to a few ulps on their sides
    private static final double ERF_SPLIT = 1.5;
    /** erfc(6) = 2.2e-17 is below half an ulp of 1: erf is 1.0 from here on. */
    private static final double ERF_IS_ONE = 6.0;
    /** erfc underflows to 0 from here on (exp(-x^2) is below the smallest subnormal). */
    private static final double ERFC_IS_ZERO = 27.3;

    /** Returns erf(x) = 2/sqrt(pi) * integral of exp(-t^2) from 0 to x; odd, so erf(-0.0) = -0.0. */
    static double erf(double x) {
        double a = Math.abs(x);
        if (a < ERF_SPLIT) {
            return Math.copySign(erfSeries(a), x);
        }
        if (Double.isNaN(x)) {
            return x;
        }
        return Math.copySign(a >= ERF_IS_ONE ? 1.0 : 1.0 - erfcFraction(a), x);
    }

    /** Returns erfc(x) = 1 - erf(x), without the cancellation of the subtraction for large x. */
    static double erfc(double x) {
        if (x < ERF_SPLIT) {
            return 1.0 - erf(x); // erf(x) <= 0.967 here: the subtraction loses at most 5 bits
        }
        if (Double.isNaN(x)) {
            return x;
        }
        return x >= ERFC_IS_ZERO ? 0.0 : erfcFraction(x);
    }

    /**
     * Returns gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), written 0.5 x erfc(-x / sqrt 2): for
     * negative x, 1 + erf cancels to nothing while erfc keeps its digits (gelu(-10) = -7.6e-23, not 0).
     */
    static double gelu(double x) {
        return 0.5 * x * erfc(-x * SQRT1_2);
    }

    /**
     * erf(a) for 0 <= a < ERF_SPLIT from the series 2/sqrt(pi) exp(-a^2) sum_n (2a^2)^n a / (2n+1)!!,
     * whose terms are all positive: unlike the Taylor series of erf it adds without cancellation.
     * The sum is compensated (Neumaier), which halves the worst error of the plain sum.
     */
    private static double erfSeries(double a) {
        double r = 2 * a * a;
        double term = a;
        double sum = a;
        double lost = 0;
        for (int n = 1; term > sum * 0x1p-60; n++) {
            term *= r / (2 * n + 1);
            double next = sum + term;
            lost += (sum - next) + term; // exact: term is never larger than sum
            sum = next;
        }
        return TWO_OVER_SQRT_PI * expNegSquare(a) * (sum + lost);
    }

    /**
     * erfc(a) for ERF_SPLIT <= a < ERFC_IS_ZERO as Gamma(1/2, a^2) / sqrt(pi), with the continued
     * fraction Gamma(1/2, z) = exp(-z) sqrt(z) / (z + 1/2 - (1 * 1/2) / (z + 5/2 - (2 * 3/2) /
     * (z + 9/2 - ...))). It is evaluated from a fixed depth upwards: the forward (Lentz) method
     * multiplies its rounding errors together and was 8x less accurate here. The depth, 110/z + 8,
     * is 8 or more levels beyond where the value stops changing, measured from 1.5 to 27.
     */
    private static double erfcFraction(double a) {
        double z = a * a;
        double tail = 0;
        for (int i = (int) (110 / z) + 8; i > 0; i--) {
            tail = -i * (i - 0.5) / (z + 0.5 + 2 * i + tail);
        }
        double h = 1 / (z + 0.5 + tail);
        // the product before the exponential: exp(-a^2) may be subnormal, and is rounded only once more
        return (a * h * ONE_OVER_SQRT_PI) * expNegSquare(a);
    }

    /**
     * exp(-a^2) for |a| < 2^500, with a^2 split exactly into hi + lo (Dekker's product): exp(-hi)
     * alone would carry hi's rounding error, up to 8e-14 relative at a = 27.
     */
    private static double expNegSquare(double a) {
        double split = 134217729.0 * a; // 2^27 + 1: a = ah + al with 26-bit halves
        double ah = split - (split - a);
        double al = a - ah;
        double hi = a * a;
        double lo = ((ah * ah - hi) + 2 * ah * al) + al * al;
        return Math.exp(-hi) * (1.0 - lo);
    }

    /** Returns the inverse hyperbolic sine; odd, with asinh(+-inf) = +-inf. */
    static double asinh(double x) {
        double a = Math.abs(x);
        double r;
        if (a < TINY || Double.isNaN(x)) {
            return x;
        } else if (a > HUGE) {
            r = Math.log(a) + LN2; // log(2a): 2a itself may overflow
        } else if (a > 2) {
            r = Math.log(2 * a + 1 / (Math.sqrt(a * a + 1) + a));
        } else {
            // log(a + sqrt(a^2 + 1)) = log1p(a + a^2 / (1 + sqrt(a^2 + 1))), exact in form near 0
            r = Math.log1p(a + a * a / (1 + Math.sqrt(a * a + 1)));
        }
        return Math.copySign(r, x);
    }

    /** Returns the inverse hyperbolic cosine: NaN below 1 (as numpy), 0 at 1. */
    static double acosh(double x) {
        if (!(x >= 1)) {
            return Double.NaN;
        } else if (x > HUGE) {
            return Math.log(x) + LN2;
        } else if (x > 2) {
            return Math.log(2 * x - 1 / (x + Math.sqrt(x * x - 1)));
        }
        // near 1, x - 1 is exact and sqrt(x^2 - 1) = sqrt(2t + t^2) keeps its digits
        double t = x - 1;
        return Math.log1p(t + Math.sqrt(2 * t + t * t));
    }

    /** Returns the inverse hyperbolic tangent: +-inf at +-1, NaN beyond (as numpy). */
    static double atanh(double x) {
        double a = Math.abs(x);
        if (a < TINY || Double.isNaN(x)) {
            return x;
        }
        if (a > 1) {
            return Double.NaN;
        }
        // atanh(a) = log((1 + a) / (1 - a)) / 2 = log1p(2a / (1 - a)) / 2; below 0.5 the argument of
        // log1p is written 2a + 2a^2 / (1 - a), which keeps its low digits
        double r = a < 0.5 ? 0.5 * Math.log1p(2 * a + 2 * a * a / (1 - a)) : 0.5 * Math.log1p(2 * a / (1 - a));
        return Math.copySign(r, x);
    }

    /**
     * Returns the base-2 logarithm, exact at powers of two: {@code log(x) / log(2)} is not at 441 of
     * them ({@code 2^29} gives 29.000000000000004).
     */
    static double log2(double x) {
        if (!(x > 0) || x == Double.POSITIVE_INFINITY) {
            return Math.log(x); // -inf at 0, NaN below 0 and at NaN, inf at inf
        }
        int e = Math.getExponent(x);
        if (e < Double.MIN_EXPONENT) { // subnormal: its exponent is read from a copy in the normal range
            e = Math.getExponent(x * 0x1p54) - 54;
        }
        double m = Math.scalb(x, -e); // x = m 2^e with m in [1, 2), exactly
        if (m > SQRT2) {
            m *= 0.5;
            e++;
        }
        // m in (1/sqrt 2, sqrt 2]: log2(m) < 1/2 in magnitude, so e dominates the sum and stays exact
        return e + Math.log(m) * ONE_OVER_LN2;
    }
}
