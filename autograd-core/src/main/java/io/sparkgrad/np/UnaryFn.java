package io.sparkgrad.np;

/**
 * The elementwise functions of one argument that every backend implements. Kernels switch on the
 * constant once per array and run a plain loop, so the function is never a virtual call per element.
 */
public enum UnaryFn {
    NEG, EXP, LOG, SQRT, ABS, SQUARE, SIN, COS, TANH, SIGMOID, RELU, SOFTPLUS, SIGN,
    TAN, SINH, COSH, ARCSIN, ARCCOS, ARCTAN, ARCSINH, ARCCOSH, ARCTANH, LOG2, LOG10, EXPM1, LOG1P,
    RECIPROCAL, CBRT, RSQRT, RCBRT, FLOOR, CEIL, ROUND, ERF, GELU, LOG_SIGMOID;

    /** Returns the function's value at {@code x}; the reference for the bulk kernels. */
    public double apply(double x) {
        switch (this) {
            case NEG: return -x;
            case EXP: return Math.exp(x);
            case LOG: return Math.log(x);
            case SQRT: return Math.sqrt(x);
            case ABS: return Math.abs(x);
            case SQUARE: return x * x;
            case SIN: return Math.sin(x);
            case COS: return Math.cos(x);
            case TANH: return Math.tanh(x);
            case SIGMOID: return sigmoid(x);
            case RELU: return Math.max(x, 0.0); // NaN stays NaN, -0.0 becomes 0.0
            case SOFTPLUS: return softplus(x);
            case SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x; // sign(-0.0) = 0.0, NaN stays
            case TAN: return Math.tan(x);
            case SINH: return Math.sinh(x);
            case COSH: return Math.cosh(x);
            case ARCSIN: return Math.asin(x);
            case ARCCOS: return Math.acos(x);
            case ARCTAN: return Math.atan(x);
            case ARCSINH: return ScalarMath.asinh(x);
            case ARCCOSH: return ScalarMath.acosh(x);
            case ARCTANH: return ScalarMath.atanh(x);
            case LOG2: return ScalarMath.log2(x);
            case LOG10: return Math.log10(x); // exact at powers of ten, as numpy's
            case EXPM1: return Math.expm1(x);
            case LOG1P: return Math.log1p(x);
            case RECIPROCAL: return 1.0 / x;
            case CBRT: return Math.cbrt(x);
            case RSQRT: return 1.0 / Math.sqrt(x);
            case RCBRT: return 1.0 / Math.cbrt(x);
            case FLOOR: return Math.floor(x);
            case CEIL: return Math.ceil(x);
            case ROUND: return Math.rint(x); // halves to even, as np.round
            case ERF: return ScalarMath.erf(x);
            case GELU: return ScalarMath.gelu(x);
            case LOG_SIGMOID: return -softplus(-x);
            default: throw new AssertionError(this);
        }
    }

    /** The logistic function, written so that neither branch overflows {@code exp}. */
    static double sigmoid(double x) {
        if (x >= 0) {
            return 1.0 / (1.0 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1.0 + e);
    }

    /** log(1 + exp(x)), equal to max(x, 0) + log1p(exp(-|x|)) which never overflows. */
    static double softplus(double x) {
        return Math.max(x, 0.0) + Math.log1p(Math.exp(-Math.abs(x)));
    }
}
