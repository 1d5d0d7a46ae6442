package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MXNet walk-through with {@code x} distributed over two blocks: the same printed outputs. */
class DistWalkthroughTest {

    @BeforeAll
    static void spark() {
        SparkTests.session();
    }

    @Test
    void cellsPrintWhatTheNotebookPrinted() {
        NDArray x = Dist.fromLocal(Np.arange(4.0), 2);
        assertTrue(x.isDistributed());
        assertEquals("array([0., 1., 2., 3.])", x.toString());
        assertEquals("array(14.)", Np.dot(x, x).toString());

        x.attachGrad();
        assertTrue(x.grad().isDistributed());
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
            z = y.detach().mul(x);
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

    static NDArray f(NDArray a) {
        NDArray b = a.mul(2);
        while (Np.linalg().norm(b).item() < 1000) {
            b = b.mul(2);
        }
        return b.sum().item() > 0 ? b : b.mul(100);
    }

    @Test
    void gradientThroughControlFlowOnADistributedScalar() {
        for (long seed = 0; seed < 4; seed++) {
            Np.seed(seed);
            NDArray a = Dist.fromLocal(Np.randomNormal(0, 1, 1), 1);
            a.attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = f(a);
            }
            d.backward();
            assertTrue(a.grad().isDistributed());
            assertEquals(d.item() / a.item(), a.grad().item(), 1e-9 * Math.abs(d.item() / a.item()));
        }
    }
}
