package io.sparkgrad.worker;

import io.sparkgrad.np.NDArray;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

import java.util.Collections;
import java.util.Iterator;

/**
 * Runs a {@link BlockFn} over the one block tuple of a partition (the blocks of the distributed
 * operands, zipped) together with the local operands, which travel either inside the task
 * ({@link Block}) or as a Spark broadcast ({@code Broadcast<Block>}).
 */
public final class PartitionFn implements FlatMapFunction<Iterator<Block[]>, Block> {
    private static final long serialVersionUID = 1L;

    private final BlockFn fn;
    private final Object[] locals;

    /**
     * @param locals each a {@link Block} or a {@code Broadcast<Block>}
     */
    public PartitionFn(BlockFn fn, Object[] locals) {
        this.fn = fn;
        this.locals = locals;
    }

    /** Returns a local operand shipped inside the task ({@link Block}) or as a {@code Broadcast<Block>}. */
    @SuppressWarnings("unchecked")
    public static Block unship(Object shipped) {
        return shipped instanceof Broadcast ? ((Broadcast<Block>) shipped).value() : (Block) shipped;
    }

    @Override
    public Iterator<Block> call(Iterator<Block[]> partition) {
        FaultInjector.check();
        if (!partition.hasNext()) {
            return Collections.emptyIterator();
        }
        Block[] blocks = partition.next();
        NDArray[] args = new NDArray[blocks.length + locals.length];
        for (int i = 0; i < blocks.length; i++) {
            args[i] = blocks[i].array();
        }
        for (int i = 0; i < locals.length; i++) {
            args[blocks.length + i] = unship(locals[i]).array();
        }
        NDArray out = fn.apply(blocks[0].index(), args);
        Block first = blocks[0];
        return Collections.singletonList(Block.of(first.index(), first.rowStart(), out)).iterator();
    }
}
