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

/**
 * The mode scopes switch what they name and restore it on close; the functional forms of the
 * gradient ({@code valueAndGrad}, {@code grad} of several variables, Hessian-vector products)
 * give the derivatives computed by hand, zeros for a constant function, and refuse bad shapes.
 */
class AutogradScopesTest {

    @Test
    void predictModeTurnsDropoutOffAndCloseRestoresTraining() {
        NDArray x = Np.ones(1000);
        try (Autograd.Scope t = Autograd.trainMode()) {
            assertTrue(Autograd.isTraining());
            try (Autograd.Scope p = Autograd.predictMode()) {
                assertFalse(Autograd.isTraining());
                assertArrayEquals(x.toArray(), x.dropout(0.5).toArray(), "dropout is the identity in predict mode");
            }
            assertTrue(Autograd.isTraining(), "restored on close");
        }
    }

    @Test
    void detectAnomalyIsOnInsideItsScopeOnly() {
        assertFalse(Autograd.isAnomalyDetectionEnabled());
        try (Autograd.Scope a = Autograd.detectAnomaly()) {
            assertTrue(Autograd.isAnomalyDetectionEnabled());
            assertFalse(Autograd.isRecording(), "recording unchanged");
        }
        assertFalse(Autograd.isAnomalyDetectionEnabled());
    }

    @Test
    void retainGradOnALeafSaysWhatToDoInstead() {
        NDArray plain = Np.ones(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Autograd.retainGrad(plain));
        assertEquals("retainGrad: the array is a leaf, not a recorded result; call attachGrad() on it instead", e.getMessage());
        NDArray v = Np.ones(2);
        v.attachGrad();
        e = assertThrows(IllegalStateException.class, () -> Autograd.retainGrad(v));
        assertEquals("retainGrad: the array is a leaf, not a recorded result; its gradient is kept already by attachGrad()",
            e.getMessage());
    }

    @Test
    void valueAndGradGivesTheValueAndEveryInputsGradient() {
        NDArray x = Np.array(1, 2);
        NDArray y = Np.array(3, -1);
        Autograd.ValueAndGrad vg = Autograd.valueAndGrad(xs -> xs[0].mul(xs[1]).sum(), x, y);
        assertEquals(1.0, vg.value().item());
        assertFalse(vg.value().requiresGrad(), "the value is detached");
        assertArrayEquals(new double[] {3, -1}, vg.grads().get(0).toArray());
        assertArrayEquals(new double[] {1, 2}, vg.grads().get(1).toArray());
        Autograd.ValueAndGrad c = Autograd.valueAndGrad(xs -> Np.array(7.0), x);
        assertEquals(7.0, c.value().item());
        assertArrayEquals(new double[] {0, 0}, c.grads().get(0).toArray(), "a constant: zero gradients");
    }

    @Test
    void gradOfSeveralVariablesGivesOnePerVariable() {
        NDArray a = Np.array(2.0);
        NDArray b = Np.array(5.0);
        a.attachGrad();
        b.attachGrad();
        NDArray h;
        try (Autograd.Scope r = Autograd.record()) {
            h = a.square().mul(b);
        }
        List<NDArray> g = Autograd.grad(h, List.of(a, b));
        assertEquals(2, g.size());
        assertEquals(20.0, g.get(0).item());
        assertEquals(4.0, g.get(1).item());
    }

    @Test
    void aHessianVectorProductIsTheSecondDerivativeTimesTheVector() {
        // f = sum(x^3): H = diag(6 x)
        NDArray hv = Autograd.hessianVectorProduct(x -> x.mul(x).mul(x).sum(), Np.array(1, -2), Np.array(3, 0.5));
        assertArrayEquals(new double[] {18, -6}, hv.toArray(), 1e-12);
        assertArrayEquals(new double[] {0, 0}, Autograd.hessianVectorProduct(x -> x.sum(), Np.array(1, 2), Np.array(1, 1))
            .toArray(), "a linear function: H = 0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Autograd.hessianVectorProduct(x -> x.sum(), Np.array(1, 2), Np.array(1.0)));
        assertEquals("hessianVectorProduct: x has shape (2,) but v has shape (1,)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Autograd.hessianVectorProduct(x -> x.square(), Np.array(1, 2),
            Np.array(1, 1)));
        assertEquals("hessianVectorProduct: fn must return one value, got shape (2,)", e.getMessage());
    }
}
