package io.sparkgrad.worker;

import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * The product {@code C = A B} of two matrices that are both too big for one JVM, as one shuffle of
 * tiles. The rows of {@code C} are cut at {@code rowCuts}, its columns at {@code colCuts}, the
 * contracted index at {@code innerCuts}; output tile {@code (i, j)} lives in partition
 * {@code i * J + j}. Each block of {@code A} is cut into tiles {@code (i, k)}, each sent to every
 * output tile of its row {@code i}; each block of {@code B} into tiles {@code (k, j)}, sent to every
 * output tile of its column {@code j} ({@link #tiles}). Each output tile adds up the products of its
 * tiles in the order of {@code k} ({@link #multiply}), so its values do not depend on the order
 * tasks finish in. The cuts refine each operand's blocks (a tile comes from one block).
 */
public final class TileProduct {
    private TileProduct() {}

    private static final LocalBackend L = LocalBackend.INSTANCE;

    private static final int LEFT = -2;
    private static final int RIGHT = -3;

    /**
     * One tile: piece {@code (row, col)} of the grid it was cut on, {@code rows x cols} values.
     * {@code from} says what it is: a tile of {@code A} or {@code B} ({@link #LEFT}, {@link #RIGHT}),
     * a partial product from block {@code from}, or (-1) an output tile.
     */
    public static final class Tile implements Serializable {
        private static final long serialVersionUID = 1L;
        final int from;
        final int row;
        final int col;
        final int rows;
        final int cols;
        final double[] values;

        Tile(int from, int row, int col, int rows, int cols, double[] values) {
            this.from = from;
            this.row = row;
            this.col = col;
            this.rows = rows;
            this.cols = cols;
            this.values = values;
        }

        /** Writes a tile as its fields and raw doubles: no field reflection. */
        public static final class Serializer extends com.esotericsoftware.kryo.Serializer<Tile> {
            /** A serializer of immutable tiles. */
            public Serializer() {
                setImmutable(true);
            }

            @Override
            public void write(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Output out, Tile t) {
                out.writeInt(t.from);
                out.writeInt(t.row, true);
                out.writeInt(t.col, true);
                out.writeInt(t.rows, true);
                out.writeInt(t.cols, true);
                out.writeDoubles(t.values);
            }

            @Override
            public Tile read(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Input in, Class<Tile> type) {
                int from = in.readInt();
                int row = in.readInt(true);
                int col = in.readInt(true);
                int rows = in.readInt(true);
                int cols = in.readInt(true);
                return new Tile(from, row, col, rows, cols, in.readDoubles(rows * cols));
            }
        }

        @Override
        public String toString() {
            return "Tile(" + (from == LEFT ? "A " : from == RIGHT ? "B " : "from " + from + " ") + row + ", " + col + ", " + rows + "x" + cols + ")";
        }
    }

    /**
     * The tiles of the blocks of one operand, each keyed by the output tiles that need it. For
     * {@code A} ({@code left}), a block's rows are cut at {@code rowCuts} (the output's rows) and
     * its columns at {@code colCuts} (the contracted index); tile {@code (i, k)} goes to output
     * tiles {@code (i, 0..fanout-1)}. For {@code B}, rows at the contracted index, columns at the
     * output's, and tile {@code (k, j)} goes to output tiles {@code (0..fanout-1, j)}, of which there
     * are {@code outCols} a row. A block is a matrix along {@code axis}: its {@code rowStart} is
     * where it starts along that axis, and it holds all of the other one. Empty tiles are not sent.
     */
    public static PairFlatMapFunction<Iterator<Block>, Integer, Tile> tiles(boolean left, long[] rowCuts,
                                                                          long[] colCuts, int fanout, int outCols) {
        return blocks -> {
            FaultInjector.check();
            List<Tuple2<Integer, Tile>> out = new ArrayList<>();
            while (blocks.hasNext()) {
                Block b = blocks.next();
                int[] s = b.shapeRef();
                long r0 = b.axis() == 0 ? b.rowStart() : 0;
                long c0 = b.axis() == 1 ? b.rowStart() : 0;
                int width = s[1];
                double[] v = b.dataRef();
                for (int i = first(rowCuts, r0); i < rowCuts.length - 1 && rowCuts[i] < r0 + s[0]; i++) {
                    int ra = (int) (Math.max(rowCuts[i], r0) - r0);
                    int rb = (int) (Math.min(rowCuts[i + 1], r0 + s[0]) - r0);
                    for (int k = first(colCuts, c0); k < colCuts.length - 1 && colCuts[k] < c0 + width; k++) {
                        int ca = (int) (Math.max(colCuts[k], c0) - c0);
                        int cb = (int) (Math.min(colCuts[k + 1], c0 + width) - c0);
                        if (rb <= ra || cb <= ca) {
                            continue;
                        }
                        double[] t = new double[(rb - ra) * (cb - ca)];
                        for (int r = ra; r < rb; r++) {
                            System.arraycopy(v, r * width + ca, t, (r - ra) * (cb - ca), cb - ca);
                        }
                        Tile tile = new Tile(left ? LEFT : RIGHT, i, k, rb - ra, cb - ca, t);
                        for (int f = 0; f < fanout; f++) {
                            out.add(new Tuple2<>(left ? i * outCols + f : f * outCols + k, tile));
                        }
                    }
                }
            }
            return out.iterator();
        };
    }

    /** The first piece of {@code cuts} that ends after {@code start}. */
    private static int first(long[] cuts, long start) {
        int lo = 0;
        while (lo < cuts.length - 1 && cuts[lo + 1] <= start) {
            lo++;
        }
        return lo;
    }

    /**
     * The output tile of one partition: the sum over the contracted pieces, in their order, of the
     * products of the {@code A} and {@code B} tiles that partition received. A tile whose
     * contributions are all empty is zeros. Gives one {@code (i, tile)} pair for partition {@code p}.
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Tile>>, Iterator<Tuple2<Integer, Tile>>> multiply(
            long[] rowCuts, long[] colCuts, int innerPieces, boolean byRows) {
        int outCols = colCuts.length - 1;
        return (p, received) -> {
            FaultInjector.check();
            Tile[] a = new Tile[innerPieces];
            Tile[] b = new Tile[innerPieces];
            while (received.hasNext()) {
                Tile t = received.next()._2();
                boolean left = t.from == LEFT;
                (left ? a : b)[left ? t.col : t.row] = t;
            }
            int i = p / outCols;
            int j = p % outCols;
            int rows = (int) (rowCuts[i + 1] - rowCuts[i]);
            int cols = (int) (colCuts[j + 1] - colCuts[j]);
            double[] c = new double[rows * cols];
            for (int k = 0; k < innerPieces; k++) {
                if (a[k] == null || b[k] == null) {
                    continue; // an empty piece of the contracted index (or one operand's empty block)
                }
                L.matmulAdd(a[k].values, b[k].values, c, rows, a[k].cols, cols);
            }
            return List.of(new Tuple2<>(byRows ? i : j, new Tile(-1, i, j, rows, cols, c))).iterator();
        };
    }

    /**
     * The partial products of one pair of blocks split at the same places along the contracted
     * index ({@code A}'s block {@code k} holds its columns, {@code B}'s block {@code k} the same
     * rows): for every output tile {@code (i, j)}, rows {@code i} of {@code A}'s block times
     * columns {@code j} of {@code B}'s, keyed by the tile. Used when the contracted index is the
     * one both operands are split along (a covariance {@code X^T X} too big for one JVM).
     */
    public static FlatMapFunction2<Iterator<Block>, Iterator<Block>, Tuple2<Integer, Tile>> partials(long[] rowCuts,
                                                                                                  long[] colCuts) {
        int outCols = colCuts.length - 1;
        return (as, bs) -> {
            FaultInjector.check();
            List<Tuple2<Integer, Tile>> out = new ArrayList<>();
            while (as.hasNext() && bs.hasNext()) {
                Block a = as.next();
                Block b = bs.next();
                int inner = a.shapeRef()[1];
                int width = b.shapeRef()[1];
                if (inner == 0) {
                    continue;
                }
                for (int i = 0; i < rowCuts.length - 1; i++) {
                    int r0 = (int) rowCuts[i];
                    int r1 = (int) rowCuts[i + 1];
                    LocalArray rows = LocalArray.wrap(new int[] {r1 - r0, inner},
                        java.util.Arrays.copyOfRange(a.dataRef(), r0 * inner, r1 * inner));
                    for (int j = 0; j < outCols; j++) {
                        int c0 = (int) colCuts[j];
                        int c1 = (int) colCuts[j + 1];
                        double[] cols = new double[inner * (c1 - c0)];
                        for (int r = 0; r < inner; r++) {
                            System.arraycopy(b.dataRef(), r * width + c0, cols, r * (c1 - c0), c1 - c0);
                        }
                        double[] prod = ((LocalArray) L.matmul(rows, LocalArray.wrap(new int[] {inner, c1 - c0}, cols)))
                            .data();
                        out.add(new Tuple2<>(i * outCols + j, new Tile(a.index(), i, j, r1 - r0, c1 - c0, prod)));
                    }
                }
            }
            return out.iterator();
        };
    }

    /**
     * The output tile of one partition from the partial products it received: their sum in the
     * order of the blocks they came from (zeros when none came). Gives one {@code (i, tile)} pair.
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Tile>>, Iterator<Tuple2<Integer, Tile>>> sum(
            long[] rowCuts, long[] colCuts, boolean byRows) {
        int outCols = colCuts.length - 1;
        return (p, received) -> {
            FaultInjector.check();
            List<Tile> got = new ArrayList<>();
            received.forEachRemaining(t -> got.add(t._2()));
            got.sort(Comparator.comparingInt(t -> t.from));
            int i = p / outCols;
            int j = p % outCols;
            double[] c = new double[(int) (rowCuts[i + 1] - rowCuts[i]) * (int) (colCuts[j + 1] - colCuts[j])];
            for (Tile t : got) {
                for (int e = 0; e < c.length; e++) {
                    c[e] += t.values[e];
                }
            }
            return List.of(new Tuple2<>(byRows ? i : j, new Tile(-1, i, j, (int) (rowCuts[i + 1] - rowCuts[i]),
                (int) (colCuts[j + 1] - colCuts[j]), c))).iterator();
        };
    }

    /**
     * Output tiles put together into the blocks of the result: blocks of rows ({@code byRows}; block
     * {@code i} has the tiles of row {@code i} side by side, in order) or of columns (block
     * {@code j} has the tiles of column {@code j} one above the other). Block {@code p} is made in
     * partition {@code p}, from the tiles sent there.
     */
    public static Function2<Integer, Iterator<Tuple2<Integer, Tile>>, Iterator<Block>> assemble(long[] rowCuts,
                                                                                                long[] colCuts, boolean byRows) {
        return (p, tiles) -> {
            FaultInjector.check();
            List<Tile> got = new ArrayList<>();
            tiles.forEachRemaining(t -> got.add(t._2()));
            int expected = byRows ? colCuts.length - 1 : rowCuts.length - 1;
            if (got.size() != expected) {
                throw new IllegalStateException("internal: block " + p + " of a tiled product received " + got.size()
                    + " tiles, not " + expected);
            }
            if (byRows) {
                got.sort(Comparator.comparingInt(t -> t.col));
                int rows = (int) (rowCuts[p + 1] - rowCuts[p]);
                int width = (int) colCuts[colCuts.length - 1];
                double[] v = new double[rows * width];
                for (Tile t : got) {
                    int c0 = (int) colCuts[t.col];
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(t.values, r * t.cols, v, r * width + c0, t.cols);
                    }
                }
                return List.of(new Block(p, rowCuts[p], new int[] {rows, width}, v)).iterator();
            }
            got.sort(Comparator.comparingInt(t -> t.row));
            int cols = (int) (colCuts[p + 1] - colCuts[p]);
            int height = (int) rowCuts[rowCuts.length - 1];
            double[] v = new double[height * cols];
            for (Tile t : got) {
                System.arraycopy(t.values, 0, v, (int) rowCuts[t.row] * cols, t.values.length);
            }
            return List.of(new Block(p, colCuts[p], 1, new int[] {height, cols}, v)).iterator();
        };
    }
}
