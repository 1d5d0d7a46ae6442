package io.sparkgrad.np;

/**
 * The elementwise functions of two arguments that every backend implements with numpy
 * broadcasting. Comparisons return 1.0 for true and 0.0 for false.
 */
public enum BinaryFn {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, GT, LT, GE, LE, EQ, ARCTAN2, HYPOT;

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
            case ARCTAN2: return Math.atan2(a, b); // the angle of the point (b, a), as numpy's arctan2(a, b)
            case HYPOT: return Math.hypot(a, b); // inf if either is infinite, even when the other is NaN
            default: throw new AssertionError(this);
        }
    }
}
