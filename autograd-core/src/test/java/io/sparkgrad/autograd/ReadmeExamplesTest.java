package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's examples, run as written there, with the values the README states. */
class ReadmeExamplesTest {

    @Test
    void tenLinesGiveTheGradientOfTwiceXDotX() {
        NDArray x = Np.arange(4.0);
        x.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = Np.dot(x, x).mul(2);
        }
        y.backward();
        assertEquals("array([ 0.,  4.,  8., 12.])", x.grad().toString());
    }

    @Test
    void gradientsRecordedWithCreateGraphDifferentiateAgain() {
        NDArray x = Np.array(1, 2, -3);
        x.attachGrad();
        NDArray g;
        NDArray g2;
        try (var r = Autograd.record()) {
            NDArray y = x.pow(3).sum();
            g = Autograd.grad(y, x, true);
            g2 = Autograd.grad(g.sum(), x, true);
        }
        assertArrayEquals(new double[] {3, 12, 27}, g.toArray(), 1e-12);
        assertArrayEquals(new double[] {6, 12, -18}, g2.toArray(), 1e-12);
    }

    @Test
    void jacobianHessianVectorProductAndValueAndGradGiveTheStatedValues() {
        NDArray a = Np.array(new double[][] {{1, 2, 3}, {4, 5, 6}});
        NDArray j = Autograd.jacobian(v -> a.matmul(v), Np.array(1, -1, 2));
        assertEquals(a, j);
        NDArray hv = Autograd.hessianVectorProduct(w -> w.square().sum().mul(0.5), Np.array(1, 2), Np.array(3, 4));
        assertArrayEquals(new double[] {3, 4}, hv.toArray(), 1e-12);
        Autograd.ValueAndGrad vg = Autograd.valueAndGrad(xs -> xs[0].mul(xs[1]).sum(), Np.array(1, 2), Np.array(3, 4));
        assertEquals("array(11.)", vg.value().toString());
        assertEquals("[array([3., 4.]), array([1., 2.])]", vg.grads().toString());
    }

    @Test
    void dropoutDropsAFractionPAndScalesTheRestInTrainingAndIsTheIdentityInPredictMode() {
        Np.seed(3);
        try (var m = Autograd.trainMode()) {
            double[] h = Np.ones(8).dropout(0.5).toArray();     // the README's line: zeros and 2s
            long zeros = java.util.Arrays.stream(h).filter(v -> v == 0).count();
            long twos = java.util.Arrays.stream(h).filter(v -> v == 2).count();
            assertEquals(8, zeros + twos, java.util.Arrays.toString(h));
            assertTrue(zeros > 0 && twos > 0, "some dropped, some kept: " + java.util.Arrays.toString(h));
            // on many elements: the fraction dropped is p (within 6 standard deviations), the rest scaled by 1/(1-p)
            for (double p : new double[] {0.5, 0.3, 0.9}) {
                int n = 200_000;
                double[] x = Np.ones(n).mul(3).dropout(p).toArray();
                long dropped = java.util.Arrays.stream(x).filter(v -> v == 0).count();
                assertEquals(p, dropped / (double) n, 6 * Math.sqrt(p * (1 - p) / n), "fraction dropped at p = " + p);
                double kept = 3 / (1 - p);
                assertTrue(java.util.Arrays.stream(x).allMatch(v -> v == 0 || Math.abs(v - kept) <= 1e-14 * kept),
                    "survivors are 3/(1-p) = " + kept);
            }
        }
        try (var m = Autograd.predictMode()) {
            assertEquals(Np.ones(8), Np.ones(8).dropout(0.5));
        }
    }

    @Test
    void aHookReplacesTheGradientAndRetainGradKeepsAnIntermediatesGradient() {
        NDArray x = Np.array(1, 2);
        x.attachGrad();
        x.registerHook(grad -> grad.clip(-1, 1));
        NDArray h;
        NDArray y;
        try (var r = Autograd.record()) {
            h = x.mul(3);
            h.retainGrad();
            y = h.square().sum();
        }
        y.backward();
        assertEquals("array([ 6., 12.])", h.grad().toString());
        assertEquals("array([1., 1.])", x.grad().toString());
    }

    @Test
    void anomalyDetectionNamesTheRuleThatProducedInfinity() {
        NDArray x = Np.array(0, 1);
        x.attachGrad();
        try (var a = Autograd.detectAnomaly()) {
            NDArray y;
            try (var r = Autograd.record()) {
                y = x.sqrt().sum();
            }
            var e = assertThrows(IllegalStateException.class, y::backward);
            assertTrue(e.getMessage().startsWith("anomaly: the backward rule of sqrt#"), e.getMessage());
            assertTrue(e.getMessage().contains("(inputs of shapes (2,)) produced infinity in the gradient of input 0"),
                e.getMessage());
        }
    }

    @Test
    void explainPrintsTheRecordedGraphAsIndentedText() {
        NDArray x = Np.array(1, 2);
        x.attachGrad();
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(x).add(1).sum();
        }
        String expected = String.join("\n",
            "sum#N -> ()",
            "  add#N -> (2,)",
            "    mul#N -> (2,)",
            "      leaf 3: variable (2,) grad WRITE",
            "      leaf 3 (see above)",
            "    leaf 4: constant ()", "");
        assertEquals(expected, Autograd.explain(y).replaceAll("#\\d+", "#N"));
    }
}
