/**
 * Optimizers over lists of parameters ({@link io.sparkgrad.np.NDArray}s, local or distributed):
 * {@link io.sparkgrad.optim.Sgd} (with an optional proximal L1 step), {@link io.sparkgrad.optim.Momentum},
 * {@link io.sparkgrad.optim.Adam} and {@link io.sparkgrad.optim.Lbfgs} (backtracking line search,
 * and OWL-QN for an L1 penalty). An {@link io.sparkgrad.optim.Objective} gives the loss and the
 * gradients at the parameters' current values; {@link io.sparkgrad.optim.Objective#of} builds one
 * from a loss written with autograd.
 *
 * <pre>{@code
 * NDArray w = Np.zeros(3);
 * Objective f = Objective.of(List.of(w), () -> Np.mse(x.matmul(w), y));
 * Optimizer.Result r = new Lbfgs().minimize(List.of(w), f, 100, 1e-9,
 *     p -> System.out.println(p.iteration() + " " + p.loss()));
 * }</pre>
 */
package io.sparkgrad.optim;
