package io.sparkgrad.np;

/**
 * The elementwise functions of two arguments that every backend implements with numpy
 * broadcasting. Comparisons return 1.0 for true and 0.0 for false.
 */
public enum BinaryFn {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, GT, LT, GE, LE, EQ;

    /** Returns the function's value at {@code (a, b)}; the reference for the bulk kernels. */
    public double apply(double a, double b) {
        switch (this) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            case POW: return Math.pow(a, b);
            // Math.max/min propagate NaN, as numpy's maximum/minimum do.
            case MAXIMUM: return Math.max(a, b);
            case MINIMUM: return Math.min(a, b);
            case GT: return a > b ? 1.0 : 0.0;
            case LT: return a < b ? 1.0 : 0.0;
            case GE: return a >= b ? 1.0 : 0.0;
            case LE: return a <= b ? 1.0 : 0.0;
            case EQ: return a == b ? 1.0 : 0.0;
            default: throw new AssertionError(this);
        }
    }
}
