package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;

/**
 * An {@link NDArray} whose values are one row-major {@code double[]} in this JVM. Views made by
 * {@code reshape} and {@code detach} share the array; every other operation makes a new one.
 */
public final class LocalArray extends NDArray {
    private final double[] data;

    LocalArray(int[] shape, double[] data) {
        super(shape);
        this.data = data;
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

    /**
     * Returns the backing array itself, for kernels that work on blocks in place; callers must not
     * modify an array that other code can see.
     */
    public double[] data() {
        return data;
    }

    @Override
    public Backend backend() {
        return LocalBackend.INSTANCE;
    }

    @Override
    public NDArray toLocal() {
        return this;
    }

    @Override
    public double[] toArray() {
        return data.clone();
    }

    @Override
    public double item() {
        if (data.length != 1) {
            return super.item(); // throws with the shape in the message
        }
        return data[0];
    }

    @Override
    public void assign(NDArray value) {
        if (Autograd.isRecording() && requiresGrad()) {
            throw new IllegalStateException("assign: cannot overwrite an array that requires a gradient while recording; "
                + "update variables outside Autograd.record()");
        }
        Shape.checkBroadcastTo("assign", value.shape, shape);
        double[] v = value.toLocal().broadcastTo(shape).toArray();
        System.arraycopy(v, 0, data, 0, data.length);
    }

    @Override
    public NDArray detach() {
        return new LocalArray(shape, data);
    }
}
