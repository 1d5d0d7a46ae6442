package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * An {@link NDArray} whose values are one row-major {@code double[]} in this JVM. Views made by
 * {@code reshape} and {@code detach} share the values (their {@link Storage}); every other
 * operation makes a new array.
 *
 * <p>An array can also be <em>pending</em> ({@link #pending}): its values are the result of work
 * that has not run yet, such as a reduction over a distributed array that a backend batches with
 * others into one Spark job. Operations on a pending array stay pending ({@link LocalBackend#apply});
 * the work runs when something needs the values ({@link #data()}, {@link #item()}, printing...).
 *
 * <p>Deferred work never sees a later in-place change: it reads a {@link #snapshot()} of each local
 * operand, taken when the op was written. A snapshot shares the values until someone writes into
 * the array ({@link #assign}); the write then goes to a fresh copy (copy on write), so the snapshot
 * keeps the values it was taken with. Every write also counts in {@link #version()}, which the tape
 * checks before a gradient rule reads an array it saved.
 */
public final class LocalArray extends NDArray {
    private final Storage storage;
    // the shape as ints: a local array holds at most 2^31 - 1 elements
    final int[] ishape;
    // a Java double made an array (Np.scalar): it takes the other operand's type in promotion
    private final boolean weak;

    /**
     * The values behind an array and all its views. Exactly one of three states: a constant (one
     * value, no elements yet), pending (a computation that gives the elements once), or elements.
     */
    private static final class Storage {
        // null while the values are a constant that nobody has asked to see as a double[] yet, or pending
        volatile double[] data;
        // true while every element equals constantValue (kernels then treat it as a scalar)
        volatile boolean constant;
        final double constantValue;
        // non-null while the values are pending
        volatile Pending source;
        // true when data is also held by deferred work (a snapshot): a write must go to a copy
        volatile boolean shared;
        // the number of in-place writes so far
        volatile int version;

        Storage(double[] data) {
            this.data = data;
            this.constantValue = 0;
        }

        Storage(double value) {
            this.constant = true;
            this.constantValue = value;
        }

        Storage(Pending source) {
            this.source = source;
            this.constantValue = 0;
        }
    }

    /** A computation that runs at most once; its result is never written to afterwards. */
    private static final class Pending {
        private Supplier<double[]> fn;
        private final int[] shape;
        private double[] value;

        Pending(Supplier<double[]> fn, int[] shape) {
            this.fn = fn;
            this.shape = shape.clone();
        }

        synchronized double[] get() {
            if (value == null) {
                double[] d = fn.get();
                if (d.length != Shape.size(shape)) {
                    throw new IllegalStateException("internal: a pending array of shape " + Shape.str(shape) + " computed "
                        + d.length + " values");
                }
                value = d;
                fn = null;
            }
            return value;
        }
    }

    LocalArray(int[] shape, double[] data) {
        this(shape, new Storage(data));
    }

    private LocalArray(int[] shape, Storage storage) {
        this(shape, storage, DType.FLOAT64, false);
    }

    private LocalArray(int[] shape, Storage storage, DType dtype, boolean weak) {
        super(Shape.of(shape), dtype);
        this.ishape = shape;
        this.storage = storage;
        this.weak = weak;
    }

    /** A weak float64 scalar ({@link Np#scalar}): it takes the other operand's type in promotion. */
    static LocalArray weakScalar(double value) {
        return new LocalArray(new int[0], new Storage(new double[] {value}), DType.FLOAT64, true);
    }

    @Override
    boolean isWeak() {
        return weak;
    }

    /**
     * Returns this array's values labelled {@code dtype}, sharing them (not a copy, not rounded):
     * for values that already are of that type, such as a kernel's rounded result.
     */
    LocalArray as(DType dtype) {
        return dtype == dtype() && !weak ? this : new LocalArray(ishape, storage, dtype, false);
    }

    /**
     * Wraps {@code data} (not copied) as an array of {@code shape} and {@code dtype}, checking that
     * the sizes agree; for float32 the values must already be floats (a block's, widened).
     */
    public static LocalArray wrap(int[] shape, double[] data, DType dtype) {
        return wrap(shape, data).as(dtype);
    }

    /** Returns the shape as ints (a local array's dimensions all fit one). */
    public int[] intShape() {
        return ishape.clone();
    }

    /**
     * Returns an array of {@code shape} whose elements all equal {@code value}, stored as the one
     * value until something needs the elements: a broadcast gradient such as the one of
     * {@code sum} then costs no memory, and kernels treat it as a scalar.
     */
    static LocalArray constant(int[] shape, double value) {
        return new LocalArray(shape, new Storage(value));
    }

    /**
     * Returns an array of {@code shape} whose values {@code source} computes when first needed; the
     * supplier runs at most once and must return a new array of {@code shape}'s size, which nothing
     * writes to afterwards.
     */
    public static LocalArray pending(int[] shape, Supplier<double[]> source) {
        return new LocalArray(shape, new Storage(new Pending(source, shape)));
    }

    /** {@link #pending(int[], Supplier)} for a shape of longs (whose dimensions must fit a local array). */
    public static LocalArray pending(long[] shape, Supplier<double[]> source) {
        return pending(Shape.toInt("pending", shape), source);
    }

    /** {@link #pending(long[], Supplier)} of a result of {@code dtype}, whose values the source rounds. */
    public static LocalArray pending(long[] shape, DType dtype, Supplier<double[]> source) {
        return pending(Shape.toInt("pending", shape), source).as(dtype);
    }

    /** Returns true while the values are pending: the work that computes them has not run yet. */
    public boolean isPending() {
        return storage.data == null && storage.source != null;
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

    /** Returns true while every element is {@link #constantValue()} and none was written since. */
    boolean isConstant() {
        return storage.constant;
    }

    double constantValue() {
        return storage.constantValue;
    }

    /** Returns a view of the same values with another shape of the same size (reshape). */
    LocalArray view(int[] newShape) {
        return new LocalArray(newShape, storage, dtype(), false);
    }

    /**
     * Returns the backing array itself, for kernels that work on blocks in place; callers must not
     * modify an array that other code can see.
     */
    public double[] data() {
        double[] d = storage.data;
        return d != null ? d : materialise();
    }

    /** Computes the values of a pending array, or the elements of a constant, once. */
    private double[] materialise() {
        Storage s = storage;
        Pending p;
        synchronized (s) {
            if (s.data != null) {
                return s.data;
            }
            p = s.source;
            if (p == null) {
                double[] d = new double[Shape.size(ishape)];
                if (s.constantValue != 0) {
                    Arrays.fill(d, s.constantValue);
                }
                s.data = d;
                return d;
            }
        }
        // computed outside the storage's lock: the work may take a while (a Spark job) and read
        // other arrays; Pending runs it once however many threads ask
        double[] d = p.get();
        synchronized (s) {
            if (s.data == null) {
                s.data = d;
                s.shared = true; // the computation (and any snapshot of it) holds the values too
                s.source = null;
            }
            return s.data;
        }
    }

    /**
     * Returns an array holding this array's values as they are now, which no later in-place change
     * of this array (or of a view of it) reaches: what deferred work reads of a local operand. It
     * costs no copy: the values are shared until one of them is written to ({@link #assign}), and
     * a pending array's snapshot shares its computation.
     */
    public LocalArray snapshot() {
        Storage s = storage;
        synchronized (s) {
            if (s.data == null && s.source != null) {
                return new LocalArray(ishape, new Storage(s.source), dtype(), weak);
            }
            if (s.constant) {
                return new LocalArray(ishape, new Storage(s.constantValue), dtype(), weak);
            }
            s.shared = true;
            Storage copy = new Storage(s.data);
            copy.shared = true;
            return new LocalArray(ishape, copy, dtype(), weak);
        }
    }

    @Override
    public int version() {
        return storage.version;
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
        return data().clone();
    }

    @Override
    public double item() {
        if (Shape.size(shape) != 1) {
            return super.item(); // throws with the shape in the message
        }
        Storage s = storage;
        return s.constant ? s.constantValue : data()[0];
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
        // (computed before anything is written: the value may read this array)
        double[] v = local instanceof LocalArray && Arrays.equals(local.shape, shape)
            ? ((LocalArray) local).data() : local.broadcastTo(shape).toArray();
        if (dtype() == DType.FLOAT32 && local.dtype() != DType.FLOAT32) {
            // numpy's x[:] = v casts v to x's type
            v = v.clone();
            DType.FLOAT32.round(v, 0, v.length);
        }
        data(); // a pending computation reads the old values: run it first
        Storage s = storage;
        synchronized (s) {
            if (s.shared) {
                // deferred work holds the old values: write into a copy (every element is written)
                s.data = new double[s.data.length];
                s.shared = false;
            }
            if (v != s.data) {
                System.arraycopy(v, 0, s.data, 0, s.data.length);
            }
            s.constant = false;
            s.version++;
        }
    }

    @Override
    public NDArray detach() {
        return new LocalArray(ishape, storage, dtype(), weak); // shares the values, as MXNet's detach does
    }
}
