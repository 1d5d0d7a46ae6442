package io.sparkgrad.dist;

import io.sparkgrad.autograd.ArrayFunction;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The local engine is the reference for the distributed one: every op that runs distributed is
 * computed, value and gradients, once on local arrays and once with the same data split into row
 * blocks by {@link Dist#fromLocal}, and the two must agree to a relative 1e-12 per element (a sum
 * over blocks adds in another order than the local one-pass sum). Every case runs on 11 rows in
 * 1, 2 (an uneven last block) and 7 blocks, and on 3 rows in 5 blocks (empty partitions).
 * Distributed inputs must get distributed gradients, local inputs local ones. The gradients are
 * those of {@code sum(y * r)} for a random local {@code r} of both signs (split into the result's
 * blocks when the result is distributed), so every rule and every distributed plan of a gradient
 * sees an incoming gradient that is not constant.
 */
class DistDifferentialTest {

    private static final double RTOL = 1e-12;

    @BeforeAll
    static void spark() {
        SparkTests.session();
    }

    // ------------------------------------------------------------------ data

    /** How an input's values are drawn. */
    enum Kind {
        /** standard normal */
        NORMAL,
        /** uniform in [0.5, 2): logs, square roots, divisors, bases of pow */
        POSITIVE,
        /** normal pushed at least 0.1 away from 0, where abs and relu have kinks */
        AWAY,
        /** uniform in [-0.9, 0.9): arcsin, arccos, arctanh */
        UNIT,
        /** integers in [-2, 2]: ties for max/min/maximum/minimum and comparisons */
        INTS,
        /** 0 or 1: conditions of where, targets of binary cross-entropy */
        BITS,
        /** one-hot rows along the last axis */
        ONE_HOT
    }

    /**
     * One input of a case: its shape (with {@code rows} as the leading dimension when
     * {@code rowShaped}), how its values are drawn, and whether it is distributed in the
     * distributed run (local inputs stay local in both runs).
     */
    record Input(Kind kind, boolean rowShaped, int[] shape, boolean dist) {
        int[] shapeFor(int rows) {
            if (!rowShaped) {
                return shape.clone();
            }
            int[] s = new int[shape.length + 1];
            s[0] = rows;
            System.arraycopy(shape, 0, s, 1, shape.length);
            return s;
        }

        NDArray make(Random r, int rows) {
            int[] s = shapeFor(rows);
            double[] d = new double[Shape.size(s)];
            int last = s.length == 0 ? 1 : s[s.length - 1];
            for (int i = 0; i < d.length; i++) {
                switch (kind) {
                    case NORMAL: d[i] = r.nextGaussian(); break;
                    case POSITIVE: d[i] = 0.5 + 1.5 * r.nextDouble(); break;
                    case AWAY: {
                        double v = r.nextGaussian();
                        d[i] = v + (v >= 0 ? 0.1 : -0.1);
                        break;
                    }
                    case UNIT: d[i] = -0.9 + 1.8 * r.nextDouble(); break;
                    case INTS: d[i] = r.nextInt(5) - 2; break;
                    case BITS: d[i] = r.nextInt(2); break;
                    case ONE_HOT: break;
                    default: throw new AssertionError(kind);
                }
            }
            if (kind == Kind.ONE_HOT) {
                for (int row = 0; row < d.length / last; row++) {
                    d[row * last + r.nextInt(last)] = 1.0;
                }
            }
            return Np.array(s, d);
        }
    }

    /** A distributed input with {@code rows} rows and the given row shape. */
    static Input dist(Kind kind, int... rowShape) {
        return new Input(kind, true, rowShape, true);
    }

    /** A local input of a fixed shape: it broadcasts along the rows, or is a weight or a scalar. */
    static Input local(Kind kind, int... shape) {
        return new Input(kind, false, shape, false);
    }

    /** Where the result of the distributed run lives. */
    enum Placement { DIST, LOCAL }

    /** One program: a name, where its distributed result lives, the function and its inputs. */
    record Case(String name, Placement out, ArrayFunction fn, Input... inputs) {
        NDArray[] data(int rows) {
            Random r = new Random(name.hashCode() * 31L + rows);
            NDArray[] d = new NDArray[inputs.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = inputs[i].make(r, rows);
            }
            return d;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** The rows of the distributed inputs and how many blocks they are split into. */
    record Rows(int rows, int blocks) {
        @Override
        public String toString() {
            return rows + " rows in " + blocks + " blocks";
        }
    }

    /**
     * 11 rows in 1 block, in 2 blocks (5 and 6: an uneven last block) and in 7 blocks (1, 2, 1, 2,
     * 1, 2, 2), and 3 rows in 5 blocks (0, 1, 0, 1, 1: empty partitions).
     */
    static final List<Rows> LAYOUTS = List.of(new Rows(11, 1), new Rows(11, 2), new Rows(11, 7), new Rows(3, 5));

    static Case c(String name, Placement out, ArrayFunction fn, Input... inputs) {
        return new Case(name, out, fn, inputs);
    }

    @FunctionalInterface
    interface Binary {
        NDArray apply(NDArray a, NDArray b);
    }

    static final int D = 3;

    static List<Case> table() {
        List<Case> t = new ArrayList<>();
        Placement dist = Placement.DIST;
        Placement local = Placement.LOCAL;

        // elementwise, one input
        t.add(c("neg", dist, x -> x[0].neg(), dist(Kind.NORMAL, D)));
        t.add(c("exp", dist, x -> x[0].exp(), dist(Kind.NORMAL, D)));
        t.add(c("log", dist, x -> x[0].log(), dist(Kind.POSITIVE, D)));
        t.add(c("sqrt", dist, x -> x[0].sqrt(), dist(Kind.POSITIVE, D)));
        t.add(c("abs", dist, x -> x[0].abs(), dist(Kind.AWAY, D)));
        t.add(c("square", dist, x -> x[0].square(), dist(Kind.NORMAL, D)));
        t.add(c("sin", dist, x -> x[0].sin(), dist(Kind.NORMAL, D)));
        t.add(c("cos", dist, x -> x[0].cos(), dist(Kind.NORMAL, D)));
        t.add(c("tanh", dist, x -> x[0].tanh(), dist(Kind.NORMAL, D)));
        t.add(c("sigmoid", dist, x -> x[0].sigmoid(), dist(Kind.NORMAL, D)));
        t.add(c("relu", dist, x -> x[0].relu(), dist(Kind.AWAY, D)));
        t.add(c("softplus", dist, x -> x[0].softplus(), dist(Kind.NORMAL, D)));
        t.add(c("clip", dist, x -> x[0].clip(-0.5, 0.7), dist(Kind.NORMAL, D)));
        t.add(c("astype", dist, x -> x[0].astype(io.sparkgrad.np.DType.FLOAT64).mul(x[0]), dist(Kind.NORMAL, D)));
        t.add(c("sign times x", dist, x -> x[0].sign().mul(x[0]), dist(Kind.AWAY, D)));
        t.add(c("tan", dist, x -> x[0].tan(), dist(Kind.UNIT, D)));
        t.add(c("sinh", dist, x -> x[0].sinh(), dist(Kind.NORMAL, D)));
        t.add(c("cosh", dist, x -> x[0].cosh(), dist(Kind.NORMAL, D)));
        t.add(c("arcsin", dist, x -> x[0].arcsin(), dist(Kind.UNIT, D)));
        t.add(c("arccos", dist, x -> x[0].arccos(), dist(Kind.UNIT, D)));
        t.add(c("arctan", dist, x -> x[0].arctan(), dist(Kind.NORMAL, D)));
        t.add(c("arcsinh", dist, x -> x[0].arcsinh(), dist(Kind.NORMAL, D)));
        t.add(c("arccosh of 1 + x", dist, x -> x[0].add(1.0).arccosh(), dist(Kind.POSITIVE, D)));
        t.add(c("arctanh", dist, x -> x[0].arctanh(), dist(Kind.UNIT, D)));
        t.add(c("log2", dist, x -> x[0].log2(), dist(Kind.POSITIVE, D)));
        t.add(c("log10", dist, x -> x[0].log10(), dist(Kind.POSITIVE, D)));
        t.add(c("expm1", dist, x -> x[0].expm1(), dist(Kind.NORMAL, D)));
        t.add(c("log1p", dist, x -> x[0].log1p(), dist(Kind.POSITIVE, D)));
        t.add(c("reciprocal", dist, x -> x[0].reciprocal(), dist(Kind.AWAY, D)));
        t.add(c("cbrt", dist, x -> x[0].cbrt(), dist(Kind.AWAY, D)));
        t.add(c("rsqrt", dist, x -> x[0].rsqrt(), dist(Kind.POSITIVE, D)));
        t.add(c("rcbrt", dist, x -> x[0].rcbrt(), dist(Kind.AWAY, D)));
        t.add(c("radians and degrees", dist, x -> x[0].radians().add(x[0].degrees()), dist(Kind.NORMAL, D)));
        t.add(c("floor, ceil and round times x", dist, x -> x[0].mul(3.0).floor().add(x[0].mul(3.0).ceil())
            .add(x[0].mul(3.0).round()).mul(x[0]), dist(Kind.NORMAL, D)));
        t.add(c("erf", dist, x -> x[0].erf(), dist(Kind.NORMAL, D)));
        t.add(c("gelu", dist, x -> x[0].gelu(), dist(Kind.NORMAL, D)));
        t.add(c("logSigmoid", dist, x -> x[0].logSigmoid(), dist(Kind.NORMAL, D)));
        t.add(c("leakyRelu", dist, x -> x[0].leakyRelu(), dist(Kind.AWAY, D)));
        t.add(c("elu", dist, x -> x[0].elu(0.7), dist(Kind.AWAY, D)));

        // elementwise, two inputs: every operand placement the distributed backend accepts
        Object[][] binaries = {
            {"add", (Binary) NDArray::add, Kind.NORMAL, Kind.NORMAL},
            {"sub", (Binary) NDArray::sub, Kind.NORMAL, Kind.NORMAL},
            {"mul", (Binary) NDArray::mul, Kind.NORMAL, Kind.NORMAL},
            {"div", (Binary) NDArray::div, Kind.NORMAL, Kind.POSITIVE},
            {"pow", (Binary) NDArray::pow, Kind.POSITIVE, Kind.NORMAL},
            {"maximum", (Binary) NDArray::maximum, Kind.NORMAL, Kind.NORMAL},
            {"minimum", (Binary) NDArray::minimum, Kind.NORMAL, Kind.NORMAL},
            {"arctan2", (Binary) NDArray::arctan2, Kind.AWAY, Kind.AWAY},
            {"hypot", (Binary) NDArray::hypot, Kind.AWAY, Kind.AWAY},
        };
        for (Object[] b : binaries) {
            String name = (String) b[0];
            Binary f = (Binary) b[1];
            Kind left = (Kind) b[2];
            Kind right = (Kind) b[3];
            t.add(c(name + " dist(n,3) with dist(n,3)", dist, x -> f.apply(x[0], x[1]), dist(left, D), dist(right, D)));
            t.add(c(name + " dist(n,3) with local(3,)", dist, x -> f.apply(x[0], x[1]), dist(left, D), local(right, D)));
            t.add(c(name + " dist(n,3) with local(1,3)", dist, x -> f.apply(x[0], x[1]), dist(left, D), local(right, 1, D)));
            t.add(c(name + " dist(n,3) with scalar", dist, x -> f.apply(x[0], x[1]), dist(left, D), local(right)));
            t.add(c(name + " local(3,) with dist(n,3)", dist, x -> f.apply(x[0], x[1]), local(left, D), dist(right, D)));
            if (List.of("sub", "div").contains(name)) {
                // a distributed column broadcast along the row: its gradient is a sum along the row
                t.add(c(name + " dist(n,3) with dist(n,1)", dist, x -> f.apply(x[0], x[1]), dist(left, D), dist(right, 1)));
            }
        }
        t.add(c("maximum with ties", dist, x -> x[0].maximum(x[1]), dist(Kind.INTS, D), dist(Kind.INTS, D)));
        t.add(c("minimum with ties against local row", dist, x -> x[0].minimum(x[1]), dist(Kind.INTS, D),
            local(Kind.INTS, D)));
        t.add(c("rsub and rdiv (a scalar on the left)", dist, x -> x[0].rsub(2.0).add(x[0].rdiv(3.0)),
            dist(Kind.POSITIVE, D)));

        // comparisons: 0/1 constants, values only
        Object[][] comparisons = {
            {"gt", (Binary) NDArray::gt}, {"lt", (Binary) NDArray::lt}, {"ge", (Binary) NDArray::ge},
            {"le", (Binary) NDArray::le}, {"eq", (Binary) NDArray::eq},
        };
        for (Object[] cmp : comparisons) {
            String name = (String) cmp[0];
            Binary f = (Binary) cmp[1];
            t.add(c(name + " dist with dist", dist, x -> f.apply(x[0], x[1]), dist(Kind.INTS, D), dist(Kind.INTS, D)));
            t.add(c(name + " dist with local(3,)", dist, x -> f.apply(x[0], x[1]), dist(Kind.INTS, D), local(Kind.INTS, D)));
            t.add(c(name + " dist with scalar", dist, x -> f.apply(x[0], x[1]), dist(Kind.INTS, D), local(Kind.INTS)));
            t.add(c(name + " local(1,3) with dist", dist, x -> f.apply(x[0], x[1]), local(Kind.INTS, 1, D),
                dist(Kind.INTS, D)));
        }
        t.add(c("comparison as a mask", dist, x -> x[0].mul(x[0].gt(x[1])), dist(Kind.NORMAL, D), local(Kind.NORMAL, D)));

        // where, every operand may be local or distributed
        t.add(c("where all distributed", dist, x -> Np.where(x[0], x[1], x[2]),
            dist(Kind.BITS, D), dist(Kind.NORMAL, D), dist(Kind.NORMAL, D)));
        t.add(c("where dist cond, dist a, local row b", dist, x -> Np.where(x[0], x[1], x[2]),
            dist(Kind.BITS, D), dist(Kind.NORMAL, D), local(Kind.NORMAL, D)));
        t.add(c("where local row cond, dist a, scalar b", dist, x -> Np.where(x[0], x[1], x[2]),
            local(Kind.BITS, D), dist(Kind.NORMAL, D), local(Kind.NORMAL)));
        t.add(c("where dist cond, local (1,3) a, dist b", dist, x -> Np.where(x[0], x[1], x[2]),
            dist(Kind.BITS, D), local(Kind.NORMAL, 1, D), dist(Kind.NORMAL, D)));
        t.add(c("where dist cond, both local", dist, x -> Np.where(x[0], x[1], x[2]),
            dist(Kind.BITS, D), local(Kind.NORMAL, D), local(Kind.NORMAL)));

        // reductions: over everything and over axis 0 the result is local, along the row it is distributed
        Object[][] reductions = {
            {"sum", Kind.NORMAL}, {"max", Kind.NORMAL}, {"min", Kind.NORMAL}, {"norm", Kind.NORMAL},
            {"mean", Kind.NORMAL}, {"logSumExp", Kind.NORMAL},
        };
        for (Object[] r : reductions) {
            String name = (String) r[0];
            Kind kind = (Kind) r[1];
            t.add(c(name + " over all elements", local, x -> reduce(name, x[0], null, false), dist(kind, D)));
            for (int axis : new int[] {0, 1, -1}) {
                for (boolean keep : axis < 0 ? new boolean[] {false} : new boolean[] {false, true}) {
                    t.add(c(name + "(axis " + axis + (keep ? ", keepdims)" : ")"), axis == 0 ? local : dist,
                        x -> reduce(name, x[0], axis, keep), dist(kind, D)));
                }
            }
        }
        t.add(c("max over all with ties", local, x -> x[0].max(), dist(Kind.INTS, D)));
        t.add(c("min(axis 0) with ties", local, x -> x[0].min(0), dist(Kind.INTS, D)));
        t.add(c("max(axis 1) with ties", dist, x -> x[0].max(1), dist(Kind.INTS, D)));
        t.add(c("sum of a vector", local, x -> x[0].sum(), dist(Kind.NORMAL)));
        t.add(c("max of a vector (axis 0, keepdims)", local, x -> x[0].max(0, true), dist(Kind.NORMAL)));
        t.add(c("sum(axis 1) of 3-d", dist, x -> x[0].sum(1), dist(Kind.NORMAL, 2, D)));
        t.add(c("mean(axis 0) of 3-d", local, x -> x[0].mean(0), dist(Kind.NORMAL, 2, D)));
        t.add(c("norm of all zeros", local, x -> x[0].mul(0.0).norm(), dist(Kind.NORMAL, D)));
        t.add(c("softmax(axis 1)", dist, x -> x[0].softmax(1), dist(Kind.NORMAL, D)));
        t.add(c("logSoftmax(axis 1)", dist, x -> x[0].logSoftmax(1), dist(Kind.NORMAL, D)));
        t.add(c("softmax(axis 1) times weights", dist, x -> x[0].softmax(1).mul(x[1]), dist(Kind.NORMAL, D),
            dist(Kind.NORMAL, D)));

        // linear algebra
        t.add(c("matmul dist(n,3) local(3,2)", dist, x -> x[0].matmul(x[1]), dist(Kind.NORMAL, D), local(Kind.NORMAL, D, 2)));
        t.add(c("matmul dist(n,3) local(3,) vector", dist, x -> x[0].matmul(x[1]), dist(Kind.NORMAL, D),
            local(Kind.NORMAL, D)));
        t.add(c("dot dist(n,3) local(3,)", dist, x -> Np.dot(x[0], x[1]), dist(Kind.NORMAL, D), local(Kind.NORMAL, D)));
        t.add(c("X.T() matmul G, both distributed", local, x -> x[0].T().matmul(x[1]), dist(Kind.NORMAL, D),
            dist(Kind.NORMAL, 2)));
        t.add(c("X.T() matmul X (Gram matrix)", local, x -> x[0].T().matmul(x[0]), dist(Kind.NORMAL, D)));
        t.add(c("X.T() matmul G, G a vector", local, x -> x[0].T().matmul(x[1]), dist(Kind.NORMAL, D),
            dist(Kind.NORMAL)));
        t.add(c("one X.T() used in two contractions", local, x -> {
            NDArray xt = x[0].T();
            return xt.matmul(x[1]).sum().add(xt.matmul(x[1].square()).mul(xt.matmul(x[0])).sum());
        }, dist(Kind.NORMAL, D), dist(Kind.NORMAL, D)));
        t.add(c("dot of two distributed vectors", local, x -> Np.dot(x[0], x[1]), dist(Kind.NORMAL), dist(Kind.NORMAL)));
        t.add(c("two-layer net", local,
            x -> x[0].matmul(x[1]).add(x[2]).tanh().matmul(x[3]).relu().sum(),
            dist(Kind.NORMAL, D), local(Kind.NORMAL, D, 4), local(Kind.NORMAL, 4), local(Kind.NORMAL, 4, 2)));

        // shape
        t.add(c("transpose keeping axis 0 of 3-d", dist, x -> x[0].transpose(0, 2, 1).mul(x[1]),
            dist(Kind.NORMAL, 2, D), dist(Kind.NORMAL, D, 2)));
        t.add(c("transpose twice", dist, x -> x[0].T().T().mul(x[0]), dist(Kind.NORMAL, D)));
        t.add(c("reshape within rows (n,6) to (n,2,3)", dist, x -> x[0].reshape(x[0].shape()[0], 2, 3).mul(x[1]),
            dist(Kind.NORMAL, 6), local(Kind.NORMAL, 2, D)));
        t.add(c("reshape within rows (n,2,3) to (n,-1)", dist, x -> x[0].reshape(x[0].shape()[0], -1).square(),
            dist(Kind.NORMAL, 2, D)));
        t.add(c("broadcastTo within rows (n,1) to (n,4)", dist, x -> x[0].broadcastTo(x[0].shape()[0], 4).mul(x[1]),
            dist(Kind.NORMAL, 1), local(Kind.NORMAL, 4)));
        t.add(c("broadcastTo within rows (n,1,3) to (n,2,3)", dist,
            x -> x[0].broadcastTo(x[0].shape()[0], 2, D).square(), dist(Kind.NORMAL, 1, D)));
        t.add(c("slice along axis 1", dist, x -> x[0].slice(1, 1, 3).square(), dist(Kind.NORMAL, 4)));
        t.add(c("slice rows from the middle", dist, x -> {
            int n = (int) x[0].dim(0);
            return x[0].slice(0, 1, n - n / 3).square();
        }, dist(Kind.NORMAL, D)));
        t.add(c("slice rows to the end", dist, x -> {
            int n = (int) x[0].dim(0);
            return x[0].slice(0, n / 2, n).exp();
        }, dist(Kind.NORMAL, D)));
        t.add(c("slice rows then reduce", local, x -> {
            int n = (int) x[0].dim(0);
            return x[0].slice(0, n / 3, n - 1).mul(x[0].slice(0, n / 3, n - 1)).sum();
        }, dist(Kind.NORMAL, D)));
        t.add(c("concat along axis 1", dist, x -> Np.concat(List.of(x[0], x[1]), 1).mul(x[2]),
            dist(Kind.NORMAL, 2), dist(Kind.NORMAL, D), local(Kind.NORMAL, 5)));
        t.add(c("broadcastLike a local row to a distributed array", dist, x -> x[1].broadcastLike(x[0]).mul(x[0]),
            dist(Kind.NORMAL, D), local(Kind.NORMAL, 1, D)));
        t.add(c("broadcastLike a distributed column to a distributed array", dist,
            x -> x[1].broadcastLike(x[0]).mul(x[0]), dist(Kind.NORMAL, D), dist(Kind.NORMAL, 1)));
        t.add(c("pad along axis 1", dist, x -> x[0].pad(1, 1, 2).add(x[1]), dist(Kind.NORMAL, D), local(Kind.NORMAL, 6)));

        // gathers: a local table by distributed indices, a distributed table by local ones, scatterAdd
        t.add(c("take a local table by distributed indices", dist, x -> x[1].take(cyclicIndices(x[0].dim(0), 3)).mul(x[0]),
            dist(Kind.NORMAL, D), local(Kind.NORMAL, 3, D)));
        t.add(c("take a distributed table by local indices", local, x -> x[0].take(Np.array(0, 2, 0, -1)).exp(),
            dist(Kind.NORMAL, D)));
        t.add(c("scatterAdd distributed rows into a local table", local,
            x -> Np.scatterAdd(Np.zeros(3, D), cyclicIndices(x[0].dim(0), 3), x[0].square()), dist(Kind.NORMAL, D)));

        // losses
        t.add(c("mse of two distributed arrays", local, x -> Np.mse(x[0], x[1]), dist(Kind.NORMAL, D), dist(Kind.NORMAL, D)));
        t.add(c("mse against a local row", local, x -> Np.mse(x[0], x[1]), dist(Kind.NORMAL, D), local(Kind.NORMAL, D)));
        t.add(c("binaryCrossEntropyWithLogits", local, x -> Np.binaryCrossEntropyWithLogits(x[0].mul(4.0), x[1]),
            dist(Kind.NORMAL, D), dist(Kind.BITS, D)));
        t.add(c("softmaxCrossEntropy", local, x -> Np.softmaxCrossEntropy(x[0], x[1]),
            dist(Kind.NORMAL, 4), dist(Kind.ONE_HOT, 4)));
        t.add(c("linear regression with softmaxCrossEntropy", local,
            x -> Np.softmaxCrossEntropy(x[0].matmul(x[1]).add(x[2]), x[3]),
            dist(Kind.NORMAL, D), local(Kind.NORMAL, D, 4), local(Kind.NORMAL, 4), dist(Kind.ONE_HOT, 4)));
        return t;
    }

    static NDArray reduce(String name, NDArray x, Integer axis, boolean keepdims) {
        if (axis == null) {
            switch (name) {
                case "sum": return x.sum();
                case "max": return x.max();
                case "min": return x.min();
                case "norm": return x.norm();
                case "mean": return x.mean();
                case "logSumExp": return x.logSumExp();
                default: throw new AssertionError(name);
            }
        }
        switch (name) {
            case "sum": return x.sum(axis, keepdims);
            case "max": return x.max(axis, keepdims);
            case "min": return x.min(axis, keepdims);
            case "norm": return x.norm(axis, keepdims);
            case "mean": return x.mean(axis, keepdims);
            case "logSumExp": return x.logSumExp(axis, keepdims);
            default: throw new AssertionError(name);
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> args = new ArrayList<>();
        for (Case c : table()) {
            for (Rows r : LAYOUTS) {
                args.add(Arguments.of(c, r));
            }
        }
        return args.stream();
    }

    // ------------------------------------------------------------------ running a program

    /** What one run produced: the value, its placement, and each input's gradient and placement. */
    record Result(long[] shape, double[] value, boolean valueDistributed, boolean differentiable,
                  long[][] gradShapes, double[][] grads, boolean[] gradDistributed) {}

    /**
     * Runs the case on fresh copies of {@code data}: locally when {@code blocks} is 0, otherwise
     * with the inputs marked distributed split into that many blocks.
     */
    static Result run(Case c, NDArray[] data, int blocks) {
        NDArray[] xs = new NDArray[data.length];
        for (int i = 0; i < xs.length; i++) {
            NDArray copy = Np.array(data[i].shape(), data[i].toArray());
            xs[i] = blocks > 0 && c.inputs()[i].dist() ? Dist.fromLocal(copy, blocks) : copy;
            xs[i].attachGrad();
        }
        NDArray y;
        try (var r = Autograd.record()) {
            y = c.fn().apply(xs);
        }
        double[] value = y.toArray();
        boolean differentiable = y.requiresGrad();
        long[][] gradShapes = new long[xs.length][];
        double[][] grads = new double[xs.length][];
        boolean[] gradDist = new boolean[xs.length];
        if (differentiable) {
            // back-propagate a random head gradient, not the ones of sum(y): a rule, or a plan of
            // the distributed engine, that ignores or misplaces its incoming gradient then fails
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = y.mul(headGradient(c, y.shape())).sum();
            }
            loss.backward();
            for (int i = 0; i < xs.length; i++) {
                NDArray g = xs[i].grad();
                gradShapes[i] = g.shape();
                grads[i] = g.toArray();
                gradDist[i] = g.isDistributed();
            }
        }
        return new Result(y.shape(), value, y.isDistributed(), differentiable, gradShapes, grads, gradDist);
    }

    /**
     * The head gradient of a case: a local array of {@code shape}, the same in the local and the
     * distributed run, of magnitudes in [0.5, 1.5) and random signs, different per element.
     */
    static NDArray headGradient(Case c, long[] shape) {
        Random r = new Random(c.name().hashCode() * 131L + Arrays.hashCode(shape));
        double[] d = new double[Shape.size(Shape.toInt("head", shape))];
        for (int i = 0; i < d.length; i++) {
            double m = 0.5 + r.nextDouble();
            d[i] = r.nextBoolean() ? m : -m;
        }
        return Np.array(Shape.toInt("head", shape), d);
    }

    private static final Map<String, Result> REFERENCE = new ConcurrentHashMap<>();
    private static final AtomicLong COMPARED = new AtomicLong();
    private static final AtomicLong INEXACT = new AtomicLong();
    private static final List<String> INEXACT_CASES = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterAll
    static void reportExactness() {
        System.out.println("DistDifferentialTest: " + COMPARED.get() + " elements compared, " + INEXACT.get()
            + " differed in the last bits (within rtol " + RTOL + ")" + (INEXACT_CASES.isEmpty() ? ""
            : "; in: " + String.join(", ", new java.util.TreeSet<>(INEXACT_CASES))));
    }

    /** |a - b| <= rtol * max(1, |a|, |b|) per element; NaN matches NaN and infinities match themselves. */
    static void assertClose(String what, String where, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what + ": number of elements");
        for (int i = 0; i < expected.length; i++) {
            double a = expected[i];
            double b = actual[i];
            COMPARED.incrementAndGet();
            if (Double.compare(a + 0.0, b + 0.0) == 0 || a == b) {
                continue;
            }
            double scale = Math.max(1.0, Math.max(Math.abs(a), Math.abs(b)));
            if (!(Math.abs(a - b) <= RTOL * scale)) {
                fail(what + ": element " + i + " is " + b + " distributed but " + a + " locally\n  local:       "
                    + Arrays.toString(expected) + "\n  distributed: " + Arrays.toString(actual));
            }
            INEXACT.incrementAndGet();
            INEXACT_CASES.add(where);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void distributedValueAndGradientsMatchTheLocalEngine(Case c, Rows rows) {
        NDArray[] data = c.data(rows.rows());
        Result want = REFERENCE.computeIfAbsent(c.name() + "@" + rows.rows(), k -> run(c, data, 0));
        Result got = run(c, data, rows.blocks());
        String where = c.name();

        assertArrayEquals(want.shape(), got.shape(), "shape of the result");
        assertEquals(c.out() == Placement.DIST, got.valueDistributed(), "placement of the result");
        assertClose("value", where, want.value(), got.value());
        assertEquals(want.differentiable(), got.differentiable(), "whether the result requires a gradient");
        if (!want.differentiable()) {
            return;
        }
        for (int i = 0; i < data.length; i++) {
            String what = "gradient of input " + i + " (" + (c.inputs()[i].dist() ? "distributed" : "local") + ", shape "
                + Shape.str(data[i].shape()) + ")";
            assertArrayEquals(data[i].shape(), got.gradShapes()[i], what + ": shape");
            assertEquals(c.inputs()[i].dist(), got.gradDistributed()[i], what + ": placement");
            assertClose(what, where, want.grads()[i], got.grads()[i]);
        }
    }

    @Test
    void theTableCoversEveryDifferentiableOpWithADistributedOperand() {
        java.util.Set<String> covered = new java.util.TreeSet<>();
        for (Case c : table()) {
            assertTrue(Arrays.stream(c.inputs()).anyMatch(Input::dist), c.name() + " has no distributed input");
            NDArray[] xs = c.data(4);
            for (NDArray x : xs) {
                x.attachGrad();
            }
            try (var r = Autograd.record()) {
                covered.addAll(opNames(c.fn().apply(xs)));
            }
        }
        java.util.Set<String> all = new java.util.TreeSet<>();
        for (var op : io.sparkgrad.np.Ops.all()) {
            if (op.isDifferentiable()) {
                all.add(op.name());
            }
        }
        all.removeAll(covered);
        assertEquals(java.util.Set.of(), all, "differentiable ops with no distributed differential case");
    }

    /** The names of the ops recorded in the graph that produced {@code out}. */
    static java.util.Set<String> opNames(NDArray out) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        java.util.Deque<NDArray> todo = new java.util.ArrayDeque<>(List.of(out));
        java.util.Set<Long> seen = new java.util.HashSet<>();
        while (!todo.isEmpty()) {
            var m = todo.pop().autogradMetaOrNull();
            var n = m == null ? null : m.creator();
            if (n != null && seen.add(n.id())) {
                names.add(n.op().name());
                todo.addAll(List.of(n.inputs()));
            }
        }
        return names;
    }

    // ------------------------------------------------------------------ layouts

    @Test
    void evenLayoutOfMoreBlocksThanRowsHasEmptyBlocksAndTheDataSurvives() {
        Layout l = Layout.even(3, 5, new int[] {2});
        int[] sizes = new int[l.numBlocks()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = l.blockRows(i);
        }
        assertArrayEquals(new int[] {0, 1, 0, 1, 1}, sizes);
        assertEquals(3, l.rows());

        NDArray x = Np.arange(6.0).reshape(3, 2);
        DistArray d = (DistArray) Dist.fromLocal(x, 5);
        assertEquals(5, d.numBlocks());
        assertEquals(5, d.rdd().getNumPartitions());
        List<Block> blocks = d.rdd().collect();
        assertEquals(5, blocks.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(i, blocks.get(i).index());
            assertEquals(sizes[i], blocks.get(i).rows());
            assertEquals(l.rowStart(i), blocks.get(i).rowStart());
        }
        assertArrayEquals(x.toArray(), d.toArray());
        assertArrayEquals(new double[] {-1, 0, 1, 2, 3, 4}, d.sub(1.0).toArray());
    }

    @Test
    void theLayoutsOfTheTableSplitRowsUnevenly() {
        Layout two = Layout.even(11, 2, new int[] {3});
        assertEquals(5, two.blockRows(0));
        assertEquals(6, two.blockRows(1));
        Layout seven = Layout.even(11, 7, new int[] {3});
        int[] sizes = new int[7];
        for (int i = 0; i < 7; i++) {
            sizes[i] = seven.blockRows(i);
        }
        assertArrayEquals(new int[] {1, 2, 1, 2, 1, 2, 2}, sizes);
        Layout three = Layout.even(10, 3, new int[0]);
        assertArrayEquals(new int[] {3, 3, 4}, new int[] {three.blockRows(0), three.blockRows(1), three.blockRows(2)});
    }

    // ------------------------------------------------------------------ determinism

    /** A program with every kind of cross-block combination: reductions, contractions, a dot. */
    static NDArray program(NDArray x, NDArray g, NDArray w) {
        NDArray h = x.matmul(w).tanh();
        NDArray gram = x.T().matmul(g);
        return h.logSumExp(1).sum().add(gram.square().sum()).add(x.norm().mul(x.max()))
            .add(Np.softmaxCrossEntropy(h, g.softmax(1))).add(Np.dot(x.sum(1), g.mean(1))).add(x.logSumExp());
    }

    @Test
    void theSameDistributedProgramGivesBitIdenticalValuesAndGradients() {
        Random r = new Random(7);
        int n = 23;
        double[] xd = new double[n * 3];
        double[] gd = new double[n * 3];
        for (int i = 0; i < xd.length; i++) {
            xd[i] = r.nextGaussian() * 1e3;
            gd[i] = r.nextGaussian();
        }
        NDArray wl = Np.array(new double[][] {{0.3, -0.2, 0.1}, {0.5, 0.4, -0.7}, {-0.1, 0.2, 0.6}}).mul(1e-3);
        double[][] first = null;
        for (int run = 0; run < 2; run++) {
            NDArray x = Dist.fromLocal(Np.array(new int[] {n, 3}, xd), 7);
            NDArray g = Dist.fromLocal(Np.array(new int[] {n, 3}, gd), 7);
            NDArray w = Np.array(wl.shape(), wl.toArray());
            x.attachGrad();
            g.attachGrad();
            w.attachGrad();
            NDArray y;
            try (var rec = Autograd.record()) {
                y = program(x, g, w);
            }
            double value = y.item();
            y.backward();
            double[][] out = {{value}, x.grad().toArray(), g.grad().toArray(), w.grad().toArray()};
            if (first == null) {
                first = out;
            } else {
                for (int k = 0; k < out.length; k++) {
                    assertTrue(Arrays.equals(first[k], out[k]), "run 2 differs from run 1 in output " + k + ":\n"
                        + Arrays.toString(first[k]) + "\n" + Arrays.toString(out[k]));
                }
            }
        }
    }

    @Test
    void secondOrderThroughRowContractionsMatchesTheLocalEngine() {
        Random r = new Random(11);
        int n = 9;
        double[] xd = new double[n * 3];
        double[] vd = new double[n * 3];
        for (int i = 0; i < xd.length; i++) {
            xd[i] = r.nextGaussian();
            vd[i] = r.nextGaussian();
        }
        NDArray xl = Np.array(new int[] {n, 3}, xd);
        NDArray vl = Np.array(new int[] {n, 3}, vd);
        java.util.function.UnaryOperator<NDArray> f =
            x -> x.T().matmul(x).square().sum().add(x.softmax(1).square().sum()).add(x.logSumExp());
        NDArray want = Autograd.hessianVectorProduct(f, xl, vl);
        NDArray got = Autograd.hessianVectorProduct(f, Dist.fromLocal(xl, 4), Dist.fromLocal(vl, 4));
        assertTrue(got.isDistributed());
        assertClose("Hessian-vector product", "second order", want.toArray(), got.toArray());
    }

    // ------------------------------------------------------------------ clear errors

    /** Indices 0, 1, ..., k - 1, 0, 1, ... for {@code n} rows, distributed in two blocks. */
    static NDArray cyclicIndices(long n, int k) {
        double[] idx = new double[(int) n];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i % k;
        }
        return Dist.fromLocal(Np.array(idx), 2);
    }

    static NDArray dist10x3(int blocks) {
        return Dist.fromLocal(Np.arange(30.0).reshape(10, 3), blocks);
    }

    @Test
    void addingArraysWithDifferentLayoutsMovesTheRowsAndGivesTheLocalSum() {
        NDArray a = dist10x3(2);
        NDArray b = dist10x3(3);
        NDArray l = a.toLocal();
        assertArrayEquals(l.add(b.toLocal()).toArray(), a.add(b).toArray(), 0.0);
        // the transposed views of the two: the same rows moved
        assertArrayEquals(l.T().add(b.toLocal().T()).toArray(), a.T().add(b.T()).toArray(), 0.0);
    }

    @Test
    void aProductOfTwoDistributedArraysNotSplitAlongItsContractionCollectsTheSmallerOrTilesBoth() {
        NDArray x = dist10x3(2);
        NDArray wl = Np.arange(6.0).reshape(3, 2).sub(2);
        NDArray w = Dist.fromLocal(wl, 2);
        NDArray xl = x.toLocal();
        NDArray xw = x.matmul(w);
        assertTrue(xw.isDistributed(), "the big operand stays in its blocks");
        assertArrayEquals(xl.matmul(wl).toArray(), xw.toArray(), 0.0);
        assertArrayEquals(wl.T().matmul(xl.T()).toArray(), w.T().matmul(x.T()).toArray(), 0.0);
        long limit = Dist.maxLocalBytes();
        NDArray tiled;
        try {
            Dist.setMaxLocalBytes(40); // neither (10, 3) nor (3, 2) fits: both are cut into tiles
            tiled = x.matmul(w);
        } finally {
            Dist.setMaxLocalBytes(limit);
        }
        assertTrue(tiled.isDistributed());
        assertArrayEquals(xl.matmul(wl).toArray(), tiled.toArray(), 1e-12, "tiled product");
    }

    @Test
    void aReshapeAcrossRowsMovesTheElementsAndItsGradientMovesThemBack() {
        NDArray xl = Np.arange(30.0).reshape(10, 3).div(10);
        for (int blocks : new int[] {1, 2, 3, 14}) {
            NDArray x = Dist.fromLocal(xl, blocks);
            for (long[] shape : new long[][] {{5, 6}, {30}, {15, 2}, {2, 3, 5}, {30, 1}}) {
                NDArray r = x.reshape(shape);
                assertTrue(r.isDistributed(), Arrays.toString(shape));
                assertArrayEquals(shape, r.shape());
                assertArrayEquals(xl.toArray(), r.toArray(), 0.0, blocks + " blocks to " + Arrays.toString(shape));
            }
            x.attachGrad();
            NDArray loss;
            try (var rec = Autograd.record()) {
                loss = x.reshape(5, 6).sin().mul(Np.arange(6.0)).sum();
            }
            loss.backward();
            assertArrayEquals(xl.reshape(5, 6).cos().mul(Np.arange(6.0)).reshape(10, 3).toArray(), x.grad().toArray(),
                1e-12, blocks + " blocks");
        }
    }

    @Test
    void aLocalOperandHoldingEveryRowIsSplitIntoTheBlocks() {
        NDArray x = dist10x3(3);
        NDArray full = Np.arange(30.0).reshape(10, 3).mul(-0.5);
        NDArray xl = x.toLocal();
        assertArrayEquals(xl.add(full).toArray(), x.add(full).toArray(), 0.0);
        assertArrayEquals(full.sub(xl).toArray(), full.sub(x).toArray(), 0.0);
        assertTrue(full.mul(x).isDistributed());
        NDArray column = Np.arange(10.0).reshape(10, 1); // every row, broadcast along the columns
        assertArrayEquals(xl.mul(column).toArray(), x.mul(column).toArray(), 0.0);
        assertArrayEquals(Np.where(full.lt(-5), x, full).toArray(), Np.where(full.lt(-5), xl, full).toArray(), 0.0);
    }

    @Test
    void aTransposeIsSplitIntoColumnBlocksThatOpsUseLikeAnyArray() {
        for (int blocks : new int[] {1, 2, 7, 14}) { // 14 blocks of 10 rows: some empty
            transposeOpsAgreeWithTheLocalEngine(dist10x3(blocks));
        }
    }

    @Test
    void aTransposeIsReducedAsWellWithoutBlockPrograms() {
        Dist.setBlockPrograms(false); // the partials of each reduction come from whole blocks
        try {
            transposeOpsAgreeWithTheLocalEngine(dist10x3(3));
        } finally {
            Dist.setBlockPrograms(true);
        }
    }

    private static void transposeOpsAgreeWithTheLocalEngine(NDArray x) {
        NDArray xt = x.T();
        NDArray lt = Np.arange(30.0).reshape(10, 3).T();
        assertArrayEquals(new long[] {3, 10}, xt.shape());
        assertEquals(1, ((DistArray) xt).layout().axis());
        List<java.util.function.UnaryOperator<NDArray>> ops = List.of(
            a -> a.exp().div(1e10), a -> a.add(1.0), a -> a.sum(), a -> a.sum(1), a -> a.sum(0), a -> a.max(1, true),
            a -> a.slice(1, 2, 7), a -> a.slice(0, 1, 3), a -> a.clip(3, 12), a -> a.mul(Np.array(new double[][] {{1}, {2}, {3}})),
            a -> Np.ones(2, 3).matmul(a), a -> a.T(), a -> a.add(a.mul(2)).square().mean(), a -> a.reshape(3, 10, 1),
            a -> a.pad(1, 2, 1), a -> a.transpose().sum(0), a -> a.reshape(30, 1), a -> a.matmul(Np.ones(10, 2)),
            a -> a.reshape(3, 5, 2).sum(1));
        for (int k = 0; k < ops.size(); k++) {
            NDArray d = ops.get(k).apply(xt);
            NDArray l = ops.get(k).apply(lt);
            String what = "op " + k + ", " + ((DistArray) x).numBlocks() + " blocks";
            assertArrayEquals(l.shape(), d.shape(), what);
            assertArrayEquals(l.toArray(), d.toArray(), 1e-12, what);
        }
        assertTrue(xt.T().isDistributed());
        assertEquals(0, ((DistArray) xt.T()).layout().axis(), "a transpose of a transpose is split in rows again");
    }

    @Test
    void gradientsFlowThroughOpsOnATranspose() {
        NDArray xl = Np.arange(30.0).reshape(10, 3).div(10);
        double[][] local = gradientsThroughATranspose(xl.mul(1));
        for (int blocks : new int[] {1, 2, 7, 14}) {
            double[][] dist = gradientsThroughATranspose(Dist.fromLocal(xl, blocks));
            for (int i = 0; i < local.length; i++) {
                assertArrayEquals(local[i], dist[i], 1e-12, "result " + i + ", " + blocks + " blocks");
            }
        }
    }

    private static double[][] gradientsThroughATranspose(NDArray x) {
        x.attachGrad();
        NDArray w = Np.array(new double[][] {{1, -1}, {0.5, 2}});
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray t = x.T();                          // (3, 10), blocks of columns
            loss = t.exp().mul(t.sin()).sum().add(w.matmul(t.slice(0, 0, 2)).square().sum());
        }
        loss.backward();
        return new double[][] {{loss.item()}, x.grad().toArray(), w.grad().toArray()};
    }

    @Test
    void aConcatAlongTheRowsKeepsThePartsBlocksAndItsGradientPicksThemAgain() {
        NDArray al = Np.arange(30.0).reshape(10, 3).div(10);
        NDArray bl = Np.arange(12.0).reshape(4, 3).sub(5);
        NDArray cl = Np.ones(2, 3).mul(0.25);
        NDArray a = Dist.fromLocal(al, 2);
        NDArray b = Dist.fromLocal(bl, 3);
        NDArray joined = Np.concat(a, cl, b); // a local part in the middle becomes blocks of its own
        assertEquals(2 + 1 + 3, ((DistArray) joined).numBlocks());
        assertArrayEquals(Np.concat(al, cl, bl).toArray(), joined.toArray(), 0.0);
        a.attachGrad();
        b.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray j = Np.concat(a, b, a);
            loss = j.tanh().mul(Np.arange(24.0).reshape(24, 1)).sum();
        }
        loss.backward();
        NDArray weights = Np.arange(24.0).reshape(24, 1);
        NDArray ga = al.tanh().square().rsub(1).mul(weights.slice(0, 0, 10).add(weights.slice(0, 14, 24)));
        NDArray gb = bl.tanh().square().rsub(1).mul(weights.slice(0, 10, 14));
        assertArrayEquals(ga.toArray(), a.grad().toArray(), 1e-12);
        assertArrayEquals(gb.toArray(), b.grad().toArray(), 1e-12);
    }

    @Test
    void aConcatAlongColumnsWithALocalPartSplitsItIntoTheBlocks() {
        NDArray a = dist10x3(2);
        NDArray local = Np.ones(10, 2).mul(Np.arange(10.0).reshape(10, 1));
        NDArray joined = Np.concat(List.of(a, local), 1);
        assertTrue(joined.isDistributed());
        assertArrayEquals(Np.concat(List.of(a.toLocal(), local), 1).toArray(), joined.toArray(), 0.0);
    }

    @Test
    void toLocalAboveTheLimitIsRefusedBeforeAnyJob() {
        NDArray x = dist10x3(2);
        long before = Dist.maxLocalBytes();
        try {
            Dist.setMaxLocalBytes(100);
            IllegalStateException e = assertThrows(IllegalStateException.class, x::toLocal);
            String m = e.getMessage();
            assertTrue(m.startsWith("toLocal:"), m);
            assertTrue(m.contains("(10, 3)") && m.contains("240 bytes") && m.contains("100 bytes"), m);
            assertTrue(m.contains("Dist.setMaxLocalBytes"), m);
            // a reduction is small enough
            assertEquals(435.0, x.sum().item());
        } finally {
            Dist.setMaxLocalBytes(before);
        }
        assertEquals(before, Dist.maxLocalBytes());
        assertEquals(30, x.toArray().length);
    }

    @Test
    void aTransposedDistributedArrayTimesALocalOneLinesTheLocalUpWithItsColumns() {
        NDArray x = dist10x3(3);
        NDArray m = Np.arange(20.0).reshape(10, 2).div(7);
        assertArrayEquals(x.toLocal().T().matmul(m).toArray(), x.T().matmul(m).toArray(), 1e-12);
        NDArray l = Np.arange(20.0).reshape(2, 10).div(3); // a local matrix times the rows
        assertArrayEquals(l.matmul(x.toLocal()).toArray(), l.matmul(x).toArray(), 1e-12);
    }

}
