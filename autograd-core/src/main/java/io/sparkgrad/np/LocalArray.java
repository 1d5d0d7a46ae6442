package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;

/**
 * An {@link NDArray} whose values are one row-major {@code double[]} in this JVM. Views made by
 * {@code reshape} and {@code detach} share the array; every other operation makes a new one.
 *
 * <p>An array can also be <em>pending</em> ({@link #pending}): its values are the result of work
 * that has not run yet, such as a reduction over a distributed array that a backend batches with
 * others into one Spark job. Operations on a pending array stay pending ({@link PendingBackend});
 * the work runs when something needs the values ({@link #data()}, {@link #item()}, printing...).
 */
public final class LocalArray extends NDArray {
    // null while the array is a constant that nobody has asked to see as a double[] yet
    private volatile double[] data;
    // true while every element equals constantValue (kernels then treat it as a scalar)
    private volatile boolean constant;
    private final double constantValue;
    // non-null while the values are pending: computes them once, on first access
    private volatile java.util.function.Supplier<double[]> source;

    LocalArray(int[] shape, double[] data) {
        super(shape);
        this.data = data;
        this.constantValue = 0;
    }

    private LocalArray(int[] shape, double value) {
        super(shape);
        this.constant = true;
        this.constantValue = value;
    }

    /**
     * Returns an array of {@code shape} whose elements all equal {@code value}, stored as the one
     * value until something needs the elements: a broadcast gradient such as the one of
     * {@code sum} then costs no memory, and kernels treat it as a scalar.
     */
    static LocalArray constant(int[] shape, double value) {
        return new LocalArray(shape, value);
    }

    /**
     * Returns an array of {@code shape} whose values {@code source} computes when first needed; the
     * supplier runs at most once and must return a new array of {@code shape}'s size.
     */
    public static LocalArray pending(int[] shape, java.util.function.Supplier<double[]> source) {
        LocalArray a = new LocalArray(shape, (double[]) null);
        a.source = source;
        return a;
    }

    /** Returns true while the values are pending: the work that computes them has not run yet. */
    public boolean isPending() {
        return source != null;
    }

    /** Wraps {@code data} (not copied) as an array of {@code shape}, checking that the sizes agree. */
    public static LocalArray wrap(int[] shape, double[] data) {
        int[] s = Shape.checkValid("array", shape);
        if (Shape.size(s) != data.length) {
            throw new IllegalArgumentException("array: " + data.length + " values cannot fill shape " + Shape.str(s)
                + " (" + Shape.size(s) + " elements)");
        }
        return new LocalArray(s, data);
    }

    /** Returns true while every element is {@link #constantValue()} and none was materialised for writing. */
    boolean isConstant() {
        return constant;
    }

    double constantValue() {
        return constantValue;
    }

    /**
     * Returns the backing array itself, for kernels that work on blocks in place; callers must not
     * modify an array that other code can see.
     */
    public double[] data() {
        double[] d = data;
        return d != null ? d : materialise();
    }

    /** Computes the values of a pending array, or the elements of a constant, once. */
    private synchronized double[] materialise() {
        if (data == null) {
            double[] d;
            if (source != null) {
                d = source.get();
                if (d.length != Shape.size(shape)) {
                    throw new IllegalStateException("internal: pending array of shape " + Shape.str(shape) + " computed "
                        + d.length + " values");
                }
            } else {
                d = new double[Shape.size(shape)];
                if (constantValue != 0) {
                    java.util.Arrays.fill(d, constantValue);
                }
            }
            data = d;
            source = null;
        }
        return data;
    }

    @Override
    public Backend backend() {
        return source != null ? PendingBackend.INSTANCE : LocalBackend.INSTANCE;
    }

    @Override
    public NDArray toLocal() {
        return this;
    }

    @Override
    public double[] toArray() {
        return data().clone();
    }

    @Override
    public double item() {
        if (Shape.size(shape) != 1) {
            return super.item(); // throws with the shape in the message
        }
        return constant ? constantValue : data()[0];
    }

    @Override
    public void assign(NDArray value) {
        if (Autograd.isRecording() && requiresGrad()) {
            throw new IllegalStateException("assign: cannot overwrite an array that requires a gradient while recording; "
                + "update variables outside Autograd.record()");
        }
        Shape.checkBroadcastTo("assign", value.shape, shape);
        NDArray local = value.toLocal();
        // a value of this shape is copied straight from its storage; others are broadcast first
        double[] v = local instanceof LocalArray && java.util.Arrays.equals(local.shape, shape)
            ? ((LocalArray) local).data() : local.broadcastTo(shape).toArray();
        double[] d = data();
        if (v != d) {
            System.arraycopy(v, 0, d, 0, d.length);
        }
        constant = false;
    }

    @Override
    public NDArray detach() {
        if (source != null) {
            return pending(shape, this::data); // shares the values once they exist
        }
        return new LocalArray(shape, data()); // shares the values, as MXNet's detach does
    }
}
