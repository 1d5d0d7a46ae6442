package io.sparkgrad.worker;

import io.sparkgrad.np.NDArray;

import java.io.Serializable;

/**
 * A computation run on an executor for one partition ({@code block} is its index): its arguments
 * are the blocks of the
 * distributed operands (same rows), followed by the local operands, all as local arrays. It
 * returns the partition's result: the block of a distributed result, or a partial of a
 * reduction that the driver combines.
 */
@FunctionalInterface
public interface BlockFn extends Serializable {
    NDArray apply(int block, NDArray[] args);
}
