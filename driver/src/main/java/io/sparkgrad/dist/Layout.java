package io.sparkgrad.dist;

import io.sparkgrad.np.Shape;

import java.io.Serializable;
import java.util.Arrays;

/**
 * How a distributed tensor's rows are split into blocks: block {@code i} holds rows
 * {@code [rowStart(i), rowStart(i + 1))} and lives in partition {@code i}; every row has the same
 * trailing shape. Two tensors whose layouts have {@link #sameRows the same rows} can be combined
 * block by block without a shuffle.
 *
 * <p>A layout made by slicing rows remembers the layout it was cut from, so that padding the slice
 * back (the slice's gradient) restores exactly that layout.
 */
public final class Layout implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int[] rowStarts;
    private final int[] rowShape;
    private final Layout parent;
    private final int offsetInParent;

    Layout(int[] rowStarts, int[] rowShape) {
        this(rowStarts, rowShape, null, 0);
    }

    private Layout(int[] rowStarts, int[] rowShape, Layout parent, int offsetInParent) {
        this.rowStarts = rowStarts;
        this.rowShape = rowShape;
        this.parent = parent;
        this.offsetInParent = offsetInParent;
    }

    /** Splits {@code rows} rows into {@code numBlocks} blocks whose sizes differ by at most one. */
    public static Layout even(int rows, int numBlocks, int[] rowShape) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("layout: number of blocks must be >= 1 but got " + numBlocks);
        }
        int[] starts = new int[numBlocks + 1];
        for (int i = 0; i <= numBlocks; i++) {
            starts[i] = (int) ((long) i * rows / numBlocks);
        }
        return new Layout(starts, rowShape.clone());
    }

    /** Splits {@code rows} rows into blocks of {@code blockRows} rows (the last may be shorter). */
    public static Layout ofBlockRows(int rows, int blockRows, int[] rowShape) {
        if (blockRows < 1) {
            throw new IllegalArgumentException("layout: blockRows must be >= 1 but got " + blockRows);
        }
        int n = Math.max(1, (rows + blockRows - 1) / blockRows);
        int[] starts = new int[n + 1];
        for (int i = 0; i <= n; i++) {
            starts[i] = (int) Math.min(rows, (long) i * blockRows);
        }
        return new Layout(starts, rowShape.clone());
    }

    /** Builds a layout from the number of rows in each block. */
    public static Layout ofBlockSizes(long[] rowsPerBlock, int[] rowShape) {
        int[] starts = new int[rowsPerBlock.length + 1];
        long acc = 0;
        for (int i = 0; i < rowsPerBlock.length; i++) {
            acc += rowsPerBlock[i];
            if (acc > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("layout: more than " + Integer.MAX_VALUE + " rows");
            }
            starts[i + 1] = (int) acc;
        }
        return new Layout(starts, rowShape.clone());
    }

    public int numBlocks() {
        return rowStarts.length - 1;
    }

    /** Returns the number of rows of the whole tensor. */
    public int rows() {
        return rowStarts[rowStarts.length - 1];
    }

    /** Returns where each block starts, and then the number of rows: {@code numBlocks() + 1} values. */
    public int[] rowStarts() {
        return rowStarts.clone();
    }

    public int rowStart(int block) {
        return rowStarts[block];
    }

    public int blockRows(int block) {
        return rowStarts[block + 1] - rowStarts[block];
    }

    /** Returns the shape of one row (a copy). */
    public int[] rowShape() {
        return rowShape.clone();
    }

    /** Returns the whole tensor's shape: rows, then the row shape. */
    public int[] shape() {
        int[] s = new int[rowShape.length + 1];
        s[0] = rows();
        System.arraycopy(rowShape, 0, s, 1, rowShape.length);
        return s;
    }

    /** Returns the shape of block {@code i}. */
    public int[] blockShape(int i) {
        int[] s = shape();
        s[0] = blockRows(i);
        return s;
    }

    /** Returns the same rows with another row shape. */
    public Layout withRowShape(int[] newRowShape) {
        return new Layout(rowStarts, newRowShape.clone(), parent, offsetInParent);
    }

    /** Returns true when both layouts split the same rows at the same places. */
    public boolean sameRows(Layout other) {
        return Arrays.equals(rowStarts, other.rowStarts);
    }

    /** Returns the layout of rows {@code [start, stop)}: the same blocks, cut to that range. */
    Layout sliceRows(int start, int stop) {
        int[] starts = new int[rowStarts.length];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = Math.min(Math.max(rowStarts[i], start), stop) - start;
        }
        return new Layout(starts, rowShape, this, start);
    }

    /** Returns the layout this one was sliced from, when padding by (before, after) restores it. */
    Layout unslice(int before, int after) {
        if (parent != null && offsetInParent == before && parent.rows() == before + rows() + after) {
            return parent.withRowShape(rowShape);
        }
        return null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout && sameRows((Layout) o) && Arrays.equals(rowShape, ((Layout) o).rowShape);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(rowStarts) * 31 + Arrays.hashCode(rowShape);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(numBlocks() + " blocks of rows ");
        int shown = Math.min(numBlocks(), 8);
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? "" : ", ").append('[').append(rowStarts[i]).append(", ").append(rowStarts[i + 1]).append(')');
        }
        if (shown < numBlocks()) {
            b.append(", ...");
        }
        return b.append(" x ").append(Shape.str(rowShape)).toString();
    }
}
