package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every optimizer reaches the known minimum of small problems. */
class OptimizerTest {

    /** The objective of {@code f} at the current value of {@code x}, with its gradient. */
    private static Optimizer.Objective objective(NDArray x, UnaryOperator<NDArray> f) {
        x.attachGrad();
        return () -> {
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = f.apply(x);
            }
            loss.backward();
            return new Optimizer.Evaluation(loss.item(), List.of(Np.array(x.shape(), x.grad().toArray())));
        };
    }

    private static double distanceAfter(String name, double lr, int steps, NDArray x, UnaryOperator<NDArray> f,
                                        NDArray minimum) {
        Optimizer opt = Optimizer.of(name, lr);
        Optimizer.Objective obj = objective(x, f);
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
        double d = distanceAfter("lbfgs", 0, 80, Np.zeros(30), OptimizerTest::illConditioned, Np.ones(30));
        assertTrue(d < 1e-8, "distance to the minimum " + d);
    }

    @Test
    void lbfgsSolvesRosenbrock() {
        UnaryOperator<NDArray> rosen = x -> {
            NDArray a = x.get(0);
            NDArray b = x.get(1);
            return a.rsub(1).square().add(b.sub(a.square()).square().mul(100));
        };
        double d = distanceAfter("lbfgs", 0, 200, Np.array(-1.2, 1), rosen, Np.array(1, 1));
        assertTrue(d < 1e-6, "distance to the minimum " + d);
    }

    @Test
    void firstOrderMethodsDescendAWellConditionedQuadratic() {
        UnaryOperator<NDArray> bowl = x -> x.sub(Np.array(1, -2, 3)).square().sum();
        for (String name : new String[] {"sgd", "momentum", "adam"}) {
            double d = distanceAfter(name, name.equals("adam") ? 0.1 : 0.05, 400, Np.zeros(3), bowl, Np.array(1, -2, 3));
            assertTrue(d < 1e-3, name + ": distance to the minimum " + d);
        }
    }
}
