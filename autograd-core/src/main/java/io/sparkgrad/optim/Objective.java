package io.sparkgrad.optim;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Evaluates an objective and its gradients at the parameters' current values. */
@FunctionalInterface
public interface Objective {
    /**
     * Evaluates the objective.
     *
     * @return the loss and one gradient per parameter
     */
    Evaluation evaluate();

    /**
     * Returns the objective whose value is {@code loss.get()}, recorded with autograd, and whose
     * gradients come from its {@code backward()}: one forward and one backward per evaluation.
     * Attaches a gradient buffer to each parameter that has none.
     *
     * <pre>{@code
     * Objective f = Objective.of(List.of(w, b), () -> x.matmul(w).add(b).sub(y).square().mean());
     * }</pre>
     *
     * @param params the parameters the gradients are taken with respect to
     * @param loss   computes the (scalar) loss from the parameters' current values
     * @return the objective
     */
    static Objective of(List<NDArray> params, Supplier<NDArray> loss) {
        List<NDArray> ps = List.copyOf(params);
        for (NDArray p : ps) {
            if (!p.requiresGrad()) {
                p.attachGrad();
            }
        }
        return () -> {
            NDArray l;
            try (var r = Autograd.record()) {
                l = loss.get();
            }
            if (l.size() != 1) {
                throw new IllegalArgumentException("Objective.of: the loss must be a scalar, got shape "
                    + java.util.Arrays.toString(l.shape()));
            }
            l.backward();
            List<NDArray> grads = new ArrayList<>(ps.size());
            for (NDArray p : ps) {
                grads.add(Optimizer.copy(p.grad())); // the buffers are overwritten by the next backward
            }
            return new Evaluation(l.item(), grads);
        };
    }
}
