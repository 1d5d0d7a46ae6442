package io.sparkgrad.np;

import io.sparkgrad.autograd.Op;

/**
 * The rule table: every primitive op, its forward kernel and, beside it, the rule that maps the
 * output's gradient {@code g} to the gradient of input {@code i}. Conventions:
 * <ul>
 *   <li>{@code n.in(i)} is input {@code i}, {@code n.out()} the output, {@code n.params()} the
 *       op's parameters; a rule is only asked for inputs that require a gradient. A rule that
 *       needs an input only for its shape or placement asks {@code n.inShape(i)} or
 *       {@code n.like(i)}: {@code in} and {@code out} check that the values were not changed in
 *       place since the op was recorded.</li>
 *   <li>Rules are written in {@link NDArray} operations, never in kernels: they serve local and
 *       distributed arrays alike, and under {@code createGraph} they are recorded in turn.</li>
 *   <li>Broadcasting ops return {@code ....sumTo(input shape)}: the gradient of a broadcast is a
 *       sum.</li>
 *   <li>Ties of {@code max}, {@code min}, {@code maximum} and {@code minimum} share the gradient
 *       equally; {@code abs} and {@code relu} have gradient 0 at 0, {@code hypot} at (0, 0).</li>
 *   <li>Comparisons, {@code sign}, {@code floor}, {@code ceil} and {@code round} have a gradient
 *       of zero ({@link Op#zeroGradient}), as in MXNet: they are recorded, so what they read gets
 *       zeros at every order.</li>
 * </ul>
 * Result types are the primitives' ({@link Prim#dtype}); a rule's constants are weak scalars
 * ({@link Np#scalar}), so a float32 input gets a float32 gradient.
 * Everything else ({@code mean}, {@code logSumExp}, {@code softmax}, {@code dot}, {@code get}, {@code leakyRelu},
 * {@code elu}, the losses, ...) is composed from these and needs no rule of its own.
 */
public final class Ops {
    private Ops() {}

    /** An axis (resolved, or {@link Backend#ALL}) and whether the reduction keeps it. */
    public record Axis(int axis, boolean keepdims) {
        /** The shape of the reduction's result with the reduced axes kept as length 1. */
        long[] kept(long[] inShape) {
            if (axis == Backend.ALL) {
                long[] ones = new long[inShape.length];
                java.util.Arrays.fill(ones, 1);
                return ones;
            }
            return Shape.reduced(inShape, axis, true);
        }
    }

    /** An index range along an axis (for slice), or the padding before and after it (for pad). */
    public record Range(int axis, long start, long stop) {}

    /** Clipping bounds. */
    public record Bounds(double lo, double hi) {}

    private static Op<Void> unary(String name, UnaryFn f, Op.Rule<Void> rule) {
        return Op.define(name, (in, p) -> Prim.apply(new Prim.Unary(f), in[0]), rule);
    }

    private static Op<Void> binary(String name, BinaryFn f, Op.Rule<Void> rule) {
        return Op.define(name, (in, p) -> Prim.apply(new Prim.Binary(f), in[0], in[1]), rule);
    }

    /** An elementwise function of one input whose gradient is zero (a rounding), as in MXNet. */
    private static Op<Void> zeroGradientUnary(String name, UnaryFn f) {
        return Op.zeroGradient(name, (in, p) -> Prim.apply(new Prim.Unary(f), in[0]));
    }

    private static Op<Void> comparison(String name, BinaryFn f) {
        return Op.zeroGradient(name, (in, p) -> Prim.apply(new Prim.Binary(f), in[0], in[1]));
    }

    /** g reshaped so that it broadcasts against the reduction's input (undoes the dropped axis). */
    private static NDArray keep(NDArray reduced, Axis p, long[] inputShape) {
        return p.keepdims() ? reduced : reduced.reshape(p.kept(inputShape));
    }

    // ------------------------------------------------------------------ elementwise, one input

    static final Op<Void> NEG = unary("neg", UnaryFn.NEG, (n, g, i) -> g.neg());
    static final Op<Void> EXP = unary("exp", UnaryFn.EXP, (n, g, i) -> g.mul(n.out()));
    static final Op<Void> LOG = unary("log", UnaryFn.LOG, (n, g, i) -> g.div(n.in(0)));
    static final Op<Void> SQRT = unary("sqrt", UnaryFn.SQRT, (n, g, i) -> g.div(n.out().mul(2.0)));
    static final Op<Void> ABS = unary("abs", UnaryFn.ABS, (n, g, i) -> g.mul(n.in(0).sign()));
    static final Op<Void> SQUARE = unary("square", UnaryFn.SQUARE, (n, g, i) -> g.mul(n.in(0).mul(2.0)));
    static final Op<Void> SIN = unary("sin", UnaryFn.SIN, (n, g, i) -> g.mul(n.in(0).cos()));
    static final Op<Void> COS = unary("cos", UnaryFn.COS, (n, g, i) -> g.mul(n.in(0).sin()).neg());
    static final Op<Void> TANH = unary("tanh", UnaryFn.TANH, (n, g, i) -> g.mul(n.out().square().rsub(1.0)));
    static final Op<Void> SIGMOID = unary("sigmoid", UnaryFn.SIGMOID,
        (n, g, i) -> g.mul(n.out().mul(n.out().rsub(1.0))));
    static final Op<Void> RELU = unary("relu", UnaryFn.RELU, (n, g, i) -> g.mul(n.in(0).gt(0.0)));
    static final Op<Void> SOFTPLUS = unary("softplus", UnaryFn.SOFTPLUS, (n, g, i) -> g.mul(n.in(0).sigmoid()));
    static final Op<Void> SIGN = Op.zeroGradient("sign", (in, p) -> Prim.apply(new Prim.Unary(UnaryFn.SIGN), in[0]));

    static final Op<Void> TAN = unary("tan", UnaryFn.TAN, (n, g, i) -> g.mul(n.out().square().add(1.0)));
    static final Op<Void> SINH = unary("sinh", UnaryFn.SINH, (n, g, i) -> g.mul(n.in(0).cosh()));
    static final Op<Void> COSH = unary("cosh", UnaryFn.COSH, (n, g, i) -> g.mul(n.in(0).sinh()));
    static final Op<Void> ARCSIN = unary("arcsin", UnaryFn.ARCSIN,
        (n, g, i) -> g.div(oneMinusSquare(n.in(0)).sqrt()));
    static final Op<Void> ARCCOS = unary("arccos", UnaryFn.ARCCOS,
        (n, g, i) -> g.div(oneMinusSquare(n.in(0)).sqrt()).neg());
    static final Op<Void> ARCTAN = unary("arctan", UnaryFn.ARCTAN, (n, g, i) -> g.div(n.in(0).square().add(1.0)));
    // hypot(x, 1) is sqrt(x^2 + 1) without the overflow of x^2 above 1e154
    static final Op<Void> ARCSINH = unary("arcsinh", UnaryFn.ARCSINH, (n, g, i) -> g.div(n.in(0).hypot(1.0)));
    // sqrt(x - 1) sqrt(x + 1) rather than sqrt(x^2 - 1), which cancels near 1 and overflows above 1e154
    static final Op<Void> ARCCOSH = unary("arccosh", UnaryFn.ARCCOSH,
        (n, g, i) -> g.div(n.in(0).sub(1.0).sqrt().mul(n.in(0).add(1.0).sqrt())));
    static final Op<Void> ARCTANH = unary("arctanh", UnaryFn.ARCTANH, (n, g, i) -> g.div(oneMinusSquare(n.in(0))));

    static final Op<Void> LOG2 = unary("log2", UnaryFn.LOG2, (n, g, i) -> g.div(n.in(0).mul(ScalarMath.LN2)));
    static final Op<Void> LOG10 = unary("log10", UnaryFn.LOG10, (n, g, i) -> g.div(n.in(0).mul(ScalarMath.LN10)));
    // exp(x), not out + 1: where expm1(x) is near -1, out + 1 has lost the digits of exp(x)
    static final Op<Void> EXPM1 = unary("expm1", UnaryFn.EXPM1, (n, g, i) -> g.mul(n.in(0).exp()));
    static final Op<Void> LOG1P = unary("log1p", UnaryFn.LOG1P, (n, g, i) -> g.div(n.in(0).add(1.0)));

    static final Op<Void> RECIPROCAL = unary("reciprocal", UnaryFn.RECIPROCAL,
        (n, g, i) -> g.mul(n.out().square()).neg());
    static final Op<Void> CBRT = unary("cbrt", UnaryFn.CBRT, (n, g, i) -> g.div(n.out().square().mul(3.0)));
    // d(x^(-1/2))/dx = -x^(-3/2) / 2 = -out^3 / 2
    static final Op<Void> RSQRT = unary("rsqrt", UnaryFn.RSQRT,
        (n, g, i) -> g.mul(n.out().square().mul(n.out())).mul(-0.5));
    // d(x^(-1/3))/dx = -x^(-4/3) / 3 = -out^4 / 3
    static final Op<Void> RCBRT = unary("rcbrt", UnaryFn.RCBRT,
        (n, g, i) -> g.mul(n.out().square().square()).div(-3.0));

    // piecewise constant: the gradient is 0 wherever it exists, so they are constants, like sign
    static final Op<Void> FLOOR = zeroGradientUnary("floor", UnaryFn.FLOOR);
    static final Op<Void> CEIL = zeroGradientUnary("ceil", UnaryFn.CEIL);
    static final Op<Void> ROUND = zeroGradientUnary("round", UnaryFn.ROUND);

    static final Op<Void> ERF = unary("erf", UnaryFn.ERF,
        (n, g, i) -> g.mul(n.in(0).square().neg().exp().mul(ScalarMath.TWO_OVER_SQRT_PI)));
    // gelu(x) = x Phi(x) with Phi the normal CDF and phi its density: the gradient is Phi(x) + x phi(x)
    static final Op<Void> GELU = unary("gelu", UnaryFn.GELU, (n, g, i) -> {
        NDArray x = n.in(0);
        NDArray cdf = x.mul(ScalarMath.SQRT1_2).erf().add(1.0).mul(0.5);
        NDArray pdf = x.square().mul(-0.5).exp().mul(ScalarMath.ONE_OVER_SQRT_2PI);
        return g.mul(cdf.add(x.mul(pdf)));
    });
    // d log(sigmoid(x))/dx = 1 - sigmoid(x) = sigmoid(-x)
    static final Op<Void> LOG_SIGMOID = unary("logSigmoid", UnaryFn.LOG_SIGMOID,
        (n, g, i) -> g.mul(n.in(0).neg().sigmoid()));

    /** (1 - x)(1 + x): unlike 1 - x^2 it keeps its digits near x = +-1, where the rules using it peak. */
    private static NDArray oneMinusSquare(NDArray x) {
        return x.rsub(1.0).mul(x.add(1.0));
    }

    static final Op<Bounds> CLIP = Op.define("clip",
        (in, p) -> Prim.apply(new Prim.Clip(p.lo(), p.hi()), in[0]),
        (n, g, i) -> g.mul(n.in(0).ge(n.params().lo()).mul(n.in(0).le(n.params().hi()))));

    // ------------------------------------------------------------------ elementwise, two inputs

    static final Op<Void> ADD = binary("add", BinaryFn.ADD, (n, g, i) -> g.sumTo(n.inShape(i)));
    static final Op<Void> SUB = binary("sub", BinaryFn.SUB,
        (n, g, i) -> (i == 0 ? g : g.neg()).sumTo(n.inShape(i)));
    static final Op<Void> MUL = binary("mul", BinaryFn.MUL, (n, g, i) -> g.mul(n.in(1 - i)).sumTo(n.inShape(i)));
    // d(a/b)/db = -a/b^2 = -out/b
    static final Op<Void> DIV = binary("div", BinaryFn.DIV, (n, g, i) -> i == 0
        ? g.div(n.in(1)).sumTo(n.inShape(0))
        : g.mul(n.out()).div(n.in(1)).neg().sumTo(n.inShape(1)));
    // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a, taken as 0 where a == 0 (the limit for b > 0)
    static final Op<Void> POW = binary("pow", BinaryFn.POW, (n, g, i) -> i == 0
        ? g.mul(n.in(1)).mul(n.in(0).pow(n.in(1).sub(1.0))).sumTo(n.inShape(0))
        : Np.where(n.in(0).eq(0.0), Np.scalar(0.0), g.mul(n.out()).mul(n.in(0).log())).sumTo(n.inShape(1)));
    static final Op<Void> MAXIMUM = binary("maximum", BinaryFn.MAXIMUM,
        (n, g, i) -> g.mul(tieShare(n.in(i), n.in(1 - i), BinaryFn.GT)).sumTo(n.inShape(i)));
    static final Op<Void> MINIMUM = binary("minimum", BinaryFn.MINIMUM,
        (n, g, i) -> g.mul(tieShare(n.in(i), n.in(1 - i), BinaryFn.LT)).sumTo(n.inShape(i)));

    /** 1 where {@code a} wins against {@code b}, 0.5 where they tie, 0 where it loses. */
    private static NDArray tieShare(NDArray a, NDArray b, BinaryFn wins) {
        NDArray w = wins == BinaryFn.GT ? a.gt(b) : a.lt(b);
        return w.add(a.eq(b).mul(0.5));
    }

    // d atan2(y, x) = (x dy - y dx) / (x^2 + y^2); dividing by hypot twice neither overflows nor
    // underflows where the squares would
    static final Op<Void> ARCTAN2 = binary("arctan2", BinaryFn.ARCTAN2, (n, g, i) -> {
        NDArray r = n.in(0).hypot(n.in(1));
        NDArray side = i == 0 ? n.in(1) : n.in(0).neg();
        return g.mul(side.div(r).div(r)).sumTo(n.inShape(i));
    });
    // d hypot(a, b)/da = a / hypot(a, b); the floor makes it 0 (not NaN) at a = b = 0, as for norm
    static final Op<Void> HYPOT = binary("hypot", BinaryFn.HYPOT,
        (n, g, i) -> g.mul(n.in(i).div(n.out().maximum(Double.MIN_NORMAL))).sumTo(n.inShape(i)));

    static final Op<Void> GT = comparison("gt", BinaryFn.GT);
    static final Op<Void> LT = comparison("lt", BinaryFn.LT);
    static final Op<Void> GE = comparison("ge", BinaryFn.GE);
    static final Op<Void> LE = comparison("le", BinaryFn.LE);
    static final Op<Void> EQ = comparison("eq", BinaryFn.EQ);

    /** {@code where(cond, a, b)}; the condition is a constant for autograd. */
    static final Op<Void> WHERE = Op.define("where",
        (in, p) -> Prim.apply(new Prim.Where(), in[0], in[1], in[2]),
        (n, g, i) -> {
            NDArray zero = Np.scalar(0.0);
            switch (i) {
                case 0: return n.like(0).zerosLike();
                case 1: return Np.where(n.in(0), g, zero).sumTo(n.inShape(1));
                default: return Np.where(n.in(0), zero, g).sumTo(n.inShape(2));
            }
        });

    // ------------------------------------------------------------------ reductions

    static final Op<Axis> SUM = Op.define("sum",
        (in, p) -> Prim.apply(new Prim.Reduce(ReduceFn.SUM, p.axis(), p.keepdims()), in[0]),
        (n, g, i) -> keep(g, n.params(), n.inShape(0)).broadcastLike(n.like(0)));
    static final Op<Axis> MAX = Op.define("max",
        (in, p) -> Prim.apply(new Prim.Reduce(ReduceFn.MAX, p.axis(), p.keepdims()), in[0]),
        Ops::extremumGrad);
    static final Op<Axis> MIN = Op.define("min",
        (in, p) -> Prim.apply(new Prim.Reduce(ReduceFn.MIN, p.axis(), p.keepdims()), in[0]),
        Ops::extremumGrad);
    // d||x||/dx = x / ||x||; the floor makes the gradient 0 (not NaN) at x = 0, where x is 0 too
    static final Op<Axis> NORM = Op.define("norm",
        (in, p) -> Prim.apply(new Prim.Norm(p.axis(), p.keepdims()), in[0]),
        (n, g, i) -> keep(g, n.params(), n.inShape(0))
            .mul(n.in(0).div(keep(n.out(), n.params(), n.inShape(0)).maximum(Double.MIN_NORMAL))));

    /** The gradient of max or min goes to the elements equal to the result, shared among ties. */
    private static NDArray extremumGrad(io.sparkgrad.autograd.Node<Axis> n, NDArray g, int i) {
        NDArray x = n.in(0);
        NDArray hit = x.eq(keep(n.out(), n.params(), x.shape));
        NDArray count = n.params().axis() == Backend.ALL ? hit.sum() : hit.sum(n.params().axis(), true);
        return keep(g, n.params(), x.shape).mul(hit).div(count);
    }

    // ------------------------------------------------------------------ shape

    static final Op<long[]> BROADCAST_TO = Op.define("broadcastTo",
        (in, p) -> Prim.apply(new Prim.BroadcastTo(p), in[0]),
        (n, g, i) -> g.sumTo(n.inShape(0)));
    /** Broadcasts to the shape and placement of the template array in the parameters. */
    static final Op<NDArray> BROADCAST_LIKE = Op.define("broadcastLike",
        (in, like) -> Prim.apply(new Prim.BroadcastLike(), in[0], like),
        (n, g, i) -> g.sumTo(n.inShape(0)));
    static final Op<long[]> RESHAPE = Op.define("reshape",
        (in, p) -> Prim.apply(new Prim.Reshape(p), in[0]),
        (n, g, i) -> g.reshape(n.inShape(0)));
    static final Op<int[]> TRANSPOSE = Op.define("transpose",
        (in, p) -> Prim.apply(new Prim.Transpose(p), in[0]),
        (n, g, i) -> g.transpose(inverse(n.params())));
    static final Op<Range> SLICE = Op.define("slice",
        (in, p) -> Prim.apply(new Prim.Slice(p.axis(), p.start(), p.stop()), in[0]),
        (n, g, i) -> g.pad(n.params().axis(), n.params().start(), n.inShape(0)[n.params().axis()] - n.params().stop()));
    /** Zero padding: the Range holds the padding before (start) and after (stop). */
    static final Op<Range> PAD = Op.define("pad",
        (in, p) -> Prim.apply(new Prim.Pad(p.axis(), p.start(), p.stop()), in[0]),
        (n, g, i) -> g.slice(n.params().axis(), n.params().start(), n.params().start() + n.inShape(0)[n.params().axis()]));
    static final Op<Integer> CONCAT = Op.define("concat",
        (in, p) -> Prim.apply(new Prim.Concat(p), in),
        (n, g, i) -> {
            int axis = n.params();
            long start = 0;
            for (int k = 0; k < i; k++) {
                start += n.inShape(k)[axis];
            }
            return g.slice(axis, start, start + n.inShape(i)[axis]);
        });

    /**
     * Rows of input 0 picked by the indices of input 1 (a constant for autograd): the gradient of
     * the table adds each output row's gradient back at the row it came from.
     */
    static final Op<Void> TAKE = Op.define("take",
        (in, p) -> Prim.apply(new Prim.Take(), in[0], in[1]),
        (n, g, i) -> i == 0 ? Np.scatterAdd(n.like(0), n.in(1), g) : n.like(1).zerosLike());

    /** Zeros like input 0 with the rows of input 2 added at the rows input 1 indexes; its gradient picks them back. */
    static final Op<Void> SCATTER_ADD = Op.define("scatterAdd",
        (in, p) -> Prim.apply(new Prim.ScatterAdd(), in[0], in[1], in[2]),
        (n, g, i) -> i == 2 ? g.take(n.in(1)) : n.like(i).zerosLike());

    private static int[] inverse(int[] perm) {
        int[] inv = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            inv[perm[i]] = i;
        }
        return inv;
    }

    // ------------------------------------------------------------------ linear algebra

    /** 2-D matrix product; 1-D operands are reshaped by {@link NDArray#matmul}. */
    static final Op<Void> MATMUL = Op.define("matmul",
        (in, p) -> Prim.apply(new Prim.Matmul(), in[0], in[1]),
        (n, g, i) -> i == 0 ? g.matmul(n.in(1).T()) : n.in(0).T().matmul(g));

    // ------------------------------------------------------------------ types

    /** The values as another type; the gradient is the output's gradient cast back to the input's type. */
    static final Op<DType> ASTYPE = Op.define("astype",
        (in, p) -> Prim.apply(new Prim.Cast(p), in[0]),
        (n, g, i) -> g.astype(n.like(0).dtype()));

    /** Forces the table to load, so that {@link Op#registry()} lists every op above. */
    public static java.util.List<Op<?>> all() {
        return Op.registry();
    }
}
