package io.sparkgrad.worker;

import io.sparkgrad.np.LocalBackend;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * Rows of a distributed table picked or summed by distributed indices, as shuffles keyed by block
 * ({@code take} and {@code scatterAdd} when both sides are too big for one JVM: an embedding table
 * of millions of rows looked up by a column of the data, and its gradient).
 *
 * <p>{@code take} is two shuffles. Each block of indices asks each table block for the distinct
 * rows it needs ({@link #requests}); each table block answers with those rows' values
 * ({@link #answers}); each block of indices puts its result together from the answers
 * ({@link #assemble}). {@code scatterAdd} is one: each block of indices and values sends every
 * table block the indices that fall into it with their values, in position order ({@link #pieces}),
 * and each table block adds them up in the order of the blocks they came from ({@link #sum}). That
 * is the global order of the indices, the order the local engine adds them in, so the sums are the
 * local engine's to the bit whatever order tasks finish in.
 */
public final class Gather {
    private Gather() {}

    /**
     * Rows of one table block that one block of indices sends or receives: {@code from} is the
     * block of indices, {@code rows} the global rows, {@code values} their values (null in a
     * request), {@code width} values per row.
     */
    public static final class Rows implements Serializable {
        private static final long serialVersionUID = 1L;
        final int from;
        final long[] rows;
        final double[] values;

        Rows(int from, long[] rows, double[] values) {
            this.from = from;
            this.rows = rows;
            this.values = values;
        }

        @Override
        public String toString() {
            return "Rows(from " + from + ", " + rows.length + " rows)";
        }
    }

    /**
     * For each block of indices, the distinct rows it needs of each table block ({@code starts}:
     * where the table's blocks start, one more entry than blocks), keyed by the table block.
     * Indices are checked as the local engine checks them, naming their global position.
     */
    public static PairFlatMapFunction<Iterator<Block>, Integer, Rows> requests(String op, long[] starts) {
        long tableRows = starts[starts.length - 1];
        return blocks -> {
            FaultInjector.check();
            List<Tuple2<Integer, Rows>> out = new ArrayList<>();
            while (blocks.hasNext()) {
                Block b = blocks.next();
                long[] rows = distinct(rowsOf(op, b, tableRows));
                int lo = 0;
                while (lo < rows.length) {
                    int t = Reblock.targetOf(starts, rows[lo]);
                    int hi = lo;
                    while (hi < rows.length && rows[hi] < starts[t + 1]) {
                        hi++;
                    }
                    out.add(new Tuple2<>(t, new Rows(b.index(), Arrays.copyOfRange(rows, lo, hi), null)));
                    lo = hi;
                }
            }
            return out.iterator();
        };
    }

    /** Each table block (of {@code width} values a row) answers the requests it received with the rows' values, keyed by the asking block. */
    public static FlatMapFunction2<Iterator<Block>, Iterator<Tuple2<Integer, Rows>>, Tuple2<Integer, Rows>> answers(
            int width) {
        return (table, asked) -> {
            FaultInjector.check();
            Block t = table.next();
            double[] data = t.dataRef();
            List<Tuple2<Integer, Rows>> out = new ArrayList<>();
            while (asked.hasNext()) {
                Rows r = asked.next()._2();
                double[] v = new double[r.rows.length * width];
                for (int k = 0; k < r.rows.length; k++) {
                    System.arraycopy(data, (int) (r.rows[k] - t.rowStart()) * width, v, k * width, width);
                }
                out.add(new Tuple2<>(r.from, new Rows(r.from, r.rows, v)));
            }
            return out.iterator();
        };
    }

    /**
     * Each block of indices with the answers to its requests: the block of {@code take}'s result,
     * the indices' shape followed by {@code tableRowShape}.
     */
    public static FlatMapFunction2<Iterator<Block>, Iterator<Tuple2<Integer, Rows>>, Block> assemble(
            String op, long tableRows, int[] tableRowShape) {
        int width = io.sparkgrad.np.Shape.size(tableRowShape);
        return (indices, answered) -> {
            FaultInjector.check();
            Block b = indices.next();
            List<Rows> parts = new ArrayList<>();
            answered.forEachRemaining(a -> parts.add(a._2()));
            parts.sort(Comparator.comparingLong(p -> p.rows[0])); // disjoint row ranges, each sorted
            int n = 0;
            for (Rows p : parts) {
                n += p.rows.length;
            }
            long[] rows = new long[n];
            double[] values = new double[n * width];
            int at = 0;
            for (Rows p : parts) {
                System.arraycopy(p.rows, 0, rows, at, p.rows.length);
                System.arraycopy(p.values, 0, values, at * width, p.values.length);
                at += p.rows.length;
            }
            long[] wanted = rowsOf(op, b, tableRows);
            double[] o = new double[wanted.length * width];
            for (int k = 0; k < wanted.length; k++) {
                int j = Arrays.binarySearch(rows, wanted[k]);
                if (j < 0) {
                    throw new IllegalStateException("internal: " + op + " got no answer for row " + wanted[k]);
                }
                System.arraycopy(values, j * width, o, k * width, width);
            }
            int[] shape = new int[b.shapeRef().length + tableRowShape.length];
            System.arraycopy(b.shapeRef(), 0, shape, 0, b.shapeRef().length);
            System.arraycopy(tableRowShape, 0, shape, b.shapeRef().length, tableRowShape.length);
            return List.of(new Block(b.index(), b.rowStart(), shape, o)).iterator();
        };
    }

    /**
     * For each block of indices and its block of values ({@code width} a row), the indices that fall
     * into each block of the target ({@code starts}) with their values, in position order, keyed by
     * the target block.
     */
    public static FlatMapFunction2<Iterator<Block>, Iterator<Block>, Tuple2<Integer, Rows>> pieces(
            String op, long[] starts, int width) {
        long targetRows = starts[starts.length - 1];
        return (indices, values) -> {
            FaultInjector.check();
            List<Tuple2<Integer, Rows>> out = new ArrayList<>();
            while (indices.hasNext()) {
                Block b = indices.next();
                double[] v = values.next().dataRef();
                long[] rows = rowsOf(op, b, targetRows);
                int blocks = starts.length - 1;
                int[] count = new int[blocks];
                int[] target = new int[rows.length];
                for (int k = 0; k < rows.length; k++) {
                    target[k] = Reblock.targetOf(starts, rows[k]);
                    count[target[k]]++;
                }
                long[][] r = new long[blocks][];
                double[][] d = new double[blocks][];
                int[] fill = new int[blocks];
                for (int k = 0; k < rows.length; k++) {
                    int t = target[k];
                    if (r[t] == null) {
                        r[t] = new long[count[t]];
                        d[t] = new double[count[t] * width];
                    }
                    r[t][fill[t]] = rows[k];
                    System.arraycopy(v, k * width, d[t], fill[t] * width, width);
                    fill[t]++;
                }
                for (int t = 0; t < blocks; t++) {
                    if (r[t] != null) {
                        out.add(new Tuple2<>(t, new Rows(b.index(), r[t], d[t])));
                    }
                }
            }
            return out.iterator();
        };
    }

    /**
     * Each target block ({@code starts}, rows of {@code rowShape}) as zeros with the pieces sent to
     * it added, in the order of the blocks they came from and, within a piece, of position.
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Rows>>, Iterator<Block>> sum(long[] starts,
                                                                                            int[] rowShape) {
        int width = io.sparkgrad.np.Shape.size(rowShape);
        return (t, received) -> {
            FaultInjector.check();
            List<Rows> parts = new ArrayList<>();
            received.forEachRemaining(p -> parts.add(p._2()));
            parts.sort(Comparator.comparingInt(p -> p.from)); // one piece per block of indices
            int rows = (int) (starts[t + 1] - starts[t]);
            double[] o = new double[rows * width];
            for (Rows p : parts) {
                for (int k = 0; k < p.rows.length; k++) {
                    int at = (int) (p.rows[k] - starts[t]) * width;
                    for (int j = 0; j < width; j++) {
                        o[at + j] += p.values[k * width + j];
                    }
                }
            }
            int[] shape = new int[rowShape.length + 1];
            shape[0] = rows;
            System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
            return List.of(new Block(t, starts[t], shape, o)).iterator();
        };
    }

    /** The rows a block of indices names (checked, negative ones counted from the end), in position order. */
    private static long[] rowsOf(String op, Block b, long tableRows) {
        double[] idx = b.dataRef();
        int perRow = b.rows() == 0 ? 0 : idx.length / b.rows();
        long first = b.rowStart() * perRow; // the global position of the block's first index
        long[] rows = new long[idx.length];
        for (int k = 0; k < idx.length; k++) {
            rows[k] = LocalBackend.row(op, idx, k, first + k, tableRows);
        }
        return rows;
    }

    private static long[] distinct(long[] rows) {
        long[] s = rows.clone();
        Arrays.sort(s);
        int n = 0;
        for (int k = 0; k < s.length; k++) {
            if (k == 0 || s[k] != s[n - 1]) {
                s[n++] = s[k];
            }
        }
        return Arrays.copyOf(s, n);
    }
}
