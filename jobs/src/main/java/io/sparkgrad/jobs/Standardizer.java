package io.sparkgrad.jobs;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayList;
import java.util.List;

/**
 * Standardised features for the optimizer: {@code (x - mean) / std} per column, as Spark MLlib
 * does internally. A model's first layer on standardised features, scores {@code x' V + c}, is the
 * layer {@code x W + b} on the original ones with {@code W = V / std} (row by row) and
 * {@code b = c - (mean / std) V}; the penalty is put on {@code W}, so the objective, and its
 * minimiser, are those of the original features.
 */
final class Standardizer {
    final NDArray mean;
    final NDArray scale;

    private Standardizer(NDArray mean, NDArray scale) {
        this.mean = mean;
        this.scale = scale;
    }

    /** Measures the mean and standard deviation of every column (1 for a constant column). */
    static Standardizer of(NDArray x) {
        return of(x, false);
    }

    /**
     * As {@link #of(NDArray)}; for {@code sparse} features the variance comes from the column
     * sums of {@code x} and {@code x^2} (which run on the non-zeros), since {@code x - mean}
     * would fill every zero. It loses digits where a column's mean dwarfs its spread, which only
     * makes the preconditioner a little worse: the objective does not depend on it.
     */
    static Standardizer of(NDArray x, boolean sparse) {
        NDArray mean = x.mean(0);
        NDArray variance = sparse ? Np.maximum(x.square().mean(0).sub(mean.square()), Np.array(0.0))
            : x.sub(mean).square().mean(0);
        NDArray std = variance.sqrt();
        return new Standardizer(mean, Np.where(std.gt(0), std, 1.0));
    }

    NDArray apply(NDArray x) {
        return x.sub(mean).div(scale);
    }

    /** The parameters of the original features for parameters trained on standardised ones. */
    List<NDArray> original(List<NDArray> params) {
        List<NDArray> out = new ArrayList<>(params);
        NDArray v = params.get(0);
        out.set(0, Model.unscale(v, scale));
        out.set(1, params.get(1).sub(mean.div(scale).matmul(v)));
        return out;
    }
}
