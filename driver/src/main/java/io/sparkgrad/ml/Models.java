package io.sparkgrad.ml;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayList;
import java.util.List;

/**
 * The models {@link SparkgradEstimator#setModel(String)} names, written as any user's
 * {@link ModelFunction}: linear (squared error / 2, as MLlib's LinearRegression), logistic
 * (binary cross-entropy of a logit, as LogisticRegression), softmax (multinomial), poisson (log
 * link, as GeneralizedLinearRegression's Poisson family) and mlp (ReLU hidden layers, softmax
 * output). The weights are penalised, the biases are not.
 */
public final class Models {
    private Models() {}

    /** The names of the built-in models. */
    public static final List<String> NAMES = List.of("linear", "logistic", "softmax", "poisson", "mlp");

    /**
     * Returns the built-in model {@code name}, or an instance of the class so named made with its
     * public constructor without arguments.
     *
     * @param name   a name of {@link #NAMES} or the binary name of a {@link ModelFunction} class
     * @param hidden the hidden layer widths (mlp only)
     * @return the model
     * @throws IllegalArgumentException when the name is neither
     */
    public static ModelFunction named(String name, int[] hidden) {
        switch (name) {
            case "linear": return new Linear();
            case "logistic": return new Logistic();
            case "softmax": return new Softmax();
            case "poisson": return new Poisson();
            case "mlp": return new Mlp(hidden);
            default: return instantiate(name);
        }
    }

    private static ModelFunction instantiate(String className) {
        Class<?> c;
        try {
            c = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("model '" + className + "' is neither a built-in model " + NAMES
                + " nor a class on the classpath");
        }
        if (!ModelFunction.class.isAssignableFrom(c)) {
            throw new IllegalArgumentException("model class " + className + " does not implement " + ModelFunction.class.getName());
        }
        try {
            return (ModelFunction) c.getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("model class " + className + " needs a public constructor without arguments "
                + "to be made again: " + e);
        }
    }

    /** {@code x w + b}. */
    private abstract static class Affine implements ModelFunction {
        @Override
        public List<NDArray> init(int features, int classes, long seed) {
            return List.of(Np.zeros(features), Np.scalar(0));
        }

        @Override
        public NDArray forward(List<NDArray> p, NDArray x) {
            return x.matmul(p.get(0)).add(p.get(1));
        }
    }

    private static final class Linear extends Affine {
        @Override
        public NDArray rowLoss(NDArray out, NDArray y) {
            return out.sub(y).square().mul(0.5);
        }
    }

    private static final class Logistic extends Affine {
        @Override
        public boolean isClassifier() {
            return true;
        }

        @Override
        public List<NDArray> init(int features, int classes, long seed) {
            if (classes != 2) {
                throw new IllegalArgumentException("logistic: needs labels 0 and 1, got " + classes + " classes; use softmax");
            }
            return super.init(features, classes, seed);
        }

        /** log(1 + e^z) - y z: the binary cross-entropy of logit z, finite for any z. */
        @Override
        public NDArray rowLoss(NDArray z, NDArray y) {
            return z.softplus().sub(z.mul(y));
        }
    }

    private static final class Poisson extends Affine {
        /** e^eta - y eta: the negative log-likelihood of a Poisson mean e^eta, without log(y!). */
        @Override
        public NDArray rowLoss(NDArray eta, NDArray y) {
            return eta.exp().sub(y.mul(eta));
        }

        @Override
        public NDArray predict(NDArray eta) {
            return eta.exp();
        }
    }

    /** The rows' softmax cross-entropy against integer class labels. */
    static NDArray crossEntropy(NDArray scores, NDArray y) {
        int classes = Math.toIntExact(scores.dim(1));
        return scores.logSoftmax(1).mul(y.reshape(-1, 1).eq(Np.arange(classes))).sum(1).neg();
    }

    private static final class Softmax implements ModelFunction {
        @Override
        public List<NDArray> init(int features, int classes, long seed) {
            return List.of(Np.zeros(features, classes), Np.zeros(classes));
        }

        @Override
        public NDArray forward(List<NDArray> p, NDArray x) {
            return x.matmul(p.get(0)).add(p.get(1));
        }

        @Override
        public NDArray rowLoss(NDArray scores, NDArray y) {
            return crossEntropy(scores, y);
        }

        @Override
        public boolean isClassifier() {
            return true;
        }
    }

    private static final class Mlp implements ModelFunction {
        private final int[] hidden;

        Mlp(int[] hidden) {
            for (int h : hidden) {
                if (h < 1) {
                    throw new IllegalArgumentException("mlp: hidden layer widths must be positive, got "
                        + java.util.Arrays.toString(hidden));
                }
            }
            this.hidden = hidden.clone();
        }

        /** He initialisation of the weights (normal, variance 2 / fan-in), zero biases. */
        @Override
        public List<NDArray> init(int features, int classes, long seed) {
            int[] widths = new int[hidden.length + 2];
            widths[0] = features;
            System.arraycopy(hidden, 0, widths, 1, hidden.length);
            widths[widths.length - 1] = classes;
            Np.seed(seed);
            List<NDArray> p = new ArrayList<>();
            for (int i = 1; i < widths.length; i++) {
                p.add(Np.randomNormal(0, Math.sqrt(2.0 / widths[i - 1]), widths[i - 1], widths[i]));
                p.add(Np.zeros(widths[i]));
            }
            return p;
        }

        @Override
        public NDArray forward(List<NDArray> p, NDArray x) {
            NDArray h = x;
            for (int i = 0; i < p.size(); i += 2) {
                h = h.matmul(p.get(i)).add(p.get(i + 1));
                if (i + 2 < p.size()) {
                    h = h.relu();
                }
            }
            return h;
        }

        @Override
        public NDArray rowLoss(NDArray scores, NDArray y) {
            return crossEntropy(scores, y);
        }

        @Override
        public boolean isClassifier() {
            return true;
        }
    }
}
