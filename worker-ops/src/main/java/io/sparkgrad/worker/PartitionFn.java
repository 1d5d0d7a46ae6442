package io.sparkgrad.worker;

import io.sparkgrad.np.NDArray;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;

/**
 * Runs a {@link BlockFn} over the block of each distributed operand of a partition, together with
 * the local operands, which travel either inside the task ({@link Block}) or as a Spark broadcast
 * ({@code Broadcast<Block>}). The operands' blocks arrive as one RDD of zipped tuples
 * ({@link #call}), or straight from the one or two operands' own RDDs ({@link #ofOne},
 * {@link #ofTwo}): an op then adds one RDD to the lineage, not three.
 */
public final class PartitionFn implements FlatMapFunction<Iterator<Block[]>, Block> {
    private static final long serialVersionUID = 1L;

    private final BlockFn fn;
    private final Object[] locals;
    private final int axis;
    private final long[] starts;

    /**
     * @param locals each a {@link Block} or a {@code Broadcast<Block>}
     * @param axis the blocked axis of the results
     * @param starts where the results' blocks start along it (a slice or a pad moves them)
     */
    public PartitionFn(BlockFn fn, Object[] locals, int axis, long[] starts) {
        this.fn = fn;
        this.locals = locals;
        this.axis = axis;
        this.starts = starts;
    }

    /** Returns a local operand shipped inside the task ({@link Block}) or as a {@code Broadcast<Block>}. */
    @SuppressWarnings("unchecked")
    public static Block unship(Object shipped) {
        return shipped instanceof Broadcast ? ((Broadcast<Block>) shipped).value() : (Block) shipped;
    }

    /** The kernel over one partition's blocks of the distributed operands, in argument order. */
    private Iterator<Block> apply(Block... blocks) {
        NDArray[] args = new NDArray[blocks.length + locals.length];
        boolean sparseAware = fn instanceof SparseFn; // else a sparse block is read in its dense form
        for (int i = 0; i < blocks.length; i++) {
            args[i] = sparseAware ? blocks[i].values() : blocks[i].array();
        }
        for (int i = 0; i < locals.length; i++) {
            args[blocks.length + i] = unship(locals[i]).array();
        }
        int index = blocks[0].index();
        NDArray out = fn.apply(index, args);
        return Collections.singletonList(Block.of(index, starts[index], axis, out)).iterator();
    }

    @Override
    public Iterator<Block> call(Iterator<Block[]> partition) {
        FaultInjector.check();
        if (!partition.hasNext()) {
            return Collections.emptyIterator();
        }
        return apply(partition.next());
    }

    /** The op over a partition of its one distributed operand. */
    public static FlatMapFunction<Iterator<Block>, Block> ofOne(BlockFn fn, Object[] locals, int axis, long[] starts) {
        PartitionFn p = new PartitionFn(fn, locals, axis, starts);
        return (FlatMapFunction<Iterator<Block>, Block> & Serializable) blocks -> {
            FaultInjector.check();
            if (!blocks.hasNext()) {
                return Collections.emptyIterator();
            }
            return p.apply(blocks.next());
        };
    }

    /** The op over a partition of each of its two distributed operands, which must hold the same rows. */
    public static FlatMapFunction2<Iterator<Block>, Iterator<Block>, Block> ofTwo(BlockFn fn, Object[] locals,
                                                                                  int axis, long[] starts) {
        PartitionFn p = new PartitionFn(fn, locals, axis, starts);
        return (FlatMapFunction2<Iterator<Block>, Iterator<Block>, Block> & Serializable) (as, bs) -> {
            FaultInjector.check();
            if (!as.hasNext() || !bs.hasNext()) {
                if (as.hasNext() || bs.hasNext()) {
                    throw new IllegalStateException("zip: a partition has a block in one operand only");
                }
                return Collections.emptyIterator();
            }
            Block a = as.next();
            Block b = bs.next();
            if (b.index() != a.index() || b.rows() != a.rows()) {
                throw new IllegalStateException("zip: " + a + " paired with " + b + "; the operands' layouts differ");
            }
            return p.apply(a, b);
        };
    }
}
