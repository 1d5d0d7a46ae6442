package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.Function;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MXNet's autograd semantics hold for distributed inputs as for local ones. */
class MxnetParityDistTest {
    private static final NDArray XL = Np.array(new double[][] {{-1.5, 0.4}, {0.3, -2.0}, {1.1, 0.7}});

    @BeforeAll
    static void spark() {
        SparkTests.session();
    }

    private static NDArray dist() {
        NDArray x = Dist.fromLocal(XL, 2);
        x.attachGrad();
        return x;
    }

    @Test
    void theSecondDerivativeOfReluIsZerosOfTheDistributedShape() {
        NDArray x = dist();
        NDArray g2;
        try (var r = Autograd.record()) {
            NDArray g = Autograd.grad(List.of(x.relu().sum()), List.of(x), null, true, true).get(0);
            g2 = Autograd.grad(List.of(g.sum()), List.of(x), null, false, false).get(0);
        }
        assertTrue(g2.isDistributed());
        assertArrayEquals(new double[6], g2.toArray(), 0.0);
    }

    @Test
    void aComparisonsZeroGradientReachesADistributedVariable() {
        NDArray x = dist();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.gt(0).mul(x.sign()).sum();
        }
        y.backward();
        assertTrue(x.grad().isDistributed());
        assertArrayEquals(new double[6], x.grad().toArray(), 0.0);
    }

    @Test
    void aLocalHeadGradientForADistributedHeadIsSplitLikeIt() {
        NDArray x = dist();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(2);
        }
        NDArray head = Np.array(new double[][] {{1, 2}, {3, 4}, {5, 6}});
        y.backward(head);
        assertArrayEquals(head.mul(2).toArray(), x.grad().toArray(), 0.0);
    }

    /** (x^2, 3x) of a distributed x. */
    static final class SquareAndTriple extends Function {
        @Override
        protected NDArray[] forwardAll(NDArray... x) {
            saveForBackward(x[0]);
            return new NDArray[] {x[0].square(), x[0].mul(3)};
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0]).mul(2).add(g[1].mul(3))};
        }
    }

    @Test
    void aFunctionWithTwoOutputsOnADistributedInput() {
        NDArray x = dist();
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray[] out = new SquareAndTriple().applyAll(x);
            loss = out[0].sum().add(out[1].sum());
        }
        loss.backward();
        assertArrayEquals(XL.mul(2).add(3).toArray(), x.grad().toArray(), 1e-15);
    }

    @Test
    void explainAfterBackwardSaysWhatWasDistributed() {
        NDArray x = dist();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.exp().sum();
        }
        y.backward();
        String text = Autograd.explain(y);
        assertTrue(text.contains("exp#") && text.contains("(3, 2) distributed (freed)")
            && text.contains("variable (3, 2) grad WRITE distributed"), text);
    }
}
