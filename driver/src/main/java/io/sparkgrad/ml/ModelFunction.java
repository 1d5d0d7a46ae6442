package io.sparkgrad.ml;

import io.sparkgrad.np.NDArray;

import java.io.Serializable;
import java.util.List;

/**
 * A model for {@link SparkgradEstimator}, written with sparkgrad's tensor operations: its
 * parameters, its output for a batch of feature rows, and the loss of each row. The estimator
 * minimises the (weighted) mean of {@link #rowLoss} plus the penalty of {@code regParam} and
 * {@code elasticNetParam} on the parameters {@link #penalised} says, with the gradients that
 * autograd gives; {@link SparkgradModel} calls {@link #forward} on batches of rows on the
 * executors, so the function must be {@link Serializable}. A model saved with
 * {@link SparkgradModel#write()} is loaded by instantiating the class again: give it a public
 * constructor without arguments.
 *
 * <pre>{@code
 * public final class PoissonRegression implements ModelFunction {
 *     public List<NDArray> init(int features, int classes, long seed) {
 *         return List.of(Np.zeros(features), Np.scalar(0));
 *     }
 *     public NDArray forward(List<NDArray> p, NDArray x) {
 *         return x.matmul(p.get(0)).add(p.get(1));         // the log of the mean
 *     }
 *     public NDArray rowLoss(NDArray eta, NDArray y) {
 *         return eta.exp().sub(y.mul(eta));                // Poisson deviance / 2, up to a constant
 *     }
 *     public NDArray predict(NDArray eta) {
 *         return eta.exp();
 *     }
 * }
 * }</pre>
 */
public interface ModelFunction extends Serializable {
    /**
     * Returns the starting values of the parameters.
     *
     * @param features the number of features per row
     * @param classes  the number of classes for a classifier (from the labels), 0 for regression
     * @param seed     the estimator's seed, for random starting values
     * @return the parameters, in the order {@link #forward} takes them
     */
    List<NDArray> init(int features, int classes, long seed);

    /**
     * Returns the model's output for rows {@code x} (n x features; local or distributed): for a
     * regression a value per row (n), for a classifier a logit per row (n, two classes) or a score
     * per class (n x classes).
     *
     * @param params the parameters
     * @param x      the feature rows
     * @return the output
     */
    NDArray forward(List<NDArray> params, NDArray x);

    /**
     * Returns the loss of every row (n) given the output and the labels (n).
     *
     * @param output what {@link #forward} returned
     * @param label  the rows' labels (class indices 0, 1, ... for a classifier)
     * @return the loss per row
     */
    NDArray rowLoss(NDArray output, NDArray label);

    /**
     * Returns true for a classifier: the transform then adds the raw prediction (the scores),
     * the probability (sigmoid or softmax of them) and the class of the largest.
     *
     * @return whether this is a classifier; false by default
     */
    default boolean isClassifier() {
        return false;
    }

    /**
     * Returns a regression's prediction per row from its output (for instance the mean of a
     * log-linear model); unused for a classifier.
     *
     * @param output what {@link #forward} returned
     * @return the prediction per row; the output itself by default
     */
    default NDArray predict(NDArray output) {
        return output;
    }

    /**
     * Returns true when the regularisation applies to parameter {@code index}.
     *
     * @param index the parameter's position in the list {@link #init} returns
     * @return whether it is penalised; by default the even positions (weights, with their biases
     *     after them)
     */
    default boolean penalised(int index) {
        return index % 2 == 0;
    }
}
