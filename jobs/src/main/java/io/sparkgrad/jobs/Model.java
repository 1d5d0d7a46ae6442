package io.sparkgrad.jobs;

import io.sparkgrad.ml.ModelFunction;
import io.sparkgrad.ml.Models;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayList;
import java.util.List;

/**
 * The models {@code train} fits: each gives its parameters' names, shapes and starting values and
 * its predictions; its outputs and the loss of every row are the library's built-in model of the
 * same name ({@link Models}), which the Spark ML estimator fits too. Training minimises
 * {@code mean(rowLoss) + l2/2 * sum of squared weights} (biases are not penalised), the
 * objective Spark MLlib's linear and logistic regression minimise.
 */
abstract class Model {
    final String kind;
    final int features;
    final int classes;
    final List<Integer> hidden;
    private final ModelFunction fn;

    private Model(String kind, int features, int classes, List<Integer> hidden) {
        this.kind = kind;
        this.features = features;
        this.classes = classes;
        this.hidden = List.copyOf(hidden);
        this.fn = Models.named(kind, hidden.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Returns the model {@code kind} for {@code features} inputs and {@code classes} classes. */
    static Model of(String kind, int features, int classes, List<Integer> hidden) {
        switch (kind) {
            case "linear": return new Linear(features);
            case "logistic": return new Logistic(features);
            case "softmax": return new Softmax(features, classes);
            case "mlp": return new Mlp(features, classes, hidden);
            default: throw new JobError("train: unknown model '" + kind + "' (linear, logistic, softmax, mlp)");
        }
    }

    /** Names of the parameters, in order. */
    abstract List<String> names();

    /** Shapes of the parameters, in order. */
    abstract List<int[]> shapes();

    /** True for the parameters the L2 penalty applies to (weights, not biases). */
    boolean penalised(int param) {
        return names().get(param).startsWith("w");
    }

    /** Starting values: zeros for linear models, scaled normal samples for the MLP's weights. */
    List<NDArray> init(long seed) {
        List<NDArray> p = new ArrayList<>();
        for (int[] s : shapes()) {
            p.add(Np.zeros(s));
        }
        return p;
    }

    /** The model's raw output for rows {@code x}: a value per row, or a score per class. */
    final NDArray scores(NDArray x, List<NDArray> p) {
        return fn.forward(p, x);
    }

    /** The loss of every row (a vector as long as {@code x} has rows). */
    final NDArray rowLoss(NDArray x, NDArray y, List<NDArray> p) {
        return fn.rowLoss(scores(x, p), y);
    }

    /** Predictions per row: the value, the probability of class 1, or the class. */
    abstract NDArray predict(NDArray x, List<NDArray> p);

    /** The L2 penalty {@code l2/2 * sum of squared penalised parameters}. */
    NDArray penalty(List<NDArray> p, double l2) {
        return penalty(p, l2, null);
    }

    /**
     * The L2 penalty of the weights of the original features when the model is trained on
     * features divided by {@code featureScale} (null: not scaled).
     */
    NDArray penalty(List<NDArray> p, double l2, NDArray featureScale) {
        NDArray total = Np.scalar(0);
        for (int i = 0; i < p.size(); i++) {
            if (penalised(i)) {
                NDArray w = i == 0 && featureScale != null ? unscale(p.get(0), featureScale) : p.get(i);
                total = total.add(w.square().sum());
            }
        }
        return total.mul(l2 / 2);
    }

    /**
     * The first weights (one row per feature) of a model trained on features divided by
     * {@code featureScale}, expressed for the original features: each row divided by its scale.
     */
    static NDArray unscale(NDArray firstWeights, NDArray featureScale) {
        return firstWeights.ndim() == 1 ? firstWeights.div(featureScale) : firstWeights.div(featureScale.reshape(-1, 1));
    }

    /** The class of each row: the index of its largest score (the lowest index on ties). */
    static NDArray argmax(NDArray scores, int classes) {
        NDArray isMax = scores.eq(scores.max(1, true));
        NDArray seen = null; // 1 where an earlier class already holds the maximum
        NDArray result = null;
        for (int c = 0; c < classes; c++) {
            NDArray col = isMax.slice(1, c, c + 1);
            NDArray first = seen == null ? col : col.mul(seen.rsub(1));
            result = result == null ? first.mul(c) : result.add(first.mul(c));
            seen = seen == null ? col : seen.maximum(col);
        }
        return result.reshape(-1);
    }

    /** A model whose scores are {@code x w + b}: one output, or one per class. */
    private abstract static class Affine extends Model {
        Affine(String kind, int d, int classes) {
            super(kind, d, classes, List.of());
        }

        /** True when the model has one output per class (a weight matrix), false for one output. */
        abstract boolean perClass();

        List<String> names() {
            return List.of("w", "b");
        }

        List<int[]> shapes() {
            return perClass() ? List.of(new int[] {features, classes}, new int[] {classes})
                : List.of(new int[] {features}, new int[0]);
        }
    }

    private static final class Linear extends Affine {
        Linear(int d) {
            super("linear", d, 0);
        }

        boolean perClass() {
            return false;
        }

        NDArray predict(NDArray x, List<NDArray> p) {
            return scores(x, p);
        }
    }

    private static final class Logistic extends Affine {
        Logistic(int d) {
            super("logistic", d, 2);
        }

        boolean perClass() {
            return false;
        }

        NDArray predict(NDArray x, List<NDArray> p) {
            return scores(x, p).sigmoid();
        }
    }

    private static final class Softmax extends Affine {
        Softmax(int d, int k) {
            super("softmax", d, k);
        }

        boolean perClass() {
            return true;
        }

        NDArray predict(NDArray x, List<NDArray> p) {
            return argmax(scores(x, p), classes);
        }
    }

    private static final class Mlp extends Model {
        Mlp(int d, int k, List<Integer> hidden) {
            super("mlp", d, k, hidden);
        }

        private int[] widths() {
            int[] w = new int[hidden.size() + 2];
            w[0] = features;
            for (int i = 0; i < hidden.size(); i++) {
                w[i + 1] = hidden.get(i);
            }
            w[w.length - 1] = classes;
            return w;
        }

        List<String> names() {
            List<String> n = new ArrayList<>();
            for (int i = 1; i < widths().length; i++) {
                n.add("w" + i);
                n.add("b" + i);
            }
            return n;
        }

        List<int[]> shapes() {
            int[] w = widths();
            List<int[]> s = new ArrayList<>();
            for (int i = 1; i < w.length; i++) {
                s.add(new int[] {w[i - 1], w[i]});
                s.add(new int[] {w[i]});
            }
            return s;
        }

        /** He initialisation of the weights (normal, variance 2 / fan-in), zero biases. */
        @Override
        List<NDArray> init(long seed) {
            Np.seed(seed);
            List<NDArray> p = new ArrayList<>();
            for (int[] s : shapes()) {
                p.add(s.length == 2 ? Np.randomNormal(0, Math.sqrt(2.0 / s[0]), s) : Np.zeros(s));
            }
            return p;
        }

        NDArray predict(NDArray x, List<NDArray> p) {
            return argmax(scores(x, p), classes);
        }
    }
}
