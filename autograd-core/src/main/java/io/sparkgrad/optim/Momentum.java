package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * Heavy-ball momentum: {@code v = beta * v + g; p -= lr * v}, the velocity starting at zeros.
 * Works on local and distributed parameters alike.
 */
public final class Momentum extends Optimizer {
    private final double lr;
    private final double beta;
    private List<NDArray> velocity;

    /**
     * Makes momentum with the given rate and decay.
     *
     * @param lr   the learning rate, 0 or more
     * @param beta the velocity's decay, in [0, 1)
     */
    public Momentum(double lr, double beta) {
        checkRate("Momentum", lr);
        if (!(beta >= 0 && beta < 1)) {
            throw new IllegalArgumentException("Momentum: beta must be in [0, 1), got " + beta);
        }
        this.lr = lr;
        this.beta = beta;
    }

    @Override
    public Step step(List<NDArray> params, Objective f) {
        Evaluation e = f.evaluate();
        if (velocity == null) {
            velocity = new ArrayList<>();
            for (NDArray p : params) {
                velocity.add(p.zerosLike());
            }
        }
        for (int i = 0; i < params.size(); i++) {
            NDArray v = velocity.get(i).mul(beta).add(e.grads().get(i));
            velocity.set(i, v);
            params.get(i).assign(params.get(i).sub(v.mul(lr)));
        }
        return new Step(e.loss(), e.gradNorm(), 1);
    }
}
