package io.sparkgrad.worker;

/**
 * A {@link BlockFn} with a path for sparse operands: its distributed arguments may be
 * {@link SparseRows} (the rows of a sparse block), which it runs on the non-zeros, and its result
 * may be {@link SparseRows} (a zero-preserving op keeps the block sparse). Kernels without this
 * mark get the dense form of a sparse block (the densify rule), made by whoever calls them
 * ({@link PartitionFn}, {@link BlockProgram}); the choice is made per block at run time, from the
 * block's kind, never from the op.
 */
public interface SparseFn extends BlockFn {
    /**
     * Returns true when the result for a sparse first operand is itself sparse rows of the
     * operand's width (a block program then sizes its chunks by the non-zeros, not by the width).
     */
    default boolean keepsSparse() {
        return false;
    }
}
