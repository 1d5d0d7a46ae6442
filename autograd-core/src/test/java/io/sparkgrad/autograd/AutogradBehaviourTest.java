package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The semantics of recording and backward, one behaviour per test, with hand-derived values. */
class AutogradBehaviourTest {

    private static NDArray variable(double... values) {
        NDArray x = Np.array(values);
        x.attachGrad();
        return x;
    }

    private static void assertGrad(NDArray x, double... expected) {
        assertArrayEquals(expected, x.grad().toArray(), 1e-12);
    }

    @Test
    void nonScalarHeadBackpropagatesTheGradientOfItsSum() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).mul(3);
        }
        y.backward();
        assertGrad(x, 6, 12, 18);
    }

    @Test
    void headGradientWeightsTheOutputs() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x);
        }
        y.backward(Np.array(1, 0, -1));
        assertGrad(x, 2, 0, -6);
    }

    @Test
    void headGradientOfTheWrongShapeIsRefusedWithBothShapes() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> y.backward(Np.ones(2)));
        assertTrue(e.getMessage().contains("(2,)") && e.getMessage().contains("(3,)"), e.getMessage());
    }

    @Test
    void writeOverwritesTheGradientAtEachBackward() {
        NDArray x = variable(1, 2);
        for (int i = 0; i < 3; i++) {
            NDArray y;
            try (var r = Autograd.record()) {
                y = x.mul(5).sum();
            }
            y.backward();
        }
        assertGrad(x, 5, 5);
    }

    @Test
    void addAccumulatesAcrossBackwards() {
        NDArray x = Np.array(1, 2);
        x.attachGrad(GradReq.ADD);
        for (int i = 0; i < 3; i++) {
            NDArray y;
            try (var r = Autograd.record()) {
                y = x.mul(x).sum();
            }
            y.backward();
        }
        assertGrad(x, 6, 12);
    }

    @Test
    void nullRequestMakesTheArrayAConstant() {
        NDArray x = Np.array(1, 2);
        x.attachGrad(GradReq.NULL);
        NDArray w = variable(3, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(w).sum();
        }
        y.backward();
        assertGrad(w, 1, 2);
        assertThrows(IllegalStateException.class, x::grad);
    }

    @Test
    void gradientBufferIsUpdatedInPlace() {
        NDArray x = variable(1, 2);
        NDArray buffer = x.grad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).sum();
        }
        y.backward();
        assertSame(buffer, x.grad());
        assertArrayEquals(new double[] {2, 4}, buffer.toArray());
    }

    @Test
    void fanOutSumsTheGradientsOfEveryUse() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            // y = x + x^2 + x*sin(x): dy/dx = 1 + 2x + sin x + x cos x
            y = x.add(x.mul(x)).add(x.mul(x.sin()));
        }
        y.backward();
        double[] expected = new double[3];
        for (int i = 0; i < 3; i++) {
            double v = i + 1;
            expected[i] = 1 + 2 * v + Math.sin(v) + v * Math.cos(v);
        }
        assertGrad(x, expected);
    }

    @Test
    void gradientsFlowIntoEveryVariable() {
        NDArray w = variable(1, 2);
        NDArray b = variable(0.5);
        NDArray x = Np.array(new double[][] {{1, 0}, {2, 1}, {0, 3}});
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).add(b).square().sum();
        }
        loss.backward();
        // residuals r = x w + b = [1.5, 4.5, 6.5]; dL/dw = 2 x^T r, dL/db = 2 sum r
        assertGrad(w, 2 * (1.5 + 2 * 4.5), 2 * (4.5 + 3 * 6.5));
        assertGrad(b, 2 * (1.5 + 4.5 + 6.5));
    }

    @Test
    void variableNotOnThePathKeepsItsGradient() {
        NDArray x = variable(1, 2);
        NDArray unused = Np.array(7);
        unused.attachGrad(GradReq.ADD);
        unused.grad().assign(Np.array(42));
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.sum();
        }
        y.backward();
        assertGrad(unused, 42);
    }

    @Test
    void detachStopsGradientsWhileTheOriginalGraphStillWorks() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        NDArray z;
        try (var r = Autograd.record()) {
            y = x.mul(x);
            z = y.detach().mul(x);
        }
        assertFalse(y.detach().requiresGrad());
        z.backward();
        assertGrad(x, 1, 4, 9);
        y.backward();
        assertGrad(x, 2, 4, 6);
    }

    @Test
    void secondBackwardThroughAFreedGraphAsksForRetainGraph() {
        NDArray x = variable(1, 2);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).sum();
        }
        y.backward();
        var e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("retainGraph=true"), e.getMessage());
    }

    @Test
    void retainGraphAllowsAnotherBackward() {
        NDArray x = Np.array(1, 2);
        x.attachGrad(GradReq.ADD);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).sum();
        }
        y.backward(null, true);
        y.backward(null, false);
        assertGrad(x, 4, 8);
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void backwardOfAnUnrecordedArrayExplainsWhy() {
        NDArray x = variable(1, 2);
        NDArray outside = x.mul(2);
        var e = assertThrows(IllegalStateException.class, outside::backward);
        assertTrue(e.getMessage().contains("Autograd.record()") && e.getMessage().contains("attachGrad()"), e.getMessage());

        NDArray plain;
        try (var r = Autograd.record()) {
            plain = Np.array(1, 2).mul(2);
        }
        assertThrows(IllegalStateException.class, plain::backward);
    }

    @Test
    void backwardOfAVariableItselfGivesOnes() {
        NDArray x = variable(1, 2);
        x.backward();
        assertGrad(x, 1, 1);
    }

    @Test
    void gradOfAnArrayWithoutBufferNamesAttachGrad() {
        var e = assertThrows(IllegalStateException.class, () -> Np.array(1).grad());
        assertTrue(e.getMessage().contains("attachGrad()"), e.getMessage());
    }

    @Test
    void attachGradOnARecordedResultKeepsTheGraphAndStoresItsGradient() {
        NDArray x = variable(1);
        NDArray z;
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2);
            y.attachGrad(); // MXNet 2: the intermediate gets a gradient of its own, the graph stays
            z = y.square().sum();
        }
        z.backward();
        assertEquals(4.0, y.grad().item(), "dz/dy = 2y");
        assertEquals(8.0, x.grad().item(), "dz/dx flows on through y");
    }

    @Test
    void pauseStopsRecordingAndScopesNest() {
        NDArray x = variable(2);
        assertFalse(Autograd.isRecording());
        NDArray y;
        try (var r = Autograd.record()) {
            assertTrue(Autograd.isRecording());
            NDArray constant;
            try (var p = Autograd.pause()) {
                assertFalse(Autograd.isRecording());
                constant = x.mul(10);
                try (var inner = Autograd.record()) {
                    assertTrue(Autograd.isRecording());
                }
                assertFalse(Autograd.isRecording());
            }
            assertTrue(Autograd.isRecording());
            assertFalse(constant.requiresGrad());
            y = x.mul(constant);
        }
        assertFalse(Autograd.isRecording());
        y.backward();
        assertGrad(x, 20);
    }

    @Test
    void recordingIsPerThread() throws Exception {
        AtomicBoolean otherSawRecording = new AtomicBoolean(true);
        AtomicBoolean otherRecorded = new AtomicBoolean(true);
        NDArray x = variable(1);
        try (var r = Autograd.record()) {
            Thread t = new Thread(() -> {
                otherSawRecording.set(Autograd.isRecording());
                otherRecorded.set(x.mul(2).requiresGrad());
            });
            t.start();
            t.join();
            assertTrue(x.mul(2).requiresGrad());
        }
        assertFalse(otherSawRecording.get());
        assertFalse(otherRecorded.get());
    }

    @Test
    void trainingModeFollowsTheScope() {
        assertFalse(Autograd.isTraining());
        try (var r = Autograd.record()) {
            assertTrue(Autograd.isTraining());
        }
        try (var r = Autograd.record(false)) {
            assertFalse(Autograd.isTraining());
        }
        assertFalse(Autograd.isTraining());
    }

    @Test
    void aChainOfAHundredThousandOpsDoesNotOverflowTheStack() {
        NDArray x = Np.scalar(1.0);
        x.attachGrad();
        NDArray y = x;
        try (var r = Autograd.record()) {
            for (int i = 0; i < 100_000; i++) {
                y = y.mul(1.00001);
            }
        }
        y.backward();
        assertEquals(Math.pow(1.00001, 100_000), x.grad().item(), 1e-9);
    }

    @Test
    void backwardInsideARecordScopeDoesNotRecordTheGradients() {
        NDArray x = variable(3);
        try (var r = Autograd.record()) {
            NDArray y = x.mul(x);
            y.backward();
        }
        assertGrad(x, 6);
        assertFalse(x.grad().requiresGrad());
    }

    @Test
    void comparisonsAreConstantsSoMasksPassGradientsThrough() {
        NDArray x = variable(-1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.gt(0).mul(x).mul(x);
        }
        y.backward();
        assertGrad(x, 0, 4, 6);
    }

    @Test
    void floorCeilAndRoundHaveAZeroGradientLikeSign() {
        NDArray x = variable(-1.5, 0.4, 2.5);
        NDArray y;
        try (var r = Autograd.record()) {
            NDArray floor = x.floor();
            NDArray ceil = x.ceil();
            NDArray round = x.round();
            for (NDArray c : List.of(floor, ceil, round, x.sign())) {
                assertTrue(c.requiresGrad(), "recorded with a zero gradient, as in MXNet");
            }
            assertArrayEquals(new double[] {-2, 0, 2}, floor.toArray());
            assertArrayEquals(new double[] {-1, 1, 3}, ceil.toArray());
            assertArrayEquals(new double[] {-2, 0, 2}, round.toArray()); // halves to even, as np.round
            y = floor.add(ceil).add(round).mul(x);
        }
        y.backward();
        assertGrad(x, -5, 1, 7); // only the product's factor x is differentiated
        for (var op : io.sparkgrad.np.Ops.all()) {
            if (List.of("floor", "ceil", "round").contains(op.name())) {
                assertFalse(op.isDifferentiable(), op.name() + " has no gradient rule");
                assertTrue(op.hasZeroGradient(), op.name() + " has a zero gradient");
            }
        }
        NDArray z;
        try (var r = Autograd.record()) {
            z = x.floor().sum();
        }
        z.backward();
        assertGrad(x, 0, 0, 0); // the variable is on the graph: its gradient is written as zeros
    }

    @Test
    void leakyReluAndEluHaveGradientAlphaAtZeroAsInMxnet() {
        NDArray x = variable(0, -1, 2);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.leakyRelu(0.1).add(x.elu(0.5));
        }
        y.backward();
        assertGrad(x, 0.1 + 0.5, 0.1 + 0.5 * Math.exp(-1), 2);
    }

    @Test
    void eluHasAFiniteGradientWhereExpWouldOverflow() {
        NDArray x = variable(1000, -1000);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.elu();
        }
        y.backward();
        assertGrad(x, 1, 0);
    }

    @Test
    void hypotHasGradientZeroAtTheOriginAsNorm() {
        NDArray a = variable(0, 3);
        NDArray b = variable(0, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = a.hypot(b);
        }
        y.backward();
        assertGrad(a, 0, 0.6);
        assertGrad(b, 0, 0.8);
    }

    @Test
    void tiesOfMaxShareTheGradientEqually() {
        NDArray x = variable(1, 3, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.max();
        }
        y.backward();
        assertGrad(x, 0, 0.5, 0.5);

        NDArray a = variable(1, 5);
        NDArray b = variable(1, 2);
        try (var r = Autograd.record()) {
            y = a.maximum(b);
        }
        y.backward();
        assertGrad(a, 0.5, 1);
        assertGrad(b, 0.5, 0);
    }

    @Test
    void kinksHaveZeroGradientAndNormOfZeroIsNotNaN() {
        NDArray x = variable(0, 0);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.relu().add(x.abs()).sum().add(x.norm());
        }
        y.backward();
        assertGrad(x, 0, 0);
    }

    @Test
    void logisticLossGradientIsFiniteForHugeLogits() {
        NDArray z = variable(-1000, 1000, 0);
        NDArray t = Np.array(1, 0, 1);
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(z, t);
        }
        assertEquals((1000 + 1000 + Math.log(2)) / 3, loss.item(), 1e-12);
        loss.backward();
        // d/dz mean(softplus(z) - t z) = (sigmoid(z) - t) / n
        assertGrad(z, -1.0 / 3, 1.0 / 3, -0.5 / 3);
    }

    @Test
    void softmaxCrossEntropyGradientIsSoftmaxMinusTargetOverRows() {
        NDArray logits = Np.array(new double[][] {{1, 2, 3}, {0, 0, 0}});
        logits.attachGrad();
        NDArray target = Np.array(new double[][] {{0, 0, 1}, {1, 0, 0}});
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.softmaxCrossEntropy(logits, target);
        }
        loss.backward();
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        double[] expected = {
            Math.exp(1) / z / 2, Math.exp(2) / z / 2, (Math.exp(3) / z - 1) / 2,
            (1.0 / 3 - 1) / 2, 1.0 / 3 / 2, 1.0 / 3 / 2,
        };
        assertArrayEquals(expected, logits.grad().toArray(), 1e-12);
    }

    @Test
    void assignIsRefusedWhileRecordingAVariable() {
        NDArray x = variable(1);
        try (var r = Autograd.record()) {
            var e = assertThrows(IllegalStateException.class, () -> x.assign(Np.array(2)));
            assertTrue(e.getMessage().contains("assign"), e.getMessage());
        }
        x.assign(Np.array(2));
        assertEquals(2, x.item());
    }

    @Test
    void backwardWithSeveralHeadsSumsTheirGradients() {
        NDArray x = variable(1, 2);
        NDArray a;
        NDArray b;
        try (var r = Autograd.record()) {
            a = x.mul(3).sum();
            b = x.mul(x).sum();
        }
        Autograd.backward(List.of(a, b), null, false);
        assertGrad(x, 3 + 2, 3 + 4);
    }
}
