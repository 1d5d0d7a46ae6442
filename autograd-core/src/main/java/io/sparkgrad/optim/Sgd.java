package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient descent, {@code p -= lr * g}, optionally with a proximal L1 step (ISTA): after the
 * gradient step each penalised element moves {@code lr * strength} towards 0 and stops at exactly 0,
 * {@code p = p - clip(p, -lr*strength, lr*strength)}, so that unneeded weights become exact zeros.
 * Works on local and distributed parameters alike.
 */
public final class Sgd extends Optimizer {
    private final double lr;
    private L1 l1 = new L1("Sgd", 0, new int[0]);

    /**
     * Makes plain gradient descent.
     *
     * @param lr the learning rate, 0 or more
     */
    public Sgd(double lr) {
        checkRate("Sgd", lr);
        this.lr = lr;
    }

    /**
     * Adds the penalty {@code strength * sum |p|} over the parameters listed (none: all), minimised
     * by a proximal step after each gradient step.
     *
     * @param strength the L1 strength, 0 or more
     * @param params   the indices of the penalised parameters in the parameter list (none: all)
     * @return this optimizer
     */
    public Sgd setL1(double strength, int... params) {
        this.l1 = new L1("Sgd", strength, params);
        return this;
    }

    @Override
    public Step step(List<NDArray> params, Objective f) {
        Evaluation e = f.evaluate();
        if (!l1.on()) {
            for (int i = 0; i < params.size(); i++) {
                params.get(i).assign(params.get(i).sub(e.grads().get(i).mul(lr)));
            }
            return new Step(e.loss(), e.gradNorm(), 1);
        }
        l1.check("Sgd", params.size());
        double loss = e.loss() + l1.penalty(params);
        double gradNorm = pseudoGradientNorm(params, e.grads());
        double t = lr * l1.strength;
        for (int i = 0; i < params.size(); i++) {
            NDArray moved = params.get(i).sub(e.grads().get(i).mul(lr));
            params.get(i).assign(l1.applies(i) ? moved.sub(moved.clip(-t, t)) : moved); // +0 exactly inside [-t, t]
        }
        return new Step(loss, gradNorm, 1);
    }

    private double pseudoGradientNorm(List<NDArray> params, List<NDArray> grads) {
        List<double[]> xs = new ArrayList<>();
        List<double[]> gs = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < params.size(); i++) {
            xs.add(params.get(i).toArray());
            gs.add(grads.get(i).toArray());
            n += xs.get(i).length;
        }
        double[] x = new double[n];
        double[] g = new double[n];
        int pos = 0;
        for (int i = 0; i < xs.size(); i++) {
            System.arraycopy(xs.get(i), 0, x, pos, xs.get(i).length);
            System.arraycopy(gs.get(i), 0, g, pos, gs.get(i).length);
            pos += xs.get(i).length;
        }
        double s = 0;
        for (double v : l1.pseudoGradient(x, g, l1.mask(params))) {
            s += v * v;
        }
        return Math.sqrt(s);
    }
}
