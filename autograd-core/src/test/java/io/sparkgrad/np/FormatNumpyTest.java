package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Format} against NumPy on the edges of its float formatting: the eighth digit's rounding
 * (up, and ties), the switch to scientific notation (at 1e16, below 1e-4, and for a ratio of the
 * largest to the smallest value above 1000), subnormals and the largest double, NaN and
 * infinities among scientific values, the line width's wrapping, summaries of more than 1000
 * elements, and empty shapes. Each expected string is NumPy 2.4's {@code repr()} of the same
 * float64 array with {@code np.set_printoptions(legacy='2.1')}, the options {@link FormatTest} states.
 */
class FormatNumpyTest {

    /** Name, shape, values (or the divisor of {@code np.arange(n)}), NumPy's repr. */
    static final Object[][] CASES = {
        {"one third and two thirds", new int[] {2}, new double[] {0.3333333333333333, 0.6666666666666666},
            "array([0.33333333, 0.66666667])"},
        {"0.1 + 0.2", new int[] {1}, new double[] {0.30000000000000004},
            "array([0.3])"},
        {"digits that round up at the eighth", new int[] {3}, new double[] {0.123456785, 0.999999995, 1.000000005},
            "array([0.12345678, 1.        , 1.        ])"},
        {"a tie of the eighth digit", new int[] {3}, new double[] {0.5, 0.125, 0.00390625},
            "array([0.5       , 0.125     , 0.00390625])"},
        {"large whole and fractional", new int[] {2}, new double[] {99999999.5, 123456789.123},
            "array([9.99999995e+07, 1.23456789e+08])"},
        {"just below 1e16, rounded to 8 digits", new int[] {1}, new double[] {9999999999999998.0},
            "array([1.e+16])"},
        {"1e16 switches to scientific", new int[] {2}, new double[] {1e+16, 1.0},
            "array([1.e+16, 1.e+00])"},
        {"small values switch to scientific", new int[] {2}, new double[] {1e-05, 1.0},
            "array([1.e-05, 1.e+00])"},
        {"1e-4 beside 1: a ratio of 1e4, scientific", new int[] {2}, new double[] {0.0001, 1.0},
            "array([1.e-04, 1.e+00])"},
        {"a ratio above 1000 switches to scientific", new int[] {2}, new double[] {0.001, 2.0},
            "array([1.e-03, 2.e+00])"},
        {"a ratio of 1000 stays positional", new int[] {2}, new double[] {0.001, 1.0},
            "array([0.001, 1.   ])"},
        {"the smallest subnormal", new int[] {1}, new double[] {5e-324},
            "array([5.e-324])"},
        {"the largest double", new int[] {1}, new double[] {1.7976931348623157e+308},
            "array([1.79769313e+308])"},
        {"negative zero and small negatives", new int[] {3}, new double[] {-0.0, -0.001, 2.5},
            "array([-0.0e+00, -1.0e-03,  2.5e+00])"},
        {"scientific with many digits", new int[] {2}, new double[] {1.2345678901234566e-07, 3.0},
            "array([1.23456789e-07, 3.00000000e+00])"},
        {"scientific exponents of three digits", new int[] {2}, new double[] {1e-100, 1e+100},
            "array([1.e-100, 1.e+100])"},
        {"scientific with NaN and infinities", new int[] {3}, new double[] {1e+20, Double.NaN, Double.NEGATIVE_INFINITY},
            "array([1.e+20,    nan,   -inf])"},
        {"mixed magnitudes", new int[] {3}, new double[] {123.456, 0.001234, -98765.4321},
            "array([ 1.23456000e+02,  1.23400000e-03, -9.87654321e+04])"},
        {"one digit after the point", new int[] {3}, new double[] {0.5, 1.5, 10.5},
            "array([ 0.5,  1.5, 10.5])"},
        {"halves around the cutoff", new int[] {3}, new double[] {5e-09, 1.5e-08, 1.0},
            "array([5.0e-09, 1.5e-08, 1.0e+00])"},
        {"powers of ten", new int[] {4}, new double[] {10.0, 100.0, 1000.0, 10000.0},
            "array([   10.,   100.,  1000., 10000.])"},
        {"values close to powers of ten", new int[] {3}, new double[] {9.999999999, 0.09999999999, 999.99999999},
            "array([1.e+01, 1.e-01, 1.e+03])"},
        {"2 to the 60", new int[] {1}, new double[] {1.152921504606847e+18},
            "array([1.1529215e+18])"},
        {"2 to the -30", new int[] {2}, new double[] {9.313225746154785e-10, 1.0},
            "array([9.31322575e-10, 1.00000000e+00])"},
        {"a wide row wraps", new int[] {12}, new double[] {0.0, 0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714, 0.7142857142857142, 0.8571428571428571, 1.0, 1.1428571428571428, 1.2857142857142856, 1.4285714285714284, 1.5714285714285714},
            "array([0.        , 0.14285714, 0.28571429, 0.42857143, 0.57142857,\n       0.71428571, 0.85714286, 1.        , 1.14285714, 1.28571429,\n       1.42857143, 1.57142857])"},
        {"wide scientific rows wrap", new int[] {9}, new double[] {1.5e-09, 3e-09, 4.5e-09, 6e-09, 7.5e-09, 9e-09, 1.05e-08, 1.2e-08, 1.35e-08},
            "array([1.50e-09, 3.00e-09, 4.50e-09, 6.00e-09, 7.50e-09, 9.00e-09,\n       1.05e-08, 1.20e-08, 1.35e-08])"},
        {"a matrix of a wide ratio, in scientific with aligned columns", new int[] {2, 3}, new double[] {0.3333333333333333, -2.5, 1000.0, 4.0, 0.05, -6.25},
            "array([[ 3.33333333e-01, -2.50000000e+00,  1.00000000e+03],\n       [ 4.00000000e+00,  5.00000000e-02, -6.25000000e+00]])"},
        {"a 3-d array separates its blocks", new int[] {2, 3, 4}, new double[] {0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0, 2.125, 2.25, 2.375, 2.5, 2.625, 2.75, 2.875},
            "array([[[0.   , 0.125, 0.25 , 0.375],\n        [0.5  , 0.625, 0.75 , 0.875],\n        [1.   , 1.125, 1.25 , 1.375]],\n\n       [[1.5  , 1.625, 1.75 , 1.875],\n        [2.   , 2.125, 2.25 , 2.375],\n        [2.5  , 2.625, 2.75 , 2.875]]])"},
        {"a scientific matrix", new int[] {2, 2}, new double[] {1e-07, 1.0, 2.0, 300000.0},
            "array([[1.e-07, 1.e+00],\n       [2.e+00, 3.e+05]])"},
        {"a wide matrix wraps each row", new int[] {2, 20}, new double[] {-2.3333333333333335, -2.0, -1.6666666666666667, -1.3333333333333333, -1.0, -0.6666666666666666, -0.3333333333333333, 0.0, 0.3333333333333333, 0.6666666666666666, 1.0, 1.3333333333333333, 1.6666666666666667, 2.0, 2.3333333333333335, 2.6666666666666665, 3.0, 3.3333333333333335, 3.6666666666666665, 4.0, 4.333333333333333, 4.666666666666667, 5.0, 5.333333333333333, 5.666666666666667, 6.0, 6.333333333333333, 6.666666666666667, 7.0, 7.333333333333333, 7.666666666666667, 8.0, 8.333333333333334, 8.666666666666666, 9.0, 9.333333333333334, 9.666666666666666, 10.0, 10.333333333333334, 10.666666666666666},
            "array([[-2.33333333, -2.        , -1.66666667, -1.33333333, -1.        ,\n        -0.66666667, -0.33333333,  0.        ,  0.33333333,  0.66666667,\n         1.        ,  1.33333333,  1.66666667,  2.        ,  2.33333333,\n         2.66666667,  3.        ,  3.33333333,  3.66666667,  4.        ],\n       [ 4.33333333,  4.66666667,  5.        ,  5.33333333,  5.66666667,\n         6.        ,  6.33333333,  6.66666667,  7.        ,  7.33333333,\n         7.66666667,  8.        ,  8.33333333,  8.66666667,  9.        ,\n         9.33333333,  9.66666667, 10.        , 10.33333333, 10.66666667]])"},
        {"more than 1000 elements are summarised", new int[] {1500}, 4.0 /* np.arange(n) / that */,
            "array([0.0000e+00, 2.5000e-01, 5.0000e-01, ..., 3.7425e+02, 3.7450e+02,\n       3.7475e+02])"},
        {"a summarised matrix", new int[] {2, 1001}, 1.0 /* np.arange(n) / that */,
            "array([[0.000e+00, 1.000e+00, 2.000e+00, ..., 9.980e+02, 9.990e+02,\n        1.000e+03],\n       [1.001e+03, 1.002e+03, 1.003e+03, ..., 1.999e+03, 2.000e+03,\n        2.001e+03]])"},
        {"an empty matrix", new int[] {0, 3}, new double[] {},
            "array([], shape=(0, 3), dtype=float64)"},
        {"an empty 3-d array", new int[] {2, 0, 3}, new double[] {},
            "array([], shape=(2, 0, 3), dtype=float64)"},
    };

    @Test
    void everyCasePrintsAsNumpyPrintsIt() {
        for (Object[] c : CASES) {
            int[] shape = (int[]) c[1];
            double[] values;
            if (c[2] instanceof Double divisor) {
                values = new double[Shape.size(shape)];
                for (int i = 0; i < values.length; i++) {
                    values[i] = i / divisor;
                }
            } else {
                values = (double[]) c[2];
            }
            assertEquals(c[3], Format.array(shape, values), (String) c[0]);
        }
    }
}
