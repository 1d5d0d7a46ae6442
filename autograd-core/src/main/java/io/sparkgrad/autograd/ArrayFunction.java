package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;

/** A function of one or more arrays to one array: what the autograd helpers differentiate. */
@FunctionalInterface
public interface ArrayFunction {
    NDArray apply(NDArray... inputs);
}
