package io.sparkgrad.optim;

/** Told about each iteration of {@link Optimizer#minimize}, after the iteration's step. */
@FunctionalInterface
public interface ProgressListener {
    /**
     * Receives one iteration's progress.
     *
     * @param progress the iteration, its starting loss and gradient norm, evaluations and time
     */
    void onIteration(Progress progress);
}
