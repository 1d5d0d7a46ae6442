package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scalar functions Java lacks against reference values: each expected number is the exact
 * value rounded to double, computed with 50 digits by mpmath ({@code float(mpmath.erf(x))}), at
 * points on both sides of every branch of the implementations. The bounds are the ones the
 * class documents.
 */
class ScalarMathTest {

    /** Asserts |actual - expected| <= rtol |expected|; NaN, infinities and zeros (with their sign) exactly. */
    private static void assertRelative(String what, double expected, double actual, double rtol) {
        if (!Double.isFinite(expected) || expected == 0) {
            assertEquals(expected, actual, what); // without a delta, -0.0 differs from 0.0 and NaN equals NaN
            return;
        }
        assertTrue(Math.abs(actual - expected) <= rtol * Math.abs(expected),
            () -> what + ": expected " + expected + ", got " + actual + " (" + Math.abs(actual - expected) / Math.ulp(expected)
                + " ulps)");
    }

    /** Asserts |actual - expected| <= ulps units in the last place of expected. */
    private static void assertUlps(String what, double expected, double actual, double ulps) {
        assertRelative(what, expected, actual, ulps * Math.ulp(expected) / Math.abs(expected));
    }

    @Test
    void erfOfKnownValues() {
        double[][] table = {
            {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
            {-0.25, -0.27632639016823696}, {1.4999999999999998, 0.9661051464753106}, {1.5, 0.9661051464753108},
            {2, 0.9953222650189527}, {3, 0.9999779095030014}, {4, 0.9999999845827421}, {5.9, 0.9999999999999999},
        };
        for (double[] row : table) {
            assertRelative("erf(" + row[0] + ")", row[1], ScalarMath.erf(row[0]), 6e-16);
        }
    }

    @Test
    void erfIsOddAndOneFromSix() {
        for (double x = 0; x < 8; x += 0.0625) {
            assertEquals(-ScalarMath.erf(x), ScalarMath.erf(-x), "erf(-x) at " + x);
        }
        assertEquals(-0.0, ScalarMath.erf(-0.0));
        assertEquals(1.0, ScalarMath.erf(6), 1e-16);
        assertEquals(1.0, ScalarMath.erf(1e300));
        assertEquals(-1.0, ScalarMath.erf(Double.NEGATIVE_INFINITY));
        assertEquals(Double.NaN, ScalarMath.erf(Double.NaN));
        // for tiny x, erf(x) is 2x / sqrt(pi) in double precision
        assertEquals(1.1283791670955126e-300, ScalarMath.erf(1e-300));
    }

    @Test
    void erfcOfKnownValuesKeepsItsDigitsInTheTail() {
        double[][] table = {
            {1.5, 0.033894853524689274}, {2, 0.004677734981047266}, {3, 2.209049699858544e-05},
            {5, 1.537459794428035e-12}, {10, 2.088487583762545e-45}, {20, 5.395865611607901e-176},
        };
        for (double[] row : table) {
            assertRelative("erfc(" + row[0] + ")", row[1], ScalarMath.erfc(row[0]), 6e-16);
        }
        // below 1.5 erfc is 1 - erf: within 4e-16 absolute
        double[][] below = {
            {-1, 1.8427007929497148}, {0.5, 0.4795001221869535}, {1, 0.15729920705028513},
            {1.4999999999999998, 0.0338948535246893},
        };
        for (double[] row : below) {
            assertEquals(row[1], ScalarMath.erfc(row[0]), 4e-16, "erfc(" + row[0] + ")");
        }
        assertEquals(0.0, ScalarMath.erfc(28));
        assertEquals(2.0, ScalarMath.erfc(Double.NEGATIVE_INFINITY));
        assertEquals(Double.NaN, ScalarMath.erfc(Double.NaN));
    }

    @Test
    void geluKeepsItsDigitsForNegativeInputs() {
        // x Phi(x): the naive 0.5 x (1 + erf(x / sqrt 2)) gives -0.0 at -10
        double[][] table = {
            {1, 0.8413447460685429}, {-1, -0.15865525393145705}, {0.5, 0.34573123063700656},
            {3, 2.99595030590511}, {-3, -0.0040496940948902835}, {-10, -7.619853024160526e-23},
        };
        for (double[] row : table) {
            // rounding x / sqrt 2 moves erfc's tail by x^2 of its relative error, as gelu's own condition
            // number (x^2 for large negative x) says any method would
            assertRelative("gelu(" + row[0] + ")", row[1], ScalarMath.gelu(row[0]), 1e-15 * Math.max(1, row[0] * row[0]));
        }
    }

    @Test
    void inverseHyperbolicFunctionsOnEveryBranch() {
        double[][] asinh = {
            {1e-9, 1e-09}, {0.5, 0.48121182505960347}, {2, 1.4436354751788103}, {2.5, 1.6472311463710958},
            {1e8, 19.11382792451231}, {3e8, 20.21244021318042}, {1e300, 691.4686750787737},
        };
        for (double[] row : asinh) {
            assertUlps("asinh(" + row[0] + ")", row[1], ScalarMath.asinh(row[0]), 1.5);
            assertUlps("asinh(" + -row[0] + ")", -row[1], ScalarMath.asinh(-row[0]), 1.5);
        }
        double[][] acosh = {
            {1 + 0x1p-52, 2.1073424255447014e-08}, {1.5, 0.9624236501192069}, {2, 1.3169578969248168},
            {2.5, 1.566799236972411}, {1e8, 19.11382792451231}, {3e8, 20.21244021318042}, {1e300, 691.4686750787737},
        };
        for (double[] row : acosh) {
            assertUlps("acosh(" + row[0] + ")", row[1], ScalarMath.acosh(row[0]), 1.5);
        }
        double[][] atanh = {
            {1e-9, 1e-09}, {0.25, 0.25541281188299536}, {0.5, 0.5493061443340549}, {0.75, 0.9729550745276566},
            {0.9999, 4.951718775643099}, {1 - 0x1p-53, 18.714973875118524},
        };
        for (double[] row : atanh) {
            assertUlps("atanh(" + row[0] + ")", row[1], ScalarMath.atanh(row[0]), 1.5);
            assertUlps("atanh(" + -row[0] + ")", -row[1], ScalarMath.atanh(-row[0]), 1.5);
        }
    }

    @Test
    void inverseHyperbolicFunctionsAtTheEdgesOfTheirDomains() {
        assertEquals(-0.0, ScalarMath.asinh(-0.0));
        assertEquals(Double.NEGATIVE_INFINITY, ScalarMath.asinh(Double.NEGATIVE_INFINITY));
        assertEquals(0.0, ScalarMath.acosh(1));
        assertEquals(Double.NaN, ScalarMath.acosh(0.9999999999999999));
        assertEquals(Double.POSITIVE_INFINITY, ScalarMath.acosh(Double.POSITIVE_INFINITY));
        assertEquals(Double.POSITIVE_INFINITY, ScalarMath.atanh(1));
        assertEquals(Double.NEGATIVE_INFINITY, ScalarMath.atanh(-1));
        assertEquals(Double.NaN, ScalarMath.atanh(1.0000000000000002));
        for (double nan : new double[] {ScalarMath.asinh(Double.NaN), ScalarMath.acosh(Double.NaN), ScalarMath.atanh(Double.NaN)}) {
            assertEquals(Double.NaN, nan);
        }
    }

    @Test
    void log2IsExactAtEveryPowerOfTwo() {
        for (int k = -1074; k <= 1023; k++) {
            assertEquals((double) k, ScalarMath.log2(Math.scalb(1.0, k)), "log2(2^" + k + ")");
        }
    }

    @Test
    void log2OfOtherValues() {
        double[][] table = {
            {3, 1.584962500721156}, {10, 3.321928094887362}, {0.7, -0.5145731728297583},
            {1.4142135623730951, 0.5000000000000001}, {1.4142135623730954, 0.5000000000000003},
            {1 + 0x1p-52, 3.203426503814917e-16}, {1e-310, -1029.7977094150824}, {1e300, 996.5784284662087},
        };
        for (double[] row : table) {
            assertUlps("log2(" + row[0] + ")", row[1], ScalarMath.log2(row[0]), 1);
        }
        assertEquals(Double.NEGATIVE_INFINITY, ScalarMath.log2(0));
        assertEquals(Double.NaN, ScalarMath.log2(-1));
        assertEquals(Double.POSITIVE_INFINITY, ScalarMath.log2(Double.POSITIVE_INFINITY));
    }
}
