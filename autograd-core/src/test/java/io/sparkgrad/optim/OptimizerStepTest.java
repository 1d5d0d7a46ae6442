package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One step of each optimizer from a given loss and gradient (a scripted objective, so that the
 * update is checked against the formula computed by hand), the bounds of their settings, and the
 * stopping rules of {@link Optimizer#minimize}.
 */
class OptimizerStepTest {

    /** An objective that answers the given losses in turn, with the same gradients each time. */
    static Objective scripted(List<NDArray> grads, double... losses) {
        int[] call = {0};
        return () -> new Evaluation(losses[Math.min(call[0]++, losses.length - 1)], grads);
    }

    static void refused(String message, Runnable r) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, r::run).getMessage());
    }

    /**
     * OWL-QN's first step from a scripted objective, computed by hand: the pseudo-gradient of the
     * penalised parameter, steepest descent scaled to a step of length 1, an element that crosses 0
     * projected onto 0 (the unpenalised one may cross), and a loss that includes the penalty.
     */
    @Test
    void lbfgsWithL1StepsAlongThePseudoGradientAndProjectsOntoTheOrthant() {
        NDArray p0 = Np.array(1, -0.5, 0, 0.2);
        NDArray p1 = Np.array(0.1);
        List<NDArray> grads = List.of(Np.array(0.5, 0.1, 0.1, 1.0), Np.array(0.6));
        Step s = new Lbfgs().setL1(0.3, 0).step(List.of(p0, p1), scripted(grads, 2.0, 0.0));
        // pseudo-gradient: 0.5 + 0.3, 0.1 - 0.3, 0 (|0.1| <= 0.3 at 0), 1.0 + 0.3; 0.6 unpenalised
        double[] pg = {0.8, -0.2, 0, 1.3, 0.6};
        double norm = Math.sqrt(0.64 + 0.04 + 1.69 + 0.36);
        double t = 1 / norm;
        // the last penalised element would go from 0.2 to 0.2 - 1.3 t < 0: outside its orthant, so 0
        assertArrayEquals(new double[] {1 - pg[0] * t, -0.5 - pg[1] * t, 0, 0}, p0.toArray(), 1e-15);
        assertArrayEquals(new double[] {0.1 - 0.6 * t}, p1.toArray(), 1e-15, "parameter 1 is not penalised");
        assertTrue(p1.item() < 0, "an unpenalised parameter may change sign");
        assertEquals(2.0 + 0.3 * 1.7, s.loss(), 1e-15, "the loss includes the penalty on parameter 0 only");
        assertEquals(norm, s.gradNorm(), 1e-15);
        assertEquals(2, s.evaluations(), "the start and one trial point");
    }

    /** The line search halves the step until the penalised loss decreases enough. */
    @Test
    void lbfgsWithL1HalvesTheStepWhenTheTrialPointIsWorse() {
        NDArray p = Np.array(1, -1);
        List<NDArray> grads = List.of(Np.array(0.3, 0.4));
        // the penalised start: 1 + 0.1 * 2 = 1.2; a trial at loss 1.2 (plus its penalty) is not a decrease
        Step s = new Lbfgs().setL1(0.1).step(List.of(p), scripted(grads, 1.0, 1.2, 0.5));
        double[] pg = {0.4, 0.3};
        double t = 0.5; // min(1, 1 / |pg|) = 1, halved once
        assertArrayEquals(new double[] {1 - pg[0] * t, -1 - pg[1] * t}, p.toArray(), 1e-15);
        assertEquals(1.2, s.loss(), 1e-15);
        assertEquals(3, s.evaluations(), "the start and two trial points");
        refused("Lbfgs: L1 on parameter 1, but there are 1",
            () -> new Lbfgs().setL1(0.1, 1).step(List.of(p), scripted(grads, 1.0)));
    }

    @Test
    void sgdMovesAgainstTheGradientByTheRate() {
        NDArray p = Np.array(1, -2);
        Step s = new Sgd(0.1).step(List.of(p), scripted(List.of(Np.array(0.5, 1)), 3.0));
        assertArrayEquals(new double[] {1 - 0.05, -2 - 0.1}, p.toArray(), 1e-15);
        assertEquals(3.0, s.loss());
        assertEquals(Math.sqrt(1.25), s.gradNorm(), 1e-15);
        assertEquals(1, s.evaluations());
    }

    @Test
    void sgdWithL1SoftThresholdsThePenalisedParametersAndReportsThePseudoGradient() {
        NDArray p0 = Np.array(1, -0.01, 0, 0, 0);
        NDArray p1 = Np.array(2);
        List<NDArray> grads = List.of(Np.array(0.5, 0.1, 0, -0.5, 0.5), Np.array(1));
        Step s = new Sgd(0.1).setL1(0.3, 0).step(List.of(p0, p1), scripted(grads, 1.0));
        // moved: 0.95, -0.02, 0, 0.05, -0.05; shrunk by lr * strength = 0.03 towards 0, exactly 0 inside
        assertArrayEquals(new double[] {0.92, 0, 0, 0.02, -0.02}, p0.toArray(), 1e-15);
        assertArrayEquals(new double[] {1.9}, p1.toArray(), 1e-15, "parameter 1 is not penalised");
        assertEquals(1.0 + 0.3 * 1.01, s.loss(), 1e-15);
        // pseudo-gradient: 0.5 + 0.3, 0.1 - 0.3, 0 (0 is optimal), -0.5 + 0.3, 0.5 - 0.3, and 1 unpenalised
        assertEquals(Math.sqrt(0.64 + 0.04 + 0 + 0.04 + 0.04 + 1), s.gradNorm(), 1e-15);
        refused("Sgd: L1 on parameter 2, but there are 2",
            () -> new Sgd(0.1).setL1(0.3, 2).step(List.of(p0, p1), scripted(grads, 1.0)));
        assertDoesNotThrow(() -> new Sgd(0.1).setL1(0.3, 1).step(List.of(p0, p1), scripted(grads, 1.0)));
    }

    @Test
    void momentumAccumulatesTheDecayedVelocity() {
        NDArray p = Np.array(1.0);
        Momentum m = new Momentum(0.5, 0.9);
        Objective f = scripted(List.of(Np.array(2.0)), 1.0);
        m.step(List.of(p), f); // v = 2, p = 1 - 1
        assertEquals(0.0, p.item(), 1e-15);
        m.step(List.of(p), f); // v = 0.9 * 2 + 2 = 3.8, p = 0 - 1.9
        assertEquals(-1.9, p.item(), 1e-15);
    }

    @Test
    void adamFollowsItsBiasCorrectedMoments() {
        double lr = 0.1;
        double b1 = 0.8;
        double b2 = 0.95;
        double eps = 1e-3;
        NDArray p = Np.array(1.0, -1.0);
        Adam a = new Adam(lr, b1, b2, eps);
        double[] g = {0.5, -2};
        double[] x = {1.0, -1.0};
        double[] m = new double[2];
        double[] v = new double[2];
        for (int t = 1; t <= 3; t++) {
            a.step(List.of(p), scripted(List.of(Np.array(g)), 1.0));
            for (int i = 0; i < 2; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(b1, t));
                double vHat = v[i] / (1 - Math.pow(b2, t));
                x[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
            assertArrayEquals(x, p.toArray(), 1e-12, "step " + t);
        }
        // the first step moves each element by about lr against its gradient's sign
        NDArray q = Np.array(3.0, 3.0);
        new Adam(0.1).step(List.of(q), scripted(List.of(Np.array(1e-3, -5)), 1.0));
        assertArrayEquals(new double[] {2.9, 3.1}, q.toArray(), 1e-5);
    }

    @Test
    void settingsOutsideTheirBoundsAreRefusedAndTheBoundsThemselvesAccepted() {
        assertDoesNotThrow(() -> new Sgd(0));
        assertDoesNotThrow(() -> new Adam(0.1, 0, 0, Double.MIN_VALUE));
        assertDoesNotThrow(() -> new Momentum(0, 0));
        refused("Sgd: the learning rate must be 0 or more and finite, got -1.0", () -> new Sgd(-1));
        refused("Sgd: the learning rate must be 0 or more and finite, got Infinity", () -> new Sgd(Double.POSITIVE_INFINITY));
        refused("Sgd: the learning rate must be 0 or more and finite, got NaN", () -> new Sgd(Double.NaN));
        refused("Adam: the learning rate must be 0 or more and finite, got -0.1", () -> new Adam(-0.1));
        refused("Momentum: the learning rate must be 0 or more and finite, got -0.1", () -> new Momentum(-0.1, 0.5));
        refused("Adam: beta1 and beta2 must be in [0, 1), got 1.0 and 0.5", () -> new Adam(0.1, 1, 0.5, 1e-8));
        refused("Adam: beta1 and beta2 must be in [0, 1), got 0.5 and 1.0", () -> new Adam(0.1, 0.5, 1, 1e-8));
        refused("Adam: beta1 and beta2 must be in [0, 1), got -0.1 and 0.5", () -> new Adam(0.1, -0.1, 0.5, 1e-8));
        refused("Adam: beta1 and beta2 must be in [0, 1), got 0.5 and -0.1", () -> new Adam(0.1, 0.5, -0.1, 1e-8));
        refused("Adam: eps must be positive, got 0.0", () -> new Adam(0.1, 0.5, 0.5, 0));
        refused("Momentum: beta must be in [0, 1), got 1.0", () -> new Momentum(0.1, 1));
        refused("Momentum: beta must be in [0, 1), got -0.5", () -> new Momentum(0.1, -0.5));
        refused("unknown optimizer 'rmsprop' (sgd, momentum, adam, lbfgs)", () -> Optimizer.of("rmsprop", 0.1));
        assertTrue(Optimizer.of("momentum", 0.1) instanceof Momentum);
        assertTrue(Optimizer.of("lbfgs", 0.1) instanceof Lbfgs);
    }

    @Test
    void minimizeStopsWhenTheGradientOrTheRelativeChangeOfTheLossIsWithinTol() {
        NDArray p = Np.array(1.0);
        List<NDArray> g = List.of(Np.array(1.0));
        // the loss changes by 1e-5 of 100: within 1e-6 relative to the loss, not to 1
        Optimizer.Result r = new Sgd(0).minimize(List.of(p), scripted(g, 100, 99.99, 100.0, 100.00001), 10, 1e-6, null);
        assertEquals(4, r.iterations());
        assertEquals(Optimizer.Stop.CONVERGED, r.stop());
        assertEquals(100.00001, r.loss());
        assertEquals(1.0, r.gradNorm());
        // a small loss: the change is relative to 1
        r = new Sgd(0).minimize(List.of(p), scripted(g, 0.5, 0.5 + 1e-7), 10, 1e-6, null);
        assertEquals(2, r.iterations());
        // tol 0: only an unchanged loss or a zero gradient stops it
        r = new Sgd(0).minimize(List.of(p), scripted(g, 3, 2, 1, 1), 10, 0, null);
        assertEquals(4, r.iterations());
        r = new Sgd(0).minimize(List.of(p), scripted(List.of(Np.array(0.0)), 3, 2), 10, 0, null);
        assertEquals(1, r.iterations(), "a zero gradient at the start");
        assertEquals(Optimizer.Stop.CONVERGED, r.stop());
        // otherwise every iteration runs
        List<Progress> seen = new ArrayList<>();
        r = new Sgd(0).minimize(List.of(p), scripted(g, 5, 4, 3, 2, 1), 3, 1e-9, seen::add);
        assertEquals(3, r.iterations());
        assertEquals(Optimizer.Stop.MAX_ITER, r.stop());
        assertEquals(3.0, r.loss());
        assertEquals(3, seen.size());
        for (int k = 0; k < 3; k++) {
            assertEquals(k + 1, seen.get(k).iteration());
            assertEquals(5.0 - k, seen.get(k).loss());
            assertEquals(1, seen.get(k).evaluations());
            assertTrue(seen.get(k).seconds() >= 0 && seen.get(k).seconds() < 60, "seconds: " + seen.get(k).seconds());
        }
        r = new Sgd(0).minimize(List.of(p), scripted(g, 5, 4), 1, 0, null);
        assertEquals(1, r.iterations(), "maxIter 1");
        refused("minimize: maxIter must be at least 1, got 0", () -> new Sgd(0).minimize(List.of(p), scripted(g, 1), 0, 0, null));
        refused("minimize: tol must be 0 or more, got -1.0", () -> new Sgd(0).minimize(List.of(p), scripted(g, 1), 5, -1, null));
        refused("minimize: tol must be 0 or more, got NaN", () -> new Sgd(0).minimize(List.of(p), scripted(g, 1), 5, Double.NaN, null));
    }

    @Test
    void aCopyIsNotChangedByLaterChangesOfTheOriginal() {
        NDArray a = Np.array(1, 2);
        NDArray c = Optimizer.copy(a);
        a.assign(Np.array(5, 6));
        assertArrayEquals(new double[] {1, 2}, c.toArray());
    }
}
