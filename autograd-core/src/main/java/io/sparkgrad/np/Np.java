package io.sparkgrad.np;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Factories and functions over {@link NDArray}s, the Java mirror of {@code mxnet.np}:
 * {@code Np.arange(4.0)}, {@code Np.dot(x, x)}, {@code Np.linalg().norm(b)}.
 */
public final class Np {
    private Np() {}

    private static final Random RANDOM = new Random();
    private static final Linalg LINALG = new Linalg();

    // ------------------------------------------------------------------ creation

    /**
     * Returns a 0-d float64 array holding {@code value} (numpy's {@code np.array(value)}). It is a
     * <em>weak</em> scalar, as a Python float is in numpy's promotion: combined with an array it
     * takes that array's type ({@code x32.mul(Np.scalar(2.0))} is float32), so the constants of
     * the gradient rules never turn a float32 gradient into a float64 one.
     */
    public static NDArray scalar(double value) {
        return LocalArray.weakScalar(value);
    }

    /** Returns a 0-d array of {@code dtype} holding {@code value} (rounded for float32); not weak. */
    public static NDArray scalar(double value, DType dtype) {
        return of(new LocalArray(new int[0], new double[] {value}), dtype);
    }

    /** Returns a 1-D array of {@code dtype} of the given values (copied; rounded to float for float32). */
    public static NDArray array(double[] values, DType dtype) {
        return of(new LocalArray(new int[] {values.length}, values.clone()), dtype);
    }

    /** Returns a 2-D array of {@code dtype} of the given rows (copied; rounded to float for float32). */
    public static NDArray array(double[][] rows, DType dtype) {
        return of((LocalArray) array(rows), dtype);
    }

    /** Returns an array of {@code shape} and {@code dtype} holding {@code data} (copied; rounded for float32). */
    public static NDArray array(int[] shape, double[] data, DType dtype) {
        return of(LocalArray.wrap(shape, data.clone()), dtype);
    }

    /** {@link #array(int[], double[], DType)} for a shape of longs (a local array's dimensions must fit ints). */
    public static NDArray array(long[] shape, double[] data, DType dtype) {
        return array(Shape.toInt("array", shape), data, dtype);
    }

    /** Returns an array of zeros of {@code dtype}. */
    public static NDArray zeros(int[] shape, DType dtype) {
        return of((LocalArray) zeros(shape), dtype);
    }

    /** Returns an array of ones of {@code dtype}. */
    public static NDArray ones(int[] shape, DType dtype) {
        return of((LocalArray) ones(shape), dtype);
    }

    /** Returns an array of {@code shape} and {@code dtype} filled with {@code value} (rounded for float32). */
    public static NDArray full(int[] shape, double value, DType dtype) {
        return of((LocalArray) full(shape, value), dtype);
    }

    /** Returns normal samples of {@code dtype} (float64 samples rounded to float for float32). */
    public static NDArray randomNormal(double mean, double std, DType dtype, int... shape) {
        return of((LocalArray) randomNormal(mean, std, shape), dtype);
    }

    /**
     * Returns samples of {@code dtype} uniform in {@code [low, high)}: float64 samples rounded to
     * float for float32, a sample that rounds up to {@code high} or above taking the float below.
     */
    public static NDArray randomUniform(double low, double high, DType dtype, int... shape) {
        LocalArray a = (LocalArray) randomUniform(low, high, shape);
        if (dtype == DType.FLOAT32) {
            double[] d = a.data();
            for (int i = 0; i < d.length; i++) {
                float f = (float) d[i];
                while (f >= high && f > low) {
                    f = Math.nextDown(f);
                }
                d[i] = f;
            }
        }
        return a.as(dtype);
    }

    /** A new array's values (nobody else holds them) as {@code dtype}, rounded in place for float32. */
    private static NDArray of(LocalArray fresh, DType dtype) {
        double[] d = fresh.data();
        dtype.round(d, 0, d.length);
        return fresh.as(dtype);
    }

    /** Returns a 1-D array of the given values (copied). */
    public static NDArray array(double... values) {
        return new LocalArray(new int[] {values.length}, values.clone());
    }

    /** Returns a 2-D array of the given rows (copied); every row must have the same length. */
    public static NDArray array(double[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        double[] data = new double[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != cols) {
                throw new IllegalArgumentException("array: row " + r + " has " + rows[r].length + " values but row 0 has "
                    + cols + "; rows must have equal lengths");
            }
            System.arraycopy(rows[r], 0, data, r * cols, cols);
        }
        return new LocalArray(new int[] {rows.length, cols}, data);
    }

    /** Returns an array of {@code shape} holding {@code data} (copied) in row-major order. */
    public static NDArray array(int[] shape, double[] data) {
        return LocalArray.wrap(shape, data.clone());
    }

    /** {@link #array(int[], double[])} for a shape of longs (a local array's dimensions must fit ints). */
    public static NDArray array(long[] shape, double[] data) {
        return array(Shape.toInt("array", shape), data);
    }

    /** Returns {@code [0, 1, ..., stop)} as float64, as {@code np.arange(stop)}. */
    public static NDArray arange(double stop) {
        return arange(0, stop, 1);
    }

    /** Returns {@code start, start + step, ...} up to but excluding {@code stop}. */
    public static NDArray arange(double start, double stop, double step) {
        if (step == 0 || Double.isNaN(step)) {
            throw new IllegalArgumentException("arange: step must be non-zero, got " + step);
        }
        double count = Math.ceil((stop - start) / step);
        if (!(count < Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("arange: too many elements from " + start + " to " + stop + " by " + step);
        }
        int n = (int) Math.max(0, count);
        double[] data = new double[n];
        for (int i = 0; i < n; i++) {
            data[i] = start + i * step;
        }
        return new LocalArray(new int[] {n}, data);
    }

    /** Returns an array of zeros of a shape of longs (for a shape read from another array). */
    public static NDArray zeros(long... shape) {
        return zeros(Shape.toInt("zeros", shape));
    }

    /** Returns an array of zeros. */
    public static NDArray zeros(int... shape) {
        return full("zeros", shape, 0.0);
    }

    /** Returns an array of ones of a shape of longs (for a shape read from another array). */
    public static NDArray ones(long... shape) {
        return ones(Shape.toInt("ones", shape));
    }

    /** Returns an array of ones. */
    public static NDArray ones(int... shape) {
        return full("ones", shape, 1.0);
    }

    /** Returns an array of {@code shape} filled with {@code value}. */
    public static NDArray full(int[] shape, double value) {
        return full("full", shape, value);
    }

    /** {@link #full(int[], double)} for a shape of longs (whose dimensions must fit a local array). */
    public static NDArray full(long[] shape, double value) {
        return full("full", Shape.toInt("full", Shape.checkValid("full", shape)), value);
    }

    private static NDArray full(String op, int[] shape, double value) {
        int[] s = Shape.checkValid(op, shape);
        double[] data = new double[Shape.size(s)];
        if (value != 0) {
            Arrays.fill(data, value);
        }
        return new LocalArray(s, data);
    }

    /** Returns the n x n identity matrix. */
    public static NDArray eye(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("eye: negative size " + n);
        }
        if ((long) n * n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("eye: size " + n + " gives " + (long) n * n
                + " elements; a local array holds at most " + Integer.MAX_VALUE);
        }
        double[] data = new double[n * n];
        for (int i = 0; i < n; i++) {
            data[i * n + i] = 1.0;
        }
        return new LocalArray(new int[] {n, n}, data);
    }

    /** Seeds the generator behind {@link #randomNormal} and {@link #randomUniform}. */
    public static void seed(long seed) {
        synchronized (RANDOM) {
            RANDOM.setSeed(seed);
        }
    }

    /** Draws a seed for a backend's generator from the generator {@link #seed} controls. */
    static long nextSeed() {
        synchronized (RANDOM) {
            return RANDOM.nextLong();
        }
    }

    /** Returns normal samples; with no shape, a 0-d scalar (as {@code np.random.normal()}). */
    public static NDArray randomNormal(double mean, double std, int... shape) {
        if (!(std >= 0)) {
            throw new IllegalArgumentException("randomNormal: std must be >= 0, got " + std);
        }
        int[] s = Shape.checkValid("randomNormal", shape);
        double[] data = new double[Shape.size(s)];
        synchronized (RANDOM) {
            for (int i = 0; i < data.length; i++) {
                data[i] = mean + std * RANDOM.nextGaussian();
            }
        }
        return new LocalArray(s, data);
    }

    /** Returns samples uniform in {@code [low, high)}; with no shape, a 0-d scalar. */
    public static NDArray randomUniform(double low, double high, int... shape) {
        if (!(low <= high)) {
            throw new IllegalArgumentException("randomUniform: low " + low + " is above high " + high);
        }
        int[] s = Shape.checkValid("randomUniform", shape);
        double[] data = new double[Shape.size(s)];
        synchronized (RANDOM) {
            for (int i = 0; i < data.length; i++) {
                data[i] = low + (high - low) * RANDOM.nextDouble();
            }
        }
        return new LocalArray(s, data);
    }

    /**
     * Returns samples uniform in [0, 1) with the shape and placement of {@code like} (a distributed
     * template gives samples made on the executors); the same seed and placement give the same
     * samples, whatever the order in which blocks are computed.
     */
    public static NDArray randomUniformLike(NDArray like, long seed) {
        return Prim.apply(new Prim.RandomUniform(seed), like);
    }

    // ------------------------------------------------------------------ functions

    /** Returns {@code a.dot(b)}: the product of vectors, matrices or a matrix and a vector, as {@code np.dot}. */
    public static NDArray dot(NDArray a, NDArray b) {
        return a.dot(b);
    }

    /** Returns {@code a.matmul(b)}, the matrix product, as {@code np.matmul}. */
    public static NDArray matmul(NDArray a, NDArray b) {
        return a.matmul(b);
    }

    /** Returns the elementwise larger of {@code a} and {@code b}, as {@code np.maximum}. */
    public static NDArray maximum(NDArray a, NDArray b) {
        return a.maximum(b);
    }

    /** Returns the elementwise smaller of {@code a} and {@code b}, as {@code np.minimum}. */
    public static NDArray minimum(NDArray a, NDArray b) {
        return a.minimum(b);
    }

    /** Returns {@code e^a} elementwise, as {@code np.exp}. */
    public static NDArray exp(NDArray a) {
        return a.exp();
    }

    /** Returns the natural logarithm of {@code a} elementwise, as {@code np.log}. */
    public static NDArray log(NDArray a) {
        return a.log();
    }

    /** Returns the angle of the point {@code (x, y)}, in {@code [-pi, pi]}, as {@code np.arctan2(y, x)}. */
    public static NDArray arctan2(NDArray y, NDArray x) {
        return y.arctan2(x);
    }

    /** Returns {@code sqrt(a^2 + b^2)} without overflow or underflow, as {@code np.hypot(a, b)}. */
    public static NDArray hypot(NDArray a, NDArray b) {
        return a.hypot(b);
    }

    /** Returns the sum of all elements of {@code a} as a 0-d array, as {@code np.sum}. */
    public static NDArray sum(NDArray a) {
        return a.sum();
    }

    /** Returns the mean of all elements of {@code a} as a 0-d array, as {@code np.mean}. */
    public static NDArray mean(NDArray a) {
        return a.mean();
    }

    /** The 2-norm of all elements, as {@code np.linalg.norm(a)}. */
    public static NDArray norm(NDArray a) {
        return a.norm();
    }

    /** Returns the {@code np.linalg} namespace. */
    public static Linalg linalg() {
        return LINALG;
    }

    /** The functions of {@code np.linalg}. */
    public static final class Linalg {
        private Linalg() {}

        /** The 2-norm of all elements (Frobenius for a matrix). */
        public NDArray norm(NDArray a) {
            return a.norm();
        }

        /** The 2-norm along {@code axis}. */
        public NDArray norm(NDArray a, int axis, boolean keepdims) {
            return a.norm(axis, keepdims);
        }
    }

    /** Rows of {@code table} picked by {@code indices}: {@link NDArray#take}. */
    public static NDArray take(NDArray table, NDArray indices) {
        return table.take(indices);
    }

    /**
     * Zeros of the shape and placement of {@code like} (whose values are not read) with row
     * {@code k} of {@code values} added at row {@code indices[k]}, repeated indices adding up
     * (PyTorch's {@code index_add} on zeros): the gradient of {@link NDArray#take}. {@code values}
     * has the indices' shape followed by a row of {@code like}.
     */
    public static NDArray scatterAdd(NDArray like, NDArray indices, NDArray values) {
        long[] rows = Arrays.copyOfRange(like.shape, Math.min(1, like.shape.length), like.shape.length);
        long[] want = new long[indices.shape.length + rows.length];
        System.arraycopy(indices.shape, 0, want, 0, indices.shape.length);
        System.arraycopy(rows, 0, want, indices.shape.length, rows.length);
        if (like.shape.length == 0 || !Arrays.equals(want, values.shape)) {
            throw new IllegalArgumentException("scatterAdd: values of shape " + Shape.str(values.shape) + " for indices of "
                + "shape " + Shape.str(indices.shape) + " into an array of shape " + Shape.str(like.shape) + "; they must "
                + "have shape " + (like.shape.length == 0 ? "(the array needs rows)" : Shape.str(want)));
        }
        return Ops.SCATTER_ADD.apply(null, like, indices, values);
    }

    /** Joins arrays along axis 0. */
    public static NDArray concat(NDArray... arrays) {
        return concat(Arrays.asList(arrays), 0);
    }

    /**
     * Joins arrays along an existing {@code axis}; their other dimensions must agree
     * (numpy's {@code concatenate}).
     */
    public static NDArray concat(List<NDArray> arrays, int axis) {
        if (arrays.isEmpty()) {
            throw new IllegalArgumentException("concat: need at least one array");
        }
        long[] first = arrays.get(0).shape;
        if (first.length == 0) {
            throw new IllegalArgumentException("concat: zero-dimensional arrays cannot be concatenated");
        }
        int a = Shape.axis("concat", axis, first.length);
        for (int k = 1; k < arrays.size(); k++) {
            long[] s = arrays.get(k).shape;
            boolean ok = s.length == first.length;
            for (int d = 0; ok && d < s.length; d++) {
                ok = d == a || s[d] == first[d];
            }
            if (!ok) {
                throw new IllegalArgumentException("concat: array " + k + " has shape " + Shape.str(s)
                    + " but array 0 has shape " + Shape.str(first) + "; all dimensions except axis " + a + " must match");
            }
        }
        if (arrays.size() == 1) {
            return arrays.get(0).reshape(first);
        }
        return Ops.CONCAT.apply(a, arrays.toArray(new NDArray[0]));
    }

    /** Picks {@code a} where {@code cond} is non-zero and {@code b} elsewhere, broadcasting all three. */
    public static NDArray where(NDArray cond, NDArray a, NDArray b) {
        Shape.broadcast("where", Shape.broadcast("where", cond.shape, a.shape), b.shape);
        return Ops.WHERE.apply(null, cond, a, b);
    }

    /** Picks {@code a} where {@code cond} is non-zero and the scalar {@code b} elsewhere. */
    public static NDArray where(NDArray cond, NDArray a, double b) {
        return where(cond, a, scalar(b));
    }

    /** Picks the scalar {@code a} where {@code cond} is non-zero and {@code b} elsewhere. */
    public static NDArray where(NDArray cond, double a, NDArray b) {
        return where(cond, scalar(a), b);
    }

    // ------------------------------------------------------------------ losses

    /** Mean squared error {@code mean((a - b)^2)}. */
    public static NDArray mse(NDArray a, NDArray b) {
        Shape.broadcast("mse", a.shape, b.shape);
        return a.sub(b).square().mean();
    }

    /**
     * Mean binary cross-entropy of logits {@code z} against targets {@code t} in [0, 1]:
     * {@code mean(log(1 + exp(z)) - t z)}, equal to {@code -t log(sigmoid(z)) - (1-t) log(1-sigmoid(z))}
     * but finite for any {@code z}.
     */
    public static NDArray binaryCrossEntropyWithLogits(NDArray z, NDArray t) {
        Shape.broadcast("binaryCrossEntropyWithLogits", z.shape, t.shape);
        return z.softplus().sub(z.mul(t)).mean();
    }

    /**
     * Mean over rows of the cross-entropy between {@code softmax(logits)} along the last axis and
     * the one-hot (or probability) rows of {@code oneHot}.
     */
    public static NDArray softmaxCrossEntropy(NDArray logits, NDArray oneHot) {
        if (!Arrays.equals(logits.shape, oneHot.shape) || logits.shape.length == 0) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits of shape " + Shape.str(logits.shape)
                + " and targets of shape " + Shape.str(oneHot.shape) + " must have the same, non-scalar shape");
        }
        NDArray perRow = logits.logSoftmax(-1).mul(oneHot).sum(-1).neg();
        return perRow.mean();
    }
}
