package io.sparkgrad.optim;

/**
 * One iteration of {@link Optimizer#minimize}, as a {@link ProgressListener} sees it.
 *
 * @param iteration   the iteration, from 1
 * @param loss        the objective where the iteration started
 * @param gradNorm    the gradient's norm there
 * @param evaluations the objective's evaluations during the iteration
 * @param seconds     the iteration's wall-clock time
 */
public record Progress(int iteration, double loss, double gradNorm, int evaluations, double seconds) {}
