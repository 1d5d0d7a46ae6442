package io.sparkgrad.dist;

import io.sparkgrad.np.Shape;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * How a distributed tensor is split into blocks along one of its axes, the <em>blocked axis</em>:
 * block {@code i} holds positions {@code [rowStart(i), rowStart(i + 1))} of that axis and all of
 * every other, and lives in partition {@code i}. The blocked axis is 0 (row blocks) for every
 * array read or made from data; an op that moves axis 0 elsewhere (a transpose) gives an array
 * blocked along that axis, whose blocks are the transposes of the row blocks it came from. The
 * {@link #rowShape()} is the tensor's shape without the blocked axis. Two tensors whose layouts
 * have {@link #sameRows the same splits} can be combined block by block without a shuffle.
 *
 * <p>A layout made by slicing along the blocked axis remembers the layout it was cut from, so that
 * padding the slice back (the slice's gradient) restores exactly that layout.
 */
public final class Layout implements Serializable {
    private static final long serialVersionUID = 2L;

    private final long[] rowStarts;
    private final int[] rowShape;
    private final int axis;
    private final Layout parent;
    private final long offsetInParent;
    // for a concatenation along the blocked axis: the parts' layouts, in order (else null)
    private final Layout[] parts;

    Layout(long[] rowStarts, int[] rowShape) {
        this(rowStarts, rowShape, 0, null, 0);
    }

    private Layout(long[] rowStarts, int[] rowShape, int axis, Layout parent, long offsetInParent) {
        this(rowStarts, rowShape, axis, parent, offsetInParent, null);
    }

    private Layout(long[] rowStarts, int[] rowShape, int axis, Layout parent, long offsetInParent, Layout[] parts) {
        this.rowStarts = rowStarts;
        this.rowShape = rowShape;
        this.axis = axis;
        this.parent = parent;
        this.offsetInParent = offsetInParent;
        this.parts = parts;
    }

    /**
     * The layout of {@code parts} (split along the same axis, of the same row shape) one after the
     * other: their blocks in order. It remembers them, so that slicing a part back out gives
     * that part's layout ({@link #partAt}).
     */
    static Layout concatenated(List<Layout> parts) {
        int blocks = 0;
        for (Layout p : parts) {
            blocks += p.numBlocks();
        }
        long[] starts = new long[blocks + 1];
        int b = 0;
        long offset = 0;
        for (Layout p : parts) {
            for (int i = 0; i < p.numBlocks(); i++) {
                starts[b++] = offset + p.rowStarts[i];
            }
            offset += p.rows();
        }
        starts[blocks] = offset;
        Layout first = parts.get(0);
        return new Layout(starts, first.rowShape, first.axis, null, 0, parts.toArray(new Layout[0]));
    }

    /** The part of a concatenation that is exactly positions {@code [start, stop)}, or -1. */
    int partAt(long start, long stop) {
        if (parts == null) {
            return -1;
        }
        long offset = 0;
        for (int k = 0; k < parts.length; k++) {
            if (offset == start && offset + parts[k].rows() == stop) {
                return k;
            }
            offset += parts[k].rows();
        }
        return -1;
    }

    /** Part {@code k}'s layout, along this layout's axis with this row shape. */
    Layout part(int k) {
        return parts[k].along(axis, rowShape);
    }

    /** The index of part {@code k}'s first block among this layout's blocks. */
    int firstBlockOfPart(int k) {
        int b = 0;
        for (int j = 0; j < k; j++) {
            b += parts[j].numBlocks();
        }
        return b;
    }

    /** Splits {@code rows} rows into {@code numBlocks} blocks whose sizes differ by at most one. */
    public static Layout even(long rows, int numBlocks, int[] rowShape) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("layout: number of blocks must be >= 1 but got " + numBlocks);
        }
        long[] starts = new long[numBlocks + 1];
        for (int i = 0; i <= numBlocks; i++) {
            // floor(i * rows / numBlocks) without overflow: rows = q * numBlocks + r
            starts[i] = i * (rows / numBlocks) + (long) i * (rows % numBlocks) / numBlocks;
        }
        return checked(new Layout(starts, rowShape.clone()));
    }

    /** Splits {@code rows} rows into blocks of {@code blockRows} rows (the last may be shorter). */
    public static Layout ofBlockRows(long rows, int blockRows, int[] rowShape) {
        if (blockRows < 1) {
            throw new IllegalArgumentException("layout: blockRows must be >= 1 but got " + blockRows);
        }
        long n = Math.max(1, (rows + blockRows - 1) / blockRows);
        if (n > Integer.MAX_VALUE - 1) {
            throw new IllegalArgumentException("layout: " + rows + " rows in blocks of " + blockRows + " make more than "
                + (Integer.MAX_VALUE - 1) + " blocks");
        }
        long[] starts = new long[(int) n + 1];
        for (int i = 0; i <= n; i++) {
            starts[i] = Math.min(rows, (long) i * blockRows);
        }
        return checked(new Layout(starts, rowShape.clone()));
    }

    /** Builds a layout of row blocks starting at {@code starts} (the last entry: the number of rows). */
    static Layout ofStarts(long[] starts, int[] rowShape) {
        return checked(new Layout(starts.clone(), rowShape.clone()));
    }

    /**
     * Builds a layout of sparse row blocks starting at {@code starts}: unchecked against what a
     * local array holds, since a sparse block holds its non-zeros only (2^20 columns are fine).
     */
    static Layout ofSparseStarts(long[] starts, int[] rowShape) {
        return new Layout(starts.clone(), rowShape.clone());
    }

    /** Builds a layout from the number of rows in each block. */
    public static Layout ofBlockSizes(long[] rowsPerBlock, int[] rowShape) {
        long[] starts = new long[rowsPerBlock.length + 1];
        for (int i = 0; i < rowsPerBlock.length; i++) {
            starts[i + 1] = Math.addExact(starts[i], rowsPerBlock[i]);
        }
        return checked(new Layout(starts, rowShape.clone()));
    }

    /** Checks that every block fits in one JVM: a block is a local array (at most 2^31 - 1 elements). */
    private static Layout checked(Layout l) {
        long width = Math.max(1, Shape.size(l.rowShape));
        for (int i = 0; i < l.numBlocks(); i++) {
            long rows = l.rowStarts[i + 1] - l.rowStarts[i];
            if (rows * width > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("layout: block " + i + " would hold " + rows + " rows of " + width
                    + " values, more than one block (a local array) holds (" + Integer.MAX_VALUE + "); use more blocks");
            }
        }
        return l;
    }

    /** Returns the number of blocks. */
    public int numBlocks() {
        return rowStarts.length - 1;
    }

    /** Returns the blocked axis: 0 for row blocks. */
    public int axis() {
        return axis;
    }

    /** Returns the length of the blocked axis: the number of rows, for row blocks. */
    public long rows() {
        return rowStarts[rowStarts.length - 1];
    }

    /** Returns where each block starts, and then the length of the blocked axis: {@code numBlocks() + 1} values. */
    public long[] rowStarts() {
        return rowStarts.clone();
    }

    /** Returns where block {@code block} starts along the blocked axis. */
    public long rowStart(int block) {
        return rowStarts[block];
    }

    /** Returns the length of block {@code block} along the blocked axis (a block fits in one JVM). */
    public int blockRows(int block) {
        return (int) (rowStarts[block + 1] - rowStarts[block]);
    }

    /** Returns the tensor's shape without the blocked axis (a copy): the shape of one row, for row blocks. */
    public int[] rowShape() {
        return rowShape.clone();
    }

    /** Returns the whole tensor's shape: the row shape with the blocked axis' length inserted. */
    public long[] shape() {
        long[] s = new long[rowShape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            s[i] = i == axis ? rows() : rowShape[j++];
        }
        return s;
    }

    /** Returns the shape of block {@code i}. */
    public int[] blockShape(int i) {
        int[] s = new int[rowShape.length + 1];
        System.arraycopy(rowShape, 0, s, 0, axis);
        s[axis] = blockRows(i);
        System.arraycopy(rowShape, axis, s, axis + 1, rowShape.length - axis);
        return s;
    }

    /** Returns the same splits along the same axis with another row shape. */
    public Layout withRowShape(int[] newRowShape) {
        return new Layout(rowStarts, newRowShape.clone(), axis, parent, offsetInParent, parts);
    }

    /** Returns the same splits along axis {@code newAxis} of a tensor whose shape without it is {@code newRowShape}. */
    Layout along(int newAxis, int[] newRowShape) {
        if (newAxis < 0 || newAxis > newRowShape.length) {
            throw new IllegalArgumentException("internal: axis " + newAxis + " for row shape " + Shape.str(newRowShape));
        }
        return new Layout(rowStarts, newRowShape.clone(), newAxis, parent, offsetInParent, parts);
    }

    /** Returns true when both layouts split their blocked axes at the same places. */
    public boolean sameRows(Layout other) {
        return Arrays.equals(rowStarts, other.rowStarts);
    }

    /** Returns the layout of positions {@code [start, stop)} of the blocked axis: the same blocks, cut to that range. */
    Layout sliceRows(long start, long stop) {
        long[] starts = new long[rowStarts.length];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = Math.min(Math.max(rowStarts[i], start), stop) - start;
        }
        return new Layout(starts, rowShape, axis, this, start);
    }

    /** Returns the layout this one was sliced from, when padding by (before, after) restores it. */
    Layout unslice(long before, long after) {
        if (parent != null && offsetInParent == before && parent.rows() == before + rows() + after) {
            return parent.along(axis, rowShape);
        }
        return null;
    }

    /** Returns the layout padded by {@code before} positions ahead of block 0 and {@code after} behind the last. */
    Layout padEnds(long before, long after) {
        long[] starts = new long[rowStarts.length];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = rowStarts[i] + (i == 0 ? 0 : before) + (i == starts.length - 1 ? after : 0);
        }
        return new Layout(starts, rowShape, axis, null, 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout && sameRows((Layout) o) && axis == ((Layout) o).axis
            && Arrays.equals(rowShape, ((Layout) o).rowShape);
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(rowStarts) * 31 + Arrays.hashCode(rowShape)) * 31 + axis;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(numBlocks() + (axis == 0 ? " blocks of rows " : " blocks along axis " + axis + " "));
        int shown = Math.min(numBlocks(), 8);
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? "" : ", ").append('[').append(rowStarts[i]).append(", ").append(rowStarts[i + 1]).append(')');
        }
        if (shown < numBlocks()) {
            b.append(", ...");
        }
        return axis == 0 ? b.append(" x ").append(Shape.str(rowShape)).toString()
            : b.append(" of shape ").append(Shape.str(shape())).toString();
    }
}
