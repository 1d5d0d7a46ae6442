package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * Adam (Kingma and Ba, 2015), with bias-corrected first and second moments:
 * {@code p -= lr * mHat / (sqrt(vHat) + eps)}. Works on local and distributed parameters alike.
 */
public final class Adam extends Optimizer {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private List<NDArray> m;
    private List<NDArray> v;
    private int t;

    /**
     * Makes Adam with the usual moment decays (0.9, 0.999) and epsilon (1e-8).
     *
     * @param lr the learning rate, 0 or more
     */
    public Adam(double lr) {
        this(lr, 0.9, 0.999, 1e-8);
    }

    /**
     * Makes Adam.
     *
     * @param lr    the learning rate, 0 or more
     * @param beta1 the first moment's decay, in [0, 1)
     * @param beta2 the second moment's decay, in [0, 1)
     * @param eps   added to the root of the second moment, positive
     */
    public Adam(double lr, double beta1, double beta2, double eps) {
        checkRate("Adam", lr);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam: beta1 and beta2 must be in [0, 1), got " + beta1 + " and " + beta2);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("Adam: eps must be positive, got " + eps);
        }
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    public Step step(List<NDArray> params, Objective f) {
        Evaluation e = f.evaluate();
        if (m == null) {
            m = new ArrayList<>();
            v = new ArrayList<>();
            for (NDArray p : params) {
                m.add(p.zerosLike());
                v.add(p.zerosLike());
            }
        }
        t++;
        for (int i = 0; i < params.size(); i++) {
            NDArray g = e.grads().get(i);
            m.set(i, m.get(i).mul(beta1).add(g.mul(1 - beta1)));
            v.set(i, v.get(i).mul(beta2).add(g.square().mul(1 - beta2)));
            NDArray mHat = m.get(i).div(1 - Math.pow(beta1, t));
            NDArray vHat = v.get(i).div(1 - Math.pow(beta2, t));
            params.get(i).assign(params.get(i).sub(mHat.mul(lr).div(vHat.sqrt().add(eps))));
        }
        return new Step(e.loss(), e.gradNorm(), 1);
    }
}
