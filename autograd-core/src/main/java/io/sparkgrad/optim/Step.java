package io.sparkgrad.optim;

/**
 * What one optimizer step saw where it started: the objective's value and the norm of its
 * gradient (for an L1 penalty, of the pseudo-gradient, zero at an optimum), and how many
 * evaluations of the objective the step took.
 *
 * @param loss        the objective at the step's starting point (including an L1 penalty)
 * @param gradNorm    the norm of the gradient there
 * @param evaluations the number of calls of {@link Objective#evaluate()} during the step
 */
public record Step(double loss, double gradNorm, int evaluations) {}
