package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * L-BFGS: the two-loop recursion over the last {@code history} steps gives the direction, and a
 * backtracking line search (halving from 1, up to 30 trials) with the Armijo condition gives the
 * step length. The parameters are handled as one flat vector of local values (distributed
 * parameters are collected to the driver), so this suits parameters that fit in the driver.
 *
 * <p>With {@link #setL1} it is OWL-QN (Andrew and Gao, 2007), as MLlib uses for an L1 penalty:
 * the direction follows the pseudo-gradient of {@code f + strength * sum |p|}, and each trial point
 * is projected onto the orthant of its start, so elements that cross 0 stop at exactly 0.
 */
public final class Lbfgs extends Optimizer {
    private final int history;
    private final Deque<double[][]> pairs = new ArrayDeque<>(); // {s, y, {rho}}
    private Evaluation current;
    private L1 l1 = new L1("Lbfgs", 0, new int[0]);

    /** Makes L-BFGS keeping the last 10 curvature pairs, as MLlib does. */
    public Lbfgs() {
        this(10);
    }

    /**
     * Makes L-BFGS.
     *
     * @param history how many curvature pairs to keep, at least 1
     */
    public Lbfgs(int history) {
        if (history < 1) {
            throw new IllegalArgumentException("Lbfgs: history must be at least 1, got " + history);
        }
        this.history = history;
    }

    /**
     * Adds the penalty {@code strength * sum |p|} over the parameters listed (none: all), which makes
     * this OWL-QN. Set it before the first step.
     *
     * @param strength the L1 strength, 0 or more
     * @param params   the indices of the penalised parameters in the parameter list (none: all)
     * @return this optimizer
     */
    public Lbfgs setL1(double strength, int... params) {
        this.l1 = new L1("Lbfgs", strength, params);
        return this;
    }

    @Override
    public Step step(List<NDArray> params, Objective f) {
        int evals = 0;
        if (current == null) {
            current = f.evaluate();
            evals++;
        }
        boolean owl = l1.on();
        boolean[] mask = null;
        if (owl) {
            l1.check("Lbfgs", params.size());
            mask = l1.mask(params);
        }
        double[] x = flatten(params);
        double[] g = flatten(current.grads());
        double[] pg = owl ? l1.pseudoGradient(x, g, mask) : g;
        double loss = owl ? current.loss() + penalty(x, mask) : current.loss();
        double[] d = direction(pg);
        if (owl) {
            for (int i = 0; i < d.length; i++) {
                if (d[i] * pg[i] >= 0) {
                    d[i] = 0; // keep only the elements that descend along the pseudo-gradient
                }
            }
        }
        double slope = dot(pg, d);
        if (!(slope < 0)) {
            pairs.clear(); // not a descent direction: restart from steepest descent
            d = scale(pg, -1);
            slope = dot(pg, d);
        }
        double gnorm = Math.sqrt(dot(pg, pg));
        double t = pairs.isEmpty() ? Math.min(1, 1 / Math.max(gnorm, 1e-300)) : 1;
        Evaluation next = null;
        double[] xNew = null;
        for (int trial = 0; trial < 30; trial++) {
            xNew = axpy(t, d, x);
            double decrease = 1e-4 * t * slope;
            if (owl) {
                project(xNew, x, pg, mask);
                decrease = 1e-4 * dot(pg, axpy(-1, x, xNew));
            }
            unflatten(xNew, params);
            next = f.evaluate();
            evals++;
            double nextLoss = owl ? next.loss() + penalty(xNew, mask) : next.loss();
            if (Double.isFinite(nextLoss) && nextLoss <= loss + decrease) {
                break;
            }
            t *= 0.5;
        }
        Step step = new Step(loss, gnorm, evals);
        double[] gNew = flatten(next.grads());
        double[] s = axpy(-1, x, xNew);
        double[] yv = axpy(-1, g, gNew); // the smooth part's gradients: the L1 term has no curvature
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

    private double penalty(double[] x, boolean[] mask) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            if (mask[i]) {
                s += Math.abs(x[i]);
            }
        }
        return l1.strength * s;
    }

    /**
     * Sets to 0 each penalised element of {@code xNew} outside the orthant of the start: the sign
     * of {@code x}, or where {@code x} is 0 the sign of the descent {@code -pg}.
     */
    private static void project(double[] xNew, double[] x, double[] pg, boolean[] mask) {
        for (int i = 0; i < xNew.length; i++) {
            if (mask[i]) {
                double orthant = x[i] != 0 ? Math.signum(x[i]) : -Math.signum(pg[i]);
                if (Math.signum(xNew[i]) != orthant) {
                    xNew[i] = 0;
                }
            }
        }
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
            n += Math.toIntExact(a.size());
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
