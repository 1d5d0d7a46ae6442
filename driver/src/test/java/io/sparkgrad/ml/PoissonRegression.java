package io.sparkgrad.ml;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.List;

/** A user's model for the tests: Poisson regression with a log link, written as a ModelFunction. */
public final class PoissonRegression implements ModelFunction {
    private static final long serialVersionUID = 1L;

    @Override
    public List<NDArray> init(int features, int classes, long seed) {
        return List.of(Np.zeros(features), Np.scalar(0));
    }

    @Override
    public NDArray forward(List<NDArray> p, NDArray x) {
        return x.matmul(p.get(0)).add(p.get(1));
    }

    @Override
    public NDArray rowLoss(NDArray eta, NDArray y) {
        return eta.exp().sub(y.mul(eta));
    }

    @Override
    public NDArray predict(NDArray eta) {
        return eta.exp();
    }
}
