package io.sparkgrad.np;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgrad.autograd.Autograd;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Forward values of every public {@link NDArray} and {@link Np} operation against values derived
 * by hand (or by an explicit index loop written out in the test), and every bad-input error: its
 * exception type and that its message names the op and the shapes involved.
 *
 * <p>Gradients are tested elsewhere; the few autograd calls here only check {@code assign} and
 * {@code detach}.
 */
class NDArrayTest {

    private static final double LN2 = Math.log(2);
    private static final double LN3 = Math.log(3);
    private static final double LN4 = Math.log(4);

    // ================================================================ helpers

    private static long[] shape(long... dims) {
        return dims;
    }

    /** arange(n).reshape(dims): element (i, j, k) of a (2, 3, 4) array is 12i + 4j + k. */
    private static NDArray range(int... dims) {
        return Np.arange(Shape.size(dims)).reshape(dims);
    }

    private static NDArray matrix(double[]... rows) {
        return Np.array(rows);
    }

    /** Asserts the shape and that every value is exactly the expected one (NaN matches NaN, -0 matches 0). */
    private static void assertArray(NDArray actual, long[] expectedShape, double... expected) {
        assertClose(actual, expectedShape, 0.0, expected);
    }

    /**
     * Asserts the shape and that every value is within {@code tol * max(1, |expected|)}; NaN must
     * match NaN and infinities must match exactly.
     */
    private static void assertClose(NDArray actual, long[] expectedShape, double tol, double... expected) {
        assertArrayEquals(expectedShape, actual.shape(), () -> "shape of " + actual);
        double[] v = actual.toArray();
        assertEquals(expected.length, v.length, "number of values");
        for (int i = 0; i < v.length; i++) {
            double e = expected[i];
            double a = v[i];
            int at = i;
            if (Double.isNaN(e)) {
                assertTrue(Double.isNaN(a), () -> "element " + at + ": expected NaN, got " + a + " in " + actual);
            } else if (Double.isInfinite(e) || tol == 0) {
                assertTrue(a == e, () -> "element " + at + ": expected " + e + ", got " + a + " in " + actual);
            } else {
                assertTrue(Math.abs(a - e) <= tol * Math.max(1.0, Math.abs(e)),
                    () -> "element " + at + ": expected " + e + ", got " + a + " in " + actual);
            }
        }
    }

    /**
     * Asserts that every value is within {@code ulps} units in the last place of the expected one;
     * NaN, infinities and zeros must match exactly, the sign of a zero included (numpy prints -0.).
     */
    private static void assertUlps(NDArray actual, double ulps, double... expected) {
        double[] v = actual.toArray();
        assertEquals(expected.length, v.length, "number of values");
        for (int i = 0; i < v.length; i++) {
            double e = expected[i];
            double a = v[i];
            int at = i;
            if (!Double.isFinite(e) || e == 0) {
                assertEquals(e, a, () -> "element " + at + " of " + actual); // no delta: -0.0 != 0.0
            } else {
                assertTrue(Math.abs(a - e) <= ulps * Math.ulp(e),
                    () -> "element " + at + ": expected " + e + ", got " + a + " in " + actual);
            }
        }
    }

    private static void assertScalar(NDArray actual, double expected, double tol) {
        assertClose(actual, shape(), tol, expected);
    }

    /** Asserts that {@code call} throws exactly {@code type} and that the message holds every part. */
    private static <T extends Throwable> T assertFails(Class<T> type, Executable call, String... parts) {
        Throwable t = assertThrows(Throwable.class, call);
        if (t.getClass() != type) {
            fail("expected " + type.getSimpleName() + " but got " + t, t);
        }
        String msg = t.getMessage();
        for (String p : parts) {
            assertTrue(msg != null && msg.contains(p), () -> "message \"" + msg + "\" should contain \"" + p + "\"");
        }
        return type.cast(t);
    }

    private static IllegalArgumentException assertIllegal(Executable call, String... parts) {
        return assertFails(IllegalArgumentException.class, call, parts);
    }

    // ================================================================ factories

    @Nested
    class Factories {

        @Test
        void arrayOfValuesIsOneDimensionalCopy() {
            double[] src = {1.5, -2.0, 3.0};
            NDArray a = Np.array(src);
            src[0] = 99;
            assertArray(a, shape(3), 1.5, -2.0, 3.0);
            assertEquals(1, a.ndim());
        }

        @Test
        void arrayOfNoValuesIsEmptyVector() {
            assertArray(Np.array(), shape(0));
        }

        @Test
        void arrayOfRowsIsRowMajorMatrixCopy() {
            double[][] rows = {{1, 2, 3}, {4, 5, 6}};
            NDArray a = Np.array(rows);
            rows[1][2] = 99;
            assertArray(a, shape(2, 3), 1, 2, 3, 4, 5, 6);
        }

        @Test
        void arrayOfShapeAndDataFillsRowMajorAndCopies() {
            double[] data = {1, 2, 3, 4, 5, 6};
            NDArray a = Np.array(shape(3, 1, 2), data);
            data[0] = 99;
            assertArray(a, shape(3, 1, 2), 1, 2, 3, 4, 5, 6);
            assertArray(Np.array(shape(), new double[] {7}), shape(), 7);
        }

        @Test
        void arrayOfRaggedRowsIsRejectedNamingTheRows() {
            assertIllegal(() -> Np.array(new double[][] {{1, 2, 3}, {4, 5}}),
                "array", "row 1 has 2 values", "row 0 has 3");
        }

        @Test
        void arrayWhoseDataDoesNotFillShapeIsRejected() {
            assertIllegal(() -> Np.array(shape(2, 3), new double[5]), "array", "5 values", "(2, 3)", "6 elements");
        }

        @Test
        void arrayWithNegativeDimensionIsRejected() {
            assertIllegal(() -> Np.array(shape(-1, 2), new double[0]), "array", "negative dimension", "(-1, 2)");
        }

        @Test
        void scalarIsZeroDimensional() {
            NDArray s = Np.scalar(-4.25);
            assertArray(s, shape(), -4.25);
            assertEquals(0, s.ndim());
            assertEquals(1, s.size());
            assertEquals(-4.25, s.item());
        }

        @Test
        void arangeOfStopCountsFromZero() {
            assertArray(Np.arange(5), shape(5), 0, 1, 2, 3, 4);
            assertArray(Np.arange(2.5), shape(3), 0, 1, 2);
        }

        @Test
        void arangeOfNonPositiveStopIsEmpty() {
            assertArray(Np.arange(0), shape(0));
            assertArray(Np.arange(-3), shape(0));
        }

        @Test
        void arangeWithStepExcludesStop() {
            assertArray(Np.arange(2, 11, 3), shape(3), 2, 5, 8);
            assertArray(Np.arange(2, 12, 3), shape(4), 2, 5, 8, 11);
        }

        @Test
        void arangeWithNegativeStepCountsDown() {
            assertArray(Np.arange(5, 0, -2), shape(3), 5, 3, 1);
            assertArray(Np.arange(1, 0, -0.25), shape(4), 1, 0.75, 0.5, 0.25);
        }

        @Test
        void arangeWithFractionalStepHasNumpyLength() {
            NDArray a = Np.arange(0, 1, 0.1);
            assertClose(a, shape(10), 1e-15, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9);
        }

        @Test
        void arangeThatNeverReachesStopIsEmpty() {
            assertArray(Np.arange(3, 1, 1), shape(0));
            assertArray(Np.arange(1, 3, -1), shape(0));
            assertArray(Np.arange(2, 2, 1), shape(0));
        }

        @Test
        void arangeWithZeroStepIsRejected() {
            assertIllegal(() -> Np.arange(0, 5, 0), "arange", "step must be non-zero", "0.0");
            assertIllegal(() -> Np.arange(0, 5, Double.NaN), "arange", "step must be non-zero", "NaN");
        }

        @Test
        void zerosOnesAndFullFillTheShape() {
            assertArray(Np.zeros(2, 3), shape(2, 3), 0, 0, 0, 0, 0, 0);
            assertArray(Np.ones(3), shape(3), 1, 1, 1);
            assertArray(Np.full(shape(2, 2), 7.5), shape(2, 2), 7.5, 7.5, 7.5, 7.5);
            assertArray(Np.zeros(0, 4), shape(0, 4));
        }

        @Test
        void zerosAndOnesWithoutShapeAreScalars() {
            assertArray(Np.zeros(), shape(), 0);
            assertArray(Np.ones(), shape(), 1);
            assertArray(Np.full(shape(), -2), shape(), -2);
        }

        @Test
        void negativeDimensionsAreRejectedNamingTheFactory() {
            assertIllegal(() -> Np.zeros(2, -3), "zeros", "negative dimension", "(2, -3)");
            assertIllegal(() -> Np.ones(-1), "ones", "negative dimension", "(-1,)");
            assertIllegal(() -> Np.full(shape(-4, 2), 1.0), "full", "negative dimension", "(-4, 2)");
        }

        @Test
        void zerosWithTooManyElementsIsRejectedBeforeAllocating() {
            assertIllegal(() -> Np.zeros(65536, 65536), "(65536, 65536)", "4294967296 elements");
        }

        @Test
        void eyeIsIdentity() {
            assertArray(Np.eye(3), shape(3, 3), 1, 0, 0, 0, 1, 0, 0, 0, 1);
            assertArray(Np.eye(1), shape(1, 1), 1);
            assertArray(Np.eye(0), shape(0, 0));
        }

        @Test
        void eyeOfNegativeSizeIsRejected() {
            assertIllegal(() -> Np.eye(-1), "eye", "negative size -1");
        }

        @Test
        void eyeWhoseElementCountOverflowsIntIsRejected() {
            // 65536^2 wraps to 0 and 46341^2 to a negative int: neither may leak an
            // ArrayIndexOutOfBoundsException or NegativeArraySizeException.
            assertIllegal(() -> Np.eye(65536), "eye", "65536");
            assertIllegal(() -> Np.eye(46341), "eye", "46341");
        }

        @Test
        void randomNormalHasRequestedShape() {
            assertArrayEquals(shape(4, 5), Np.randomNormal(0, 1, 4, 5).shape());
            assertArrayEquals(shape(0, 3), Np.randomNormal(0, 1, 0, 3).shape());
        }

        @Test
        void randomWithoutShapeIsScalar() {
            NDArray n = Np.randomNormal(3, 2);
            assertEquals(0, n.ndim());
            assertTrue(Double.isFinite(n.item()));
            NDArray u = Np.randomUniform(2, 3);
            assertEquals(0, u.ndim());
            assertTrue(u.item() >= 2 && u.item() < 3, "uniform scalar " + u.item());
        }

        @Test
        void seedMakesRandomArraysReproducible() {
            Np.seed(123);
            NDArray n1 = Np.randomNormal(0, 1, 4, 5);
            NDArray u1 = Np.randomUniform(-1, 1, 3);
            Np.seed(123);
            NDArray n2 = Np.randomNormal(0, 1, 4, 5);
            NDArray u2 = Np.randomUniform(-1, 1, 3);
            assertEquals(n1, n2);
            assertEquals(u1, u2);
            Np.seed(124);
            assertNotEquals(n1, Np.randomNormal(0, 1, 4, 5));
        }

        @Test
        void randomNormalSamplesHaveRequestedMeanAndStd() {
            Np.seed(42);
            double[] v = Np.randomNormal(2.0, 3.0, 100_000).toArray();
            double mean = Arrays.stream(v).average().orElseThrow();
            double var = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / v.length;
            // standard errors: 3/sqrt(1e5) ~ 0.0095 for the mean, ~0.0067 for the std
            assertEquals(2.0, mean, 0.06);
            assertEquals(3.0, Math.sqrt(var), 0.05);
        }

        @Test
        void randomNormalWithZeroStdIsConstant() {
            assertArray(Np.randomNormal(1.5, 0.0, 3), shape(3), 1.5, 1.5, 1.5);
        }

        @Test
        void randomUniformSamplesStayInBoundsWithUniformMoments() {
            Np.seed(7);
            double[] v = Np.randomUniform(-2.0, 3.0, 100_000).toArray();
            double min = Arrays.stream(v).min().orElseThrow();
            double max = Arrays.stream(v).max().orElseThrow();
            assertTrue(min >= -2.0 && min < -1.99, "min " + min);
            assertTrue(max < 3.0 && max > 2.99, "max " + max);
            double mean = Arrays.stream(v).average().orElseThrow();
            double var = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / v.length;
            assertEquals(0.5, mean, 0.03);
            assertEquals(5.0 / Math.sqrt(12.0), Math.sqrt(var), 0.02);
        }

        @Test
        void randomUniformWithEqualBoundsIsConstant() {
            assertArray(Np.randomUniform(4, 4, 2), shape(2), 4, 4);
        }

        @Test
        void randomWithBadParametersIsRejected() {
            assertIllegal(() -> Np.randomNormal(0, -1, 3), "randomNormal", "std must be >= 0", "-1.0");
            assertIllegal(() -> Np.randomUniform(3, 1, 3), "randomUniform", "low 3.0 is above high 1.0");
            assertIllegal(() -> Np.randomNormal(0, 1, -2), "randomNormal", "negative dimension", "(-2,)");
            assertIllegal(() -> Np.randomUniform(0, 1, 2, -1), "randomUniform", "negative dimension", "(2, -1)");
        }
    }

    // ================================================================ basic properties

    @Nested
    class Properties {

        @Test
        void shapeNdimAndSizeDescribeTheArray() {
            NDArray t = Np.zeros(2, 3, 4);
            assertArrayEquals(shape(2, 3, 4), t.shape());
            assertEquals(3, t.ndim());
            assertEquals(24, t.size());
            assertEquals(0, Np.zeros(0, 5).size());
        }

        @Test
        void shapeReturnsACopy() {
            NDArray t = Np.zeros(2, 3);
            t.shape()[0] = 9;
            assertArrayEquals(shape(2, 3), t.shape());
        }

        @Test
        void itemReturnsTheValueOfAnySizeOneArray() {
            assertEquals(3.5, Np.scalar(3.5).item());
            assertEquals(-1.0, Np.array(-1.0).item());
            assertEquals(8.0, Np.full(shape(1, 1, 1), 8).item());
        }

        @Test
        void itemOfNonScalarIsRejectedNamingTheShape() {
            assertIllegal(() -> Np.zeros(2, 3).item(), "item", "size 1", "(2, 3)");
            assertIllegal(() -> Np.zeros(0).item(), "item", "(0,)");
        }

        @Test
        void toArrayReturnsACopy() {
            NDArray a = Np.array(1, 2, 3);
            double[] v = a.toArray();
            v[0] = 99;
            assertArray(a, shape(3), 1, 2, 3);
            assertArrayEquals(new double[] {1, 2, 3}, a.toArray());
        }

        @Test
        void likeFactoriesKeepTheShape() {
            NDArray a = range(2, 3);
            assertArray(a.onesLike(), shape(2, 3), 1, 1, 1, 1, 1, 1);
            assertArray(a.zerosLike(), shape(2, 3), 0, 0, 0, 0, 0, 0);
            assertArray(Np.scalar(5).fullLike(-1.5), shape(), -1.5);
        }

        @Test
        void localArraysLiveInThisJvm() {
            NDArray a = Np.ones(2);
            assertFalse(a.isDistributed());
            assertSame(a, a.toLocal());
            assertSame(LocalBackend.INSTANCE, a.backend());
        }
    }

    // ================================================================ elementwise, one input

    @Nested
    class Unary {

        @Test
        void negFlipsSign() {
            assertArray(Np.array(-2, 0, 3.5).neg(), shape(3), 2, 0, -3.5);
        }

        @Test
        void expOfKnownPoints() {
            assertClose(Np.array(0, 1, -1, LN2).exp(), shape(4), 1e-15, 1, Math.E, 1 / Math.E, 2);
            assertArray(Np.array(-1000, 1000).exp(), shape(2), 0, Double.POSITIVE_INFINITY);
        }

        @Test
        void logOfKnownPointsWithNumpyEdgeValues() {
            assertClose(Np.array(1, Math.E, 0.5).log(), shape(3), 1e-15, 0, 1, -LN2);
            assertArray(Np.array(0, -1).log(), shape(2), Double.NEGATIVE_INFINITY, Double.NaN);
        }

        @Test
        void sqrtOfANegativeIsNaNAbsAndSquareAreNonNegative() {
            assertArray(Np.array(0, 4, 2.25, -1).sqrt(), shape(4), 0, 2, 1.5, Double.NaN);
            assertArray(Np.array(-3, 0, 2.5).abs(), shape(3), 3, 0, 2.5);
            assertArray(Np.array(-3, 0.5, 0).square(), shape(3), 9, 0.25, 0);
        }

        @Test
        void trigonometricFunctionsOfKnownAngles() {
            assertClose(Np.array(0, Math.PI / 2, Math.PI / 6).sin(), shape(3), 1e-15, 0, 1, 0.5);
            assertClose(Np.array(0, Math.PI, Math.PI / 3).cos(), shape(3), 1e-15, 1, -1, 0.5);
        }

        @Test
        void tanhOfKnownPointsSaturates() {
            // tanh(ln 3) = (3 - 1/3) / (3 + 1/3) = 0.8
            assertClose(Np.array(0, LN3, -LN3).tanh(), shape(3), 1e-15, 0, 0.8, -0.8);
            assertArray(Np.array(1000, -1000).tanh(), shape(2), 1, -1);
        }

        @Test
        void sigmoidOfKnownPoints() {
            // sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4
            assertClose(Np.array(0, LN3, -LN3).sigmoid(), shape(3), 1e-15, 0.5, 0.75, 0.25);
        }

        @Test
        void sigmoidIsFiniteAtLargeMagnitudes() {
            assertArray(Np.array(-1000, 1000, -Double.MAX_VALUE, Double.MAX_VALUE).sigmoid(), shape(4), 0, 1, 0, 1);
        }

        @Test
        void reluZeroesNonPositives() {
            assertArray(Np.array(-2, 0, 3, -0.5).relu(), shape(4), 0, 0, 3, 0);
        }

        @Test
        void softplusOfKnownPoints() {
            // log(1 + e^x): x = 0 -> ln 2, x = ln 3 -> ln 4, x = -ln 3 -> ln(4/3)
            assertClose(Np.array(0, LN3, -LN3).softplus(), shape(3), 1e-15, LN2, LN4, Math.log(4.0 / 3.0));
        }

        @Test
        void softplusIsFiniteAtLargeMagnitudes() {
            assertArray(Np.array(1000, -1000).softplus(), shape(2), 1000, 0);
            assertClose(Np.array(30).softplus(), shape(1), 1e-15, 30 + Math.exp(-30));
        }

        @Test
        void signIsMinusOneZeroOrOne() {
            assertArray(Np.array(-3, 0, 2.5, -1e-300).sign(), shape(4), -1, 0, 1, -1);
        }

        @Test
        void clipLimitsToBoundsAndKeepsNaN() {
            assertArray(Np.array(-2, 0.5, 3, 0, 1, Double.NaN).clip(0, 1), shape(6), 0, 0.5, 1, 0, 1, Double.NaN);
            assertArray(Np.array(-2, 5).clip(2, 2), shape(2), 2, 2);
        }

        @Test
        void clipWithLowerAboveUpperIsRejected() {
            assertIllegal(() -> Np.array(1, 2).clip(2, 1), "clip", "lower bound 2.0 is above upper bound 1.0");
            assertIllegal(() -> Np.array(1, 2).clip(Double.NaN, 1), "clip");
        }

        @Test
        void unaryOpsKeepShapeOfMatricesAndScalars() {
            assertArray(matrix(new double[] {-1, 2}, new double[] {3, -4}).abs(), shape(2, 2), 1, 2, 3, 4);
            assertArray(Np.scalar(-9).neg().sqrt(), shape(), 3);
        }

        @Test
        void staticFunctionsMatchTheMethods() {
            assertClose(Np.exp(Np.array(0, 1)), shape(2), 1e-15, 1, Math.E);
            assertClose(Np.log(Np.array(1, 4)), shape(2), 1e-15, 0, LN4);
        }
    }

    // ================================================================ elementwise, two inputs

    @Nested
    class Binary {
        private final NDArray a = matrix(new double[] {1, 2, 3}, new double[] {4, 5, 6});
        private final NDArray b = matrix(new double[] {6, 5, 4}, new double[] {3, 2, 1});

        @Test
        void arithmeticOfSameShapeArraysIsElementwise() {
            assertArray(a.add(b), shape(2, 3), 7, 7, 7, 7, 7, 7);
            assertArray(a.sub(b), shape(2, 3), -5, -3, -1, 1, 3, 5);
            assertArray(a.mul(b), shape(2, 3), 6, 10, 12, 12, 10, 6);
            assertArray(a.div(b), shape(2, 3), 1.0 / 6, 0.4, 0.75, 4.0 / 3, 2.5, 6);
        }

        @Test
        void scalarDoubleOperandAppliesToEveryElement() {
            assertArray(a.add(10), shape(2, 3), 11, 12, 13, 14, 15, 16);
            assertArray(a.sub(1), shape(2, 3), 0, 1, 2, 3, 4, 5);
            assertArray(a.mul(-2), shape(2, 3), -2, -4, -6, -8, -10, -12);
            assertArray(a.div(4), shape(2, 3), 0.25, 0.5, 0.75, 1, 1.25, 1.5);
        }

        @Test
        void zeroDimensionalOperandBroadcastsOnEitherSide() {
            NDArray ten = Np.scalar(10);
            assertArray(a.sub(ten), shape(2, 3), -9, -8, -7, -6, -5, -4);
            assertArray(ten.sub(a), shape(2, 3), 9, 8, 7, 6, 5, 4);
            assertArray(ten.div(Np.array(1, 2, 4)), shape(3), 10, 5, 2.5);
        }

        @Test
        void zeroDimensionalOperandsGiveZeroDimensionalResult() {
            assertArray(Np.scalar(3).mul(Np.scalar(4)), shape(), 12);
            assertArray(Np.scalar(3).sub(2.5), shape(), 0.5);
        }

        @Test
        void rsubAndRdivSwapTheOperands() {
            assertArray(a.rsub(10), shape(2, 3), 9, 8, 7, 6, 5, 4);
            assertArray(Np.array(1, 2, 4).rdiv(8), shape(3), 8, 4, 2);
            assertArray(Np.scalar(4).rdiv(1), shape(), 0.25);
        }

        @Test
        void divisionByZeroFollowsIeee() {
            assertArray(Np.array(1, -1, 0).div(0), shape(3),
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN);
        }

        @Test
        void addBroadcastsRowVectorAcrossMatrixRows() {
            NDArray row = Np.array(10, 20, 30);
            assertArray(a.add(row), shape(2, 3), 11, 22, 33, 14, 25, 36);
            assertArray(row.add(a), shape(2, 3), 11, 22, 33, 14, 25, 36);
            assertArray(row.sub(a), shape(2, 3), 9, 18, 27, 6, 15, 24);
        }

        @Test
        void addBroadcastsColumnAcrossMatrixColumns() {
            NDArray col = Np.array(shape(2, 1), new double[] {10, 20});
            assertArray(a.add(col), shape(2, 3), 11, 12, 13, 24, 25, 26);
            assertArray(col.div(a), shape(2, 3), 10, 5, 10.0 / 3, 5, 4, 20.0 / 6);
        }

        @Test
        void mulOfColumnAndRowIsOuterProduct() {
            NDArray col = Np.array(shape(2, 1), new double[] {1, 2});
            NDArray row = Np.array(shape(1, 3), new double[] {3, 4, 5});
            assertArray(col.mul(row), shape(2, 3), 3, 4, 5, 6, 8, 10);
            assertArray(row.mul(col), shape(2, 3), 3, 4, 5, 6, 8, 10);
        }

        @Test
        void vectorAndColumnBroadcastToMatrix() {
            NDArray v = Np.array(1, 2, 3);
            NDArray col = Np.array(shape(2, 1), new double[] {10, 20});
            assertArray(v.add(col), shape(2, 3), 11, 12, 13, 21, 22, 23);
            assertArray(v.sub(col), shape(2, 3), -9, -8, -7, -19, -18, -17);
            assertArray(col.sub(v), shape(2, 3), 9, 8, 7, 19, 18, 17);
        }

        @Test
        void sizeOneOperandsOfHigherRankBroadcast() {
            NDArray one = Np.array(shape(1, 1), new double[] {10});
            assertArray(a.add(one), shape(2, 3), 11, 12, 13, 14, 15, 16);
            assertArray(one.sub(Np.array(1, 2, 3)), shape(1, 3), 9, 8, 7);
            assertArray(Np.array(2).mul(Np.array(shape(2, 1), new double[] {3, 4})), shape(2, 1), 6, 8);
        }

        @Test
        void threeDimensionalBroadcastAgainstMatrixInsertsMiddleAxis() {
            NDArray x = range(2, 1, 3);                                       // 3i + k
            NDArray y = Np.array(shape(4, 1), new double[] {0, 10, 20, 30}); // 10j
            double[] expected = new double[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 4; j++) {
                    for (int k = 0; k < 3; k++) {
                        expected[(i * 4 + j) * 3 + k] = 3 * i + k + 10 * j;
                    }
                }
            }
            assertArray(x.add(y), shape(2, 4, 3), expected);
            assertArray(y.add(x), shape(2, 4, 3), expected);
        }

        @Test
        void threeDimensionalTimesColumnScalesMiddleAxis() {
            NDArray t = range(2, 3, 4);
            NDArray col = Np.array(shape(3, 1), new double[] {1, 2, 3});
            double[] expected = new double[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        expected[(i * 3 + j) * 4 + k] = (12 * i + 4 * j + k) * (j + 1);
                    }
                }
            }
            assertArray(t.mul(col), shape(2, 3, 4), expected);
        }

        @Test
        void threeDimensionalOperandsBroadcastInBothDirections() {
            NDArray x = range(1, 3, 1);   // j
            NDArray y = range(2, 1, 4);   // 4i + k
            double[] expected = new double[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        expected[(i * 3 + j) * 4 + k] = j - (4 * i + k);
                    }
                }
            }
            assertArray(x.sub(y), shape(2, 3, 4), expected);
        }

        @Test
        void threeDimensionalDividedByVectorBroadcastsLastAxis() {
            NDArray x = Np.arange(1, 7, 1).reshape(2, 3, 1);   // 3i + j + 1
            NDArray v = Np.array(1, 2, 4, 8);
            double[] expected = new double[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        expected[(i * 3 + j) * 4 + k] = (3 * i + j + 1) / v.toArray()[k];
                    }
                }
            }
            assertArray(x.div(v), shape(2, 3, 4), expected);
            assertArray(range(2, 3, 4).mul(Np.scalar(2)).sum(), shape(), 2 * 276);
        }

        @Test
        void broadcastingWithZeroSizeDimensionGivesEmptyResult() {
            assertArray(Np.zeros(0, 3).add(Np.array(1, 2, 3)), shape(0, 3));
            assertArray(Np.zeros(2, 0).mul(Np.zeros(2, 1)), shape(2, 0));
        }

        @Test
        void powBroadcastsAndGivesNaNForANegativeBaseToAFraction() {
            assertArray(Np.array(2, 3, 4).pow(2), shape(3), 4, 9, 16);
            assertArray(Np.array(4, 9).pow(0.5), shape(2), 2, 3);
            assertArray(Np.array(2, 2, 2).pow(Np.array(0, 1, -1)), shape(3), 1, 2, 0.5);
            assertArray(Np.scalar(2).pow(Np.array(shape(2, 1), new double[] {1, 3})), shape(2, 1), 2, 8);
            assertArray(Np.array(0, -8).pow(Np.array(0, 1.0 / 3)), shape(2), 1, Double.NaN);
        }

        @Test
        void maximumAndMinimumPickElementwise() {
            NDArray x = Np.array(1, 5, 3);
            NDArray y = Np.array(4, 2, 3);
            assertArray(x.maximum(y), shape(3), 4, 5, 3);
            assertArray(x.minimum(y), shape(3), 1, 2, 3);
            assertArray(Np.maximum(x, y), shape(3), 4, 5, 3);
            assertArray(Np.minimum(x, y), shape(3), 1, 2, 3);
            assertArray(Np.array(-1, 0, 2).maximum(0), shape(3), 0, 0, 2);
            assertArray(Np.array(-1, 0, 2).minimum(0), shape(3), -1, 0, 0);
        }

        @Test
        void maximumAndMinimumBroadcast() {
            NDArray col = Np.array(shape(2, 1), new double[] {2, 5});
            NDArray row = Np.array(1, 3, 6);
            assertArray(col.maximum(row), shape(2, 3), 2, 3, 6, 5, 5, 6);
            assertArray(row.minimum(col), shape(2, 3), 1, 2, 2, 1, 3, 5);
        }

        @Test
        void maximumAndMinimumPropagateNaN() {
            NDArray x = Np.array(Double.NaN, 1, 2);
            NDArray y = Np.array(0, Double.NaN, 1);
            assertArray(x.maximum(y), shape(3), Double.NaN, Double.NaN, 2);
            assertArray(x.minimum(y), shape(3), Double.NaN, Double.NaN, 1);
            assertArray(Np.array(Double.NaN).maximum(5), shape(1), Double.NaN);
        }

        @Test
        void broadcastMismatchNamesOpAndBothShapes() {
            NDArray x = Np.zeros(2, 3);
            NDArray y = Np.zeros(4);
            IllegalArgumentException e = assertIllegal(() -> x.add(y));
            assertEquals("add: operands could not be broadcast together with shapes (2, 3) (4,)", e.getMessage());
            assertIllegal(() -> x.sub(y), "sub:", "(2, 3) (4,)");
            assertIllegal(() -> x.mul(y), "mul:", "(2, 3) (4,)");
            assertIllegal(() -> x.div(y), "div:", "(2, 3) (4,)");
            assertIllegal(() -> x.pow(y), "pow:", "(2, 3) (4,)");
            assertIllegal(() -> x.maximum(y), "maximum:", "(2, 3) (4,)");
            assertIllegal(() -> x.minimum(y), "minimum:", "(2, 3) (4,)");
        }

        @Test
        void broadcastMismatchOfTransposedAndThreeDimensionalShapes() {
            assertIllegal(() -> Np.zeros(2, 3).add(Np.zeros(3, 2)),
                "add: operands could not be broadcast together with shapes (2, 3) (3, 2)");
            assertIllegal(() -> Np.zeros(2, 3, 4).mul(Np.zeros(3, 1, 4)),
                "mul: operands could not be broadcast together with shapes (2, 3, 4) (3, 1, 4)");
            assertIllegal(() -> Np.zeros(0).add(Np.zeros(2)), "add:", "(0,) (2,)");
        }
    }

    // ================================================================ numpy's other elementwise functions

    /**
     * The functions of MXNet's numpy API beyond the basic ones. Expected values are Python's
     * {@code math} results ({@code repr}), which come from the C library numpy calls too; they may
     * differ from Java's in the last bit, hence the 1-2 ulp bounds. Where {@code math} raises
     * (a domain error, an overflow) numpy returns NaN or an infinity with a warning, and that is
     * what is expected here.
     */
    @Nested
    class NumpyFunctions {
        private static final double NAN = Double.NaN;
        private static final double INF = Double.POSITIVE_INFINITY;
        private static final double PI = Math.PI;

        @Test
        void tanSinhAndCoshMatchNumpyAndOverflowToInfinity() {
            // tan(inf) is NaN in numpy (math raises); sinh(711) and cosh(711) overflow to inf in numpy
            assertUlps(Np.array(0, PI / 4, 1, -1.5, INF, NAN).tan(), 1,
                0, 0.9999999999999999, 1.5574077246549023, -14.101419947171719, NAN, NAN);
            assertUlps(Np.array(0, 1, -2, 710, 711, -INF, -0.0).sinh(), 1,
                0, 1.1752011936438014, -3.626860407847019, 1.1169973830808557e308, INF, -INF, -0.0);
            assertUlps(Np.array(0, 1, -2, 710, 711, -INF).cosh(), 1,
                1, 1.5430806348152437, 3.7621956910836314, 1.1169973830808557e308, INF, INF);
        }

        @Test
        void inverseTrigonometricFunctionsAreNaNOutsideTheirDomain() {
            assertUlps(Np.array(0, 0.5, -1, 1, 1.5, -0.0).arcsin(), 1,
                0, 0.5235987755982989, -1.5707963267948966, 1.5707963267948966, NAN, -0.0);
            assertUlps(Np.array(1, -1, 0, 0.5, -1.5).arccos(), 1,
                0, 3.141592653589793, 1.5707963267948966, 1.0471975511965979, NAN);
            assertUlps(Np.array(0, 1, -1e300, INF, NAN).arctan(), 1,
                0, 0.7853981633974483, -1.5707963267948966, 1.5707963267948966, NAN);
        }

        @Test
        void inverseHyperbolicFunctionsWithNumpyEdgeValues() {
            assertUlps(Np.array(0, -0.0, 1, -2, 1e300, -INF, 1e-20, 0.5).arcsinh(), 2,
                0, -0.0, 0.881373587019543, -1.4436354751788103, 691.4686750787736, -INF, 1e-20, 0.48121182505960347);
            // arccosh: NaN below 1 (math raises)
            assertUlps(Np.array(1, 2, 1e300, 0.5, INF, 1.5, -1).arccosh(), 2,
                0, 1.3169578969248166, 691.4686750787736, NAN, INF, 0.9624236501192069, NAN);
            // arctanh: +-inf at +-1 and NaN beyond (math raises at both)
            assertUlps(Np.array(0, 0.5, -0.5, 1, -1, 1.5, 1e-20, 0.9).arctanh(), 2,
                0, 0.5493061443340548, -0.5493061443340548, INF, -INF, NAN, 1e-20, 1.4722194895832204);
        }

        @Test
        void logarithmsAreExactAtPowersOfTheirBase() {
            // log2(0) and log10(0) are -inf in numpy (math raises), NaN below 0
            assertUlps(Np.array(8, 0.5, 0x1p-1074, 0x1p29, 10, 3, 0, -1, INF).log2(), 1,
                3, -1, -1074, 29, 3.321928094887362, 1.584962500721156, -INF, NAN, INF);
            assertUlps(Np.array(1000, 0.001, 1e-300, 2, 0, -1).log10(), 1, 3, -3, -300, 0.3010299956639812, -INF, NAN);
        }

        @Test
        void expm1AndLog1pKeepTheDigitsOfSmallArguments() {
            // expm1(710) overflows to inf in numpy (math raises); log1p(-1) is -inf, log1p(-2) NaN
            assertUlps(Np.array(0, 1e-10, -1, 1, -INF, 710, -0.0).expm1(), 1,
                0, 1.00000000005e-10, -0.6321205588285577, 1.718281828459045, -1, INF, -0.0);
            assertUlps(Np.array(0, 1e-10, -1, -2, 1, INF).log1p(), 1,
                0, 9.999999999500001e-11, -INF, NAN, 0.6931471805599453, INF);
        }

        @Test
        void reciprocalsAndRootsWithInfinitiesAtZero() {
            // numpy: reciprocal(0.) = inf and reciprocal(-0.) = -inf, with a divide-by-zero warning
            assertUlps(Np.array(2, -4, 3, 0, -0.0, INF).reciprocal(), 0, 0.5, -0.25, 0.3333333333333333, INF, -INF, 0);
            // the C library's cbrt(-27) is -3.0000000000000004, 1 ulp from the exact -3 that Java gives
            assertUlps(Np.array(8, -27, 0, -0.0, 2, INF, -0.001).cbrt(), 1,
                2, -3, 0, -0.0, 1.2599210498948734, INF, -0.1);
            assertUlps(Np.array(4, 2, 1e-300, 0, -1, INF).rsqrt(), 0, 0.5, 0.7071067811865475, 1e150, INF, NAN, 0);
            assertUlps(Np.array(8, -8, 3, 0, -0.0).rcbrt(), 1, 0.5, -0.5, 0.6933612743506348, INF, -INF);
        }

        @Test
        void radiansAndDegreesConvertAngles() {
            assertUlps(Np.array(180, 90, -45, 1, 0).radians(), 0,
                3.141592653589793, 1.5707963267948966, -0.7853981633974483, 0.017453292519943295, 0);
            assertUlps(Np.array(PI, 1, -PI / 2, 0.5).degrees(), 0, 180, 57.29577951308232, -90, 28.64788975654116);
        }

        @Test
        void floorCeilAndRoundGiveNumpysIntegers() {
            NDArray x = Np.array(-1.5, -0.5, -0.4, 0.5, 1.5, 2.5, 2.6, -2.5, NAN, -INF);
            assertUlps(x.floor(), 0, -2, -1, -1, 0, 1, 2, 2, -3, NAN, -INF);
            assertUlps(x.ceil(), 0, -1, -0.0, -0.0, 1, 2, 3, 3, -2, NAN, -INF);
            // np.round rounds halves to the even integer: 0.5 -> 0., 1.5 -> 2., 2.5 -> 2., -0.5 -> -0.
            assertUlps(x.round(), 0, -2, -0.0, -0.0, 0, 2, 2, 3, -2, NAN, -INF);
        }

        @Test
        void erfOfKnownPoints() {
            assertUlps(Np.array(0.5, 1, 2, -0.5, -1, -2, 0, -0.0, INF, -INF, NAN).erf(), 1,
                0.5204998778130465, 0.8427007929497149, 0.9953222650189527,
                -0.5204998778130465, -0.8427007929497149, -0.9953222650189527, 0, -0.0, 1, -1, NAN);
            assertClose(Np.array(6, -6).erf(), shape(2), 1e-16, 1, -1);
        }

        @Test
        void geluIsXTimesTheNormalCdf() {
            // exact x Phi(x) (mpmath): numpy's 0.5 x (1 + erf(x / sqrt 2)) gives -0.0 at -10, which
            // sparkgrad's erfc form does not lose; gelu(-inf) is -inf * 0 = NaN in that formula too
            assertUlps(Np.array(0, 1, -1, 0.5, 3).gelu(), 2,
                0, 0.8413447460685429, -0.15865525393145705, 0.34573123063700656, 2.99595030590511);
            // relative 1e-13 at -10: x^2 times the rounding error of x / sqrt 2, as gelu's conditioning allows
            assertEquals(-7.619853024160526e-23, Np.scalar(-10).gelu().item(), 1e-13 * 7.62e-23);
            assertUlps(Np.array(INF, -INF, NAN).gelu(), 0, INF, NAN, NAN);
        }

        @Test
        void logSigmoidIsStableAtLargeMagnitudes() {
            // -log1p(exp(-x)): log(sigmoid(x)) would give log(0) = -inf at -1000; at +1000 the result
            // is -0.0 (numpy's log(sigmoid(1000)) is log(1.0) = 0.0)
            assertUlps(Np.array(0, 1, -1, 40, -1000, 1000, -INF, NAN).logSigmoid(), 2,
                -0.6931471805599453, -0.31326168751822286, -1.3132616875182228, -4.248354255291589e-18, -1000, -0.0,
                -INF, NAN);
        }

        @Test
        void leakyReluScalesTheNegativeSide() {
            NDArray x = Np.array(-2, 0, 3, -0.5, -0.0, NAN);
            assertUlps(x.leakyRelu(0.1), 0, -0.2, 0, 3, -0.05, -0.0, NAN);
            assertUlps(x.leakyRelu(), 0, -0.5, 0, 3, -0.125, -0.0, NAN); // MXNet's default slope, 0.25
            assertIllegal(() -> x.leakyRelu(Double.NaN), "leakyRelu", "alpha must be finite, got NaN");
        }

        @Test
        void eluSaturatesAtMinusAlpha() {
            NDArray x = Np.array(-1, 0, 2, -1000, 1000, NAN);
            assertUlps(x.elu(), 1, -0.6321205588285577, 0, 2, -1, 1000, NAN);
            assertUlps(x.elu(0.5), 1, -0.31606027941427883, 0, 2, -0.5, 1000, NAN);
            assertIllegal(() -> x.elu(Double.POSITIVE_INFINITY), "elu", "alpha must be finite, got Infinity");
        }

        @Test
        void arctan2GivesTheAngleInEveryQuadrant() {
            NDArray y = Np.array(1, 0, -0.0, 0, 1, INF, -1, 2, NAN);
            NDArray x = Np.array(-2, -1, -1, 0, 0, INF, -1, 3, 1);
            assertUlps(y.arctan2(x), 1, 2.677945044588987, 3.141592653589793, -3.141592653589793, 0,
                1.5707963267948966, 0.7853981633974483, -2.356194490192345, 0.5880026035475675, NAN);
            assertUlps(Np.arctan2(y, x), 0, y.arctan2(x).toArray());
            // a column of y against a row of x: every angle of the grid
            NDArray grid = Np.array(shape(2, 1), new double[] {1, -1}).arctan2(Np.array(1, -1));
            assertArrayEquals(new long[] {2, 2}, grid.shape());
            assertUlps(grid, 1, 0.7853981633974483, 2.356194490192345, -0.7853981633974483, -2.356194490192345);
            assertUlps(Np.array(1, -1).arctan2(0), 1, 1.5707963267948966, -1.5707963267948966);
        }

        @Test
        void hypotNeitherOverflowsNorUnderflows() {
            // numpy's hypot(inf, nan) is inf, as C's
            assertUlps(Np.array(3, 1e300, 1e-300, INF, -3, 1, NAN).hypot(Np.array(4, 1e300, 1e-300, NAN, 0, 2, 1)), 1,
                5, 1.4142135623730952e300, 1.414213562373095e-300, INF, 3, 2.23606797749979, NAN);
            assertUlps(Np.hypot(Np.array(shape(2, 1), new double[] {3, 5}), Np.array(4, 12)), 1,
                5, 12.36931687685298, 6.4031242374328485, 13);
            assertUlps(Np.array(6, -8).hypot(8), 0, 10, 11.313708498984761);
        }

        @Test
        void arctan2AndHypotRejectShapesThatDoNotBroadcast() {
            assertIllegal(() -> Np.zeros(2, 3).arctan2(Np.zeros(4)), "arctan2:", "(2, 3) (4,)");
            assertIllegal(() -> Np.zeros(2, 3).hypot(Np.zeros(2)), "hypot:", "(2, 3) (2,)");
        }
    }

    // ================================================================ comparisons

    @Nested
    class Comparisons {
        private final NDArray x = Np.array(1, 2, 3);
        private final NDArray y = Np.array(3, 2, 1);

        @Test
        void comparisonsOfArraysReturnZeroOrOne() {
            assertArray(x.gt(y), shape(3), 0, 0, 1);
            assertArray(x.lt(y), shape(3), 1, 0, 0);
            assertArray(x.ge(y), shape(3), 0, 1, 1);
            assertArray(x.le(y), shape(3), 1, 1, 0);
            assertArray(x.eq(y), shape(3), 0, 1, 0);
        }

        @Test
        void comparisonsWithScalarReturnZeroOrOne() {
            assertArray(x.gt(2), shape(3), 0, 0, 1);
            assertArray(x.lt(2), shape(3), 1, 0, 0);
            assertArray(x.ge(2), shape(3), 0, 1, 1);
            assertArray(x.le(2), shape(3), 1, 1, 0);
            assertArray(x.eq(2), shape(3), 0, 1, 0);
        }

        @Test
        void comparisonsWithNaNAreFalse() {
            NDArray n = Np.array(Double.NaN, Double.NaN);
            assertArray(n.eq(n), shape(2), 0, 0);
            assertArray(n.gt(0), shape(2), 0, 0);
            assertArray(n.le(0), shape(2), 0, 0);
        }

        @Test
        void comparisonsBroadcastAColumnAgainstARow() {
            NDArray col = Np.array(shape(2, 1), new double[] {1, 3});
            assertArray(col.gt(Np.array(0, 2, 4)), shape(2, 3), 1, 0, 0, 1, 1, 0);
            assertArray(col.eq(Np.array(1, 2, 3)), shape(2, 3), 1, 0, 0, 0, 0, 1);
        }

        @Test
        void comparisonBroadcastMismatchNamesOp() {
            assertIllegal(() -> x.gt(Np.zeros(2)), "gt:", "(3,) (2,)");
            assertIllegal(() -> x.eq(Np.zeros(2, 2)), "eq:", "(3,) (2, 2)");
        }
    }

    // ================================================================ reductions

    @Nested
    class Reductions {
        /** [[0, 1, 2], [3, 4, 5]] */
        private final NDArray m = range(2, 3);
        /** element (i, j, k) = 12i + 4j + k */
        private final NDArray t = range(2, 3, 4);
        private final NDArray y = matrix(new double[] {3, -1, 7}, new double[] {2, 8, -5});

        @Test
        void sumOfAllElementsIsZeroDimensional() {
            assertArray(m.sum(), shape(), 15);
            assertArray(Np.sum(t), shape(), 276);
            assertArray(Np.zeros(0).sum(), shape(), 0);
            assertArray(Np.scalar(4).sum(), shape(), 4);
        }

        @Test
        void sumAlongEachAxisOfAMatrixDropsThatAxis() {
            assertArray(m.sum(0), shape(3), 3, 5, 7);
            assertArray(m.sum(1), shape(2), 3, 12);
            assertArray(m.sum(-1), shape(2), 3, 12);
            assertArray(m.sum(-2), shape(3), 3, 5, 7);
        }

        @Test
        void sumWithKeepdimsKeepsAxisOfLengthOne() {
            assertArray(m.sum(0, true), shape(1, 3), 3, 5, 7);
            assertArray(m.sum(1, true), shape(2, 1), 3, 12);
            assertArray(m.sum(1, false), shape(2), 3, 12);
        }

        @Test
        void sumAlongEachAxisOfThreeDimensionalArray() {
            // over i: 2(4j + k) + 12
            assertArray(t.sum(0), shape(3, 4), 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34);
            // over j: 36i + 12 + 3k
            assertArray(t.sum(1), shape(2, 4), 12, 15, 18, 21, 48, 51, 54, 57);
            assertArray(t.sum(1, true), shape(2, 1, 4), 12, 15, 18, 21, 48, 51, 54, 57);
            // over k: 48i + 16j + 6
            assertArray(t.sum(-1), shape(2, 3), 6, 22, 38, 54, 70, 86);
        }

        @Test
        void sumAlongEmptyAxisIsZero() {
            assertArray(Np.zeros(2, 0).sum(1), shape(2), 0, 0);
            assertArray(Np.zeros(2, 0).sum(0), shape(0));
        }

        @Test
        void meanOverAllElementsAndAlongEachAxisDividesTheSumByTheCount() {
            assertArray(m.mean(), shape(), 2.5);
            assertArray(Np.mean(t), shape(), 11.5);
            assertArray(m.mean(0), shape(3), 1.5, 2.5, 3.5);
            assertArray(m.mean(1), shape(2), 1, 4);
            assertArray(m.mean(-1), shape(2), 1, 4);
            assertArray(m.mean(-2, true), shape(1, 3), 1.5, 2.5, 3.5);
            assertArray(m.mean(1, true), shape(2, 1), 1, 4);
            assertArray(t.mean(1), shape(2, 4), 4, 5, 6, 7, 16, 17, 18, 19);
        }

        @Test
        void maxAndMinOfAllElementsAreZeroDimensional() {
            assertArray(y.max(), shape(), 8);
            assertArray(y.min(), shape(), -5);
            assertArray(Np.array(Double.NEGATIVE_INFINITY).max(), shape(), Double.NEGATIVE_INFINITY);
        }

        @Test
        void maxAndMinAlongAnyAxisKeepTheOtherAxes() {
            assertArray(y.max(0), shape(3), 3, 8, 7);
            assertArray(y.max(1), shape(2), 7, 8);
            assertArray(y.min(0), shape(3), 2, -1, -5);
            assertArray(y.min(1), shape(2), -1, -5);
            assertArray(y.max(-1, true), shape(2, 1), 7, 8);
            assertArray(y.min(-2, true), shape(1, 3), 2, -1, -5);
            assertArray(y.min(0, false), shape(3), 2, -1, -5);
            assertArray(t.max(1), shape(2, 4), 8, 9, 10, 11, 20, 21, 22, 23);
            assertArray(t.min(2), shape(2, 3), 0, 4, 8, 12, 16, 20);
        }

        @Test
        void maxAndMinPropagateNaN() {
            NDArray n = matrix(new double[] {1, Double.NaN}, new double[] {3, 4});
            assertArray(n.max(), shape(), Double.NaN);
            assertArray(n.min(), shape(), Double.NaN);
            assertArray(n.max(0), shape(2), 3, Double.NaN);
            assertArray(n.min(1), shape(2), Double.NaN, 3);
        }

        @Test
        void maxAndMinOfZeroSizeAreRejected() {
            assertIllegal(() -> Np.zeros(0).max(), "max", "zero-size array of shape (0,)", "no maximum");
            assertIllegal(() -> Np.zeros(0).min(), "min", "zero-size array of shape (0,)", "no minimum");
            assertIllegal(() -> Np.zeros(2, 0).max(1), "max", "(2, 0)");
            assertArray(Np.zeros(2, 0).max(0), shape(0));
        }

        @Test
        void axisOutOfRangeIsRejectedNamingTheOp() {
            assertIllegal(() -> m.sum(2), "sum: axis 2 is out of bounds for an array of dimension 2");
            assertIllegal(() -> m.sum(-3), "sum: axis -3 is out of bounds", "dimension 2");
            assertIllegal(() -> m.sum(2, true), "sum: axis 2");
            assertIllegal(() -> Np.scalar(1).sum(0), "sum: axis 0", "dimension 0");
            assertIllegal(() -> m.max(5), "max: axis 5", "dimension 2");
            assertIllegal(() -> m.min(-4), "min: axis -4", "dimension 2");
            assertIllegal(() -> m.mean(2), "mean: axis 2", "dimension 2");
            assertIllegal(() -> m.norm(3, false), "norm: axis 3", "dimension 2");
            assertIllegal(() -> m.logSumExp(2), "logSumExp: axis 2", "dimension 2");
            assertIllegal(() -> m.softmax(2), "softmax: axis 2", "dimension 2");
            assertIllegal(() -> m.logSoftmax(-3), "logSoftmax: axis -3", "dimension 2");
        }

        @Test
        void normOfAllElementsIsEuclidean() {
            assertArray(Np.array(3, 4).norm(), shape(), 5);
            assertArray(matrix(new double[] {1, 2}, new double[] {2, 4}).norm(), shape(), 5);
            assertArray(Np.norm(Np.array(-3, 4)), shape(), 5);
            assertArray(Np.linalg().norm(Np.array(5, -12)), shape(), 13);
            assertArray(Np.zeros(3).norm(), shape(), 0);
        }

        @Test
        void normAlongAnAxisIsTheEuclideanNormOfEachRowOrColumn() {
            NDArray x = matrix(new double[] {3, 4}, new double[] {6, 8});
            assertArray(x.norm(1, false), shape(2), 5, 10);
            assertArray(x.norm(-1, true), shape(2, 1), 5, 10);
            assertClose(x.norm(0, true), shape(1, 2), 1e-15, Math.sqrt(45), Math.sqrt(80));
            assertArray(Np.linalg().norm(x, 1, false), shape(2), 5, 10);
        }

        @Test
        void logSumExpOfKnownValues() {
            assertClose(Np.array(0, LN3).logSumExp(), shape(), 1e-15, LN4);
            assertClose(Np.array(0, 0, 0, 0).logSumExp(), shape(), 1e-15, LN4);
        }

        @Test
        void logSumExpIsStableForLargeValues() {
            assertClose(Np.array(1000, 1000).logSumExp(), shape(), 1e-15, 1000 + LN2);
            assertClose(Np.array(-1000, -1000).logSumExp(), shape(), 1e-15, -1000 + LN2);
        }

        @Test
        void logSumExpOfInfinitiesIsWhatNumpyGives() {
            double inf = Double.POSITIVE_INFINITY;
            assertArray(Np.array(-inf, 0).logSumExp(), shape(), 0);
            // log(0 + 0) = -inf and log(inf + 1) = inf, as numpy and scipy give
            assertArray(Np.array(-inf, -inf).logSumExp(), shape(), -inf);
            assertArray(Np.array(inf, 0).logSumExp(), shape(), inf);
            assertArray(matrix(new double[] {-inf, -inf}, new double[] {0, 0}).logSumExp(1), shape(2), -inf, LN2);
        }

        @Test
        void logSumExpAlongAnAxisIsStableForLargeRows() {
            NDArray x = matrix(new double[] {0, LN3}, new double[] {1000, 1000});
            assertClose(x.logSumExp(1), shape(2), 1e-15, LN4, 1000 + LN2);
            assertClose(x.logSumExp(-1, true), shape(2, 1), 1e-15, LN4, 1000 + LN2);
            NDArray z = matrix(new double[] {0, 0}, new double[] {LN3, 0});
            assertClose(z.logSumExp(0), shape(2), 1e-15, LN4, LN2);
        }

        @Test
        void softmaxOfKnownRows() {
            assertClose(Np.array(0, LN3).softmax(), shape(2), 1e-15, 0.25, 0.75);
            // shifting by 1000 changes nothing and stays finite
            assertClose(Np.array(1000, 1000 + LN3).softmax(), shape(2), 1e-12, 0.25, 0.75);
            assertClose(Np.array(-1000, 0).softmax(), shape(2), 1e-15, 0, 1);
        }

        @Test
        void softmaxRowsSumToOne() {
            Random r = new Random(5);
            double[] v = new double[4 * 7];
            for (int i = 0; i < v.length; i++) {
                v[i] = 10 * r.nextGaussian();
            }
            NDArray s = Np.array(shape(4, 7), v).softmax();
            assertArrayEquals(shape(4, 7), s.shape());
            assertClose(s.sum(1), shape(4), 1e-14, 1, 1, 1, 1);
            for (double p : s.toArray()) {
                assertTrue(p >= 0 && p <= 1, "probability " + p);
            }
        }

        @Test
        void softmaxAlongFirstAxisNormalisesColumns() {
            NDArray x = matrix(new double[] {0, 1}, new double[] {LN3, 1});
            assertClose(x.softmax(0), shape(2, 2), 1e-15, 0.25, 0.5, 0.75, 0.5);
        }

        @Test
        void logSoftmaxIsLogOfSoftmax() {
            assertClose(Np.array(0, LN3).logSoftmax(), shape(2), 1e-15, Math.log(0.25), Math.log(0.75));
            assertClose(Np.array(1000, 0).logSoftmax(), shape(2), 1e-15, 0, -1000);
            NDArray x = matrix(new double[] {0, 1}, new double[] {LN3, 1});
            assertClose(x.logSoftmax(0), shape(2, 2), 1e-15,
                Math.log(0.25), Math.log(0.5), Math.log(0.75), Math.log(0.5));
        }

        @Test
        void sumToCollapsesBroadcastDimensions() {
            assertArray(m.sumTo(3), shape(3), 3, 5, 7);
            assertArray(m.sumTo(2, 1), shape(2, 1), 3, 12);
            assertArray(m.sumTo(1, 3), shape(1, 3), 3, 5, 7);
            assertArray(m.sumTo(1, 1), shape(1, 1), 15);
            assertArray(m.sumTo(), shape(), 15);
            // over i and k: sum_i sum_k (12i + 4j + k) = 32j + 60
            assertArray(t.sumTo(3, 1), shape(3, 1), 60, 92, 124);
            assertArray(m.sumTo(2, 3), shape(2, 3), 0, 1, 2, 3, 4, 5);
        }

        @Test
        void sumToShapeThatDoesNotBroadcastIsRejected() {
            assertIllegal(() -> m.sumTo(4), "sumTo: cannot broadcast shape (4,) to (2, 3)");
            assertIllegal(() -> m.sumTo(1, 2, 3), "sumTo", "(1, 2, 3) to (2, 3)");
            assertIllegal(() -> m.sumTo(2, 2), "sumTo", "(2, 2) to (2, 3)");
        }
    }

    // ================================================================ linear algebra

    @Nested
    class LinearAlgebra {
        private final NDArray a23 = matrix(new double[] {1, 2, 3}, new double[] {4, 5, 6});

        private double[][] randomMatrix(Random r, int rows, int cols) {
            double[][] v = new double[rows][cols];
            for (double[] row : v) {
                for (int j = 0; j < cols; j++) {
                    row[j] = r.nextGaussian();
                }
            }
            return v;
        }

        /** Checks C = A B against a triple loop, each entry within 1e-12 of sum_k |a_ik b_kj|. */
        private void assertMatmulMatchesTripleLoop(int n, int k, int m, long seed) {
            Random r = new Random(seed);
            double[][] av = randomMatrix(r, n, k);
            double[][] bv = randomMatrix(r, k, m);
            NDArray c = Np.array(av).matmul(Np.array(bv));
            assertArrayEquals(shape(n, m), c.shape());
            double[] got = c.toArray();
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double s = 0;
                    double scale = 0;
                    for (int p = 0; p < k; p++) {
                        s += av[i][p] * bv[p][j];
                        scale += Math.abs(av[i][p] * bv[p][j]);
                    }
                    double g = got[i * m + j];
                    double want = s;
                    double tol = 1e-12 * Math.max(scale, Double.MIN_NORMAL);
                    int ii = i;
                    int jj = j;
                    assertTrue(Math.abs(g - want) <= tol,
                        () -> "(" + n + "x" + k + ")(" + k + "x" + m + ") entry " + ii + "," + jj + ": " + g + " vs " + want);
                }
            }
        }

        @Test
        void dotOfTwoVectorsIsZeroDimensional() {
            assertArray(Np.array(1, 2, 3).dot(Np.array(4, 5, 6)), shape(), 32);
            assertArray(Np.dot(Np.array(1, 2), Np.array(3, 4)), shape(), 11);
            assertArray(Np.matmul(Np.array(1, 2), Np.array(3, 4)), shape(), 11);
        }

        @Test
        void matrixTimesVectorIsVector() {
            assertArray(a23.dot(Np.array(1, 0, -1)), shape(2), -2, -2);
            assertArray(a23.matmul(Np.array(1, 1, 1)), shape(2), 6, 15);
        }

        @Test
        void vectorTimesMatrixIsVector() {
            assertArray(Np.array(1, 2).dot(a23), shape(3), 9, 12, 15);
            assertArray(Np.array(1, -1).matmul(a23), shape(3), -3, -3, -3);
        }

        @Test
        void matrixTimesMatrixOfKnownValues() {
            NDArray x = matrix(new double[] {1, 2}, new double[] {3, 4});
            NDArray y = matrix(new double[] {5, 6}, new double[] {7, 8});
            assertArray(x.dot(y), shape(2, 2), 19, 22, 43, 50);
            assertArray(Np.matmul(x, y), shape(2, 2), 19, 22, 43, 50);
            assertArray(a23.matmul(a23.T()), shape(2, 2), 14, 32, 32, 77);
        }

        @Test
        void matrixProductMatchesTripleLoopOnRandomData() {
            assertMatmulMatchesTripleLoop(37, 53, 41, 1);
            assertMatmulMatchesTripleLoop(1, 17, 1, 2);
            assertMatmulMatchesTripleLoop(64, 3, 5, 3);
            assertMatmulMatchesTripleLoop(2, 129, 70, 4);
        }

        @Test
        void matrixProductWithEmptyInnerDimensionIsZeros() {
            assertArray(Np.zeros(2, 0).matmul(Np.zeros(0, 3)), shape(2, 3), 0, 0, 0, 0, 0, 0);
            assertArray(Np.zeros(0, 4).matmul(Np.zeros(4, 2)), shape(0, 2));
        }

        @Test
        void dotWithZeroDimensionalOperandMultiplies() {
            assertArray(Np.scalar(3).dot(Np.array(1, 2)), shape(2), 3, 6);
            assertArray(a23.dot(Np.scalar(2)), shape(2, 3), 2, 4, 6, 8, 10, 12);
            assertArray(Np.scalar(2).dot(Np.scalar(3)), shape(), 6);
        }

        @Test
        void dotOfThreeDimensionalWithVectorSumsOverLastAxis() {
            // sum_k (12i + 4j + k)(k + 1) = 10(12i + 4j) + 20
            assertArray(range(2, 3, 4).dot(Np.array(1, 2, 3, 4)), shape(2, 3), 20, 60, 100, 140, 180, 220);
            assertArray(range(1, 1, 2, 2).dot(Np.array(1, -1)), shape(1, 1, 2), -1, -1);
        }

        @Test
        void matmulInnerDimensionMismatchNamesShapes() {
            assertIllegal(() -> a23.matmul(a23),
                "matmul: inner dimensions differ: shapes (2, 3) and (2, 3) (3 != 2)");
            assertIllegal(() -> Np.array(1, 2, 3).matmul(Np.array(1, 2)), "matmul", "(3,) and (2,)", "3 != 2");
            assertIllegal(() -> a23.matmul(Np.zeros(2)), "matmul", "(2, 3) and (2,)");
            assertIllegal(() -> Np.zeros(2).matmul(a23.T()), "matmul", "(2,) and (3, 2)", "2 != 3");
        }

        @Test
        void matmulOfScalarOrThreeDimensionalOperandIsRejected() {
            assertIllegal(() -> Np.scalar(2).matmul(Np.zeros(3)), "matmul", "at least one dimension", "() and (3,)");
            assertIllegal(() -> Np.zeros(2, 2, 2).matmul(Np.zeros(2, 2)), "matmul", "more than 2 dimensions",
                "(2, 2, 2) and (2, 2)");
        }

        @Test
        void dotMismatchNamesDotAndShapes() {
            assertIllegal(() -> a23.dot(Np.zeros(2)), "dot: inner dimensions differ", "(2, 3) and (2,)", "3 != 2");
            assertIllegal(() -> Np.zeros(2, 3, 4).dot(Np.zeros(3)), "dot: shapes (2, 3, 4) and (3,) not aligned",
                "4 (dim 2) != 3");
            assertIllegal(() -> Np.zeros(2, 3, 4).dot(Np.zeros(4, 2)), "dot", "(2, 3, 4) and (4, 2)", "not supported");
            assertIllegal(() -> Np.zeros(3).dot(Np.zeros(2, 3, 4)), "dot", "(3,) and (2, 3, 4)");
        }

        @Test
        void transposeOfMatrixSwapsAxes() {
            assertArray(a23.T(), shape(3, 2), 1, 4, 2, 5, 3, 6);
            assertArray(a23.transpose(), shape(3, 2), 1, 4, 2, 5, 3, 6);
            assertArray(a23.transpose(1, 0), shape(3, 2), 1, 4, 2, 5, 3, 6);
            assertArray(a23.transpose(-1, -2), shape(3, 2), 1, 4, 2, 5, 3, 6);
        }

        @Test
        void transposeWithIdentityPermutationKeepsMatrix() {
            assertArray(a23.transpose(0, 1), shape(2, 3), 1, 2, 3, 4, 5, 6);
            assertArray(a23.transpose(-2, -1), shape(2, 3), 1, 2, 3, 4, 5, 6);
        }

        @Test
        void transposeOfLargeMatrixMatchesIndexLoop() {
            NDArray x = range(40, 70);
            double[] expected = new double[40 * 70];
            for (int i = 0; i < 40; i++) {
                for (int j = 0; j < 70; j++) {
                    expected[j * 40 + i] = 70 * i + j;
                }
            }
            assertArray(x.T(), shape(70, 40), expected);
        }

        @Test
        void transposeOfVectorAndScalarIsUnchanged() {
            assertArray(Np.array(1, 2, 3).T(), shape(3), 1, 2, 3);
            assertArray(Np.array(1, 2, 3).transpose(0), shape(3), 1, 2, 3);
            assertArray(Np.scalar(7).T(), shape(), 7);
        }

        @Test
        void transposeOfThreeDimensionalArrayPermutesIndices() {
            NDArray t = range(2, 3, 4);
            double[] swap01 = new double[24];
            double[] rotate = new double[24];
            double[] reverse = new double[24];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 4; k++) {
                        double v = 12 * i + 4 * j + k;
                        swap01[(j * 2 + i) * 4 + k] = v;    // out[j, i, k]
                        rotate[(k * 2 + i) * 3 + j] = v;    // out[k, i, j]
                        reverse[(k * 3 + j) * 2 + i] = v;   // out[k, j, i]
                    }
                }
            }
            assertArray(t.transpose(1, 0, 2), shape(3, 2, 4), swap01);
            assertArray(t.transpose(2, 0, 1), shape(4, 2, 3), rotate);
            assertArray(t.T(), shape(4, 3, 2), reverse);
            assertArray(t.transpose(0, 1, 2), shape(2, 3, 4), t.toArray());
        }

        @Test
        void transposeWithBadAxesIsRejected() {
            assertIllegal(() -> a23.transpose(0), "transpose", "[0]", "(2, 3)");
            assertIllegal(() -> a23.transpose(0, 0), "transpose", "repeated axis", "[0, 0]");
            assertIllegal(() -> a23.transpose(0, 2), "transpose: axis 2 is out of bounds", "dimension 2");
        }
    }

    // ================================================================ shape manipulation and indexing

    @Nested
    class ShapeOps {
        /** element (i, j) = 4i + j */
        private final NDArray x = range(3, 4);

        @Test
        void reshapeKeepsRowMajorOrder() {
            assertArray(Np.arange(6).reshape(2, 3), shape(2, 3), 0, 1, 2, 3, 4, 5);
            assertArray(range(2, 3).reshape(3, 2), shape(3, 2), 0, 1, 2, 3, 4, 5);
        }

        @Test
        void reshapeInfersMinusOne() {
            assertArray(Np.arange(6).reshape(3, -1), shape(3, 2), 0, 1, 2, 3, 4, 5);
            assertArray(range(2, 3).reshape(-1), shape(6), 0, 1, 2, 3, 4, 5);
            assertArray(Np.arange(6).reshape(-1, 2, 1), shape(3, 2, 1), 0, 1, 2, 3, 4, 5);
            assertArray(Np.zeros(0, 3).reshape(-1), shape(0));
        }

        @Test
        void reshapeOfSizeOneToNoDimensionsIsScalar() {
            assertArray(Np.array(5).reshape(), shape(), 5);
            assertArray(Np.scalar(5).reshape(1, 1), shape(1, 1), 5);
        }

        @Test
        void reshapeToWrongSizeIsRejected() {
            assertIllegal(() -> Np.arange(6).reshape(4),
                "reshape: cannot reshape array of shape (6,) (size 6) into shape (4,)");
            assertIllegal(() -> x.reshape(5, 2), "reshape", "(3, 4)", "size 12", "(5, 2)");
            assertIllegal(() -> Np.arange(6).reshape(4, -1), "reshape", "size 6", "[4, -1]");
            assertIllegal(() -> Np.arange(6).reshape(0, -1), "reshape", "size 6", "[0, -1]");
        }

        @Test
        void reshapeWithBadDimensionsIsRejected() {
            assertIllegal(() -> Np.arange(6).reshape(-1, -1), "reshape", "only specify one unknown dimension", "[-1, -1]");
            assertIllegal(() -> Np.arange(6).reshape(-2, -3), "reshape", "negative dimension", "[-2, -3]");
        }

        @Test
        void broadcastToRepeatsAlongNewAndUnitAxes() {
            assertArray(Np.array(1, 2, 3).broadcastTo(2, 3), shape(2, 3), 1, 2, 3, 1, 2, 3);
            assertArray(Np.array(shape(2, 1), new double[] {1, 2}).broadcastTo(2, 3), shape(2, 3), 1, 1, 1, 2, 2, 2);
            assertArray(Np.scalar(5).broadcastTo(2, 2), shape(2, 2), 5, 5, 5, 5);
            assertArray(Np.array(shape(1, 2), new double[] {1, 2}).broadcastTo(2, 2, 2), shape(2, 2, 2),
                1, 2, 1, 2, 1, 2, 1, 2);
            assertArray(x.broadcastTo(3, 4), shape(3, 4), x.toArray());
            assertArray(Np.array(7).broadcastTo(0), shape(0));
        }

        @Test
        void broadcastToIncompatibleShapeIsRejected() {
            assertIllegal(() -> Np.zeros(3).broadcastTo(4), "broadcastTo: cannot broadcast shape (3,) to (4,)");
            assertIllegal(() -> Np.zeros(2, 3).broadcastTo(3), "broadcastTo", "(2, 3) to (3,)");
            assertIllegal(() -> Np.zeros(2, 3).broadcastTo(3, 3), "broadcastTo", "(2, 3) to (3, 3)");
            assertIllegal(() -> Np.zeros(3).broadcastTo(-1, 3), "broadcastTo", "negative dimension", "(-1, 3)");
        }

        @Test
        void sliceSelectsHalfOpenRangeAlongAxis() {
            assertArray(x.slice(0, 1, 3), shape(2, 4), 4, 5, 6, 7, 8, 9, 10, 11);
            assertArray(x.slice(1, 1, 3), shape(3, 2), 1, 2, 5, 6, 9, 10);
            assertArray(x.slice(-1, 0, 2), shape(3, 2), 0, 1, 4, 5, 8, 9);
            assertArray(x.slice(0, 0, 3), shape(3, 4), x.toArray());
            assertArray(x.slice(0, 2, 2), shape(0, 4));
            // middle axis of (2, 3, 4): j in [1, 3)
            assertArray(range(2, 3, 4).slice(1, 1, 3), shape(2, 2, 4),
                4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
        }

        @Test
        void sliceOutsideAxisIsRejected() {
            assertIllegal(() -> x.slice(2, 0, 1), "slice: axis 2 is out of bounds for an array of dimension 2");
            assertIllegal(() -> x.slice(0, 2, 1), "slice: range [2, 1) is outside axis 0 of length 3 (shape (3, 4))");
            assertIllegal(() -> x.slice(1, 0, 5), "slice", "[0, 5)", "axis 1 of length 4", "(3, 4)");
            assertIllegal(() -> x.slice(0, -1, 2), "slice", "[-1, 2)", "(3, 4)");
            assertIllegal(() -> Np.scalar(1).slice(0, 0, 1), "slice: axis 0", "dimension 0");
        }

        @Test
        void padAddsZerosBeforeAndAfter() {
            assertArray(Np.array(1, 2).pad(0, 1, 2), shape(5), 0, 1, 2, 0, 0);
            NDArray sq = matrix(new double[] {1, 2}, new double[] {3, 4});
            assertArray(sq.pad(1, 1, 0), shape(2, 3), 0, 1, 2, 0, 3, 4);
            assertArray(sq.pad(0, 0, 1), shape(3, 2), 1, 2, 3, 4, 0, 0);
            assertArray(sq.pad(-1, 0, 0), shape(2, 2), 1, 2, 3, 4);
        }

        @Test
        void padWithBadArgumentsIsRejected() {
            assertIllegal(() -> Np.zeros(2).pad(0, -1, 0), "pad: negative padding -1, 0");
            assertIllegal(() -> Np.zeros(2, 2).pad(3, 1, 1), "pad: axis 3 is out of bounds", "dimension 2");
        }

        @Test
        void getIndexesLeadingAxes() {
            assertArray(x.get(1), shape(4), 4, 5, 6, 7);
            assertArray(x.get(1, 2), shape(), 6);
            assertArray(x.get(), shape(3, 4), x.toArray());
            assertArray(range(2, 3, 4).get(1, 2), shape(4), 20, 21, 22, 23);
        }

        @Test
        void getWithNegativeIndicesCountsFromTheEnd() {
            assertArray(x.get(-1), shape(4), 8, 9, 10, 11);
            assertArray(x.get(-1, -1), shape(), 11);
            assertArray(x.get(-3, 0), shape(), 0);
            assertArray(x.get(0, -4), shape(), 0);
        }

        @Test
        void getOutOfBoundsIsRejected() {
            assertIllegal(() -> x.get(3), "get: index 3 is out of bounds for axis 0 with size 3 (shape (3, 4))");
            assertIllegal(() -> x.get(-4), "get: index -4 is out of bounds for axis 0 with size 3");
            assertIllegal(() -> x.get(0, 4), "get: index 4", "axis 1 with size 4", "(3, 4)");
            assertIllegal(() -> x.get(0, -5), "get: index -5", "axis 1");
            assertIllegal(() -> x.get(0, 0, 0), "get: too many indices [0, 0, 0] for an array of shape (3, 4)");
            assertIllegal(() -> Np.scalar(1).get(0), "get: too many indices", "shape ()");
            assertIllegal(() -> Np.zeros(0).get(0), "get: index 0", "size 0");
        }

        @Test
        void concatAlongAxisZeroStacksRows() {
            NDArray top = matrix(new double[] {1, 2});
            NDArray bottom = matrix(new double[] {3, 4}, new double[] {5, 6});
            assertArray(Np.concat(top, bottom), shape(3, 2), 1, 2, 3, 4, 5, 6);
            assertArray(Np.concat(List.of(top, bottom), 0), shape(3, 2), 1, 2, 3, 4, 5, 6);
            assertArray(Np.concat(Np.array(1, 2), Np.array(3), Np.array(), Np.array(4, 5)), shape(5), 1, 2, 3, 4, 5);
        }

        @Test
        void concatAlongAxisOneJoinsColumns() {
            NDArray left = Np.array(shape(2, 1), new double[] {1, 2});
            NDArray right = matrix(new double[] {3, 4}, new double[] {5, 6});
            assertArray(Np.concat(List.of(left, right), 1), shape(2, 3), 1, 3, 4, 2, 5, 6);
            assertArray(Np.concat(List.of(right, left, left), -1), shape(2, 4), 3, 4, 1, 1, 5, 6, 2, 2);
        }

        @Test
        void concatOfThreeDimensionalAlongMiddleAxis() {
            NDArray p = range(2, 1, 2);              // [[[0, 1]], [[2, 3]]]
            NDArray q = range(2, 2, 2).add(10);      // [[[10, 11], [12, 13]], [[14, 15], [16, 17]]]
            assertArray(Np.concat(List.of(p, q), 1), shape(2, 3, 2), 0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17);
        }

        @Test
        void concatOfOneArrayReturnsItsValues() {
            assertArray(Np.concat(List.of(x), 1), shape(3, 4), x.toArray());
        }

        @Test
        void concatOfMismatchedShapesIsRejected() {
            assertIllegal(() -> Np.concat(Np.zeros(2, 3), Np.zeros(2, 4)),
                "concat: array 1 has shape (2, 4) but array 0 has shape (2, 3); all dimensions except axis 0 must match");
            assertIllegal(() -> Np.concat(List.of(Np.zeros(2, 3), Np.zeros(3, 3)), 1),
                "concat", "(3, 3)", "(2, 3)", "axis 1");
            assertIllegal(() -> Np.concat(Np.zeros(2, 3), Np.zeros(3)), "concat", "(3,)", "(2, 3)");
        }

        @Test
        void concatWithBadArgumentsIsRejected() {
            assertIllegal(() -> Np.concat(List.of(Np.zeros(2, 3)), 2), "concat: axis 2 is out of bounds", "dimension 2");
            assertIllegal(() -> Np.concat(List.of(), 0), "concat: need at least one array");
            assertIllegal(() -> Np.concat(Np.scalar(1), Np.scalar(2)), "concat", "zero-dimensional");
        }

        @Test
        void wherePicksFromFirstWhereConditionIsNonZero() {
            NDArray cond = Np.array(1, 0, -2, 0.5);
            assertArray(Np.where(cond, Np.array(1, 2, 3, 4), Np.array(10, 20, 30, 40)), shape(4), 1, 20, 3, 4);
            assertArray(Np.where(Np.array(Double.NaN), Np.array(1), Np.array(2)), shape(1), 1);
        }

        @Test
        void whereBroadcastsAllThreeOperands() {
            NDArray cond = Np.array(shape(2, 1), new double[] {1, 0});
            assertArray(Np.where(cond, Np.array(1, 2, 3), -1.0), shape(2, 3), 1, 2, 3, -1, -1, -1);
            assertArray(Np.where(cond, 5.0, Np.array(1, 2, 3)), shape(2, 3), 5, 5, 5, 1, 2, 3);
            assertArray(Np.where(Np.array(0, 1, 0).gt(0), Np.scalar(7), Np.scalar(8)), shape(3), 8, 7, 8);
        }

        @Test
        void whereWithIncompatibleShapesIsRejected() {
            assertIllegal(() -> Np.where(Np.zeros(2), Np.zeros(3), Np.zeros(3)),
                "where: operands could not be broadcast together with shapes (2,) (3,)");
            assertIllegal(() -> Np.where(Np.zeros(2, 1), Np.zeros(3), Np.zeros(4)), "where", "(2, 3) (4,)");
        }
    }

    // ================================================================ equality

    @Nested
    class Equality {

        @Test
        void equalArraysHaveEqualHashCodes() {
            NDArray p = range(2, 3);
            NDArray q = matrix(new double[] {0, 1, 2}, new double[] {3, 4, 5});
            assertEquals(p, q);
            assertEquals(p.hashCode(), q.hashCode());
            assertEquals(p, p);
        }

        @Test
        void arraysDifferingInShapeOrValueAreNotEqual() {
            assertNotEquals(Np.arange(6), range(2, 3));
            assertNotEquals(Np.array(1, 2, 3), Np.array(1, 2, 4));
            assertNotEquals(Np.scalar(1), Np.array(1));
            assertFalse(Np.array(1, 2).equals(new double[] {1, 2}));
            assertFalse(Np.array(1, 2).equals(null));
        }

        @Test
        void nanEqualsNaN() {
            NDArray p = Np.array(1, Double.NaN);
            NDArray q = Np.array(1, Double.NaN);
            assertEquals(p, q);
            assertEquals(p.hashCode(), q.hashCode());
        }

        @Test
        void negativeZeroEqualsZero() {
            NDArray zero = Np.array(0.0, 1.0);
            NDArray negZero = Np.array(0.0, 1.0).mul(Np.array(-1.0, 1.0));   // [-0., 1.]
            assertEquals(zero, negZero);
            assertEquals(zero.hashCode(), negZero.hashCode());
        }

        @Test
        void allCloseUsesNumpyDefaultTolerances() {
            assertTrue(Np.array(1, 2).allClose(Np.array(1 + 1e-9, 2)));
            assertTrue(Np.array(1e5).allClose(Np.array(1e5 + 0.5)));          // 0.5 <= 1e-5 * 1e5 + 1e-8
            assertFalse(Np.array(1).allClose(Np.array(1.001)));
            assertTrue(Np.array(0).allClose(Np.array(1e-9)));                  // within atol 1e-8
            assertFalse(Np.array(0).allClose(Np.array(1e-7)));
        }

        @Test
        void allCloseWithCustomTolerances() {
            assertTrue(Np.array(1).allClose(Np.array(1.001), 1e-2, 0));
            assertTrue(Np.array(0).allClose(Np.array(0.1), 0, 0.2));
            assertFalse(Np.array(0).allClose(Np.array(0.1), 0.4, 0.05));   // 0.1 > 0.05 + 0.4 * 0.1
        }

        @Test
        void allCloseHandlesShapesNaNAndInfinity() {
            assertFalse(Np.arange(6).allClose(range(2, 3)));
            assertFalse(Np.array(Double.NaN).allClose(Np.array(Double.NaN)));
            assertTrue(Np.array(Double.POSITIVE_INFINITY).allClose(Np.array(Double.POSITIVE_INFINITY)));
            assertFalse(Np.array(Double.POSITIVE_INFINITY).allClose(Np.array(Double.NEGATIVE_INFINITY)));
            // numpy: a finite value is never close to an infinite one
            assertFalse(Np.array(1).allClose(Np.array(Double.POSITIVE_INFINITY)));
            assertFalse(Np.array(Double.POSITIVE_INFINITY).allClose(Np.array(1)));
        }
    }

    // ================================================================ assign and detach

    @Nested
    class AssignAndDetach {

        @Test
        void assignOverwritesValuesInPlace() {
            NDArray x = Np.zeros(2, 2);
            NDArray v = matrix(new double[] {1, 2}, new double[] {3, 4});
            x.assign(v);
            assertArray(x, shape(2, 2), 1, 2, 3, 4);
            v.assign(Np.scalar(0));
            assertArray(x, shape(2, 2), 1, 2, 3, 4);   // a copy, not an alias of v
        }

        @Test
        void assignBroadcastsTheValue() {
            NDArray x = Np.zeros(2, 2);
            x.assign(Np.scalar(7));
            assertArray(x, shape(2, 2), 7, 7, 7, 7);
            x.assign(Np.array(1, 2));
            assertArray(x, shape(2, 2), 1, 2, 1, 2);
        }

        @Test
        void assignOfIncompatibleShapeIsRejected() {
            NDArray x = Np.zeros(2, 2);
            assertIllegal(() -> x.assign(Np.zeros(3)), "assign", "cannot broadcast shape (3,) to (2, 2)");
            assertIllegal(() -> x.assign(Np.zeros(2, 2, 2)), "assign", "(2, 2, 2) to (2, 2)");
            assertArray(x, shape(2, 2), 0, 0, 0, 0);
        }

        @Test
        void assignToVariableWhileRecordingIsRefused() {
            NDArray w = Np.array(1, 2);
            w.attachGrad();
            try (var r = Autograd.record()) {
                assertFails(IllegalStateException.class, () -> w.assign(Np.array(5, 6)), "assign", "record");
            }
            assertArray(w, shape(2), 1, 2);
            w.assign(Np.array(5, 6));   // allowed outside recording
            assertArray(w, shape(2), 5, 6);
            try (var r = Autograd.record(); var p = Autograd.pause()) {
                w.assign(Np.array(7, 8)); // allowed while paused
            }
            assertArray(w, shape(2), 7, 8);
        }

        @Test
        void assignToPlainArrayWhileRecordingIsAllowed() {
            NDArray c = Np.array(1, 2);
            try (var r = Autograd.record()) {
                c.assign(Np.array(3, 4));
            }
            assertArray(c, shape(2), 3, 4);
        }

        @Test
        void detachSharesValues() {
            NDArray x = Np.array(1, 2, 3);
            NDArray d = x.detach();
            assertEquals(x, d);
            x.assign(Np.array(4, 5, 6));
            assertArray(d, shape(3), 4, 5, 6);
            d.assign(Np.scalar(0));
            assertArray(x, shape(3), 0, 0, 0);
        }

        @Test
        void detachedResultHasNoGradient() {
            NDArray x = Np.array(1, 2);
            x.attachGrad();
            NDArray y;
            NDArray d;
            NDArray z;
            try (var r = Autograd.record()) {
                y = x.mul(3);
                d = y.detach();
                z = d.mul(2);
            }
            assertTrue(y.requiresGrad());
            assertFalse(d.requiresGrad());
            assertFalse(z.requiresGrad());
            assertArray(d, shape(2), 3, 6);
            assertArray(z, shape(2), 6, 12);
            assertFails(IllegalStateException.class, d::grad, "grad", "no gradient buffer");
            assertFalse(x.detach().requiresGrad());
            assertTrue(x.requiresGrad());
        }
    }

    // ================================================================ losses

    @Nested
    class Losses {

        @Test
        void mseIsMeanOfSquaredDifferences() {
            assertArray(Np.mse(Np.array(1, 2, 3), Np.array(1, 0, 6)), shape(), 13.0 / 3);
            assertArray(Np.mse(Np.zeros(2, 2), Np.scalar(2)), shape(), 4);
        }

        @Test
        void mseOfIncompatibleShapesIsRejectedNamingMse() {
            assertIllegal(() -> Np.mse(Np.zeros(3), Np.zeros(2)),
                "mse: operands could not be broadcast together with shapes (3,) (2,)");
        }

        @Test
        void binaryCrossEntropyWithLogitsMatchesNaiveFormulaForModerateLogits() {
            double[] z = {0.5, -1.2, 2.0, 0.0, 3.0};
            double[] t = {1.0, 0.0, 0.3, 0.5, 1.0};
            double sum = 0;
            for (int i = 0; i < z.length; i++) {
                double s = 1.0 / (1.0 + Math.exp(-z[i]));
                sum += -t[i] * Math.log(s) - (1 - t[i]) * Math.log(1 - s);
            }
            assertScalar(Np.binaryCrossEntropyWithLogits(Np.array(z), Np.array(t)), sum / z.length, 1e-12);
            // z = 0: log 2 whatever the target
            assertClose(Np.binaryCrossEntropyWithLogits(Np.zeros(2, 2), Np.scalar(1)), shape(), 1e-15, LN2);
        }

        @Test
        void binaryCrossEntropyWithLogitsIsFiniteForHugeLogits() {
            // per element: right and confident 0, wrong and confident 1000
            NDArray z = Np.array(1000, -1000, 1000, -1000);
            NDArray t = Np.array(1, 0, 0, 1);
            assertArray(Np.binaryCrossEntropyWithLogits(z, t), shape(), 500);
        }

        @Test
        void binaryCrossEntropyWithLogitsOfIncompatibleShapesIsRejected() {
            assertIllegal(() -> Np.binaryCrossEntropyWithLogits(Np.zeros(3), Np.zeros(2)),
                "binaryCrossEntropyWithLogits: operands could not be broadcast together with shapes (3,) (2,)");
        }

        @Test
        void softmaxCrossEntropyOfKnownRows() {
            // row 0: softmax [1/4, 3/4], target class 1 -> -ln(3/4); row 1: [1/2, 1/2] -> ln 2
            NDArray logits = matrix(new double[] {0, LN3}, new double[] {1, 1});
            NDArray oneHot = matrix(new double[] {0, 1}, new double[] {1, 0});
            assertScalar(Np.softmaxCrossEntropy(logits, oneHot), (-Math.log(0.75) + LN2) / 2, 1e-15);
        }

        @Test
        void softmaxCrossEntropyMatchesHandComputationWithProbabilityTargets() {
            double[][] l = {{1, 2, 3, -1}, {0.5, -1, 2, 0}, {-3, 0, 0, 4}};
            double[][] p = {{0, 0, 1, 0}, {0.2, 0.3, 0.5, 0}, {0.25, 0.25, 0.25, 0.25}};
            double total = 0;
            for (int r = 0; r < l.length; r++) {
                double z = 0;
                for (double v : l[r]) {
                    z += Math.exp(v);
                }
                for (int c = 0; c < l[r].length; c++) {
                    total -= p[r][c] * Math.log(Math.exp(l[r][c]) / z);
                }
            }
            assertScalar(Np.softmaxCrossEntropy(Np.array(l), Np.array(p)), total / l.length, 1e-12);
        }

        @Test
        void softmaxCrossEntropyIsFiniteForHugeLogits() {
            NDArray logits = matrix(new double[] {1000, 0}, new double[] {0, 1000});
            NDArray oneHot = matrix(new double[] {0, 1}, new double[] {0, 1});
            assertScalar(Np.softmaxCrossEntropy(logits, oneHot), 500, 1e-12);
            assertScalar(Np.softmaxCrossEntropy(Np.array(-1000, 1000), Np.array(0, 1)), 0, 1e-12);
        }

        @Test
        void softmaxCrossEntropyOfMismatchedShapesIsRejected() {
            assertIllegal(() -> Np.softmaxCrossEntropy(Np.zeros(2, 3), Np.zeros(2, 2)),
                "softmaxCrossEntropy", "logits of shape (2, 3)", "targets of shape (2, 2)");
            assertIllegal(() -> Np.softmaxCrossEntropy(Np.scalar(1), Np.scalar(1)),
                "softmaxCrossEntropy", "()", "non-scalar");
        }
    }

    @Nested
    class Gathers {
        private final NDArray table = Np.arange(12.0).reshape(4, 3);

        @Test
        void takePicksRowsInTheIndicesShape() {
            NDArray r = table.take(Np.array(3, 0, 3, -4));
            assertArrayEquals(new long[] {4, 3}, r.shape());
            assertArrayEquals(new double[] {9, 10, 11, 0, 1, 2, 9, 10, 11, 0, 1, 2}, r.toArray());
            NDArray two = table.take(Np.array(new int[] {2, 1}, new double[] {1, 2}));
            assertArrayEquals(new long[] {2, 1, 3}, two.shape());
            assertArrayEquals(new double[] {3, 4, 5, 6, 7, 8}, two.toArray());
            NDArray vector = Np.array(5, 6, 7).take(Np.array(new int[] {2, 2}, new double[] {2, 0, 1, 1}));
            assertArrayEquals(new double[] {7, 5, 6, 6}, vector.toArray());
            assertArrayEquals(new long[] {0, 3}, table.take(Np.zeros(0)).shape());
        }

        @Test
        void takeRefusesIndicesThatNameNoRow() {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> table.take(Np.array(1, 4)));
            assertEquals("take: index 4 (position 1 of the indices) is out of range for an axis of length 4", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> table.take(Np.array(-5)));
            assertTrue(e.getMessage().contains("index -5"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> table.take(Np.array(0, 1.5)));
            assertEquals("take: index 1.5 (position 1 of the indices) is not an integer", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> table.take(Np.array(Double.NaN)));
            assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("not an integer"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Np.scalar(1).take(Np.array(0)));
            assertTrue(e.getMessage().startsWith("take: a scalar"), e.getMessage());
        }

        @Test
        void scatterAddAddsRepeatedRowsAndIsTakesGradient() {
            NDArray values = Np.arange(6.0).reshape(3, 2).add(1);
            NDArray r = Np.scatterAdd(Np.zeros(4, 2), Np.array(1, 3, 1), values);
            assertArrayEquals(new double[] {0, 0, 1 + 5, 2 + 6, 0, 0, 3, 4}, r.toArray());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Np.scatterAdd(Np.zeros(4, 2), Np.array(1, 3), values));
            assertTrue(e.getMessage().startsWith("scatterAdd: values of shape (3, 2) for indices of shape (2,)")
                && e.getMessage().contains("(2, 2)"), e.getMessage());

            NDArray t = table.mul(1);
            t.attachGrad();
            NDArray loss;
            try (var rec = Autograd.record()) {
                loss = t.take(Np.array(2, 0, 2)).mul(Np.array(1, 2, 3)).sum();
            }
            loss.backward();
            // row 2 was taken twice: both rows' gradients add up there
            assertArrayEquals(new double[] {1, 2, 3, 0, 0, 0, 2, 4, 6, 0, 0, 0}, t.grad().toArray());
        }
    }
}
