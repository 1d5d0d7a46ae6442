package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MXNet autograd notebook that sparkgrad grew from, cell by cell, with its printed outputs. */
class WalkthroughTest {

    @Test
    void cellsPrintWhatTheNotebookPrinted() {
        NDArray x = Np.arange(4.0);
        assertEquals("array([0., 1., 2., 3.])", x.toString());
        assertEquals("array(14.)", Np.dot(x, x).toString());

        x.attachGrad();
        assertEquals("array([0., 0., 0., 0.])", x.grad().toString());

        NDArray y;
        try (var r = Autograd.record()) {
            y = Np.dot(x, x).mul(2);
        }
        assertEquals("array(28.)", y.toString());
        y.backward();
        assertEquals("array([ 0.,  4.,  8., 12.])", x.grad().toString());

        try (var r = Autograd.record()) {
            y = x.sum();
        }
        y.backward();
        assertEquals("array([1., 1., 1., 1.])", x.grad().toString());

        try (var r = Autograd.record()) {
            y = x.mul(x);
        }
        y.backward();
        assertEquals("array([0., 2., 4., 6.])", x.grad().toString());

        NDArray z;
        try (var r = Autograd.record()) {
            y = x.mul(x);
            NDArray u = y.detach();
            z = u.mul(x);
        }
        z.backward();
        assertEquals("array([0., 1., 4., 9.])", x.grad().toString());
        y.backward();
        assertEquals("array([0., 2., 4., 6.])", x.grad().toString());

        try (var r = Autograd.record()) {
            y = x.mul(x);
            z = y.mul(x);
        }
        z.backward();
        assertEquals("array([ 0.,  3., 12., 27.])", x.grad().toString());
    }

    /** The notebook's piecewise-linear function with a data-dependent loop and branch. */
    static NDArray f(NDArray a) {
        NDArray b = a.mul(2);
        while (Np.linalg().norm(b).item() < 1000) {
            b = b.mul(2);
        }
        return b.sum().item() > 0 ? b : b.mul(100);
    }

    @Test
    void controlFlowFunctionValueMatchesNotebook() {
        assertEquals("array([1029.12])", f(Np.array(2.01)).toString());
    }

    @Test
    void gradientThroughDataDependentControlFlowIsCOverA() {
        for (long seed = 0; seed < 20; seed++) {
            Np.seed(seed);
            NDArray a = Np.randomNormal(0, 1);
            assertEquals(0, a.ndim());
            a.attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = f(a);
            }
            d.backward();
            // f is linear in a on the branch taken, so its gradient is f(a) / a: a power of two,
            // times 100 when a < 0.
            double expected = d.item() / a.item();
            assertEquals(expected, a.grad().item(), 1e-9 * Math.abs(expected));
            double k = Math.log(Math.abs(expected) / (a.item() < 0 ? 100 : 1)) / Math.log(2);
            assertEquals(Math.rint(k), k, 1e-9);
            assertTrue(Math.abs(d.item()) >= 1000 || a.item() < 0);
        }
    }
}
