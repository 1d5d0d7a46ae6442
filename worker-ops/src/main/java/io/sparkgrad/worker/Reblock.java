package io.sparkgrad.worker;

import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * Moving rows into other blocks: the two sides of a shuffle by row range. {@link #split} cuts each
 * block at the boundaries of the target blocks and keys every piece by the target block it
 * belongs to; {@link #join} puts the pieces of one target block back together in row order. The
 * rows keep their global order and their values bit for bit.
 */
public final class Reblock {
    private Reblock() {}

    /**
     * Cuts each block into the pieces that fall into the target blocks starting at
     * {@code targetStarts} (one more entry than blocks: the last is the number of rows).
     */
    public static PairFlatMapFunction<Iterator<Block>, Integer, Block> split(long[] targetStarts) {
        return blocks -> {
            FaultInjector.check();
            List<Tuple2<Integer, Block>> out = new ArrayList<>();
            while (blocks.hasNext()) {
                Block b = blocks.next();
                int rows = b.rows();
                if (rows == 0) {
                    continue;
                }
                int width = b.width();
                long lo = b.rowStart();
                long hi = lo + rows;
                int t = targetOf(targetStarts, lo);
                while (lo < hi) {
                    long end = Math.min(hi, targetStarts[t + 1]);
                    int n = (int) (end - lo);
                    if (n > 0) {
                        int from = (int) (lo - b.rowStart());
                        if (b.isSparse()) { // a sparse block's pieces stay sparse
                            out.add(new Tuple2<>(t, new Block(t, lo, b.csr().rows(from, from + n))));
                        } else if (b.axis() == 0 && b.isFloat()) { // a float32 block's pieces stay float32
                            int[] shape = b.shapeRef().clone();
                            shape[0] = n;
                            float[] f = java.util.Arrays.copyOfRange(b.floatsRef(), from * width, (from + n) * width);
                            out.add(new Tuple2<>(t, new Block(t, lo, 0, shape, f)));
                        } else if (b.axis() == 0) {
                            double[] d = new double[n * width];
                            System.arraycopy(b.dataRef(), from * width, d, 0, d.length);
                            int[] shape = b.shapeRef().clone();
                            shape[0] = n;
                            out.add(new Tuple2<>(t, new Block(t, lo, shape, d)));
                        } else {
                            NDArray piece = LocalBackend.INSTANCE.slice(b.array(), b.axis(), from, from + n);
                            out.add(new Tuple2<>(t, Block.of(t, lo, b.axis(), piece)));
                        }
                    }
                    lo = end;
                    t++;
                }
            }
            return out.iterator();
        };
    }

    /** The target block holding global row {@code row}: the last start at or before it. */
    static int targetOf(long[] starts, long row) {
        int lo = 0;
        int hi = starts.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= row) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo; // the last of the blocks starting at or before the row: empty ones before it are skipped
    }

    /**
     * Joins the pieces that partition {@code index} received into target block {@code index}, in
     * order along the blocked {@code axis}; a block that received none (it has no rows) is an
     * empty block of {@code rowShape} (the shape without the blocked axis).
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Block>>, Iterator<Block>> join(long[] targetStarts,
                                                                                         int[] rowShape, int axis) {
        return (index, pieces) -> {
            FaultInjector.check();
            List<Block> got = new ArrayList<>();
            while (pieces.hasNext()) {
                got.add(pieces.next()._2());
            }
            got.sort(Comparator.comparingLong(Block::rowStart));
            int rows = (int) (targetStarts[index + 1] - targetStarts[index]);
            if (axis != 0) {
                NDArray[] parts = got.stream().map(Block::array).toArray(NDArray[]::new);
                NDArray joined = parts.length == 0
                    ? io.sparkgrad.np.LocalArray.wrap(Kernels.withExtent(axis, 0, rowShape), new double[0])
                    : parts.length == 1 ? parts[0] : LocalBackend.INSTANCE.concat(parts, axis);
                if (joined.shape()[axis] != rows) {
                    throw new IllegalStateException("re-block: block " + index + " received " + joined.shape()[axis]
                        + " of " + rows + " positions along axis " + axis);
                }
                return Collections.singletonList(Block.of(index, targetStarts[index], axis, joined)).iterator();
            }
            int width = 1;
            for (int d : rowShape) {
                width *= d;
            }
            if (!got.isEmpty() && got.stream().allMatch(Block::isSparse)) {
                Csr joined = Csr.concatRows(got.stream().map(Block::csr).collect(java.util.stream.Collectors.toList()), width);
                if (joined.rows() != rows) {
                    throw new IllegalStateException("re-block: block " + index + " received " + joined.rows() + " rows of " + rows);
                }
                return Collections.singletonList(new Block(index, targetStarts[index], joined)).iterator();
            }
            if (!got.isEmpty() && got.stream().allMatch(Block::isFloat)) {
                float[] f = new float[rows * width];
                int at = 0;
                for (Block b : got) {
                    float[] part = b.floatsRef();
                    if (at + part.length > f.length) {
                        throw new IllegalStateException("re-block: block " + index + " received more than its " + rows + " rows");
                    }
                    System.arraycopy(part, 0, f, at, part.length);
                    at += part.length;
                }
                if (at != f.length) {
                    throw new IllegalStateException("re-block: block " + index + " received " + at / Math.max(1, width)
                        + " rows of " + rows);
                }
                return Collections.singletonList(new Block(index, targetStarts[index], 0, Kernels.withRows(rows, rowShape), f))
                    .iterator();
            }
            double[] data = new double[rows * width];
            int pos = 0;
            for (Block b : got) {
                double[] d = b.dataRef(); // a sparse piece among dense ones: its dense form
                System.arraycopy(d, 0, data, pos, d.length);
                pos += d.length;
            }
            if (pos != data.length) {
                throw new IllegalStateException("re-block: block " + index + " received " + pos / Math.max(1, width)
                    + " rows of " + rows);
            }
            return Collections.singletonList(new Block(index, targetStarts[index], Kernels.withRows(rows, rowShape), data))
                .iterator();
        };
    }

    /**
     * Cuts each row block, seen as its elements in row-major order, into the pieces that fall into
     * target blocks whose first elements are {@code targetElementStarts} (one more entry than
     * blocks: the last is the number of elements): the first side of a reshape that moves
     * elements across rows. A piece is a flat block keyed by its target, starting at its element.
     */
    public static PairFlatMapFunction<Iterator<Block>, Integer, Block> splitElements(long[] targetElementStarts) {
        return blocks -> {
            FaultInjector.check();
            List<Tuple2<Integer, Block>> out = new ArrayList<>();
            while (blocks.hasNext()) {
                Block b = blocks.next();
                double[] data = b.dataRef();
                if (data.length == 0) {
                    continue;
                }
                long width = data.length / b.rows();
                long lo = b.rowStart() * width;
                long hi = lo + data.length;
                long first = lo;
                int t = targetOf(targetElementStarts, lo);
                while (lo < hi) {
                    long end = Math.min(hi, targetElementStarts[t + 1]);
                    if (end > lo) {
                        double[] d = new double[(int) (end - lo)];
                        System.arraycopy(data, (int) (lo - first), d, 0, d.length);
                        out.add(new Tuple2<>(t, new Block(t, lo, new int[] {d.length}, d)));
                    }
                    lo = end;
                    t++;
                }
            }
            return out.iterator();
        };
    }

    /**
     * Joins the flat pieces that partition {@code index} received, in element order, into target
     * block {@code index}: rows {@code [targetRowStarts[index], targetRowStarts[index + 1])} of
     * rows of shape {@code rowShape}.
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Block>>, Iterator<Block>> joinElements(
        long[] targetRowStarts, int[] rowShape) {
        return (index, pieces) -> {
            FaultInjector.check();
            List<Block> got = new ArrayList<>();
            while (pieces.hasNext()) {
                got.add(pieces.next()._2());
            }
            got.sort(Comparator.comparingLong(Block::rowStart));
            int rows = (int) (targetRowStarts[index + 1] - targetRowStarts[index]);
            int width = 1;
            for (int d : rowShape) {
                width *= d;
            }
            double[] data = new double[rows * width];
            int pos = 0;
            for (Block b : got) {
                System.arraycopy(b.dataRef(), 0, data, pos, b.dataRef().length);
                pos += b.dataRef().length;
            }
            if (pos != data.length) {
                throw new IllegalStateException("reshape: block " + index + " received " + pos + " of " + data.length
                    + " elements");
            }
            return Collections.singletonList(new Block(index, targetRowStarts[index], Kernels.withRows(rows, rowShape),
                data)).iterator();
        };
    }

    /**
     * Renumbers the blocks of a union of arrays' blocks (partition {@code i} of the union is block
     * {@code i}) and places them at {@code starts} along the blocked axis: a concatenation along
     * that axis moves no value.
     */
    public static Function2<Integer, Iterator<Block>, Iterator<Block>> renumber(long[] starts) {
        return (index, blocks) -> {
            List<Block> out = new ArrayList<>(1);
            while (blocks.hasNext()) {
                Block b = blocks.next();
                out.add(b.isSparse() ? new Block(index, starts[index], b.csr())
                    : new Block(index, starts[index], b.axis(), b.shapeRef(), b.dataRef()));
            }
            return out.iterator();
        };
    }
}
