package io.sparkgrad.np;

/**
 * The element type of an array: {@link #FLOAT64} (the default) or {@link #FLOAT32}.
 *
 * <p>The result type of every primitive is computed once, in the core ({@link Prim#dtype}), by
 * numpy's promotion rule in its NEP 50 form: the result is float64 when any operand is a float64
 * array, float32 when the operands are float32 arrays. Java doubles given to the scalar overloads
 * ({@code x.mul(2.0)}) and the constants of the gradient rules ({@link Np#scalar}) are <em>weak</em>:
 * they take the other operand's type, so {@code x32.mul(2.0)} stays float32 and so does the
 * gradient of a float32 parameter.
 *
 * <p>A float32 array holds float32 values and float32 semantics: every primitive computes in
 * double and rounds its result once to the nearest float (for {@code + - * /} and {@code sqrt}
 * that is the correctly rounded float32 result; sums, norms and matrix products accumulate in
 * double and round once). A local float32 array keeps those values in a {@code double[]}; a
 * distributed one keeps them as {@code float[]} blocks, half the bytes cached and shipped.
 */
public enum DType {
    FLOAT64("float64", 8),
    FLOAT32("float32", 4);

    private final String numpyName;
    private final int bytes;

    DType(String numpyName, int bytes) {
        this.numpyName = numpyName;
        this.bytes = bytes;
    }

    /** Returns numpy's name of the type ({@code float32}, {@code float64}). */
    public String numpyName() {
        return numpyName;
    }

    /** Returns the bytes one element takes in a block. */
    public int bytes() {
        return bytes;
    }

    /** Returns the type both operands promote to (float64 wins). */
    public DType promote(DType other) {
        return this == FLOAT64 || other == FLOAT64 ? FLOAT64 : FLOAT32;
    }

    /** Returns {@code v} as a value of this type: itself for float64, the nearest float for float32. */
    public double round(double v) {
        return this == FLOAT32 ? (double) (float) v : v;
    }

    /** Rounds {@code d[from, to)} in place to values of this type. */
    public void round(double[] d, int from, int to) {
        if (this == FLOAT32) {
            for (int i = from; i < to; i++) {
                d[i] = (float) d[i];
            }
        }
    }

    /**
     * Returns the type named {@code name} ({@code float32} or {@code float64}, any case; also
     * {@code f32}/{@code f64}), or throws naming the value and the choices.
     */
    public static DType parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        switch (n) {
            case "float64": case "f64": case "double": return FLOAT64;
            case "float32": case "f32": case "float": return FLOAT32;
            default: throw new IllegalArgumentException("dtype: unknown type '" + name + "'; use float32 or float64");
        }
    }

    @Override
    public String toString() {
        return numpyName;
    }
}
