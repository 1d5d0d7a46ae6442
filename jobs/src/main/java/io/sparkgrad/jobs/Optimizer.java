package io.sparkgrad.jobs;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Moves parameters downhill given an {@link Objective} that returns the loss and its gradients:
 * plain gradient descent, momentum, Adam, or L-BFGS with a backtracking line search.
 */
abstract class Optimizer {
    /** The loss and the gradient of every parameter at the parameters' current values. */
    record Evaluation(double loss, List<NDArray> grads) {
        double gradNorm() {
            double s = 0;
            for (NDArray g : grads) {
                for (double v : g.toArray()) {
                    s += v * v;
                }
            }
            return Math.sqrt(s);
        }
    }

    /** Evaluates the loss and gradients at the parameters' current values. */
    interface Objective {
        Evaluation evaluate();
    }

    /** What one step saw where it started, and how many evaluations it took. */
    record Step(double loss, double gradNorm, int evaluations) {}

    static Optimizer of(String name, double lr) {
        switch (name) {
            case "sgd": return new Sgd(lr);
            case "momentum": return new Momentum(lr, 0.9);
            case "adam": return new Adam(lr, 0.9, 0.999, 1e-8);
            case "lbfgs": return new Lbfgs(10);
            default: throw new JobError("train: unknown optimizer '" + name + "' (sgd, momentum, adam, lbfgs)");
        }
    }

    /** Takes one step, updating {@code params} in place. */
    abstract Step step(List<NDArray> params, Objective f);

    private static final class Sgd extends Optimizer {
        private final double lr;

        Sgd(double lr) {
            this.lr = lr;
        }

        Step step(List<NDArray> params, Objective f) {
            Evaluation e = f.evaluate();
            for (int i = 0; i < params.size(); i++) {
                params.get(i).assign(params.get(i).sub(e.grads().get(i).mul(lr)));
            }
            return new Step(e.loss(), e.gradNorm(), 1);
        }
    }

    /** Heavy-ball momentum: v = beta v + g; p -= lr v. */
    private static final class Momentum extends Optimizer {
        private final double lr;
        private final double beta;
        private List<NDArray> velocity;

        Momentum(double lr, double beta) {
            this.lr = lr;
            this.beta = beta;
        }

        Step step(List<NDArray> params, Objective f) {
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

    /** Adam (Kingma and Ba), with bias-corrected first and second moments. */
    private static final class Adam extends Optimizer {
        private final double lr;
        private final double beta1;
        private final double beta2;
        private final double eps;
        private List<NDArray> m;
        private List<NDArray> v;
        private int t;

        Adam(double lr, double beta1, double beta2, double eps) {
            this.lr = lr;
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
        }

        Step step(List<NDArray> params, Objective f) {
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

    /**
     * L-BFGS: the two-loop recursion over the last {@code history} steps gives the direction,
     * and a backtracking line search with the Armijo condition gives the step length. The
     * parameters are handled as one flat vector.
     */
    private static final class Lbfgs extends Optimizer {
        private final int history;
        private final Deque<double[][]> pairs = new ArrayDeque<>(); // {s, y, {rho}}
        private Evaluation current;

        Lbfgs(int history) {
            this.history = history;
        }

        Step step(List<NDArray> params, Objective f) {
            int evals = 0;
            if (current == null) {
                current = f.evaluate();
                evals++;
            }
            double[] x = flatten(params);
            double[] g = flattenGrads(current.grads());
            double[] d = direction(g);
            double slope = dot(g, d);
            if (!(slope < 0)) {
                pairs.clear(); // not a descent direction: restart from steepest descent
                d = scale(g, -1);
                slope = dot(g, d);
            }
            double gnorm = Math.sqrt(dot(g, g));
            double t = pairs.isEmpty() ? Math.min(1, 1 / Math.max(gnorm, 1e-300)) : 1;
            Evaluation next = null;
            double[] xNew = null;
            for (int trial = 0; trial < 30; trial++) {
                xNew = axpy(t, d, x);
                unflatten(xNew, params);
                next = f.evaluate();
                evals++;
                if (Double.isFinite(next.loss()) && next.loss() <= current.loss() + 1e-4 * t * slope) {
                    break;
                }
                t *= 0.5;
            }
            Step step = new Step(current.loss(), gnorm, evals);
            double[] gNew = flattenGrads(next.grads());
            double[] s = axpy(-1, x, xNew);
            double[] yv = axpy(-1, g, gNew);
            double sy = dot(s, yv);
            if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) { // keep the curvature pairs that are positive
                pairs.addLast(new double[][] {s, yv, {1 / sy}});
                if (pairs.size() > history) {
                    pairs.removeFirst();
                }
            }
            current = next;
            return step;
        }

        /** -H g by the two-loop recursion, with the initial Hessian scaled by s'y / y'y. */
        private double[] direction(double[] g) {
            double[] q = g.clone();
            List<double[][]> list = new ArrayList<>(pairs);
            double[] alpha = new double[list.size()];
            for (int i = list.size() - 1; i >= 0; i--) {
                double[][] p = list.get(i);
                alpha[i] = p[2][0] * dot(p[0], q);
                q = axpy(-alpha[i], p[1], q);
            }
            if (!list.isEmpty()) {
                double[][] last = list.get(list.size() - 1);
                q = scale(q, 1 / (last[2][0] * dot(last[1], last[1])));
            }
            for (int i = 0; i < list.size(); i++) {
                double[][] p = list.get(i);
                double beta = p[2][0] * dot(p[1], q);
                q = axpy(alpha[i] - beta, p[0], q);
            }
            return scale(q, -1);
        }

        private static double[] flatten(List<NDArray> arrays) {
            int n = 0;
            for (NDArray a : arrays) {
                n += a.size();
            }
            double[] out = new double[n];
            int pos = 0;
            for (NDArray a : arrays) {
                double[] v = a.toArray();
                System.arraycopy(v, 0, out, pos, v.length);
                pos += v.length;
            }
            return out;
        }

        private static double[] flattenGrads(List<NDArray> grads) {
            return flatten(grads);
        }

        private static void unflatten(double[] flat, List<NDArray> params) {
            int pos = 0;
            for (NDArray p : params) {
                double[] v = new double[Math.toIntExact(p.size())];
                System.arraycopy(flat, pos, v, 0, v.length);
                pos += v.length;
                p.assign(Np.array(p.shape(), v));
            }
        }

        private static double dot(double[] a, double[] b) {
            double s = 0;
            for (int i = 0; i < a.length; i++) {
                s += a[i] * b[i];
            }
            return s;
        }

        private static double[] scale(double[] a, double c) {
            double[] o = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                o[i] = a[i] * c;
            }
            return o;
        }

        /** c a + b. */
        private static double[] axpy(double c, double[] a, double[] b) {
            double[] o = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                o[i] = c * a[i] + b[i];
            }
            return o;
        }
    }
}
