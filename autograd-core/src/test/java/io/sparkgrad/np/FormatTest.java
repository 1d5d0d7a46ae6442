package io.sparkgrad.np;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Each expected string is NumPy's {@code repr()} of the same float64 array (NumPy 1.14 to 2.1
 * default print options; checked against NumPy 2.4 with {@code legacy='2.1'}).
 */
class FormatTest {

    private static int[] shape(int... dims) {
        return dims;
    }

    private static double[] values(double... values) {
        return values;
    }

    /** 0., 1., ..., n-1. like {@code np.arange(n, dtype=float)}. */
    private static double[] arange(int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = i;
        }
        return d;
    }

    // --- whole numbers and alignment --------------------------------------------------------

    @Test
    void wholeNumbersPrintWithTrailingDecimalPoint() {
        assertEquals("array([0., 1., 2., 3.])", Format.array(shape(4), values(0, 1, 2, 3)));
    }

    @Test
    void zeroDimensionalArrayPrintsBareValue() {
        assertEquals("array(14.)", Format.array(shape(), values(14)));
        assertEquals("array(1585.1598)", Format.array(shape(), values(1585.1598)));
    }

    @Test
    void narrowerNumbersArePaddedOnTheLeftToAlignDecimalPoints() {
        assertEquals("array([ 0.,  4.,  8., 12.])", Format.array(shape(4), values(0, 4, 8, 12)));
    }

    @Test
    void singleElementArrayHasNoPadding() {
        assertEquals("array([1029.12])", Format.array(shape(1), values(1029.12)));
    }

    @Test
    void shorterFractionsArePaddedOnTheRight() {
        assertEquals("array([0.1 , 0.25])", Format.array(shape(2), values(0.1, 0.25)));
        assertEquals("array([1.5, 2. ])", Format.array(shape(2), values(1.5, 2)));
    }

    @Test
    void negativeNumbersAlignOnTheDecimalPoint() {
        assertEquals("array([-1. ,  0.5,  2. ])", Format.array(shape(3), values(-1, 0.5, 2)));
        assertEquals("array([-1.5 ,  2.  , -3.25])",
            Format.array(shape(3), values(-1.5, 2, -3.25)));
    }

    @Test
    void mixedWidthsPadBothSides() {
        assertEquals("array([   1. ,   10.5, -100. ])",
            Format.array(shape(3), values(1, 10.5, -100)));
    }

    @Test
    void negativeZeroKeepsItsSign() {
        assertEquals("array(-0.)", Format.array(shape(), values(-0.0)));
        assertEquals("array([-0.,  1.])", Format.array(shape(2), values(-0.0, 1)));
    }

    // --- precision ------------------------------------------------------------------------

    @Test
    void fractionsUseShortestDigitsUpToEightPlaces() {
        assertEquals("array([0.33333333, 0.66666667, 0.1       ])",
            Format.array(shape(3), values(1.0 / 3, 2.0 / 3, 0.1)));
    }

    @Test
    void valuesRoundToEightFractionalDigits() {
        assertEquals("array([1.        , 3.14159265])",
            Format.array(shape(2), values(1.000000005, Math.PI)));
    }

    // --- scientific notation ------------------------------------------------------------------

    @Test
    void smallValuesSwitchToScientificNotation() {
        assertEquals("array([1.e-05, 1.e+00])", Format.array(shape(2), values(1e-5, 1)));
        assertEquals("array([1.50e-07, 2.25e+00])", Format.array(shape(2), values(1.5e-7, 2.25)));
    }

    @Test
    void largeValuesSwitchToScientificNotation() {
        assertEquals("array(1.e+10)", Format.array(shape(), values(1e10)));
        assertEquals("array(1.79769313e+308)", Format.array(shape(), values(Double.MAX_VALUE)));
    }

    @Test
    void wideRangeOfMagnitudesSwitchesToScientificNotation() {
        // a ratio of exactly 1000 stays positional; anything above switches
        assertEquals("array([   1., 1000.])", Format.array(shape(2), values(1, 1000)));
        assertEquals("array([1.0000e+00, 1.0005e+03])", Format.array(shape(2), values(1, 1000.5)));
    }

    @Test
    void exponentsArePaddedToTheWidestExponent() {
        assertEquals("array([5.e-324, 1.e+000])",
            Format.array(shape(2), values(Double.MIN_VALUE, 1)));
    }

    @Test
    void scientificNotationAlignsSigns() {
        assertEquals("array([[ 1.0e-07, -2.5e+00],\n"
                + "       [ 3.0e+09,  4.0e+00]])",
            Format.array(shape(2, 2), values(1e-7, -2.5, 3e9, 4)));
    }

    // --- non-finite values ----------------------------------------------------------------

    @Test
    void nanAndInfinityPrintAsWordsAlignedWithNumbers() {
        assertEquals("array([ 1., nan, inf])",
            Format.array(shape(3), values(1, Double.NaN, Double.POSITIVE_INFINITY)));
        assertEquals("array([ nan, -inf])",
            Format.array(shape(2), values(Double.NaN, Double.NEGATIVE_INFINITY)));
        assertEquals("array([    nan,  1.e-05, -1.e+00])",
            Format.array(shape(3), values(Double.NaN, 1e-5, -1)));
    }

    // --- nesting -------------------------------------------------------------------------

    @Test
    void matrixRowsGoOnSeparateLinesIndentedUnderTheFirstBracket() {
        assertEquals("array([[1., 2.],\n       [3., 4.]])",
            Format.array(shape(2, 2), values(1, 2, 3, 4)));
    }

    @Test
    void threeDimensionalBlocksAreSeparatedByBlankLines() {
        assertEquals("array([[[0., 1.],\n"
                + "        [2., 3.]],\n"
                + "\n"
                + "       [[4., 5.],\n"
                + "        [6., 7.]]])",
            Format.array(shape(2, 2, 2), arange(8)));
    }

    @Test
    void threeDimensionalArrayAlignsNegativeValuesAcrossBlocks() {
        double[] data = new double[12];
        for (int i = 0; i < 12; i++) {
            data[i] = (i - 6) / 2.0;
        }
        assertEquals("array([[[-3. , -2.5],\n"
                + "        [-2. , -1.5],\n"
                + "        [-1. , -0.5]],\n"
                + "\n"
                + "       [[ 0. ,  0.5],\n"
                + "        [ 1. ,  1.5],\n"
                + "        [ 2. ,  2.5]]])",
            Format.array(shape(2, 3, 2), data));
    }

    @Test
    void singletonDimensionsNestBrackets() {
        assertEquals("array([[[5.]]])", Format.array(shape(1, 1, 1), values(5)));
    }

    // --- line wrapping ---------------------------------------------------------------------

    @Test
    void longRowsWrapAtSeventyFiveCharacters() {
        assertEquals("array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n"
                + "       13., 14., 15., 16., 17., 18., 19.])",
            Format.array(shape(20), arange(20)));
    }

    @Test
    void longScientificRowsWrap() {
        double[] data = new double[12];
        for (int i = 0; i < 12; i++) {
            data[i] = (i + 1) * 1e10;
        }
        assertEquals("array([1.0e+10, 2.0e+10, 3.0e+10, 4.0e+10, 5.0e+10, 6.0e+10, 7.0e+10,\n"
                + "       8.0e+10, 9.0e+10, 1.0e+11, 1.1e+11, 1.2e+11])",
            Format.array(shape(12), data));
    }

    @Test
    void wrappedMatrixRowsContinueUnderTheRowBracket() {
        double[] data = new double[40];
        for (int i = 0; i < 40; i++) {
            data[i] = i + 0.5;
        }
        assertEquals(
            "array([[ 0.5,  1.5,  2.5,  3.5,  4.5,  5.5,  6.5,  7.5,  8.5,  9.5, 10.5,\n"
                + "        11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 18.5, 19.5],\n"
                + "       [20.5, 21.5, 22.5, 23.5, 24.5, 25.5, 26.5, 27.5, 28.5, 29.5, 30.5,\n"
                + "        31.5, 32.5, 33.5, 34.5, 35.5, 36.5, 37.5, 38.5, 39.5]])",
            Format.array(shape(2, 20), data));
    }

    // --- summarisation ---------------------------------------------------------------------

    @Test
    void largeVectorShowsOnlyEdgesAndFormatsFromThem() {
        assertEquals("array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n"
                + "       1.999e+03])",
            Format.array(shape(2000), arange(2000)));
    }

    @Test
    void summarisationStartsAboveOneThousandElements() {
        double[] data = new double[1001];
        java.util.Arrays.fill(data, 0.5);
        assertEquals("array([0.5, 0.5, 0.5, ..., 0.5, 0.5, 0.5])", Format.array(shape(1001), data));
        assertEquals("array([0.5, 0.5])", Format.array(shape(2), values(0.5, 0.5)));
    }

    @Test
    void largeMatrixSummarisesRowsAndColumns() {
        assertEquals("array([[0.000e+00, 1.000e+00, 2.000e+00, ..., 4.700e+01, 4.800e+01,\n"
                + "        4.900e+01],\n"
                + "       [5.000e+01, 5.100e+01, 5.200e+01, ..., 9.700e+01, 9.800e+01,\n"
                + "        9.900e+01],\n"
                + "       [1.000e+02, 1.010e+02, 1.020e+02, ..., 1.470e+02, 1.480e+02,\n"
                + "        1.490e+02],\n"
                + "       ...,\n"
                + "       [1.850e+03, 1.851e+03, 1.852e+03, ..., 1.897e+03, 1.898e+03,\n"
                + "        1.899e+03],\n"
                + "       [1.900e+03, 1.901e+03, 1.902e+03, ..., 1.947e+03, 1.948e+03,\n"
                + "        1.949e+03],\n"
                + "       [1.950e+03, 1.951e+03, 1.952e+03, ..., 1.997e+03, 1.998e+03,\n"
                + "        1.999e+03]])",
            Format.array(shape(40, 50), arange(2000)));
    }

    // --- empty arrays ---------------------------------------------------------------------

    @Test
    void emptyVectorStatesItsDtype() {
        assertEquals("array([], dtype=float64)", Format.array(shape(0), values()));
    }

    @Test
    void emptyMultiDimensionalArrayStatesShapeAndDtype() {
        assertEquals("array([], shape=(2, 0), dtype=float64)", Format.array(shape(2, 0), values()));
        assertEquals("array([], shape=(0, 3), dtype=float64)", Format.array(shape(0, 3), values()));
    }

    // --- argument checks ------------------------------------------------------------------

    @Test
    void dataLengthMustMatchShape() {
        assertThrows(IllegalArgumentException.class,
            () -> Format.array(shape(2, 2), values(1, 2, 3)));
        assertThrows(IllegalArgumentException.class, () -> Format.array(shape(-1), values()));
    }
}
