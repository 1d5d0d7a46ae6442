package io.sparkgrad.worker;

import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapFunction2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Pairs up the blocks of co-partitioned RDDs (same layout: partition {@code i} of each holds the
 * same rows), so that a kernel sees the blocks of all its distributed operands at once.
 */
public final class Zips {
    private Zips() {}

    /** Wraps each block of one RDD as a one-element tuple. */
    public static FlatMapFunction<Iterator<Block>, Block[]> single() {
        return it -> {
            List<Block[]> out = new ArrayList<>(1);
            while (it.hasNext()) {
                out.add(new Block[] {it.next()});
            }
            return out.iterator();
        };
    }

    /** Appends the partition's block of another RDD to each tuple; the blocks must hold the same rows. */
    public static FlatMapFunction2<Iterator<Block[]>, Iterator<Block>, Block[]> append() {
        return (tuples, blocks) -> append(tuples, blocks, true);
    }

    /**
     * Appends the partition's block of another RDD to each tuple, checking only that both come
     * from the same block: for per-block partials of aggregations, whose shapes differ.
     */
    public static FlatMapFunction2<Iterator<Block[]>, Iterator<Block>, Block[]> appendPartial() {
        return (tuples, blocks) -> append(tuples, blocks, false);
    }

    private static Iterator<Block[]> append(Iterator<Block[]> tuples, Iterator<Block> blocks, boolean sameRows) {
        List<Block[]> out = new ArrayList<>(1);
        while (tuples.hasNext()) {
            Block[] t = tuples.next();
            if (!blocks.hasNext()) {
                throw new IllegalStateException("zip: partition of block " + t[0].index()
                    + " has no block in the other operand");
            }
            Block b = blocks.next();
            if (b.index() != t[0].index() || sameRows && b.rows() != t[0].rows()) {
                throw new IllegalStateException("zip: " + t[0] + " paired with " + b
                    + "; the operands' layouts differ");
            }
            Block[] n = java.util.Arrays.copyOf(t, t.length + 1);
            n[t.length] = b;
            out.add(n);
        }
        return out.iterator();
    }
}
