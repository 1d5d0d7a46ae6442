package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gradient check reports the largest deviation with its place and both values, fails a
 * wrong gradient naming the input and element, honours its tolerances, and weighs the outputs
 * with fixed weights of both signs and magnitudes in [0.5, 1.5).
 */
class GradCheckTest {

    @Test
    void theReportNamesTheWorstElementWithTheAnalyticAndNumericValues() {
        NDArray x = Np.array(1, -2, 3);
        GradCheck.Report r = GradCheck.check(xs -> xs[0].square().sum(), x);
        double w = GradCheck.weights(new long[0], 0)[0];
        assertEquals(0, r.input());
        assertTrue(r.element() >= 0 && r.element() < 3, "element " + r.element());
        assertEquals(2 * x.toArray()[r.element()] * w, r.analytic(), 0.0, "the analytic gradient of the weighted output");
        assertEquals(r.analytic(), r.numeric(), 1e-6);
        assertEquals(Math.abs(r.analytic() - r.numeric()), r.maxAbsError(), 0.0);
        assertEquals(r.maxAbsError() / Math.abs(r.numeric()), r.maxRelError(), 1e-20);
        assertTrue(r.maxAbsError() > 0 && r.maxAbsError() < 1e-6, "finite differences are not exact: " + r);
        // a second input: the report says which
        GradCheck.Report two = GradCheck.check(xs -> xs[0].sum().add(xs[1].exp().mul(100).sum()), Np.array(0.5), Np.array(2.0));
        assertEquals(1, two.input(), "exp(2) * 100 has the larger error of the differences");
    }

    @Test
    void aWrongGradientFailsNamingTheInputAndElement() {
        // x * detach(x): the analytic gradient is x, the numeric one 2x
        ArrayFunction wrong = xs -> xs[0].mul(xs[0].detach()).sum();
        AssertionError e = assertThrows(AssertionError.class, () -> GradCheck.check(wrong, Np.array(1.0, 2.0)));
        assertTrue(e.getMessage().startsWith("gradcheck: input 0 (shape (2,)), element 0: analytic "), e.getMessage());
        // within tolerances loose enough (|x - 2x| <= 0.6 * |2x|) it passes; tighter ones fail
        GradCheck.Report r = GradCheck.check(wrong, 1e-6, 0.6, 0, Np.array(1.0, 2.0));
        assertEquals(1, r.element(), "the larger error is at 2");
        assertEquals(2.0 * Math.abs(GradCheck.weights(new long[0], 0)[0]), r.maxAbsError(), 1e-6);
        assertThrows(AssertionError.class, () -> GradCheck.check(wrong, 1e-6, 0.4, 0, Np.array(1.0, 2.0)));
        assertThrows(AssertionError.class, () -> GradCheck.check(wrong, 1e-6, 0, 1.5, Np.array(1.0, 2.0)));
        GradCheck.check(wrong, 1e-6, 0, 4.5, Np.array(1.0, 2.0));
    }

    @Test
    void aSecondOrderCheckPassesACorrectFunctionAndReportsIt() {
        GradCheck.Report r = GradCheck.gradgradcheck(xs -> xs[0].tanh().mul(xs[1]).sum(), Np.array(0.3, -0.7), Np.array(1.5, 2));
        assertTrue(r.maxAbsError() < 1e-6, r.toString());
        assertTrue(r.input() >= 0, "some element was compared: " + r);
        // a constant output: its gradients are zero, and so are the differences
        GradCheck.Report c = GradCheck.gradgradcheck(xs -> Np.array(2.0).sum(), Np.array(1.0));
        assertEquals(0.0, c.maxAbsError());
    }

    @Test
    void theWeightsAreFixedOfBothSignsAndNeverSmall() {
        double[] w = GradCheck.weights(new long[] {50, 4}, 3);
        assertEquals(200, w.length);
        assertTrue(Arrays.equals(w, GradCheck.weights(new long[] {50, 4}, 3)), "the same every run");
        assertFalse(Arrays.equals(w, GradCheck.weights(new long[] {50, 4}, 4)), "another stream, other weights");
        assertTrue(Arrays.stream(w).allMatch(v -> Math.abs(v) >= 0.5 && Math.abs(v) < 1.5), Arrays.toString(w));
        assertTrue(Arrays.stream(w).anyMatch(v -> v < 0) && Arrays.stream(w).anyMatch(v -> v > 0));
    }
}
