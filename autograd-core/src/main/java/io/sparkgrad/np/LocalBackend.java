package io.sparkgrad.np;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;

import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * The kernels for {@link LocalArray}s: plain loops over {@code double[]} that switch on the
 * function once per call (so the JIT compiles each loop on its own and vectorises it), and
 * {@code dgemm} from netlib's JavaBLAS for matrix products (with {@code -Dsparkgrad.vectorGemm=true},
 * {@link VectorGemm} for those of a tall matrix with a small one). It is also what runs on each
 * row block of a distributed array.
 */
public final class LocalBackend implements Backend {
    /** The one instance. */
    public static final LocalBackend INSTANCE = new LocalBackend();

    // The pure-Java BLAS, vectorised when jdk.incubator.vector is present. netlib's native pick
    // binds the slow reference BLAS on common machines, so it is deliberately not used.
    private static final BLAS BLAS_IMPL = javaBlas();

    // The transcendental loops run a vector of lanes at a time when the Vector API is present.
    private static final boolean VECTOR_MATH = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    // Tall-times-small products through VectorGemm: off unless -Dsparkgrad.vectorGemm=true. Alone
    // it runs 3x netlib's VectorBLAS, but inside a long bench JVM an MLP gradient once ran 20x
    // slower than with BLAS, for a reason not found yet (see README, Performance).
    private static final boolean VECTOR_GEMM = VECTOR_MATH && Boolean.getBoolean("sparkgrad.vectorGemm");

    private LocalBackend() {}

    /**
     * Returns the instance {@link JavaBLAS#getInstance()} returns. That call first tries netlib's
     * native loader, which prints a dlopen failure to stderr on machines without a system BLAS, so
     * the vectorised Java kernel is asked for directly, falling back to the public call.
     */
    private static BLAS javaBlas() {
        try {
            Method m = Class.forName("dev.ludovic.netlib.blas.VectorBLAS").getDeclaredMethod("getInstance");
            m.setAccessible(true);
            return (BLAS) m.invoke(null);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return JavaBLAS.getInstance();
        }
    }

    /**
     * Names the BLAS the matrix products run through ({@code VectorBLAS}, or {@code JavaBLAS}
     * without the vector module), and VectorGemm when it is on.
     */
    public static String blasName() {
        return BLAS_IMPL.getClass().getSimpleName() + (VECTOR_GEMM ? " (tall x small products: VectorGemm)" : "");
    }

    @Override
    public int priority() {
        return 0;
    }

    /**
     * Runs {@code p}'s kernel at once; when an operand is pending, returns a pending array that
     * runs it on first access, over snapshots of the operands taken now ({@link LocalArray#snapshot}).
     * A reshape is a view of the operand's values, pending or not. A float32 result is the
     * kernel's double result rounded once to float ({@link #typed}).
     */
    @Override
    public NDArray apply(Prim p, NDArray[] in, long[] longShape, DType dtype) {
        int[] shape = Shape.toInt(p.name(), longShape);
        if (p instanceof Prim.Reshape || p instanceof Prim.Fill || p instanceof Prim.RandomUniform) {
            return typed(p, run(p, in, shape), dtype); // a view, or made from the shape alone
        }
        boolean pending = false;
        for (NDArray a : in) {
            pending |= isPending(a);
        }
        if (!pending) {
            return typed(p, run(p, in, shape), dtype);
        }
        NDArray[] frozen = new NDArray[in.length];
        for (int i = 0; i < in.length; i++) {
            frozen[i] = in[i] instanceof LocalArray ? ((LocalArray) in[i]).snapshot() : in[i];
        }
        return LocalArray.pending(longShape, dtype, () -> typed(p, run(p, frozen, shape), dtype).data());
    }

    /**
     * Returns a kernel's result as a result of {@code dtype}: for float32 the values rounded to the
     * nearest float, in place (a kernel's output is its own), unless {@code p} only moves values,
     * which then are floats already. A uniform sample that rounds up to 1 takes the float below 1.
     */
    static LocalArray typed(Prim p, NDArray result, DType dtype) {
        LocalArray a = (LocalArray) result;
        if (dtype == DType.FLOAT32 && !p.movesValues()) {
            if (a.isConstant()) {
                a = LocalArray.constant(a.ishape, (float) a.constantValue());
            } else {
                double[] d = a.data();
                DType.FLOAT32.round(d, 0, d.length);
                if (p instanceof Prim.RandomUniform) {
                    for (int i = 0; i < d.length; i++) {
                        d[i] = d[i] >= 1.0 ? Math.nextDown(1.0f) : d[i];
                    }
                }
            }
        }
        return a.as(dtype);
    }

    private static boolean isPending(NDArray a) {
        return a instanceof LocalArray && ((LocalArray) a).isPending();
    }

    /** The kernel of {@code p}. */
    private NDArray run(Prim p, NDArray[] in, int[] shape) {
        if (p instanceof Prim.Unary u) {
            return unary(u.f(), in[0]);
        } else if (p instanceof Prim.Binary b) {
            return binary(b.f(), in[0], in[1]);
        } else if (p instanceof Prim.Clip c) {
            return clip(in[0], c.lo(), c.hi());
        } else if (p instanceof Prim.Where) {
            return where(in[0], in[1], in[2]);
        } else if (p instanceof Prim.Reduce r) {
            return reduce(r.f(), in[0], r.axis(), r.keepdims());
        } else if (p instanceof Prim.Norm n) {
            return norm(in[0], n.axis(), n.keepdims());
        } else if (p instanceof Prim.BroadcastTo || p instanceof Prim.BroadcastLike) {
            return broadcastTo(in[0], shape);
        } else if (p instanceof Prim.Reshape) {
            return reshape(in[0], shape);
        } else if (p instanceof Prim.Transpose t) {
            return transpose(in[0], t.perm());
        } else if (p instanceof Prim.Matmul) {
            return matmul(in[0], in[1]);
        } else if (p instanceof Prim.Slice sl) {
            return slice(in[0], sl.axis(), (int) sl.start(), (int) sl.stop());
        } else if (p instanceof Prim.Pad pd) {
            return pad(in[0], pd.axis(), (int) pd.before(), (int) pd.after());
        } else if (p instanceof Prim.Concat c) {
            return concat(in, c.axis());
        } else if (p instanceof Prim.Take) {
            return take(in[0], in[1]);
        } else if (p instanceof Prim.ScatterAdd) {
            return scatterAdd(dims(in[0]), in[1], in[2]);
        } else if (p instanceof Prim.Fill f) {
            return fullLike(in[0], f.value());
        } else if (p instanceof Prim.RandomUniform r) {
            return randomUniformLike(in[0], r.seed());
        } else if (p instanceof Prim.Cast) {
            return copy(in[0]);
        }
        throw new IllegalStateException("internal: no local kernel for " + p);
    }

    private static double[] data(NDArray a) {
        if (a instanceof LocalArray) {
            return ((LocalArray) a).data();
        }
        return a.toLocal().toArray();
    }

    /** The shape of an array in this JVM, as ints. */
    private static int[] dims(NDArray a) {
        return a instanceof LocalArray ? ((LocalArray) a).ishape : Shape.toInt("local kernel", a.shape());
    }

    private static boolean isConstant(NDArray a) {
        return a instanceof LocalArray && ((LocalArray) a).isConstant();
    }

    /** An array of {@code shape} filled with {@code v}: a lazy constant unless it has one element. */
    private static LocalArray filled(int[] shape, double v) {
        return Shape.size(shape) == 1 ? new LocalArray(shape, new double[] {v}) : LocalArray.constant(shape, v);
    }

    // ------------------------------------------------------------------ elementwise

    /** Returns {@code f} applied to every element of {@code a}. */
    public NDArray unary(UnaryFn f, NDArray a) {
        if (isConstant(a)) {
            double c = ((LocalArray) a).constantValue();
            return filled(dims(a).clone(), VECTOR_MATH && VectorMath.covers(f) ? VectorMath.apply(f, c) : f.apply(c));
        }
        double[] x = data(a);
        double[] o = Buffers.output(x.length);
        int n = x.length;
        if (VECTOR_MATH && VectorMath.covers(f)) {
            VectorMath.apply(f, x, o);
            return new LocalArray(dims(a).clone(), o);
        }
        switch (f) {
            case NEG: for (int i = 0; i < n; i++) o[i] = -x[i]; break;
            case EXP: for (int i = 0; i < n; i++) o[i] = Math.exp(x[i]); break;
            case LOG: for (int i = 0; i < n; i++) o[i] = Math.log(x[i]); break;
            case SQRT: for (int i = 0; i < n; i++) o[i] = Math.sqrt(x[i]); break;
            case ABS: for (int i = 0; i < n; i++) o[i] = Math.abs(x[i]); break;
            case SQUARE: for (int i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
            case RELU: for (int i = 0; i < n; i++) o[i] = Math.max(x[i], 0.0); break;
            // cheap enough that the per-element switch of the default branch would cost more than they do
            case RECIPROCAL: for (int i = 0; i < n; i++) o[i] = 1.0 / x[i]; break;
            case RSQRT: for (int i = 0; i < n; i++) o[i] = 1.0 / Math.sqrt(x[i]); break;
            case FLOOR: for (int i = 0; i < n; i++) o[i] = Math.floor(x[i]); break;
            case CEIL: for (int i = 0; i < n; i++) o[i] = Math.ceil(x[i]); break;
            case ROUND: for (int i = 0; i < n; i++) o[i] = Math.rint(x[i]); break;
            default: for (int i = 0; i < n; i++) o[i] = f.apply(x[i]); break;
        }
        return new LocalArray(dims(a).clone(), o);
    }

    /** Returns {@code f} applied elementwise to {@code a} and {@code b}, with numpy broadcasting. */
    public NDArray binary(BinaryFn f, NDArray a, NDArray b) {
        // A constant operand takes part as its one value, shaped () so that it broadcasts.
        boolean ca = isConstant(a);
        boolean cb = isConstant(b);
        double[] x = ca ? new double[] {((LocalArray) a).constantValue()} : data(a);
        double[] y = cb ? new double[] {((LocalArray) b).constantValue()} : data(b);
        int[] xs = ca ? new int[0] : dims(a);
        int[] ys = cb ? new int[0] : dims(b);
        int[] shape = Arrays.equals(dims(a), dims(b)) ? dims(a).clone()
            : Shape.broadcast(f.name().toLowerCase(), dims(a), dims(b));
        if (x.length == 1 && y.length == 1) {
            return filled(shape, f.apply(x[0], y[0]));
        }
        double[] o = Buffers.output(Shape.size(shape)); // every path below writes every element
        if (Arrays.equals(xs, ys)) {
            run(f, x, 0, 1, y, 0, 1, o, 0, o.length);
        } else if (y.length == 1 && Arrays.equals(shape, xs)) {
            run(f, x, 0, 1, y, 0, 0, o, 0, o.length);
        } else if (x.length == 1 && Arrays.equals(shape, ys)) {
            run(f, x, 0, 0, y, 0, 1, o, 0, o.length);
        } else {
            broadcastLoop(f, x, xs, y, ys, o, shape);
        }
        return new LocalArray(shape, o);
    }

    /**
     * Walks the output in rows of its last dimension; along a row each operand's stride is 1, or 0
     * where it is broadcast, so the row is one call of {@link #run}.
     */
    private static void broadcastLoop(BinaryFn f, double[] x, int[] xs, double[] y, int[] ys, double[] o, int[] shape) {
        int nd = shape.length;
        if (o.length == 0) {
            return;
        }
        int[] sx = broadcastStrides(xs, shape);
        int[] sy = broadcastStrides(ys, shape);
        int len = nd == 0 ? 1 : shape[nd - 1];
        int rows = o.length / len;
        int[] idx = new int[nd];
        int ox = 0;
        int oy = 0;
        int sxLast = nd == 0 ? 0 : sx[nd - 1];
        int syLast = nd == 0 ? 0 : sy[nd - 1];
        for (int r = 0; r < rows; r++) {
            run(f, x, ox, sxLast, y, oy, syLast, o, r * len, len);
            for (int d = nd - 2; d >= 0; d--) {
                idx[d]++;
                ox += sx[d];
                oy += sy[d];
                if (idx[d] < shape[d]) {
                    break;
                }
                ox -= sx[d] * shape[d];
                oy -= sy[d] * shape[d];
                idx[d] = 0;
            }
        }
    }

    /** The strides of {@code from} read in {@code to}'s index space: 0 along broadcast dimensions. */
    static int[] broadcastStrides(int[] from, int[] to) {
        int[] st = Shape.strides(from);
        int[] out = new int[to.length];
        int lead = to.length - from.length;
        for (int i = lead; i < to.length; i++) {
            out[i] = from[i - lead] == 1 ? 0 : st[i - lead];
        }
        return out;
    }

    /** o[oo + i] = f(x[xo + i*sx], y[yo + i*sy]) for i < n, with strides of 0 or 1. */
    private static void run(BinaryFn f, double[] x, int xo, int sx, double[] y, int yo, int sy,
                            double[] o, int oo, int n) {
        if (sx == 1 && sy == 1) {
            switch (f) {
                case ADD: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] + y[yo + i]; return;
                case SUB: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] - y[yo + i]; return;
                case MUL: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] * y[yo + i]; return;
                case DIV: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] / y[yo + i]; return;
                case GT: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] > y[yo + i]); return;
                case LT: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] < y[yo + i]); return;
                case GE: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] >= y[yo + i]); return;
                case LE: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] <= y[yo + i]); return;
                case EQ: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] == y[yo + i]); return;
                default: for (int i = 0; i < n; i++) o[oo + i] = f.apply(x[xo + i], y[yo + i]); return;
            }
        }
        if (sx == 1 && sy == 0) {
            double v = y[yo];
            switch (f) {
                case ADD: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] + v; return;
                case SUB: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] - v; return;
                case MUL: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] * v; return;
                case DIV: for (int i = 0; i < n; i++) o[oo + i] = x[xo + i] / v; return;
                case GT: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] > v); return;
                case LT: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] < v); return;
                case GE: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] >= v); return;
                case LE: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] <= v); return;
                case EQ: for (int i = 0; i < n; i++) o[oo + i] = bit(x[xo + i] == v); return;
                default: for (int i = 0; i < n; i++) o[oo + i] = f.apply(x[xo + i], v); return;
            }
        }
        if (sx == 0 && sy == 1) {
            double v = x[xo];
            switch (f) {
                case ADD: for (int i = 0; i < n; i++) o[oo + i] = v + y[yo + i]; return;
                case SUB: for (int i = 0; i < n; i++) o[oo + i] = v - y[yo + i]; return;
                case MUL: for (int i = 0; i < n; i++) o[oo + i] = v * y[yo + i]; return;
                case DIV: for (int i = 0; i < n; i++) o[oo + i] = v / y[yo + i]; return;
                case GT: for (int i = 0; i < n; i++) o[oo + i] = bit(v > y[yo + i]); return;
                case LT: for (int i = 0; i < n; i++) o[oo + i] = bit(v < y[yo + i]); return;
                case GE: for (int i = 0; i < n; i++) o[oo + i] = bit(v >= y[yo + i]); return;
                case LE: for (int i = 0; i < n; i++) o[oo + i] = bit(v <= y[yo + i]); return;
                case EQ: for (int i = 0; i < n; i++) o[oo + i] = bit(v == y[yo + i]); return;
                default: for (int i = 0; i < n; i++) o[oo + i] = f.apply(v, y[yo + i]); return;
            }
        }
        Arrays.fill(o, oo, oo + n, f.apply(x[xo], y[yo]));
    }

    private static final long ONE_BITS = Double.doubleToRawLongBits(1.0);

    /**
     * 1.0 or 0.0 for a comparison, selected with an integer conditional move. The JIT compiles a
     * double-valued {@code c ? 1.0 : 0.0} to a branch, which mispredicts every other element when
     * the outcomes are random, as in the ReLU mask {@code x.gt(0)}: that loop ran ~5x slower.
     */
    private static double bit(boolean c) {
        return Double.longBitsToDouble(c ? ONE_BITS : 0L);
    }

    /** Returns {@code a} with every element limited to {@code [lo, hi]}. */
    public NDArray clip(NDArray a, double lo, double hi) {
        if (isConstant(a)) {
            double v = ((LocalArray) a).constantValue();
            return filled(dims(a).clone(), v < lo ? lo : v > hi ? hi : v);
        }
        double[] x = data(a);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            // NaN stays NaN, as in numpy
            o[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        }
        return new LocalArray(dims(a).clone(), o);
    }

    /** Returns {@code a} where {@code cond} is non-zero and {@code b} elsewhere, the three broadcast together. */
    public NDArray where(NDArray cond, NDArray a, NDArray b) {
        int[] shape = Shape.broadcast("where", Shape.broadcast("where", dims(cond), dims(a)), dims(b));
        double[] c = data(broadcastTo(cond, shape));
        double[] x = data(broadcastTo(a, shape));
        double[] y = data(broadcastTo(b, shape));
        double[] o = new double[c.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = c[i] != 0 ? x[i] : y[i];
        }
        return new LocalArray(shape, o);
    }

    /**
     * Returns {@code a}'s values rounded to the nearest float, as a float32 array in a new output
     * ({@code a} is not written): the rounding step a distributed float32 result takes after its
     * kernel, as {@link #apply} rounds a local one.
     */
    public LocalArray roundToFloat(NDArray a) {
        if (isConstant(a)) {
            return LocalArray.constant(dims(a).clone(), (float) ((LocalArray) a).constantValue()).as(DType.FLOAT32);
        }
        double[] x = data(a);
        double[] o = Buffers.output(x.length);
        for (int i = 0; i < x.length; i++) {
            o[i] = (float) x[i];
        }
        return new LocalArray(dims(a).clone(), o).as(DType.FLOAT32);
    }

    /** Returns a copy of {@code a}'s values (a constant stays one). */
    public NDArray copy(NDArray a) {
        if (isConstant(a)) {
            return filled(dims(a).clone(), ((LocalArray) a).constantValue());
        }
        return new LocalArray(dims(a).clone(), data(a).clone());
    }

    /** Returns an array of {@code like}'s shape filled with {@code value}. */
    public NDArray fullLike(NDArray like, double value) {
        return filled(dims(like).clone(), value);
    }

    /** Returns an array of {@code like}'s shape of uniform samples in [0, 1) from {@code seed}. */
    public NDArray randomUniformLike(NDArray like, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        double[] o = new double[Shape.size(dims(like))];
        for (int i = 0; i < o.length; i++) {
            o[i] = r.nextDouble();
        }
        return new LocalArray(dims(like).clone(), o);
    }

    // ------------------------------------------------------------------ reductions

    /** Returns the reduction {@code f} of {@code a} along {@code axis} ({@link Backend#ALL}: every element). */
    public NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims) {
        double[] x = data(a);
        if (axis == Backend.ALL) {
            double r = reduceRange(f, x, 0, x.length);
            return new LocalArray(Shape.reduced(dims(a), axis, keepdims), new double[] {r});
        }
        int len = dims(a)[axis];
        int inner = 1;
        for (int d = axis + 1; d < dims(a).length; d++) {
            inner *= dims(a)[d];
        }
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= dims(a)[d];
        }
        double[] o = new double[outer * inner];
        for (int p = 0; p < outer; p++) {
            int base = p * len * inner;
            int ob = p * inner;
            if (len > 0) {
                System.arraycopy(x, base, o, ob, inner);
            } else if (f != ReduceFn.SUM) {
                // the identity of max/min, so that an empty block's partial does not win
                Arrays.fill(o, ob, ob + inner, f == ReduceFn.MAX ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
            }
            for (int k = 1; k < len; k++) {
                int row = base + k * inner;
                switch (f) {
                    case SUM: for (int j = 0; j < inner; j++) o[ob + j] += x[row + j]; break;
                    case MAX: for (int j = 0; j < inner; j++) o[ob + j] = Math.max(o[ob + j], x[row + j]); break;
                    default: for (int j = 0; j < inner; j++) o[ob + j] = Math.min(o[ob + j], x[row + j]); break;
                }
            }
        }
        return new LocalArray(Shape.reduced(dims(a), axis, keepdims), o);
    }

    private static double reduceRange(ReduceFn f, double[] x, int from, int to) {
        switch (f) {
            case SUM: {
                // Four independent partial sums: with one running sum every add waits for the one
                // before, and the loop runs at a quarter of the adder's throughput. The error bound
                // is no worse than the single sum's.
                double s0 = 0;
                double s1 = 0;
                double s2 = 0;
                double s3 = 0;
                int i = from;
                for (; i <= to - 4; i += 4) {
                    s0 += x[i];
                    s1 += x[i + 1];
                    s2 += x[i + 2];
                    s3 += x[i + 3];
                }
                for (; i < to; i++) s0 += x[i];
                return (s0 + s1) + (s2 + s3);
            }
            case MAX: {
                double m = Double.NEGATIVE_INFINITY;
                for (int i = from; i < to; i++) m = Math.max(m, x[i]);
                return m;
            }
            default: {
                double m = Double.POSITIVE_INFINITY;
                for (int i = from; i < to; i++) m = Math.min(m, x[i]);
                return m;
            }
        }
    }

    /** Returns the 2-norm of {@code a} along {@code axis} ({@link Backend#ALL}: every element). */
    public NDArray norm(NDArray a, int axis, boolean keepdims) {
        NDArray ss = reduce(ReduceFn.SUM, unary(UnaryFn.SQUARE, a), axis, keepdims);
        return unary(UnaryFn.SQRT, ss);
    }

    // ------------------------------------------------------------------ shape

    /** Returns {@code a} repeated along its length-1 (or missing leading) dimensions to {@code shape}. */
    public NDArray broadcastTo(NDArray a, int[] shape) {
        if (Arrays.equals(dims(a), shape)) {
            return a;
        }
        if (isConstant(a)) {
            return filled(shape.clone(), ((LocalArray) a).constantValue());
        }
        double[] x = data(a);
        if (x.length == 1) {
            return filled(shape.clone(), x[0]); // the gradient of a sum: one value everywhere
        }
        double[] o = new double[Shape.size(shape)];
        if (o.length > 0) {
            // x + 0 through the broadcasting loop copies x into every position of o.
            broadcastLoop(BinaryFn.ADD, x, dims(a), new double[] {0.0}, new int[0], o, shape);
        }
        return new LocalArray(shape.clone(), o);
    }

    /** Returns {@code a}'s elements, in row-major order, as an array of {@code shape}. */
    public NDArray reshape(NDArray a, int[] shape) {
        if (a instanceof LocalArray) {
            return ((LocalArray) a).view(shape.clone()); // a view: shares the values
        }
        return new LocalArray(shape.clone(), data(a));
    }

    /** Returns {@code a} with its axes permuted: axis {@code i} of the result is axis {@code perm[i]} of {@code a}. */
    public NDArray transpose(NDArray a, int[] perm) {
        double[] x = data(a);
        int nd = perm.length;
        int[] outShape = new int[nd];
        int[] inStrides = Shape.strides(dims(a));
        int[] st = new int[nd]; // stride in x of each output axis
        for (int i = 0; i < nd; i++) {
            outShape[i] = dims(a)[perm[i]];
            st[i] = inStrides[perm[i]];
        }
        double[] o = new double[x.length];
        if (nd == 2 && perm[0] == 1) { // (0, 1) is the identity and takes the general loop
            transpose2d(x, dims(a)[0], dims(a)[1], o);
        } else if (o.length > 0) {
            int[] idx = new int[nd];
            int src = 0;
            for (int k = 0; k < o.length; k++) {
                o[k] = x[src];
                for (int d = nd - 1; d >= 0; d--) {
                    idx[d]++;
                    src += st[d];
                    if (idx[d] < outShape[d]) {
                        break;
                    }
                    src -= st[d] * outShape[d];
                    idx[d] = 0;
                }
            }
        }
        return new LocalArray(outShape, o);
    }

    /** Cache-blocked transpose of an r x c row-major matrix. */
    private static void transpose2d(double[] x, int r, int c, double[] o) {
        final int tile = 32;
        for (int i0 = 0; i0 < r; i0 += tile) {
            int i1 = Math.min(r, i0 + tile);
            for (int j0 = 0; j0 < c; j0 += tile) {
                int j1 = Math.min(c, j0 + tile);
                for (int i = i0; i < i1; i++) {
                    for (int j = j0; j < j1; j++) {
                        o[j * r + i] = x[i * c + j];
                    }
                }
            }
        }
    }

    /** Returns the matrix product of the 2-D arrays {@code a} and {@code b} (netlib's {@code dgemm}). */
    public NDArray matmul(NDArray a, NDArray b) {
        return matmulRows(a, 0, dims(a)[0], b);
    }

    /**
     * Adds {@code a b} to {@code c}: row-major {@code a} (n x k), {@code b} (k x m) and {@code c}
     * (n x m), in one BLAS call (the sum of a tiled product's partial products, without a
     * product array per term).
     */
    public void matmulAdd(double[] a, double[] b, double[] c, int n, int k, int m) {
        if (a.length != n * k || b.length != k * m || c.length != n * m) {
            throw new IllegalArgumentException("internal: matmulAdd of " + a.length + ", " + b.length + " and " + c.length
                + " values for (" + n + ", " + k + ") (" + k + ", " + m + ")");
        }
        // in panels of at most GEMM_PANEL columns (thousands of columns in one call ran ten times slower)
        for (int j0 = 0; n > 0 && k > 0 && j0 < m; j0 += GEMM_PANEL) {
            int w = Math.min(GEMM_PANEL, m - j0);
            BLAS_IMPL.dgemm("N", "N", w, n, k, 1.0, b, j0, m, a, 0, k, 1.0, c, j0, m);
        }
    }

    /**
     * The most columns of the result one BLAS call makes (matrix products of more columns run in
     * panels): measured here, netlib's Java BLAS ran a 1024 x 1024 by 1024 x 4096 product at 2.3
     * GFLOP/s in one call (2.5 in panels of 2048) and at 24 in panels of 1024, while products of
     * 2000 columns ran at 21 in one call and 20 in panels. Each element is one call's sum either way.
     */
    static final int GEMM_PANEL = Integer.getInteger("sparkgrad.gemmPanel", 1024);

    /**
     * Returns {@code a[r0:r1] b}: rows {@code r0} (inclusive) to {@code r1} of the 2-D {@code a}
     * times the 2-D {@code b}, in one BLAS call on {@code a}'s storage, without copying the rows.
     * A block program uses it to multiply one chunk of a cached block's rows at a time.
     */
    public NDArray matmulRows(NDArray a, int r0, int r1, NDArray b) {
        int n = r1 - r0;
        int k = dims(a)[1];
        int m = dims(b)[1];
        // BLAS with beta 0 writes every element; with no inner dimension the product is zeros
        double[] o = k > 0 ? Buffers.output(n * m) : new double[n * m];
        if (n > 0 && m > 0 && k > 0) {
            if (m == 1) {
                // A b: the row-major A is the column-major A^T (k x n), so y = (A^T)^T b
                BLAS_IMPL.dgemv("T", k, n, 1.0, data(a), r0 * k, k, data(b), 0, 1, 0.0, o, 0, 1);
            } else if (VECTOR_GEMM && VectorGemm.takes(k, m, (long) k * m)) {
                VectorGemm.times(data(a), r0, n, k, data(b), m, o); // a tall A times a small B
            } else {
                // Row-major C = A B is column-major C^T = B^T A^T: pass B first, with swapped sizes
                // (in panels of columns, see GEMM_PANEL).
                for (int j0 = 0; j0 < m; j0 += GEMM_PANEL) {
                    BLAS_IMPL.dgemm("N", "N", Math.min(GEMM_PANEL, m - j0), n, k, 1.0, data(b), j0, m, data(a), r0 * k, k,
                        0.0, o, j0, m);
                }
            }
        }
        return new LocalArray(new int[] {n, m}, o);
    }

    /**
     * Returns {@code a^T b} for 2-D {@code a} (n x k) and {@code b} (n x m) in one BLAS call,
     * without materialising the transpose: the contraction over rows of a distributed product.
     */
    public NDArray matmulTransposedLeft(NDArray a, NDArray b) {
        return matmulTransposedLeftRows(a, 0, dims(a)[0], b);
    }

    /**
     * Returns {@code a[r0:r1]^T b}: the contraction of rows {@code r0} to {@code r1} of {@code a}
     * with the {@code r1 - r0} rows of {@code b}, on {@code a}'s storage without copying the rows.
     */
    public NDArray matmulTransposedLeftRows(NDArray a, int r0, int r1, NDArray b) {
        int n = r1 - r0;
        int k = dims(a)[1];
        int m = dims(b)[1];
        if (dims(b)[0] != n) {
            throw new IllegalArgumentException("matmul: a^T b needs equal rows, got shapes "
                + (n == dims(a)[0] ? Shape.str(dims(a)) : n + " rows of " + Shape.str(dims(a))) + " and " + Shape.str(dims(b)));
        }
        double[] o = new double[k * m];
        if (n > 0 && m > 0 && k > 0) {
            if (m == 1) {
                // A^T b: the row-major A is the column-major A^T (k x n)
                BLAS_IMPL.dgemv("N", k, n, 1.0, data(a), r0 * k, k, data(b), 0, 1, 0.0, o, 0, 1);
            } else if (VECTOR_GEMM && VectorGemm.takes(k, m, (long) k * m)) {
                VectorGemm.transposedTimes(data(a), r0, n, k, data(b), m, o); // a small result over many rows
            } else {
                // Row-major C = A^T B is column-major C^T = B^T A: B^T is b as stored (m x n), A is
                // a as stored read transposed.
                for (int j0 = 0; j0 < m; j0 += GEMM_PANEL) { // in panels of columns, see GEMM_PANEL
                    BLAS_IMPL.dgemm("N", "T", Math.min(GEMM_PANEL, m - j0), k, n, 1.0, data(b), j0, m, data(a), r0 * k, k,
                        0.0, o, j0, m);
                }
            }
        }
        return new LocalArray(new int[] {k, m}, o);
    }

    /** Returns positions {@code [start, stop)} of {@code a} along {@code axis}. */
    public NDArray slice(NDArray a, int axis, int start, int stop) {
        int[] shape = dims(a).clone();
        shape[axis] = stop - start;
        return copyBlocks(a, shape, axis, start, 0);
    }

    /** Returns {@code a} with {@code before} zeros before it and {@code after} zeros after it along {@code axis}. */
    public NDArray pad(NDArray a, int axis, int before, int after) {
        int[] shape = dims(a).clone();
        shape[axis] += before + after;
        return copyBlocks(a, shape, axis, 0, before);
    }

    /**
     * Copies the {@code outShape[axis]}-long window of {@code a} starting at {@code from} along
     * {@code axis} into a new array of {@code outShape} at offset {@code to} (zeros elsewhere).
     */
    private static NDArray copyBlocks(NDArray a, int[] outShape, int axis, int from, int to) {
        double[] x = data(a);
        double[] o = new double[Shape.size(outShape)];
        int inner = 1;
        for (int d = axis + 1; d < outShape.length; d++) {
            inner *= outShape[d];
        }
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= outShape[d];
        }
        int inLen = dims(a)[axis];
        int outLen = outShape[axis];
        int chunk = Math.min(inLen - from, outLen - to) * inner;
        for (int p = 0; p < outer && chunk > 0; p++) {
            System.arraycopy(x, (p * inLen + from) * inner, o, (p * outLen + to) * inner, chunk);
        }
        return new LocalArray(outShape, o);
    }

    /** Rows {@code indices} of {@code table} (numpy's {@code take} along axis 0; negative indices count from the end). */
    public NDArray take(NDArray table, NDArray indices) {
        return take(table, indices, 0);
    }

    /**
     * {@link #take(NDArray, NDArray)} of indices that are positions {@code [first, ...)} of a
     * larger array of them, as messages count them; {@code first < 0}: they are not counted.
     */
    public NDArray take(NDArray table, NDArray indices, long first) {
        int[] t = dims(table);
        double[] idx = data(indices);
        int rows = t[0];
        int width = Shape.size(t) / Math.max(1, rows);
        int[] shape = new int[dims(indices).length + t.length - 1];
        System.arraycopy(dims(indices), 0, shape, 0, dims(indices).length);
        System.arraycopy(t, 1, shape, dims(indices).length, t.length - 1);
        double[] x = data(table);
        double[] o = new double[idx.length * width];
        for (int k = 0; k < idx.length; k++) {
            System.arraycopy(x, (int) row("take", idx, k, first < 0 ? -1 : first + k, rows) * width, o, k * width, width);
        }
        return new LocalArray(shape, o);
    }

    /**
     * Zeros of {@code shape} with row {@code k} of {@code values} added at row {@code indices[k]}
     * (in index order, so repeated indices add up the same way every time).
     */
    public NDArray scatterAdd(int[] shape, NDArray indices, NDArray values) {
        return scatterAdd(shape, indices, values, 0);
    }

    /** {@link #scatterAdd(int[], NDArray, NDArray)}, its indices counted from {@code first} as {@link #take(NDArray, NDArray, long)} says. */
    public NDArray scatterAdd(int[] shape, NDArray indices, NDArray values, long first) {
        double[] idx = data(indices);
        int rows = shape[0];
        int width = Shape.size(shape) / Math.max(1, rows);
        double[] v = data(values);
        double[] o = new double[Shape.size(shape)];
        for (int k = 0; k < idx.length; k++) {
            int at = (int) row("scatterAdd", idx, k, first < 0 ? -1 : first + k, rows) * width;
            for (int j = 0; j < width; j++) {
                o[at + j] += v[k * width + j];
            }
        }
        return new LocalArray(shape.clone(), o);
    }

    /**
     * The row that {@code idx[k]} names in an axis of {@code rows}: an integer in
     * {@code [-rows, rows)}, a negative one counting from the end; anything else is refused,
     * naming it and, when {@code position >= 0}, its position among the indices.
     */
    public static long row(String op, double[] idx, int k, long position, long rows) {
        double i = idx[k];
        boolean integer = i == Math.rint(i) && !Double.isInfinite(i);
        if (!integer || i < -rows || i >= rows) {
            throw new IllegalArgumentException(op + ": index " + (integer ? Long.toString((long) i) : Double.toString(i))
                + (position >= 0 ? " (position " + position + " of the indices)" : "") + " "
                + (integer ? "is out of range for an axis of length " + rows : "is not an integer"));
        }
        return i < 0 ? (long) i + rows : (long) i;
    }

    /** Returns {@code parts} one after the other along {@code axis}. */
    public NDArray concat(NDArray[] parts, int axis) {
        int[] shape = dims(parts[0]).clone();
        int total = 0;
        for (NDArray p : parts) {
            total += dims(p)[axis];
        }
        shape[axis] = total;
        double[] o = new double[Shape.size(shape)];
        int inner = 1;
        for (int d = axis + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= shape[d];
        }
        int offset = 0;
        for (NDArray part : parts) {
            double[] x = data(part);
            int len = dims(part)[axis] * inner;
            for (int p = 0; p < outer && len > 0; p++) {
                System.arraycopy(x, p * len, o, p * total * inner + offset, len);
            }
            offset += len;
        }
        return new LocalArray(shape, o);
    }
}
