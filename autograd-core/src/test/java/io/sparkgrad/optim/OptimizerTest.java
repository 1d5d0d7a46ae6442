package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every optimizer reaches the known minimum of small problems; L1 gives exact zeros. */
class OptimizerTest {

    private static double distanceAfter(Optimizer opt, int steps, NDArray x, UnaryOperator<NDArray> f, NDArray minimum) {
        Objective obj = Objective.of(List.of(x), () -> f.apply(x));
        List<NDArray> params = new ArrayList<>(List.of(x));
        for (int i = 0; i < steps; i++) {
            opt.step(params, obj);
        }
        return x.sub(minimum).norm().item();
    }

    /** 0.5 sum a_i (x_i - 1)^2 with curvatures a_i from 1 to 1000. */
    private static NDArray illConditioned(NDArray x) {
        NDArray a = Np.arange(30).mul(999.0 / 29).add(1);
        return x.sub(1).square().mul(a).sum().mul(0.5);
    }

    @Test
    void lbfgsSolvesAnIllConditionedQuadratic() {
        double d = distanceAfter(new Lbfgs(), 80, Np.zeros(30), OptimizerTest::illConditioned, Np.ones(30));
        assertTrue(d < 1e-8, "distance to the minimum " + d);
    }

    @Test
    void lbfgsSolvesRosenbrock() {
        UnaryOperator<NDArray> rosen = x -> {
            NDArray a = x.get(0);
            NDArray b = x.get(1);
            return a.rsub(1).square().add(b.sub(a.square()).square().mul(100));
        };
        double d = distanceAfter(new Lbfgs(10), 200, Np.array(-1.2, 1), rosen, Np.array(1, 1));
        assertTrue(d < 1e-6, "distance to the minimum " + d);
    }

    @Test
    void firstOrderMethodsDescendAWellConditionedQuadratic() {
        UnaryOperator<NDArray> bowl = x -> x.sub(Np.array(1, -2, 3)).square().sum();
        for (String name : new String[] {"sgd", "momentum", "adam"}) {
            Optimizer opt = Optimizer.of(name, name.equals("adam") ? 0.1 : 0.05);
            double d = distanceAfter(opt, 400, Np.zeros(3), bowl, Np.array(1, -2, 3));
            assertTrue(d < 1e-3, name + ": distance to the minimum " + d);
        }
    }

    // ---------------------------------------------------------------- logistic regression

    private static final double[][] X = {
        {0.5, 1.2}, {-1.0, 0.3}, {2.1, -0.7}, {0.3, 0.8}, {-0.4, -1.5}, {1.7, 0.2}, {-2.2, 1.1}, {0.9, -0.3},
        {-0.6, 0.6}, {1.1, 1.9}, {-1.8, -0.4}, {0.2, -1.1}};
    private static final double[] Y = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0};
    private static final double L2 = 0.01;

    /** The gradient of mean(log(1 + e^z) - y z) + L2/2 |w|^2, z = x w + b, written out by hand. */
    private static double[] logisticGradient(double[] w, double b) {
        double[] g = new double[3];
        for (int i = 0; i < X.length; i++) {
            double z = X[i][0] * w[0] + X[i][1] * w[1] + b;
            double r = 1 / (1 + Math.exp(-z)) - Y[i];
            g[0] += r * X[i][0] / X.length;
            g[1] += r * X[i][1] / X.length;
            g[2] += r / X.length;
        }
        g[0] += L2 * w[0];
        g[1] += L2 * w[1];
        return g;
    }

    @Test
    void everyOptimizerFitsLogisticRegression() {
        NDArray x = Np.array(X);
        NDArray y = Np.array(Y);
        for (String name : new String[] {"sgd", "momentum", "adam", "lbfgs"}) {
            NDArray w = Np.zeros(2);
            NDArray b = Np.scalar(0);
            Objective f = Objective.of(List.of(w, b), () -> {
                NDArray z = x.matmul(w).add(b);
                return z.softplus().sub(z.mul(y)).mean().add(w.square().sum().mul(L2 / 2));
            });
            List<Progress> seen = new ArrayList<>();
            Optimizer opt = Optimizer.of(name, name.equals("adam") ? 0.05 : 0.5);
            Optimizer.Result r = opt.minimize(List.of(w, b), f, 5000, 1e-12, seen::add);
            double[] g = logisticGradient(w.toArray(), b.item());
            double norm = Math.sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
            assertTrue(norm < 1e-5, name + ": gradient norm at the end " + norm + " after " + r.iterations());
            assertEquals(r.iterations(), seen.size(), name);
            for (int i = 0; i < seen.size(); i++) {
                assertEquals(i + 1, seen.get(i).iteration());
            }
            assertTrue(seen.get(seen.size() - 1).loss() < seen.get(0).loss(), name + ": the loss went down");
            if (name.equals("lbfgs")) {
                assertEquals(Optimizer.Stop.CONVERGED, r.stop());
                assertTrue(r.iterations() < 50, "lbfgs iterations " + r.iterations());
            }
        }
    }

    // ---------------------------------------------------------------- L1

    /**
     * The lasso {@code mean((x w - y)^2)/2 + l1 |w|_1} on an orthogonal design ({@code x^T x / n = I},
     * the columns of a 4x4 Hadamard matrix) has the minimum {@code soft(x^T y / n, l1)}.
     */
    @Test
    void l1GivesExactZerosWhereTheLassoHasThem() {
        NDArray x = Np.array(new double[][] {{1, 1, 1, 1}, {1, -1, 1, -1}, {1, 1, -1, -1}, {1, -1, -1, 1}});
        NDArray y = Np.array(2.0, 0.4, 1.1, -0.3);
        double l1 = 0.3;
        double[] xty = x.T().matmul(y).div(4).toArray();
        double[] expected = new double[4];
        for (int j = 0; j < 4; j++) {
            expected[j] = Math.signum(xty[j]) * Math.max(Math.abs(xty[j]) - l1, 0);
        }
        int zeros = 0;
        for (double e : expected) {
            zeros += e == 0 ? 1 : 0;
        }
        assertTrue(zeros >= 1 && zeros < 4, "the problem has some zeros and some weights: " + java.util.Arrays.toString(expected));
        for (Optimizer opt : new Optimizer[] {new Lbfgs().setL1(l1), new Sgd(0.7).setL1(l1, 0)}) {
            NDArray w = Np.zeros(4);
            Objective f = Objective.of(List.of(w), () -> x.matmul(w).sub(y).square().mean().mul(0.5));
            Optimizer.Result r = opt.minimize(List.of(w), f, 200, 0, null);
            double[] got = w.toArray();
            for (int j = 0; j < 4; j++) {
                if (expected[j] == 0) {
                    assertEquals(0.0, got[j], 0.0, opt.getClass().getSimpleName() + " weight " + j + " is exactly 0");
                } else {
                    assertEquals(expected[j], got[j], 1e-8, opt.getClass().getSimpleName() + " weight " + j);
                }
            }
            assertTrue(r.gradNorm() < 1e-8, opt.getClass().getSimpleName() + ": pseudo-gradient " + r.gradNorm());
        }
    }

    @Test
    void l1OnlyOnTheListedParameters() {
        NDArray w = Np.zeros(2);
        NDArray b = Np.zeros(1);
        // minimum of (w - 0.1)^2/2 + (b - 0.1)^2/2 + 0.5 |w|: w = 0 (penalised), b = 0.1 (not)
        Objective f = Objective.of(List.of(w, b), () -> w.sub(0.1).square().sum().add(b.sub(0.1).square().sum()).mul(0.5));
        new Lbfgs().setL1(0.5, 0).minimize(List.of(w, b), f, 50, 1e-14, null);
        assertEquals(0.0, w.toArray()[0], 0.0);
        assertEquals(0.0, w.toArray()[1], 0.0);
        assertEquals(0.1, b.item(), 1e-12);
    }

    @Test
    void badSettingsAreRefusedNamingTheValue() {
        assertEquals("Momentum: beta must be in [0, 1), got 1.0",
            assertThrows(IllegalArgumentException.class, () -> new Momentum(0.1, 1)).getMessage());
        assertEquals("unknown optimizer 'newton' (sgd, momentum, adam, lbfgs)",
            assertThrows(IllegalArgumentException.class, () -> Optimizer.of("newton", 1)).getMessage());
        assertEquals("Lbfgs: the L1 strength must be 0 or more and finite, got -1.0",
            assertThrows(IllegalArgumentException.class, () -> new Lbfgs().setL1(-1)).getMessage());
    }
}
