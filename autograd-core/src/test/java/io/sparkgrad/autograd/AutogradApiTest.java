package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradients as values, higher order, helpers, custom functions, hooks, anomaly detection, graph
 * export and checkpointing: each checked against hand-derived values.
 */
class AutogradApiTest {

    private static NDArray variable(double... values) {
        NDArray x = Np.array(values);
        x.attachGrad();
        return x;
    }

    private static void assertValues(NDArray a, double... expected) {
        assertArrayEquals(expected, a.toArray(), 1e-10);
    }

    // ------------------------------------------------------------------ gradients as values

    @Test
    void gradReturnsValuesWithoutTouchingGradientBuffers() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).sum();
        }
        assertValues(Autograd.grad(y, x), 2, 4, 6);
        assertValues(x.grad(), 0, 0, 0);
    }

    @Test
    void gradWithRespectToARecordedIntermediate() {
        NDArray x = variable(1, 2);
        NDArray y;
        NDArray z;
        try (var r = Autograd.record()) {
            y = x.mul(3);
            z = y.mul(y).sum();
        }
        // dz/dy = 2y = 6x
        assertValues(Autograd.grad(z, y), 6, 12);
    }

    @Test
    void gradOfAVariableOffTheGraphFailsUnlessUnusedIsAllowed() {
        NDArray x = variable(1, 2);
        NDArray other = variable(5);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.sum();
        }
        var e = assertThrows(IllegalArgumentException.class,
            () -> Autograd.grad(List.of(y), List.of(x, other), null, true, false));
        assertTrue(e.getMessage().contains("variable 1") && e.getMessage().contains("(1,)")
            && e.getMessage().contains("allowUnused"), e.getMessage());
        List<NDArray> g = Autograd.grad(List.of(y), List.of(x, other), null, false, false, true);
        assertValues(g.get(0), 1, 1);
        assertValues(g.get(1), 0);
    }

    @Test
    void headGradientsOfTheWrongCountOrShapeAreRefused() {
        NDArray x = variable(1, 2);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2);
        }
        var count = assertThrows(IllegalArgumentException.class,
            () -> Autograd.grad(List.of(y), List.of(x), List.of(Np.ones(2), Np.ones(2)), true, false));
        assertTrue(count.getMessage().contains("1 heads but 2 head gradients"), count.getMessage());
        var shape = assertThrows(IllegalArgumentException.class,
            () -> Autograd.grad(List.of(y), List.of(x), List.of(Np.ones(3)), true, false));
        assertTrue(shape.getMessage().contains("(3,)") && shape.getMessage().contains("(2,)"), shape.getMessage());
    }

    // ------------------------------------------------------------------ higher order

    @Test
    void secondDerivativeOfXCubedIsSixX() {
        NDArray x = variable(1, 2, -3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.pow(3).sum();
        }
        NDArray g;
        NDArray gSum;
        try (var r = Autograd.record()) {
            g = Autograd.grad(y, x, true);
            gSum = g.sum(); // recorded: inside the scope, like every op to differentiate
        }
        assertValues(g, 3, 12, 27);
        assertValues(Autograd.grad(gSum, x), 6, 12, -18);
    }

    @Test
    void thirdDerivativeOfSinIsMinusCos() {
        NDArray x = variable(0.3, 1.7);
        NDArray g = x;
        try (var r = Autograd.record()) {
            g = x.sin().sum();
            for (int order = 1; order <= 2; order++) {
                g = Autograd.grad(g, x, true).sum();
            }
        }
        assertValues(Autograd.grad(g, x), -Math.cos(0.3), -Math.cos(1.7));
    }

    @Test
    void derivativesToAnyDepth() {
        // d^n/dx^n exp(2x) = 2^n exp(2x)
        NDArray x = variable(0.25);
        NDArray g;
        try (var r = Autograd.record()) {
            g = x.mul(2).exp();
            for (int order = 1; order <= 6; order++) {
                g = Autograd.grad(g, x, true);
                assertEquals(Math.pow(2, order) * Math.exp(0.5), g.item(), 1e-9 * Math.pow(2, order));
            }
        }
    }

    @Test
    void gradientPenaltyThroughMatmulTanhAndReluMatchesFiniteDifferences() {
        // The WGAN-GP shape: the gradient, with respect to the weights, of ||d critic / d input||^2.
        Np.seed(7);
        NDArray input = Np.randomNormal(0, 1, 4, 3);
        GradCheck.check(w -> {
            NDArray x = input.detach();
            x.attachGrad();
            try (var r = Autograd.record()) {
                NDArray critic = x.matmul(w[0]).tanh().matmul(w[1]).relu().sum();
                NDArray dx = Autograd.grad(critic, x, true);
                return dx.square().sum();
            }
        }, Np.randomNormal(0, 1, 3, 5), Np.randomNormal(0.5, 1, 5, 2));
    }

    @Test
    void hessianVectorProductOfLogisticLossEqualsTheHandFormula() {
        int n = 50;
        int d = 4;
        Np.seed(11);
        NDArray xs = Np.randomNormal(0, 1, n, d);
        NDArray t = Np.randomUniform(0, 1, n).gt(0.5);
        NDArray w = Np.randomNormal(0, 0.5, d);
        NDArray v = Np.randomNormal(0, 1, d);
        NDArray hv = Autograd.hessianVectorProduct(ww -> Np.binaryCrossEntropyWithLogits(xs.matmul(ww), t), w, v);

        // X^T diag(p(1-p)) X v / n, by hand
        double[] x = xs.toArray();
        double[] wv = w.toArray();
        double[] vv = v.toArray();
        double[] expected = new double[d];
        for (int i = 0; i < n; i++) {
            double z = 0;
            double xv = 0;
            for (int j = 0; j < d; j++) {
                z += x[i * d + j] * wv[j];
                xv += x[i * d + j] * vv[j];
            }
            double p = 1 / (1 + Math.exp(-z));
            for (int j = 0; j < d; j++) {
                expected[j] += x[i * d + j] * p * (1 - p) * xv / n;
            }
        }
        assertArrayEquals(expected, hv.toArray(), 1e-12);
    }

    // ------------------------------------------------------------------ helpers

    @Test
    void jacobianOfAMatrixProductIsTheMatrix() {
        NDArray a = Np.array(new double[][] {{1, 2, 3}, {4, 5, 6}});
        NDArray j = Autograd.jacobian(x -> a.matmul(x), Np.array(1, -1, 2));
        assertArrayEquals(new long[] {2, 3}, j.shape());
        assertValues(j, 1, 2, 3, 4, 5, 6);

        NDArray sq = Autograd.jacobian(NDArray::square, Np.array(1, 2));
        assertValues(sq, 2, 0, 0, 4);
    }

    @Test
    void valueAndGradRunsTheFunctionOnceAndLeavesBuffersAlone() {
        AtomicInteger calls = new AtomicInteger();
        NDArray x = variable(1, 2);
        NDArray b = Np.array(3);
        Autograd.ValueAndGrad vg = Autograd.valueAndGrad(xs -> {
            calls.incrementAndGet();
            return xs[0].mul(xs[0]).mul(xs[1]).sum();
        }, x, b);
        assertEquals(1, calls.get());
        assertEquals(15, vg.value().item());
        assertValues(vg.grads().get(0), 6, 12);
        assertValues(vg.grads().get(1), 5);
        assertValues(x.grad(), 0, 0);
    }

    @Test
    void markVariablesUsesTheGivenBuffersAndRequests() {
        NDArray a = Np.array(1, 2);
        NDArray b = Np.array(3);
        NDArray bufA = Np.zeros(2);
        NDArray bufB = Np.array(10);
        Autograd.markVariables(List.of(a, b), List.of(bufA, bufB), List.of(GradReq.WRITE, GradReq.ADD));
        NDArray y;
        try (var r = Autograd.record()) {
            y = a.mul(b).sum();
        }
        y.backward();
        assertSame(bufA, a.grad());
        assertValues(bufA, 3, 3);
        assertValues(bufB, 13);
        assertThrows(IllegalArgumentException.class,
            () -> Autograd.markVariables(List.of(a), List.of(Np.zeros(3)), List.of(GradReq.WRITE)));
    }

    // ------------------------------------------------------------------ modes and dropout

    @Test
    void dropoutIsTheIdentityInPredictModeAndScalesSurvivorsInTraining() {
        NDArray x = Np.ones(100_000);
        try (var r = Autograd.record(false)) {
            NDArray same = x.dropout(0.3);
            assertNotSame(x, same, "a new array, as MXNet's");
            assertEquals(x, same);
            same.assign(Np.zeros(100_000));
            assertEquals(100_000.0, x.sum().item(), "an in-place change of the result does not reach the input");
        }
        try (var m = Autograd.trainMode()) {
            assertTrue(Autograd.isTraining());
            assertFalse(Autograd.isRecording());
            double[] y = x.dropout(0.3).toArray();
            int zeros = 0;
            for (double v : y) {
                if (v == 0) {
                    zeros++;
                } else {
                    assertEquals(1 / 0.7, v, 1e-15);
                }
            }
            assertEquals(0.3, zeros / 1e5, 0.01);
            try (var p = Autograd.predictMode()) {
                assertFalse(Autograd.isTraining());
            }
        }
    }

    @Test
    void dropoutGradientIsTheScaledMask() {
        NDArray x = variable(1, 2, 3, 4, 5, 6, 7, 8);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.dropout(0.5);
        }
        y.backward();
        double[] out = y.toArray();
        double[] g = x.grad().toArray();
        for (int i = 0; i < g.length; i++) {
            assertEquals(out[i] == 0 ? 0 : 2, g[i]);
        }
    }

    // ------------------------------------------------------------------ custom functions

    /** log(1 + exp(x)) with the gradient sigmoid(x), both stable for large |x|. */
    static final class Log1pExp extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[0]);
            return x[0].relu().add(x[0].abs().neg().exp().add(1).log());
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0].sigmoid())};
        }
    }

    @Test
    void customFunctionPassesGradCheckAndAgreesWithTheCompositeForm() {
        Log1pExp f = new Log1pExp();
        NDArray x = Np.array(-3, -0.5, 0.2, 4);
        GradCheck.check(xs -> f.apply(xs[0]), x);
        GradCheck.gradgradcheck(xs -> f.apply(xs[0]), x);
        NDArray composite = x.exp().add(1).log();
        assertTrue(f.apply(x).allClose(composite, 1e-14, 0));

        NDArray big = variable(1000, -1000);
        NDArray y;
        try (var r = Autograd.record()) {
            y = f.apply(big);
        }
        assertValues(y, 1000, 0);
        y.backward();
        assertValues(big.grad(), 1, 0);
    }

    @Test
    void oneFunctionInstanceCanBeAppliedManyTimes() {
        Log1pExp f = new Log1pExp();
        NDArray x = variable(0.5);
        NDArray y;
        try (var r = Autograd.record()) {
            y = f.apply(x).add(f.apply(x.mul(2)));
        }
        y.backward();
        double s1 = 1 / (1 + Math.exp(-0.5));
        double s2 = 1 / (1 + Math.exp(-1.0));
        assertValues(x.grad(), s1 + 2 * s2);
    }

    @Test
    void customFunctionHonoursAddRequestOfItsInputs() {
        Log1pExp f = new Log1pExp();
        NDArray x = Np.array(0.0);
        x.attachGrad(GradReq.ADD);
        for (int i = 0; i < 3; i++) {
            NDArray y;
            try (var r = Autograd.record()) {
                y = f.apply(x);
            }
            y.backward();
        }
        assertValues(x.grad(), 1.5);
    }

    static final class WrongCount extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            return x[0].mul(x[1]);
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0]};
        }
    }

    static final class WrongShape extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            return x[0].sum();
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0]};
        }
    }

    @Test
    void functionBackwardOfTheWrongCountOrShapeNamesTheClass() {
        NDArray a = variable(1, 2);
        NDArray b = variable(3, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = new WrongCount().apply(a, b);
        }
        var count = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(count.getMessage().contains("WrongCount") && count.getMessage().contains("1 gradients for 2 inputs"),
            count.getMessage());
        try (var r = Autograd.record()) {
            y = new WrongShape().apply(a);
        }
        var shape = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(shape.getMessage().contains("WrongShape") && shape.getMessage().contains("shape ()")
            && shape.getMessage().contains("(2,)"), shape.getMessage());
    }

    static final class RecordsActivity extends Function {
        Activity seen;

        @Override
        protected NDArray forward(NDArray... x) {
            return x[0].mul(2);
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            seen = Autograd.activity();
            return new NDArray[] {g[0].mul(2)};
        }
    }

    @Test
    void backwardNamesTheNodeAndInputItIsDifferentiating() {
        RecordsActivity f = new RecordsActivity();
        NDArray x = variable(1);
        NDArray y;
        try (var r = Autograd.record()) {
            y = f.apply(x);
        }
        assertEquals(null, Autograd.activity());
        y.backward();
        assertEquals(Activity.Phase.BACKWARD, f.seen.phase());
        assertEquals("RecordsActivity", f.seen.op());
        assertEquals(0, f.seen.input());
        assertEquals("backward: RecordsActivity#" + f.seen.nodeId() + " -> grad of input 0", f.seen.toString());
        assertValues(x.grad(), 2);
    }

    // ------------------------------------------------------------------ hooks

    @Test
    void hooksSeeAndMayReplaceGradients() {
        NDArray x = variable(1, 2);
        NDArray[] seen = new NDArray[1];
        var handle = x.registerHook(g -> {
            seen[0] = g;
            return g.mul(10);
        });
        NDArray y;
        try (var r = Autograd.record()) {
            NDArray h = x.mul(x);
            h.registerHook(g -> g.add(1)); // dL/dh = 1 becomes 2
            y = h.sum();
        }
        y.backward();
        assertValues(seen[0], 4, 8);
        assertValues(x.grad(), 40, 80);

        handle.remove();
        try (var r = Autograd.record()) {
            y = x.mul(3).sum();
        }
        y.backward();
        assertValues(x.grad(), 3, 3);
    }

    @Test
    void hookReturningTheWrongShapeIsRefused() {
        NDArray x = variable(1, 2);
        x.registerHook(g -> g.sum());
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2).sum();
        }
        var e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("hook") && e.getMessage().contains("(2,)"), e.getMessage());
    }

    @Test
    void retainGradKeepsTheGradientOfAnIntermediate() {
        NDArray x = variable(1, 2);
        NDArray h;
        NDArray y;
        try (var r = Autograd.record()) {
            h = x.mul(3);
            h.retainGrad();
            y = h.square().sum();
        }
        y.backward();
        assertValues(h.grad(), 6, 12);
        var e = assertThrows(IllegalStateException.class, x::retainGrad);
        assertTrue(e.getMessage().contains("leaf"), e.getMessage());
    }

    // ------------------------------------------------------------------ anomaly detection

    @Test
    void anomalyDetectionNamesTheOpShapesAndRecordingLine() {
        NDArray x = variable(0, 4);
        NDArray y;
        try (var a = Autograd.detectAnomaly(); var r = Autograd.record()) {
            y = x.sqrt().sum();
        }
        try (var a = Autograd.detectAnomaly()) {
            var e = assertThrows(IllegalStateException.class, y::backward);
            assertTrue(e.getMessage().contains("sqrt#") && e.getMessage().contains("(2,)")
                && e.getMessage().contains("infinity"), e.getMessage());
            assertNotNull(e.getCause());
            boolean userLine = false;
            for (StackTraceElement el : e.getCause().getStackTrace()) {
                userLine |= el.getMethodName().equals("anomalyDetectionNamesTheOpShapesAndRecordingLine");
            }
            assertTrue(userLine, "the recording line of the test is in the cause's stack trace");
        }
    }

    @Test
    void withoutAnomalyDetectionNonFiniteGradientsPassThrough() {
        NDArray x = variable(0, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.sqrt().sum();
        }
        y.backward();
        assertValues(x.grad(), Double.POSITIVE_INFINITY, 0.25);
    }

    // ------------------------------------------------------------------ graph export

    @Test
    void graphExportsNameOpsShapesAndVariables() {
        NDArray x = variable(1, 2);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).add(1).sum();
        }
        String text = Autograd.explain(y);
        String[] lines = text.split("\n");
        assertTrue(lines[0].matches("sum#\\d+ -> \\(\\)"), text);
        assertTrue(lines[1].matches("  add#\\d+ -> \\(2,\\)"), text);
        assertTrue(lines[2].matches("    mul#\\d+ -> \\(2,\\)"), text);
        assertEquals("      leaf 3: variable (2,) grad WRITE", lines[3]);
        assertEquals("      leaf 3 (see above)", lines[4]);
        assertEquals("    leaf 4: constant ()", lines[5]);
        assertEquals(6, lines.length);

        String dot = Autograd.toDot(y);
        assertTrue(dot.startsWith("digraph sparkgrad {"), dot);
        assertEquals(5, dot.split("->", -1).length - 1, dot); // x->mul twice, mul->add, constant->add, add->sum
        assertTrue(dot.contains("variable (2,) grad WRITE") && dot.contains("constant ()") && dot.contains("[style=dashed]"), dot);
    }

    // ------------------------------------------------------------------ checkpointing

    private static NDArray block(NDArray x, NDArray w) {
        NDArray h = x;
        for (int i = 0; i < 5; i++) {
            h = h.matmul(w).tanh();
        }
        return h;
    }

    /** Distinct arrays referenced by the recorded graph of {@code head}. */
    private static int arraysHeld(NDArray head) {
        Set<NDArray> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<NDArray> todo = new ArrayDeque<>(List.of(head));
        while (!todo.isEmpty()) {
            NDArray a = todo.pop();
            if (!seen.add(a)) {
                continue;
            }
            Node<?> n = a.autogradMetaOrNull() == null ? null : a.autogradMetaOrNull().creator();
            if (n != null) {
                todo.addAll(List.of(n.inputs()));
            }
        }
        return seen.size();
    }

    @Test
    void checkpointGivesIdenticalResultsWhileHoldingFewerArrays() {
        Np.seed(3);
        NDArray x0 = Np.randomNormal(0, 1, 4, 6);
        NDArray w0 = Np.randomNormal(0, 0.5, 6, 6);

        NDArray x1 = x0.detach();
        NDArray w1 = w0.detach();
        x1.attachGrad();
        w1.attachGrad();
        NDArray plain;
        try (var r = Autograd.record()) {
            plain = block(x1, w1).sum();
        }
        int heldPlain = arraysHeld(plain);
        plain.backward();

        NDArray x2 = x0.detach();
        NDArray w2 = w0.detach();
        x2.attachGrad();
        w2.attachGrad();
        NDArray ck;
        try (var r = Autograd.record()) {
            ck = Autograd.checkpoint(xs -> block(xs[0], xs[1]), x2, w2).sum();
        }
        int heldCheckpoint = arraysHeld(ck);
        ck.backward();

        assertEquals(plain.item(), ck.item());
        assertArrayEquals(x1.grad().toArray(), x2.grad().toArray());
        assertArrayEquals(w1.grad().toArray(), w2.grad().toArray());
        // plain: x, w, 5 matmul results, 5 tanh results, the sum; checkpoint: x, w, block output, sum
        assertEquals(13, heldPlain);
        assertEquals(4, heldCheckpoint);
    }

    // ------------------------------------------------------------------ the checkers check

    /** x^3 with a first derivative that is right but detached, so its second derivative is wrong. */
    static final class DetachedCube extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[0]);
            return x[0].pow(3);
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0].detach().square().mul(3))};
        }
    }

    /** x^3 with a wrong first derivative. */
    static final class WrongCube extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[0]);
            return x[0].pow(3);
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0].square().mul(2))};
        }
    }

    @Test
    void gradChecksCatchWrongRules() {
        NDArray x = Np.array(0.5, 1.5);
        GradCheck.check(xs -> new DetachedCube().apply(xs[0]), x);
        var second = assertThrows(AssertionError.class, () -> GradCheck.gradgradcheck(xs -> new DetachedCube().apply(xs[0]), x));
        assertTrue(second.getMessage().contains("analytic"), second.getMessage());
        assertThrows(AssertionError.class, () -> GradCheck.check(xs -> new WrongCube().apply(xs[0]), x));
    }
}
