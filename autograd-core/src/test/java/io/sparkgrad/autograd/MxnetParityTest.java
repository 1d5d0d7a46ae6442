package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parts of MXNet's autograd semantics users bring with them, as MXNet documents them. */
class MxnetParityTest {
    private static NDArray variable(double... v) {
        NDArray x = Np.array(v);
        x.attachGrad();
        return x;
    }

    private static NDArray grad(NDArray head, NDArray x, boolean createGraph) {
        return Autograd.grad(List.of(head), List.of(x), null, createGraph, createGraph).get(0);
    }

    /** The second derivative of sum(f(x)) with respect to x, through two recorded grad calls. */
    private static NDArray secondDerivative(java.util.function.UnaryOperator<NDArray> f, NDArray x) {
        NDArray g2;
        try (var r = Autograd.record()) {
            NDArray g = grad(f.apply(x).sum(), x, true);
            g2 = grad(g.sum(), x, false);
        }
        return g2;
    }

    @Test
    void theSecondDerivativeOfAPiecewiseLinearOpIsZeros() {
        NDArray x = variable(-1.5, -0.2, 0.3, 2.0, 0.7);
        List<java.util.function.UnaryOperator<NDArray>> ops = List.of(
            NDArray::relu, NDArray::abs, a -> a.clip(-1, 1), a -> a.dropout(0.5), a -> a.mul(3).sign());
        for (var f : ops) {
            NDArray g2 = secondDerivative(f, x);
            assertArrayEquals(new long[] {5}, g2.shape());
            assertArrayEquals(new double[5], g2.toArray(), 0.0);
        }
        // and finite differences agree (away from the kinks)
        GradCheck.gradgradcheck(xs -> xs[0].relu().add(xs[0].abs()).add(xs[0].clip(-1, 1)), Np.array(-1.5, -0.2, 0.3, 2.0));
    }

    @Test
    void comparisonsAndSignHaveAZeroGradientThatReachesTheVariable() {
        NDArray x = variable(1, -2, 3);
        x.grad().assign(Np.array(9, 9, 9)); // a stale gradient: backward overwrites it
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.gt(0).add(x.sign()).add(x.le(1)).sum();
        }
        assertTrue(y.requiresGrad(), "recorded, as in MXNet");
        y.backward();
        assertArrayEquals(new double[3], x.grad().toArray(), 0.0);
        NDArray g;
        try (var r = Autograd.record()) {
            g = grad(x.eq(3).sum(), x, false);
        }
        assertArrayEquals(new double[3], g.toArray(), 0.0);
    }

    @Test
    void aHeadRecordedFromConstantsHasZeroGradientsAndBackwardSaysWhy() {
        NDArray x = variable(1, 2);
        NDArray c = Np.array(3, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = c.mul(2).sum();
        }
        assertArrayEquals(new double[2], Autograd.grad(List.of(y), List.of(x), null, false, false).get(0).toArray(), 0.0);
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertEquals("backward: head 0 (shape ()) was computed under Autograd.record() from constants only: it depends "
            + "on no array with attachGrad(), so there is no gradient to compute", e.getMessage());
        NDArray outside = c.sum();
        e = assertThrows(IllegalStateException.class, outside::backward);
        assertTrue(e.getMessage().contains("was not computed under Autograd.record()"), e.getMessage());
    }

    @Test
    void pauseSwitchesToPredictModeUnlessAskedOtherwise() {
        NDArray ones = Np.ones(1000);
        try (var r = Autograd.record()) {
            assertTrue(Autograd.isTraining());
            try (var p = Autograd.pause()) {
                assertFalse(Autograd.isRecording());
                assertFalse(Autograd.isTraining(), "MXNet's pause(train_mode=False)");
                assertEquals(1000.0, ones.dropout(0.5).sum().item(), "dropout is the identity");
            }
            try (var p = Autograd.pause(true)) {
                assertFalse(Autograd.isRecording());
                assertTrue(Autograd.isTraining());
                assertTrue(ones.dropout(0.5).eq(0).sum().item() > 300, "dropout drops");
            }
            assertTrue(Autograd.isTraining() && Autograd.isRecording());
        }
    }

    @Test
    void dropGradStopsKeepingTheGradientOfARecordedResult() {
        NDArray x = variable(3);
        NDArray y;
        NDArray z;
        try (var r = Autograd.record()) {
            y = x.mul(2);
            y.attachGrad(GradReq.ADD);
            z = y.square().sum();
        }
        z.backward(null, true);
        z.backward(null, true);
        assertEquals(24.0, y.grad().item(), "ADD accumulates 2y twice");
        assertEquals(24.0, x.grad().item(), "x's WRITE buffer holds the last 4 * 2y");
        y.dropGrad();
        z.backward();
        assertThrows(IllegalStateException.class, y::grad);
        assertEquals(24.0, x.grad().item());
    }

    /** (sin x, cos x), one application, one backward for both outputs. */
    static final class SinCos extends Function {
        int backwards;

        @Override
        protected NDArray[] forwardAll(NDArray... x) {
            saveForBackward(x[0]);
            return new NDArray[] {x[0].sin(), x[0].cos()};
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            backwards++;
            NDArray x = savedTensors()[0];
            return new NDArray[] {g[0].mul(x.cos()).sub(g[1].mul(x.sin()))};
        }
    }

    @Test
    void aFunctionWithSeveralOutputsGetsAGradientForEach() {
        NDArray x = variable(0.3, -1.2);
        SinCos f = new SinCos();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray[] sc = f.applyAll(x);
            loss = sc[0].mul(2).sum().add(sc[1].sum());
        }
        loss.backward();
        NDArray expected = Np.array(0.3, -1.2).cos().mul(2).sub(Np.array(0.3, -1.2).sin());
        assertArrayEquals(expected.toArray(), x.grad().toArray(), 1e-15);

        // one output used: the other's gradient is zeros
        NDArray only;
        try (var r = Autograd.record()) {
            only = f.applyAll(x)[1].sum();
        }
        only.backward();
        assertArrayEquals(Np.array(0.3, -1.2).sin().neg().toArray(), x.grad().toArray(), 1e-15);
        // and apply() of a function of two outputs says to use applyAll
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.apply(x));
        assertTrue(e.getMessage().contains("applyAll"), e.getMessage());
        GradCheck.check(xs -> {
            NDArray[] sc = new SinCos().applyAll(xs[0]);
            return sc[0].mul(sc[1]);
        }, Np.array(0.3, -1.2, 2.0));
    }

    @Test
    void freshGradSaysWhetherTheLastBackwardWroteTheBuffer() {
        NDArray a = variable(1);
        NDArray b = variable(2);
        assertFalse(a.isFreshGrad());
        NDArray y;
        try (var r = Autograd.record()) {
            y = a.mul(3);
        }
        y.backward();
        assertTrue(a.isFreshGrad());
        assertFalse(b.isFreshGrad(), "b was not on the graph");
        a.setFreshGrad(false); // an optimizer's update
        assertFalse(a.isFreshGrad());
        assertThrows(IllegalStateException.class, () -> Np.array(1).setFreshGrad(true));
    }

    @Test
    void aHeadGradientOfTheWrongShapeNamesTheHeadAndBothShapes() {
        NDArray x = variable(1, 2, 3);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> y.backward(Np.ones(2)));
        assertEquals("backward: head gradient 0 has shape (2,) but head 0 has shape (3,)", e.getMessage());
    }

    @Test
    void explainAfterBackwardKeepsTheGraphsStructure() {
        NDArray x = variable(1, 2);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).add(Np.scalar(1)).sum();
        }
        String before = Autograd.explain(y);
        y.backward();
        String after = Autograd.explain(y);
        assertEquals(before.replaceAll("(?m)(#\\d+ -> [^\\n]*)$", "$1 (freed)"), after);
        assertTrue(after.contains("leaf") && after.contains("variable (2,) grad WRITE"), after);
        assertTrue(Autograd.toDot(y).contains("(freed)"));
    }
}
