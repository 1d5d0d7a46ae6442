package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.List;

/**
 * Moves parameters downhill, one {@link #step} at a time, given an {@link Objective} that returns
 * the loss and its gradients. An optimizer keeps state between steps (momentum, moments, L-BFGS's
 * curvature pairs): use one instance per training run, always with the same parameter list.
 *
 * <pre>{@code
 * Optimizer opt = new Adam(0.01);
 * for (int i = 0; i < 100; i++) {
 *     Step s = opt.step(params, objective);
 * }
 * }</pre>
 */
public abstract class Optimizer {
    /** For subclasses. */
    protected Optimizer() {}

    /**
     * Takes one step from the parameters' current values, updating them in place with
     * {@link NDArray#assign}.
     *
     * @param params the parameters, in the order of the objective's gradients
     * @param f      the objective
     * @return the loss and gradient norm where the step started, and its evaluations
     */
    public abstract Step step(List<NDArray> params, Objective f);

    /** How {@link #minimize} ended. */
    public enum Stop {
        /** {@code maxIter} iterations ran. */
        MAX_ITER,
        /** The gradient's norm, or the relative change of the loss, fell to {@code tol} or below. */
        CONVERGED
    }

    /**
     * What {@link #minimize} did.
     *
     * @param iterations the iterations run
     * @param loss       the loss where the last iteration started
     * @param gradNorm   the gradient's norm there
     * @param stop       why it stopped
     */
    public record Result(int iterations, double loss, double gradNorm, Stop stop) {}

    /**
     * Runs up to {@code maxIter} steps, stopping early when a step starts with a gradient norm of at
     * most {@code tol}, or when the loss changes by at most {@code tol * max(1, |loss|)} from one
     * step's start to the next (the test of MLlib's optimizers, which Breeze runs).
     *
     * @param params   the parameters, updated in place
     * @param f        the objective
     * @param maxIter  the most iterations, at least 1
     * @param tol      the convergence tolerance (0: run every iteration)
     * @param listener told about each iteration, or null
     * @return the iterations run, the last loss and why it stopped
     */
    public Result minimize(List<NDArray> params, Objective f, int maxIter, double tol, ProgressListener listener) {
        if (maxIter < 1) {
            throw new IllegalArgumentException("minimize: maxIter must be at least 1, got " + maxIter);
        }
        if (!(tol >= 0)) {
            throw new IllegalArgumentException("minimize: tol must be 0 or more, got " + tol);
        }
        double previous = Double.NaN;
        Step step = null;
        for (int it = 1; it <= maxIter; it++) {
            long start = System.nanoTime();
            step = step(params, f);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (listener != null) {
                listener.onIteration(new Progress(it, step.loss(), step.gradNorm(), step.evaluations(), seconds));
            }
            boolean flat = !Double.isNaN(previous)
                && Math.abs(step.loss() - previous) <= tol * Math.max(1, Math.abs(step.loss()));
            if (step.gradNorm() <= tol || flat) {
                return new Result(it, step.loss(), step.gradNorm(), Stop.CONVERGED);
            }
            previous = step.loss();
        }
        return new Result(maxIter, step.loss(), step.gradNorm(), Stop.MAX_ITER);
    }

    /**
     * Returns the optimizer called {@code name} with the defaults of {@code bin/sparkgrad train}:
     * {@code sgd}, {@code momentum} (beta 0.9), {@code adam} (0.9, 0.999, 1e-8) or {@code lbfgs}
     * (10 pairs; {@code lr} unused).
     *
     * @param name the optimizer's name
     * @param lr   the learning rate of the first-order methods
     * @return a new optimizer
     * @throws IllegalArgumentException for another name
     */
    public static Optimizer of(String name, double lr) {
        switch (name) {
            case "sgd": return new Sgd(lr);
            case "momentum": return new Momentum(lr, 0.9);
            case "adam": return new Adam(lr, 0.9, 0.999, 1e-8);
            case "lbfgs": return new Lbfgs(10);
            default: throw new IllegalArgumentException("unknown optimizer '" + name + "' (sgd, momentum, adam, lbfgs)");
        }
    }

    /** A copy of {@code a} that later in-place changes of {@code a} leave alone. */
    static NDArray copy(NDArray a) {
        // a distributed array's op reads its operand as it was when the op was written (a snapshot)
        return a.isDistributed() ? a.detach().mul(1.0) : Np.array(a.shape(), a.toArray());
    }

    static void checkRate(String who, double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(who + ": the learning rate must be 0 or more and finite, got " + lr);
        }
    }
}
