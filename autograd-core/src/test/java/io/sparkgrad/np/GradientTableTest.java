package io.sparkgrad.np;

import io.sparkgrad.autograd.ArrayFunction;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.AutogradMeta;
import io.sparkgrad.autograd.GradCheck;
import io.sparkgrad.autograd.Node;
import io.sparkgrad.autograd.Op;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One table of gradient checks over every differentiable op, against central finite differences:
 * broadcasting in every direction, reductions along each axis with and without keepdims, shape
 * ops, and fan-out; every row is checked to first and to second order (gradients recorded with
 * {@code createGraph} and differentiated again). {@link GradCheck} back-propagates a random head
 * gradient of both signs (not the ones of {@code sum(y)}), and at second order differentiates with
 * respect to that head gradient too, so a rule that ignores, or detaches, its incoming gradient
 * fails its row. {@link #everyDifferentiableOpIsInTheTable} fails when an op is added to the
 * rule table without a row here.
 */
class GradientTableTest {

    /** One row: a name, the function, and its inputs. */
    record Case(String name, ArrayFunction fn, NDArray... inputs) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static long seed = 1;

    /** Normal samples with a fixed seed per call. */
    static NDArray randn(int... shape) {
        Np.seed(seed++);
        return Np.randomNormal(0, 1, shape);
    }

    /** Samples in [lo, hi). */
    static NDArray uniform(double lo, double hi, int... shape) {
        Np.seed(seed++);
        return Np.randomUniform(lo, hi, shape);
    }

    /** Normal samples pushed at least 0.1 away from 0, where abs, relu and sign have kinks. */
    static NDArray awayFromZero(int... shape) {
        NDArray x = randn(shape);
        return x.add(x.sign().mul(0.1)).add(x.eq(0).mul(0.5));
    }

    static Case c(String name, ArrayFunction fn, NDArray... inputs) {
        return new Case(name, fn, inputs);
    }

    static List<Case> cases() {
        List<Case> t = new ArrayList<>();
        // elementwise, one input
        t.add(c("neg", x -> x[0].neg(), randn(3, 4)));
        t.add(c("exp", x -> x[0].exp(), randn(3, 4)));
        t.add(c("log", x -> x[0].log(), uniform(0.5, 3, 3, 4)));
        t.add(c("sqrt", x -> x[0].sqrt(), uniform(0.5, 3, 3, 4)));
        t.add(c("abs", x -> x[0].abs(), awayFromZero(3, 4)));
        t.add(c("square", x -> x[0].square(), randn(3, 4)));
        t.add(c("sin", x -> x[0].sin(), randn(3, 4)));
        t.add(c("cos", x -> x[0].cos(), randn(3, 4)));
        t.add(c("tanh", x -> x[0].tanh(), randn(3, 4)));
        t.add(c("sigmoid", x -> x[0].sigmoid(), randn(3, 4).mul(3)));
        t.add(c("relu", x -> x[0].relu(), awayFromZero(3, 4)));
        t.add(c("softplus", x -> x[0].softplus(), randn(3, 4).mul(3)));
        t.add(c("clip", x -> x[0].clip(-0.5, 0.5),
            Np.array(new int[] {2, 3}, new double[] {-1.2, -0.3, 0.1, 0.45, 0.7, -0.6})));
        // float64 to float64: a copy with an exact gradient (a float32 round trip is tested in DTypeTest)
        t.add(c("astype", x -> x[0].astype(DType.FLOAT64).mul(x[0]), randn(3, 4)));
        t.add(c("tan", x -> x[0].tan(), uniform(-1.2, 1.2, 3, 4)));
        t.add(c("sinh", x -> x[0].sinh(), randn(3, 4)));
        t.add(c("cosh", x -> x[0].cosh(), randn(3, 4)));
        t.add(c("arcsin", x -> x[0].arcsin(), uniform(-0.9, 0.9, 3, 4)));
        t.add(c("arccos", x -> x[0].arccos(), uniform(-0.9, 0.9, 3, 4)));
        t.add(c("arctan", x -> x[0].arctan(), randn(3, 4).mul(2)));
        t.add(c("arcsinh", x -> x[0].arcsinh(), randn(3, 4).mul(3)));
        t.add(c("arccosh", x -> x[0].arccosh(), uniform(1.2, 4, 3, 4)));
        t.add(c("arctanh", x -> x[0].arctanh(), uniform(-0.9, 0.9, 3, 4)));
        t.add(c("log2", x -> x[0].log2(), uniform(0.5, 3, 3, 4)));
        t.add(c("log10", x -> x[0].log10(), uniform(0.5, 3, 3, 4)));
        t.add(c("expm1", x -> x[0].expm1(), randn(3, 4)));
        t.add(c("log1p", x -> x[0].log1p(), uniform(-0.5, 2, 3, 4)));
        t.add(c("reciprocal", x -> x[0].reciprocal(), awayFromZero(3, 4)));
        t.add(c("cbrt", x -> x[0].cbrt(), awayFromZero(3, 4)));
        t.add(c("rsqrt", x -> x[0].rsqrt(), uniform(0.5, 3, 3, 4)));
        t.add(c("rcbrt", x -> x[0].rcbrt(), awayFromZero(3, 4)));
        t.add(c("erf", x -> x[0].erf(), randn(3, 4).mul(1.5)));
        t.add(c("gelu", x -> x[0].gelu(), randn(3, 4).mul(2)));
        t.add(c("logSigmoid", x -> x[0].logSigmoid(), randn(3, 4).mul(3)));
        // composites: a multiplication, where with mul, where with expm1
        t.add(c("radians and degrees", x -> x[0].radians().sin().add(x[0].degrees().mul(0.01).cos()), randn(3, 4)));
        t.add(c("leakyRelu", x -> x[0].leakyRelu(), awayFromZero(3, 4)));
        t.add(c("leakyRelu(-0.3)", x -> x[0].leakyRelu(-0.3), awayFromZero(3, 4)));
        t.add(c("elu", x -> x[0].elu(), awayFromZero(3, 4)));
        t.add(c("elu(0.7)", x -> x[0].elu(0.7), awayFromZero(3, 4)));

        // elementwise, two inputs, with broadcasting in every direction
        int[][][] shapes = {
            {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{4}, {3, 4}}, {{3, 1}, {1, 4}},
            {{}, {3, 4}}, {{2, 3, 4}, {3, 1}}, {{2, 1, 4}, {2, 3, 1}},
        };
        for (int[][] s : shapes) {
            String dims = Shape.str(s[0]) + Shape.str(s[1]);
            t.add(c("add" + dims, x -> x[0].add(x[1]), randn(s[0]), randn(s[1])));
            t.add(c("sub" + dims, x -> x[0].sub(x[1]), randn(s[0]), randn(s[1])));
            t.add(c("mul" + dims, x -> x[0].mul(x[1]), randn(s[0]), randn(s[1])));
            t.add(c("div" + dims, x -> x[0].div(x[1]), randn(s[0]), uniform(0.5, 2, s[1])));
            t.add(c("pow" + dims, x -> x[0].pow(x[1]), uniform(0.5, 2, s[0]), randn(s[1])));
            t.add(c("maximum" + dims, x -> x[0].maximum(x[1]), randn(s[0]), randn(s[1])));
            t.add(c("minimum" + dims, x -> x[0].minimum(x[1]), randn(s[0]), randn(s[1])));
            t.add(c("arctan2" + dims, x -> x[0].arctan2(x[1]), awayFromZero(s[0]), awayFromZero(s[1])));
            t.add(c("hypot" + dims, x -> x[0].hypot(x[1]), awayFromZero(s[0]), awayFromZero(s[1])));
        }
        t.add(c("pow scalar exponent", x -> x[0].pow(3.0), randn(3, 4)));
        t.add(c("arctan2 and hypot with a scalar", x -> x[0].arctan2(-0.7).add(x[0].hypot(1.5)), randn(3, 4)));
        t.add(c("rsub and rdiv", x -> x[0].rsub(2.0).add(x[0].rdiv(3.0)), uniform(0.5, 2, 5)));
        t.add(c("where broadcast", x -> Np.where(x[0].gt(0), x[1], x[2]).mul(x[3]),
            randn(3, 4), randn(4), randn(3, 1), randn(3, 4)));

        // reductions
        t.add(c("sum", x -> x[0].sum(), randn(3, 4)));
        for (int axis : new int[] {0, 1, -1}) {
            for (boolean keep : new boolean[] {false, true}) {
                String tag = "(axis " + axis + (keep ? ", keepdims)" : ")");
                t.add(c("sum" + tag, x -> x[0].sum(axis, keep), randn(2, 3, 4)));
                t.add(c("max" + tag, x -> x[0].max(axis, keep), randn(2, 3, 4)));
                t.add(c("min" + tag, x -> x[0].min(axis, keep), randn(2, 3, 4)));
                t.add(c("norm" + tag, x -> x[0].norm(axis, keep), randn(2, 3, 4)));
                t.add(c("mean" + tag, x -> x[0].mean(axis, keep), randn(2, 3, 4)));
                t.add(c("logSumExp" + tag, x -> x[0].logSumExp(axis, keep), randn(2, 3, 4)));
            }
        }
        t.add(c("max", x -> x[0].max(), randn(3, 4)));
        t.add(c("min", x -> x[0].min(), randn(3, 4)));
        t.add(c("norm", x -> x[0].norm(), randn(3, 4)));
        t.add(c("mean", x -> x[0].mean(), randn(3, 4)));
        t.add(c("logSumExp", x -> x[0].logSumExp(), randn(3, 4)));
        t.add(c("softmax", x -> x[0].softmax(), randn(3, 4)));
        t.add(c("logSoftmax(axis 0)", x -> x[0].logSoftmax(0), randn(3, 4)));

        // shape
        t.add(c("broadcastTo", x -> x[0].broadcastTo(2, 3, 4), randn(3, 1)));
        t.add(c("broadcastLike", x -> x[0].broadcastLike(Np.zeros(2, 3, 4)), randn(3, 1)));
        t.add(c("broadcastTo 0-d", x -> x[0].broadcastTo(2, 3), randn()));
        t.add(c("reshape", x -> x[0].reshape(4, -1), randn(2, 3, 2)));
        t.add(c("transpose", x -> x[0].T(), randn(3, 4)));
        t.add(c("transpose perm", x -> x[0].transpose(1, 2, 0), randn(2, 3, 4)));
        t.add(c("slice axis 0", x -> x[0].slice(0, 1, 3), randn(4, 3)));
        t.add(c("slice axis 1", x -> x[0].slice(1, 1, 2), randn(4, 3)));
        t.add(c("pad", x -> x[0].pad(1, 2, 1), randn(2, 3)));
        t.add(c("get", x -> x[0].get(1).add(x[0].get(-1, 2)), randn(3, 4)));
        t.add(c("concat axis 0", x -> Np.concat(x[0], x[1], x[2]), randn(1, 3), randn(2, 3), randn(3, 3)));
        t.add(c("concat axis 1", x -> Np.concat(List.of(x[0], x[1]), 1), randn(2, 1), randn(2, 3)));
        // gathers: repeated and negative indices; squared so the second order is not trivially zero
        t.add(c("take", x -> x[0].take(Np.array(2, 0, 2, -1)).square(), randn(4, 3)));
        t.add(c("take 2-D indices", x -> x[0].take(Np.array(new int[] {2, 2}, new double[] {1, 0, 4, 1})).mul(x[1]),
            randn(5), randn(2, 2)));
        t.add(c("scatterAdd", x -> Np.scatterAdd(x[0], Np.array(1, 3, 1), x[1]).square(), randn(4, 2), randn(3, 2)));
        t.add(c("sumTo", x -> x[0].sumTo(3, 1), randn(2, 3, 4)));

        // linear algebra
        t.add(c("matmul", x -> x[0].matmul(x[1]), randn(3, 4), randn(4, 5)));
        t.add(c("matmul vector right", x -> x[0].matmul(x[1]), randn(3, 4), randn(4)));
        t.add(c("matmul vector left", x -> x[0].matmul(x[1]), randn(4), randn(4, 2)));
        t.add(c("dot vectors", x -> Np.dot(x[0], x[1]), randn(5), randn(5)));
        t.add(c("dot N-d with 1-d", x -> Np.dot(x[0], x[1]), randn(2, 3, 4), randn(4)));

        // losses
        t.add(c("mse", x -> Np.mse(x[0], x[1]), randn(6), randn(6)));
        t.add(c("binaryCrossEntropyWithLogits", x -> Np.binaryCrossEntropyWithLogits(x[0], x[1]),
            randn(6).mul(4), Np.array(0, 1, 1, 0, 1, 0)));
        t.add(c("softmaxCrossEntropy", x -> Np.softmaxCrossEntropy(x[0], x[1]),
            randn(3, 4), Np.array(new double[][] {{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 1}})));

        // fan-out: one input reaching the output along several paths
        t.add(c("fan-out", x -> x[0].mul(x[0]).add(x[0].sin().mul(x[0])).sum(0).mul(x[0].max()), randn(3, 2)));
        t.add(c("two-layer net", x -> x[0].matmul(x[1]).add(x[2]).tanh().matmul(x[3]).relu().sum(),
            randn(5, 3), randn(3, 4), randn(4), randn(4, 2)));
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferences(Case c) {
        GradCheck.check(c.fn(), c.inputs());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void secondDerivativesMatchFiniteDifferences(Case c) {
        GradCheck.gradgradcheck(c.fn(), c.inputs());
    }

    /** exp with a backward that is handed to it: the table's check must catch a wrong one. */
    static final class ExpWithRule extends io.sparkgrad.autograd.Function {
        private final java.util.function.BinaryOperator<NDArray> rule;

        ExpWithRule(java.util.function.BinaryOperator<NDArray> rule) {
            this.rule = rule;
        }

        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[0]);
            return x[0].exp();
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {rule.apply(g[0], savedTensors()[0].exp())};
        }
    }

    @Test
    void theCheckBackPropagatesARandomSignedHeadGradientSoARuleIgnoringItFails() {
        NDArray x = randn(3, 4);
        GradCheck.check(xs -> new ExpWithRule(NDArray::mul).apply(xs[0]), x);           // the right rule passes
        GradCheck.gradgradcheck(xs -> new ExpWithRule(NDArray::mul).apply(xs[0]), x);
        // with the gradient of sum(y) (a head of ones), each of these wrong rules would pass
        assertThrows(AssertionError.class,
            () -> GradCheck.check(xs -> new ExpWithRule((g, e) -> e).apply(xs[0]), x), "ignores g");
        assertThrows(AssertionError.class,
            () -> GradCheck.check(xs -> new ExpWithRule((g, e) -> g.abs().mul(e)).apply(xs[0]), x), "ignores g's sign");
        // right at first order, but its result does not follow g in the graph: only second order sees it
        GradCheck.check(xs -> new ExpWithRule((g, e) -> g.detach().mul(e)).apply(xs[0]), x);
        AssertionError e = assertThrows(AssertionError.class,
            () -> GradCheck.gradgradcheck(xs -> new ExpWithRule((g, ex) -> g.detach().mul(ex)).apply(xs[0]), x));
        assertTrue(e.getMessage().startsWith("gradcheck: input 1 (shape (3, 4))"), e.getMessage()); // the head gradient
    }

    @Test
    void softmaxAlongTheRowGetsANonZeroGradientFromTheRandomHead() {
        // the gradient of softmax(x, 1).sum() is exactly zero: only a head that is not constant
        // along the row tests softmax's rule
        NDArray x = randn(3, 4);
        NDArray v = x.detach();
        v.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = v.softmax(1).sum();
        }
        y.backward();
        assertTrue(v.grad().abs().max().item() < 1e-15, v.grad().toString());
        GradCheck.check(xs -> xs[0].softmax(1), x);
        // so a softmax whose rule gave zeros passed a check by sum(y); the check's head catches it
        io.sparkgrad.autograd.Function zeroRule = new io.sparkgrad.autograd.Function() {
            @Override
            protected NDArray forward(NDArray... in) {
                return in[0].softmax(1);
            }

            @Override
            protected NDArray[] backward(NDArray... g) {
                return new NDArray[] {g[0].mul(0.0)};
            }
        };
        assertThrows(AssertionError.class, () -> GradCheck.check(xs -> zeroRule.apply(xs[0]), x));
    }

    @Test
    void everyDifferentiableOpIsInTheTable() {
        Set<String> covered = new TreeSet<>();
        for (Case c : cases()) {
            NDArray[] vars = new NDArray[c.inputs().length];
            for (int i = 0; i < vars.length; i++) {
                vars[i] = c.inputs()[i].detach();
                vars[i].attachGrad();
            }
            try (var r = Autograd.record()) {
                covered.addAll(opNames(c.fn().apply(vars)));
            }
        }
        Set<String> all = new TreeSet<>();
        for (Op<?> op : Ops.all()) {
            if (op.isDifferentiable()) {
                all.add(op.name());
            }
        }
        all.removeAll(covered);
        assertEquals(Set.of(), all, "differentiable ops with no gradient check in the table");
    }

    /** The names of the ops recorded in the graph that produced {@code out}. */
    static Set<String> opNames(NDArray out) {
        Set<String> names = new TreeSet<>();
        Deque<NDArray> todo = new ArrayDeque<>(List.of(out));
        Set<Long> seen = new java.util.HashSet<>();
        while (!todo.isEmpty()) {
            AutogradMeta m = todo.pop().autogradMetaOrNull();
            Node<?> n = m == null ? null : m.creator();
            if (n != null && seen.add(n.id())) {
                names.add(n.op().name());
                todo.addAll(List.of(n.inputs()));
            }
        }
        return names;
    }
}
