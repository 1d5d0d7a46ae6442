package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;

import java.util.List;

/**
 * The loss and the gradient of every parameter at the parameters' values of one evaluation.
 * The gradients must be arrays of their own (not gradient buffers that the next backward
 * overwrites); {@link Objective#of} copies them.
 *
 * @param loss  the objective's value
 * @param grads one gradient per parameter, in the parameters' order and shapes
 */
public record Evaluation(double loss, List<NDArray> grads) {
    /** Keeps an unmodifiable copy of the list. */
    public Evaluation {
        grads = List.copyOf(grads);
    }

    /** Returns the Euclidean norm of all the gradients together. */
    public double gradNorm() {
        double s = 0;
        for (NDArray g : grads) {
            for (double v : g.toArray()) {
                s += v * v;
            }
        }
        return Math.sqrt(s);
    }
}
