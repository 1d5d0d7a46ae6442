package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.AutogradMeta;
import io.sparkgrad.autograd.GradReq;

import java.util.Arrays;

/**
 * A dense tensor of any rank, row-major, with numpy broadcasting and a {@link DType} (float64 unless
 * asked otherwise; see {@link DType} for the promotion rule and where float32 rounds): the type that user code
 * and every gradient rule are written against. Arrays are immutable values except through
 * {@link #assign}; every operation returns a new array and, inside {@link Autograd#record()}, is
 * recorded for {@link #backward()}.
 *
 * <p>Where the values live is the business of the array's {@link Backend}: {@link LocalArray} keeps
 * them in this JVM, and a distributed array keeps row blocks on Spark executors. The operations
 * below are the same for both.
 *
 * <pre>{@code
 * NDArray x = Np.arange(4.0);
 * x.attachGrad();
 * NDArray y;
 * try (var r = Autograd.record()) {
 *     y = Np.dot(x, x).mul(2);
 * }
 * y.backward();
 * System.out.println(x.grad());   // array([ 0.,  4.,  8., 12.])
 * }</pre>
 */
public abstract class NDArray {
    /**
     * The array's shape; never modified after construction. Dimensions are {@code long}: a
     * distributed array may have more than 2^31 rows or elements (a local one holds at most 2^31 - 1).
     */
    protected final long[] shape;
    private final DType dtype;
    private AutogradMeta meta;

    /** Makes a float64 array of {@code shape} (the array keeps it; do not change it afterwards). */
    protected NDArray(long[] shape) {
        this(shape, DType.FLOAT64);
    }

    /** Makes an array of {@code shape} and {@code dtype} (the array keeps the shape; do not change it afterwards). */
    protected NDArray(long[] shape, DType dtype) {
        this.shape = shape;
        this.dtype = dtype;
    }

    // ---------------------------------------------------------------- placement and values

    /** Returns the backend that stores this array and runs the kernels over it. */
    public abstract Backend backend();

    /** Returns true when the values live on Spark executors rather than in this JVM. */
    public boolean isDistributed() {
        return false;
    }

    /** Returns the values in this JVM: this array when it is already local. */
    public abstract NDArray toLocal();

    /** Returns a copy of the values, row-major. */
    public abstract double[] toArray();

    /**
     * Overwrites this array's values with {@code value}'s, in place (MXNet's {@code x[:] = value}).
     * Refused while recording for an array that is part of a recorded graph.
     */
    public abstract void assign(NDArray value);

    /**
     * Returns how many times the values were changed in place ({@link #assign}) since the array
     * was made; views that share the values share the count. Autograd compares it with the count
     * an op saw when it was recorded, so that a gradient is never computed from changed values.
     */
    public abstract int version();

    /**
     * Returns an array with the same values that stops gradients: nothing recorded before flows
     * through it. The values are shared, not copied. The original's graph is left as it was.
     */
    public abstract NDArray detach();

    /**
     * Called by autograd when a recorded graph that used this array is freed. A distributed array
     * drops what it cached for backward here; a local array has nothing to do.
     */
    public void onGraphFreed() {
    }

    /** Returns the element type: {@link DType#FLOAT64} unless the array was made or cast otherwise. */
    public DType dtype() {
        return dtype;
    }

    /**
     * Returns true for a weak scalar: a Java double given to a scalar overload, or a constant of
     * a gradient rule ({@link Np#scalar}), which takes the other operand's type in promotion.
     */
    boolean isWeak() {
        return false;
    }

    /**
     * Returns a copy of this array's values as {@code dtype} (numpy's {@code astype}): to float32,
     * each value rounded to the nearest float; to float64, exact. Recorded for autograd: the
     * gradient is the output's gradient cast back to this array's type.
     *
     * <pre>{@code
     * NDArray x32 = Np.array(0.1, 0.2).astype(DType.FLOAT32);   // array([0.1, 0.2], dtype=float32)
     * }</pre>
     */
    public NDArray astype(DType dtype) {
        return Ops.ASTYPE.apply(java.util.Objects.requireNonNull(dtype, "astype: dtype is null"), this);
    }

    /** Returns the shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    /** Returns the length of axis {@code axis} (negative counts from the end). */
    public long dim(int axis) {
        return shape[Shape.axis("dim", axis, shape.length)];
    }

    /** Returns the number of dimensions. */
    public int ndim() {
        return shape.length;
    }

    /** Returns the number of elements. */
    public long size() {
        return Shape.size(shape);
    }

    /** Returns the value of a one-element array, as numpy's {@code item()}. */
    public double item() {
        if (size() != 1) {
            throw new IllegalArgumentException("item: can only convert an array of size 1 to a double, got shape "
                + Shape.str(shape));
        }
        return toArray()[0];
    }

    // ---------------------------------------------------------------- autograd

    /** Returns this array's autograd state, creating an empty one if needed. */
    public final AutogradMeta autogradMeta() {
        if (meta == null) {
            meta = new AutogradMeta();
        }
        return meta;
    }

    /** Returns this array's autograd state, or null when autograd never touched it. */
    public final AutogradMeta autogradMetaOrNull() {
        return meta;
    }

    /** Returns true when gradients flow into this array (a variable, or a recorded result). */
    public final boolean requiresGrad() {
        return meta != null && meta.requiresGrad();
    }

    /**
     * Allocates a gradient buffer of zeros; {@code backward()} overwrites it ({@link GradReq#WRITE}).
     * On a recorded result the graph is kept, as in MXNet 2: backward also stores its gradient.
     */
    public void attachGrad() {
        Autograd.attachGrad(this, GradReq.WRITE);
    }

    /** Removes the gradient buffer ({@link Autograd#dropGrad}). */
    public void dropGrad() {
        Autograd.dropGrad(this);
    }

    /** Returns true when the last {@code backward()} wrote this array's gradient (MXNet's {@code _fresh_grad}). */
    public boolean isFreshGrad() {
        return Autograd.isFreshGrad(this);
    }

    /** Sets or clears the flag {@link #isFreshGrad()} returns, as an optimizer does after its update. */
    public void setFreshGrad(boolean fresh) {
        Autograd.setFreshGrad(this, fresh);
    }

    /** Allocates a gradient buffer with the given request: write, add (accumulate) or null (none). */
    public void attachGrad(GradReq req) {
        Autograd.attachGrad(this, req);
    }

    /** Returns the gradient buffer filled by the last {@code backward()}. */
    public NDArray grad() {
        if (meta == null || meta.grad() == null) {
            throw new IllegalStateException("grad: this array has no gradient buffer; call attachGrad() on it "
                + "before recording");
        }
        return meta.grad();
    }

    /**
     * Returns what this array keeps in its gradient buffer for the gradient {@code grad} that
     * backward computed for it: {@code grad} itself. A distributed array in sparse blocks keeps
     * {@code grad} on its non-zeros only (its pattern, as PyTorch's {@code sparse_mask}); the
     * gradient rules are not involved.
     */
    public NDArray keptGradient(NDArray grad) {
        return grad;
    }

    /** Back-propagates from this array; a non-scalar head means the gradient of its sum. */
    public void backward() {
        Autograd.backward(this, null, false);
    }

    /** Back-propagates {@code headGrad}, which has this array's shape. */
    public void backward(NDArray headGrad) {
        Autograd.backward(this, headGrad, false);
    }

    /** Back-propagates {@code headGrad} (null: ones), keeping the graph when {@code retainGraph}. */
    public void backward(NDArray headGrad, boolean retainGraph) {
        Autograd.backward(this, headGrad, retainGraph);
    }

    /**
     * Registers a hook run when this array's gradient is computed (in backward and in
     * {@link Autograd#grad}); a non-null result replaces the gradient.
     */
    public Autograd.HookHandle registerHook(java.util.function.UnaryOperator<NDArray> hook) {
        return Autograd.registerHook(this, hook);
    }

    /** Keeps this recorded result's gradient in {@link #grad()} after backward. */
    public void retainGrad() {
        Autograd.retainGrad(this);
    }

    /** Returns an array of ones with this array's shape and placement. */
    public NDArray onesLike() {
        return Prim.apply(new Prim.Fill(1.0), this);
    }

    /** Returns an array of zeros with this array's shape and placement. */
    public NDArray zerosLike() {
        return Prim.apply(new Prim.Fill(0.0), this);
    }

    /** Returns an array filled with {@code value} with this array's shape and placement. */
    public NDArray fullLike(double value) {
        return Prim.apply(new Prim.Fill(value), this);
    }

    // ---------------------------------------------------------------- arithmetic

    /** Returns {@code this + other}, with numpy broadcasting; recorded for autograd. */
    public NDArray add(NDArray other) { return Ops.ADD.apply(null, this, other); }

    /** Returns {@code this + other} for a scalar {@code other}. */
    public NDArray add(double other) { return add(Np.scalar(other)); }

    /** Returns {@code this - other}, with numpy broadcasting; recorded for autograd. */
    public NDArray sub(NDArray other) { return Ops.SUB.apply(null, this, other); }

    /** Returns {@code this - other} for a scalar {@code other}. */
    public NDArray sub(double other) { return sub(Np.scalar(other)); }

    /** Returns {@code other - this}. */
    public NDArray rsub(double other) { return Np.scalar(other).sub(this); }

    /** Returns the elementwise product {@code this * other}, with numpy broadcasting; recorded for autograd. */
    public NDArray mul(NDArray other) { return Ops.MUL.apply(null, this, other); }

    /** Returns {@code this * other} for a scalar {@code other}. */
    public NDArray mul(double other) { return mul(Np.scalar(other)); }

    /** Returns the elementwise quotient {@code this / other}, with numpy broadcasting; recorded for autograd. */
    public NDArray div(NDArray other) { return Ops.DIV.apply(null, this, other); }

    /** Returns {@code this / other} for a scalar {@code other}. */
    public NDArray div(double other) { return div(Np.scalar(other)); }

    /** Returns {@code other / this}. */
    public NDArray rdiv(double other) { return Np.scalar(other).div(this); }

    /** Returns {@code this} raised to {@code exponent} elementwise, with numpy broadcasting; recorded for autograd. */
    public NDArray pow(NDArray exponent) { return Ops.POW.apply(null, this, exponent); }

    /** Returns {@code this} raised to the scalar {@code exponent} elementwise. */
    public NDArray pow(double exponent) { return pow(Np.scalar(exponent)); }

    /** Returns {@code -this}. */
    public NDArray neg() { return Ops.NEG.apply(null, this); }

    /** Returns the elementwise larger of {@code this} and {@code other}, with numpy broadcasting; a tie splits the gradient equally. */
    public NDArray maximum(NDArray other) { return Ops.MAXIMUM.apply(null, this, other); }

    /** Returns the elementwise larger of {@code this} and the scalar {@code other} ({@code maximum(0)} is ReLU). */
    public NDArray maximum(double other) { return maximum(Np.scalar(other)); }

    /** Returns the elementwise smaller of {@code this} and {@code other}, with numpy broadcasting; a tie splits the gradient equally. */
    public NDArray minimum(NDArray other) { return Ops.MINIMUM.apply(null, this, other); }

    /** Returns the elementwise smaller of {@code this} and the scalar {@code other}. */
    public NDArray minimum(double other) { return minimum(Np.scalar(other)); }

    /**
     * Returns the angle of the point {@code (x, this)}, {@code atan2(this, x)} in {@code [-pi, pi]},
     * with numpy broadcasting (numpy's {@code arctan2(self, x)}).
     */
    public NDArray arctan2(NDArray x) { return Ops.ARCTAN2.apply(null, this, x); }

    /** Returns {@link #arctan2(NDArray)} with a scalar {@code x}. */
    public NDArray arctan2(double x) { return arctan2(Np.scalar(x)); }

    /** Returns {@code sqrt(this^2 + other^2)} without overflow or underflow, with numpy broadcasting. */
    public NDArray hypot(NDArray other) { return Ops.HYPOT.apply(null, this, other); }

    /** Returns {@link #hypot(NDArray)} with a scalar {@code other}. */
    public NDArray hypot(double other) { return hypot(Np.scalar(other)); }

    /** Limits every element to {@code [lo, hi]}; the gradient passes where {@code lo <= x <= hi}. */
    public NDArray clip(double lo, double hi) {
        if (!(lo <= hi)) {
            throw new IllegalArgumentException("clip: lower bound " + lo + " is above upper bound " + hi);
        }
        return Ops.CLIP.apply(new Ops.Bounds(lo, hi), this);
    }

    /**
     * Zeroes each element with probability {@code p} and scales the rest by {@code 1/(1-p)} in
     * training mode; in predict mode ({@link Autograd#isTraining()}) a new array with the same
     * values, as MXNet returns (an in-place change of one does not reach the other).
     */
    public NDArray dropout(double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: probability must be in [0, 1), got " + p);
        }
        if (!Autograd.isTraining() || p == 0) {
            return mul(1.0);
        }
        NDArray keep = Np.randomUniformLike(this, Np.nextSeed()).ge(p);
        return mul(keep.mul(1.0 / (1.0 - p)));
    }

    // ---------------------------------------------------------------- elementwise functions

    /** Returns {@code e^x} elementwise. */
    public NDArray exp() { return Ops.EXP.apply(null, this); }

    /** Returns the natural logarithm elementwise ({@code -inf} at 0, NaN below). */
    public NDArray log() { return Ops.LOG.apply(null, this); }

    /** Returns the square root elementwise. */
    public NDArray sqrt() { return Ops.SQRT.apply(null, this); }

    /** Returns the absolute value elementwise; its gradient at 0 is 0. */
    public NDArray abs() { return Ops.ABS.apply(null, this); }

    /** Returns {@code x * x} elementwise. */
    public NDArray square() { return Ops.SQUARE.apply(null, this); }

    /** Returns the sine elementwise (radians). */
    public NDArray sin() { return Ops.SIN.apply(null, this); }

    /** Returns the cosine elementwise (radians). */
    public NDArray cos() { return Ops.COS.apply(null, this); }

    /** Returns the hyperbolic tangent elementwise. */
    public NDArray tanh() { return Ops.TANH.apply(null, this); }

    /** Returns the logistic function {@code 1 / (1 + exp(-x))} elementwise. */
    public NDArray sigmoid() { return Ops.SIGMOID.apply(null, this); }

    /** Returns {@code max(x, 0)} elementwise; its gradient at 0 is 0. */
    public NDArray relu() { return Ops.RELU.apply(null, this); }

    /** Returns {@code log(1 + exp(x))}, computed without overflow for large {@code x}. */
    public NDArray softplus() { return Ops.SOFTPLUS.apply(null, this); }

    /** Returns -1, 0 or 1 per element; a constant for autograd. */
    public NDArray sign() { return Ops.SIGN.apply(null, this); }

    /** Returns the tangent. */
    public NDArray tan() { return Ops.TAN.apply(null, this); }

    /** Returns the hyperbolic sine. */
    public NDArray sinh() { return Ops.SINH.apply(null, this); }

    /** Returns the hyperbolic cosine. */
    public NDArray cosh() { return Ops.COSH.apply(null, this); }

    /** Returns the inverse sine, in {@code [-pi/2, pi/2]}; NaN outside {@code [-1, 1]}. */
    public NDArray arcsin() { return Ops.ARCSIN.apply(null, this); }

    /** Returns the inverse cosine, in {@code [0, pi]}; NaN outside {@code [-1, 1]}. */
    public NDArray arccos() { return Ops.ARCCOS.apply(null, this); }

    /** Returns the inverse tangent, in {@code [-pi/2, pi/2]}. */
    public NDArray arctan() { return Ops.ARCTAN.apply(null, this); }

    /** Returns the inverse hyperbolic sine. */
    public NDArray arcsinh() { return Ops.ARCSINH.apply(null, this); }

    /** Returns the inverse hyperbolic cosine; NaN below 1. */
    public NDArray arccosh() { return Ops.ARCCOSH.apply(null, this); }

    /** Returns the inverse hyperbolic tangent; infinite at -1 and 1, NaN beyond them. */
    public NDArray arctanh() { return Ops.ARCTANH.apply(null, this); }

    /** Returns the base-2 logarithm, exact at powers of two. */
    public NDArray log2() { return Ops.LOG2.apply(null, this); }

    /** Returns the base-10 logarithm, exact at powers of ten. */
    public NDArray log10() { return Ops.LOG10.apply(null, this); }

    /** Returns {@code exp(x) - 1}, accurate where {@code x} is near 0. */
    public NDArray expm1() { return Ops.EXPM1.apply(null, this); }

    /** Returns {@code log(1 + x)}, accurate where {@code x} is near 0. */
    public NDArray log1p() { return Ops.LOG1P.apply(null, this); }

    /** Returns {@code 1 / x}. */
    public NDArray reciprocal() { return Ops.RECIPROCAL.apply(null, this); }

    /** Returns the cube root, negative for negative {@code x}. */
    public NDArray cbrt() { return Ops.CBRT.apply(null, this); }

    /** Returns {@code 1 / sqrt(x)} (MXNet's {@code rsqrt}). */
    public NDArray rsqrt() { return Ops.RSQRT.apply(null, this); }

    /** Returns {@code 1 / cbrt(x)} (MXNet's {@code rcbrt}). */
    public NDArray rcbrt() { return Ops.RCBRT.apply(null, this); }

    /** Returns degrees converted to radians, {@code x * (pi / 180)}; a composite (a multiplication). */
    public NDArray radians() { return mul(Math.PI / 180.0); }

    /** Returns radians converted to degrees, {@code x * (180 / pi)}; a composite (a multiplication). */
    public NDArray degrees() { return mul(180.0 / Math.PI); }

    /** Returns the largest integer not above each element; a constant for autograd. */
    public NDArray floor() { return Ops.FLOOR.apply(null, this); }

    /** Returns the smallest integer not below each element; a constant for autograd. */
    public NDArray ceil() { return Ops.CEIL.apply(null, this); }

    /** Returns the nearest integer, a half going to the even one, as numpy's {@code round}; a constant for autograd. */
    public NDArray round() { return Ops.ROUND.apply(null, this); }

    /** Returns the error function, {@code 2/sqrt(pi)} times the integral of {@code exp(-t^2)} from 0 to {@code x}. */
    public NDArray erf() { return Ops.ERF.apply(null, this); }

    /** Returns GELU in its erf form, {@code 0.5 x (1 + erf(x / sqrt 2))} (MXNet's leaky_relu with act_type gelu). */
    public NDArray gelu() { return Ops.GELU.apply(null, this); }

    /** Returns {@code log(sigmoid(x))} as {@code -softplus(-x)}, which never overflows (MXNet's log_sigmoid). */
    public NDArray logSigmoid() { return Ops.LOG_SIGMOID.apply(null, this); }

    /**
     * Returns {@code x} where {@code x > 0} and {@code alpha x} elsewhere (MXNet's {@code npx.leaky_relu});
     * a composite of {@code where} and {@code mul}, whose gradient at 0 is {@code alpha}, as MXNet's.
     */
    public NDArray leakyRelu(double alpha) {
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("leakyRelu: alpha must be finite, got " + alpha);
        }
        return Np.where(gt(0.0), this, mul(alpha));
    }

    /**
     * Returns {@link #leakyRelu(double)} with slope 0.25: sparkgrad mirrors MXNet, whose
     * {@code npx.leaky_relu} and {@code LeakyReLU} operator default to 0.25 (PyTorch's and JAX's to 0.01).
     */
    public NDArray leakyRelu() { return leakyRelu(0.25); }

    /**
     * Returns {@code x} where {@code x > 0} and {@code alpha (exp(x) - 1)} elsewhere (MXNet's
     * {@code npx.leaky_relu} with {@code act_type='elu'}); a composite of {@code where}, {@code expm1}
     * and {@code mul}, whose gradient at 0 is {@code alpha}, as MXNet's.
     */
    public NDArray elu(double alpha) {
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("elu: alpha must be finite, got " + alpha);
        }
        NDArray positive = gt(0.0);
        // expm1 gets 0 in place of a positive x: exp(x) overflows above 709, and the zero gradient of
        // the branch where discards times expm1's infinite derivative would be 0 * inf = NaN
        return Np.where(positive, this, Np.where(positive, 0.0, this).expm1().mul(alpha));
    }

    /** Returns {@link #elu(double)} with alpha 1.0, the default of MXNet's {@code gluon.nn.ELU} and of PyTorch. */
    public NDArray elu() { return elu(1.0); }

    // ---------------------------------------------------------------- comparisons (0/1, constant)

    /** Returns 1 where {@code this > other} and 0 elsewhere, with numpy broadcasting; a constant for autograd. */
    public NDArray gt(NDArray other) { return Ops.GT.apply(null, this, other); }

    /** Returns 1 where {@code this > other} (a scalar) and 0 elsewhere. */
    public NDArray gt(double other) { return gt(Np.scalar(other)); }

    /** Returns 1 where {@code this < other} and 0 elsewhere, with numpy broadcasting; a constant for autograd. */
    public NDArray lt(NDArray other) { return Ops.LT.apply(null, this, other); }

    /** Returns 1 where {@code this < other} (a scalar) and 0 elsewhere. */
    public NDArray lt(double other) { return lt(Np.scalar(other)); }

    /** Returns 1 where {@code this >= other} and 0 elsewhere, with numpy broadcasting; a constant for autograd. */
    public NDArray ge(NDArray other) { return Ops.GE.apply(null, this, other); }

    /** Returns 1 where {@code this >= other} (a scalar) and 0 elsewhere. */
    public NDArray ge(double other) { return ge(Np.scalar(other)); }

    /** Returns 1 where {@code this <= other} and 0 elsewhere, with numpy broadcasting; a constant for autograd. */
    public NDArray le(NDArray other) { return Ops.LE.apply(null, this, other); }

    /** Returns 1 where {@code this <= other} (a scalar) and 0 elsewhere. */
    public NDArray le(double other) { return le(Np.scalar(other)); }

    /** Returns 1 where {@code this == other} and 0 elsewhere, with numpy broadcasting; a constant for autograd. */
    public NDArray eq(NDArray other) { return Ops.EQ.apply(null, this, other); }

    /** Returns 1 where {@code this == other} (a scalar) and 0 elsewhere. */
    public NDArray eq(double other) { return eq(Np.scalar(other)); }

    // ---------------------------------------------------------------- reductions

    /** Sums all elements into a 0-d array. */
    public NDArray sum() { return reduce(Ops.SUM, "sum", Backend.ALL, false); }

    /** Sums along {@code axis} (negative: from the end), which the result drops. */
    public NDArray sum(int axis) { return sum(axis, false); }

    /** Sums along {@code axis}; {@code keepdims} keeps it as a dimension of length 1. */
    public NDArray sum(int axis, boolean keepdims) { return reduce(Ops.SUM, "sum", axis, keepdims); }

    /** Returns the mean of all elements as a 0-d array. */
    public NDArray mean() { return sum().div((double) size()); }

    /** Returns the mean along {@code axis}, which the result drops. */
    public NDArray mean(int axis) { return mean(axis, false); }

    /** Returns the mean along {@code axis}; {@code keepdims} keeps it as a dimension of length 1. */
    public NDArray mean(int axis, boolean keepdims) {
        int a = Shape.axis("mean", axis, shape.length);
        return sum(a, keepdims).div((double) shape[a]);
    }

    /** Returns the largest element; ties share the gradient equally. */
    public NDArray max() { return reduce(Ops.MAX, "max", Backend.ALL, false); }

    /** Returns the largest element along {@code axis}, which the result drops; ties share the gradient equally. */
    public NDArray max(int axis) { return max(axis, false); }

    /** Returns the largest element along {@code axis}; {@code keepdims} keeps it as a dimension of length 1. */
    public NDArray max(int axis, boolean keepdims) { return reduce(Ops.MAX, "max", axis, keepdims); }

    /** Returns the smallest element; ties share the gradient equally. */
    public NDArray min() { return reduce(Ops.MIN, "min", Backend.ALL, false); }

    /** Returns the smallest element along {@code axis}, which the result drops. */
    public NDArray min(int axis) { return min(axis, false); }

    /** Returns the smallest element along {@code axis}; {@code keepdims} keeps it as a dimension of length 1. */
    public NDArray min(int axis, boolean keepdims) { return reduce(Ops.MIN, "min", axis, keepdims); }

    /** Returns the 2-norm of all elements (Frobenius for a matrix); its gradient at zero is zero. */
    public NDArray norm() { return reduce(Ops.NORM, "norm", Backend.ALL, false); }

    /** Returns the 2-norm along {@code axis}; {@code keepdims} keeps it as a dimension of length 1. */
    public NDArray norm(int axis, boolean keepdims) { return reduce(Ops.NORM, "norm", axis, keepdims); }

    /** Returns {@code log(sum(exp(x)))} over all elements, stable for large values. */
    public NDArray logSumExp() {
        // an infinite maximum would give inf - inf = NaN; clamped, the result is +-inf as in scipy
        NDArray m = max().detach().clip(-Double.MAX_VALUE, Double.MAX_VALUE);
        return sub(m).exp().sum().log().add(m);
    }

    /** Returns {@code log(sum(exp(x), axis))}, stable for large values, dropping {@code axis}. */
    public NDArray logSumExp(int axis) { return logSumExp(axis, false); }

    /**
     * Returns {@code log(sum(exp(x), axis))}. The maximum is subtracted first so that no
     * {@code exp} overflows; it is detached because the result does not depend on it.
     */
    public NDArray logSumExp(int axis, boolean keepdims) {
        int a = Shape.axis("logSumExp", axis, shape.length);
        NDArray m = max(a, true).detach().clip(-Double.MAX_VALUE, Double.MAX_VALUE);
        NDArray lse = sub(m).exp().sum(a, true).log().add(m);
        return keepdims ? lse : lse.reshape(Shape.reduced(shape, a, false));
    }

    /** Softmax along the last axis. */
    public NDArray softmax() { return softmax(-1); }

    /** Returns the softmax along {@code axis}: {@code exp(x) / sum(exp(x))}, computed from the log-softmax. */
    public NDArray softmax(int axis) { return logSoftmax(Shape.axis("softmax", axis, shape.length)).exp(); }

    /** Log-softmax along the last axis. */
    public NDArray logSoftmax() { return logSoftmax(-1); }

    /** Returns the log-softmax along {@code axis}: {@code x - logSumExp(x, axis)}. */
    public NDArray logSoftmax(int axis) { return sub(logSumExp(Shape.axis("logSoftmax", axis, shape.length), true)); }

    private NDArray reduce(io.sparkgrad.autograd.Op<Ops.Axis> op, String name, int axis, boolean keepdims) {
        int a = axis == Backend.ALL ? Backend.ALL : Shape.axis(name, axis, shape.length);
        if ((op == Ops.MAX || op == Ops.MIN) && (a == Backend.ALL ? size() == 0 : shape[a] == 0)) {
            throw new IllegalArgumentException(name + ": zero-size array of shape " + Shape.str(shape)
                + " has no " + (op == Ops.MAX ? "maximum" : "minimum"));
        }
        return op.apply(new Ops.Axis(a, keepdims), this);
    }

    // ---------------------------------------------------------------- linear algebra

    /**
     * Matrix product with numpy's {@code matmul} rules for 1-D and 2-D operands: a 1-D left operand
     * is a row, a 1-D right operand a column, and the added dimension is removed from the result.
     */
    public NDArray matmul(NDArray other) {
        long[] a = shape;
        long[] b = other.shape;
        if (a.length == 0 || b.length == 0) {
            throw new IllegalArgumentException("matmul: operands must have at least one dimension, got shapes "
                + Shape.str(a) + " and " + Shape.str(b) + " (use mul for scalars)");
        }
        if (a.length > 2 || b.length > 2) {
            throw new IllegalArgumentException("matmul: operands of more than 2 dimensions are not supported yet, got shapes "
                + Shape.str(a) + " and " + Shape.str(b));
        }
        long ka = a[a.length - 1];
        long kb = b[0];
        if (ka != kb) {
            throw new IllegalArgumentException("matmul: inner dimensions differ: shapes " + Shape.str(a) + " and "
                + Shape.str(b) + " (" + ka + " != " + kb + ")");
        }
        if (a.length == 1 && b.length == 1 && (isDistributed() || other.isDistributed())) {
            return mul(other).sum(); // a distributed vector cannot become a 1 x n row
        }
        NDArray l = a.length == 1 ? reshape(1, ka) : this;
        NDArray r = b.length == 1 ? other.reshape(kb, 1) : other;
        NDArray out = Ops.MATMUL.apply(null, l, r);
        if (a.length == 1 && b.length == 1) {
            return out.reshape();
        }
        if (a.length == 1) {
            return out.reshape(b[1]);
        }
        if (b.length == 1) {
            return out.reshape(a[0]);
        }
        return out;
    }

    /**
     * Dot product with numpy's rules: scalars multiply, 1-D and 2-D operands follow
     * {@link #matmul}, and an N-D array dotted with a 1-D one sums over its last axis.
     */
    public NDArray dot(NDArray other) {
        if (shape.length == 0 || other.shape.length == 0) {
            return mul(other);
        }
        if (shape.length > 2 && other.shape.length == 1) {
            if (shape[shape.length - 1] != other.shape[0]) {
                throw new IllegalArgumentException("dot: shapes " + Shape.str(shape) + " and " + Shape.str(other.shape)
                    + " not aligned: " + shape[shape.length - 1] + " (dim " + (shape.length - 1) + ") != " + other.shape[0]);
            }
            return mul(other).sum(-1);
        }
        if (shape.length > 2 || other.shape.length > 2) {
            throw new IllegalArgumentException("dot: operands of shapes " + Shape.str(shape) + " and "
                + Shape.str(other.shape) + " are not supported yet (at most 2-D, or N-D with 1-D)");
        }
        try {
            return matmul(other);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replaceFirst("^matmul", "dot"), e);
        }
    }

    /** Reverses the axes (numpy's {@code .T}). */
    public NDArray T() { return transpose(); }

    /** Reverses the axes. */
    public NDArray transpose() {
        int[] perm = new int[shape.length];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = perm.length - 1 - i;
        }
        return transpose(perm);
    }

    /** Permutes the axes: output axis {@code i} is input axis {@code axes[i]}. */
    public NDArray transpose(int... axes) {
        if (axes.length != shape.length) {
            throw new IllegalArgumentException("transpose: axes " + Arrays.toString(axes) + " do not match an array of shape "
                + Shape.str(shape));
        }
        int[] perm = new int[axes.length];
        boolean[] seen = new boolean[axes.length];
        for (int i = 0; i < axes.length; i++) {
            perm[i] = Shape.axis("transpose", axes[i], shape.length);
            if (seen[perm[i]]) {
                throw new IllegalArgumentException("transpose: repeated axis in " + Arrays.toString(axes));
            }
            seen[perm[i]] = true;
        }
        return Ops.TRANSPOSE.apply(perm, this);
    }

    // ---------------------------------------------------------------- shape

    /** Gives a new shape to the same elements; one dimension may be -1 (inferred). */
    public NDArray reshape(long... newShape) {
        return Ops.RESHAPE.apply(Shape.reshape(shape, newShape), this);
    }

    /** {@link #reshape(long...)} with int dimensions. */
    public NDArray reshape(int... newShape) {
        return reshape(Shape.of(newShape));
    }

    /** Repeats the array along dimensions of length 1 (and new leading ones) to {@code target}. */
    public NDArray broadcastTo(long... target) {
        long[] t = Shape.checkValid("broadcastTo", target);
        Shape.checkBroadcastTo("broadcastTo", shape, t);
        return Ops.BROADCAST_TO.apply(t, this);
    }

    /** {@link #broadcastTo(long...)} with int dimensions. */
    public NDArray broadcastTo(int... target) {
        return broadcastTo(Shape.of(target));
    }

    /**
     * Repeats the array to the shape of {@code like}, placed where {@code like} is (a distributed
     * template gives a distributed result); only the template's shape and layout are used.
     */
    public NDArray broadcastLike(NDArray like) {
        Shape.checkBroadcastTo("broadcastLike", shape, like.shape);
        return Ops.BROADCAST_LIKE.apply(like, this);
    }

    /**
     * Sums this array down to {@code target}, the inverse of broadcasting: leading dimensions are
     * summed away and dimensions where {@code target} has 1 are summed with keepdims. Gradient
     * rules use it to return a broadcast operand's gradient in the operand's own shape.
     */
    public NDArray sumTo(long... target) {
        if (Arrays.equals(shape, target)) {
            return this;
        }
        Shape.checkBroadcastTo("sumTo", target, shape);
        NDArray r = this;
        int lead = shape.length - target.length;
        for (int i = 0; i < lead; i++) {
            r = r.sum(0, false);
        }
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 1 && r.shape[i] != 1) {
                r = r.sum(i, true);
            }
        }
        return r;
    }

    /** {@link #sumTo(long...)} with int dimensions. */
    public NDArray sumTo(int... target) {
        return sumTo(Shape.of(target));
    }

    /** Returns elements {@code start} (inclusive) to {@code stop} (exclusive) along {@code axis}. */
    public NDArray slice(int axis, long start, long stop) {
        int a = Shape.axis("slice", axis, shape.length);
        if (start < 0 || stop < start || stop > shape[a]) {
            throw new IllegalArgumentException("slice: range [" + start + ", " + stop + ") is outside axis " + axis
                + " of length " + shape[a] + " (shape " + Shape.str(shape) + ")");
        }
        return Ops.SLICE.apply(new Ops.Range(a, start, stop), this);
    }

    /** Pads {@code axis} with {@code before} zeros in front and {@code after} zeros behind. */
    public NDArray pad(int axis, long before, long after) {
        int a = Shape.axis("pad", axis, shape.length);
        if (before < 0 || after < 0) {
            throw new IllegalArgumentException("pad: negative padding " + before + ", " + after);
        }
        return Ops.PAD.apply(new Ops.Range(a, before, after), this);
    }

    /**
     * Indexes the leading axes as numpy's {@code x[i, j]}: each index removes one dimension;
     * negative indices count from the end.
     */
    public NDArray get(long... index) {
        if (index.length > shape.length) {
            throw new IllegalArgumentException("get: too many indices " + Arrays.toString(index) + " for an array of shape "
                + Shape.str(shape));
        }
        NDArray r = this;
        for (int k = 0; k < index.length; k++) {
            long i = index[k] < 0 ? index[k] + shape[k] : index[k];
            if (i < 0 || i >= shape[k]) {
                throw new IllegalArgumentException("get: index " + index[k] + " is out of bounds for axis " + k
                    + " with size " + shape[k] + " (shape " + Shape.str(shape) + ")");
            }
            r = r.slice(k, i, i + 1);
        }
        return r.reshape(Arrays.copyOfRange(shape, index.length, shape.length));
    }

    /**
     * Rows of this array picked by {@code indices} (numpy's and MXNet's {@code take(a, indices)},
     * axis 0): the result has the indices' shape followed by a row's, so a table of shape
     * {@code (n, d)} and indices of shape {@code (b,)} give {@code (b, d)}, an embedding lookup.
     * Indices are integers in {@code [-n, n)} (negative ones count from the end), held as
     * doubles; any other value is refused naming it. The indices are a constant for autograd; the
     * gradient of the table adds each row's gradient at the row it was taken from
     * ({@link Np#scatterAdd}).
     */
    public NDArray take(NDArray indices) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("take: a scalar has no rows to take (indices of shape "
                + Shape.str(indices.shape) + ")");
        }
        return Ops.TAKE.apply(null, this, indices);
    }

    // ---------------------------------------------------------------- comparison of values

    /** Returns true when both arrays have the same shape and every pair satisfies numpy's isclose. */
    public boolean allClose(NDArray other, double rtol, double atol) {
        if (!Arrays.equals(shape, other.shape)) {
            return false;
        }
        double[] a = toArray();
        double[] b = other.toArray();
        for (int i = 0; i < a.length; i++) {
            // as numpy: infinities are close only to themselves
            boolean close = a[i] == b[i]
                || (Double.isFinite(b[i]) && Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]));
            if (!close) {
                return false;
            }
        }
        return true;
    }

    /** {@link #allClose(NDArray, double, double)} with numpy's defaults, rtol 1e-5 and atol 1e-8. */
    public boolean allClose(NDArray other) {
        return allClose(other, 1e-5, 1e-8);
    }

    /** Two arrays are equal when they have the same shape and the same values (NaN equals NaN). */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NDArray)) {
            return false;
        }
        NDArray other = (NDArray) o;
        return Arrays.equals(shape, other.shape) && Arrays.equals(zeroSigned(toArray()), zeroSigned(other.toArray()));
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(zeroSigned(toArray()));
    }

    /** Turns -0.0 into 0.0 in place (x + 0.0), so that equals and hashCode treat them as one value. */
    private static double[] zeroSigned(double[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] += 0.0;
        }
        return v;
    }

    /** Prints as numpy and MXNet do: {@code array([0., 1., 2.])}. */
    @Override
    public String toString() {
        return Format.array(Shape.toInt("toString", shape), toArray(), dtype);
    }
}
