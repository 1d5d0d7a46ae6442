package io.sparkgrad.worker;

import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.UnaryFn;

/**
 * The block kernels: what each op does to one block (and to the local operands shipped with it).
 * Each is the local engine's kernel applied to the block, so a distributed result is the local
 * result of the same expression, block by block.
 */
public final class Kernels {
    private Kernels() {}

    private static final LocalBackend L = LocalBackend.INSTANCE;

    public static BlockFn unary(UnaryFn f) {
        return (i, a) -> L.unary(f, a[0]);
    }

    public static BlockFn binary(BinaryFn f) {
        return (i, a) -> L.binary(f, a[0], a[1]);
    }

    /** Binary with the operands in the given argument positions (a distributed right operand comes first). */
    public static BlockFn binary(BinaryFn f, int left, int right) {
        return (i, a) -> L.binary(f, a[left], a[right]);
    }

    public static BlockFn clip(double lo, double hi) {
        return (i, a) -> L.clip(a[0], lo, hi);
    }

    /** where(args[c], args[x], args[y]). */
    public static BlockFn where(int c, int x, int y) {
        return (i, a) -> L.where(a[c], a[x], a[y]);
    }

    public static BlockFn reduce(ReduceFn f, int axis, boolean keepdims) {
        return (i, a) -> L.reduce(f, a[0], axis, keepdims);
    }

    /** The partial of a 2-norm: the sum of squares over {@code axis} (or all elements). */
    public static BlockFn sumOfSquares(int axis, boolean keepdims) {
        return (i, a) -> L.reduce(ReduceFn.SUM, L.unary(UnaryFn.SQUARE, a[0]), axis, keepdims);
    }

    public static BlockFn norm(int axis, boolean keepdims) {
        return (i, a) -> L.norm(a[0], axis, keepdims);
    }

    /** A block times a local matrix: {@code X_b W}. */
    public static BlockFn matmulLocal() {
        return (i, a) -> L.matmul(a[0], a[1]);
    }

    /** The partial of a contraction over rows: {@code X_b^T G_b}. */
    public static BlockFn transposeMatmul() {
        return (i, a) -> L.matmulTransposedLeft(a[0], a[1]);
    }

    /** Gives each block the row shape {@code rowShape}. */
    public static BlockFn reshapeRows(int[] rowShape) {
        return (i, a) -> L.reshape(a[0], withRows(a[0].shape()[0], rowShape));
    }

    public static BlockFn broadcastRows(int[] rowShape) {
        return (i, a) -> L.broadcastTo(a[0], withRows(a[0].shape()[0], rowShape));
    }

    /** Permutes the axes of each block; {@code perm[0]} is 0, so rows stay rows. */
    public static BlockFn transpose(int[] perm) {
        return (i, a) -> L.transpose(a[0], perm);
    }

    public static BlockFn slice(int axis, int start, int stop) {
        return (i, a) -> L.slice(a[0], axis, start, stop);
    }

    public static BlockFn pad(int axis, int before, int after) {
        return (i, a) -> L.pad(a[0], axis, before, after);
    }

    /** Cuts each block to the global rows [start, stop); {@code rowStarts} is the input's layout. */
    public static BlockFn sliceRows(int[] rowStarts, int start, int stop) {
        return (i, a) -> {
            int lo = Math.min(Math.max(start, rowStarts[i]), rowStarts[i + 1]) - rowStarts[i];
            int hi = Math.min(Math.max(stop, rowStarts[i]), rowStarts[i + 1]) - rowStarts[i];
            return L.slice(a[0], 0, lo, hi);
        };
    }

    /**
     * Pads each block of a row slice back to the rows of the layout it was cut from
     * ({@code parentStarts}), given that the slice began at parent row {@code offset}.
     */
    public static BlockFn unsliceRows(int[] parentStarts, int offset) {
        return (i, a) -> {
            int parentRows = parentStarts[i + 1] - parentStarts[i];
            int before = Math.min(Math.max(offset - parentStarts[i], 0), parentRows);
            int after = parentRows - before - a[0].shape()[0];
            return L.pad(a[0], 0, before, after);
        };
    }

    public static BlockFn concat(int axis) {
        return (i, a) -> L.concat(a, axis);
    }

    /** The shape of {@code rows} rows of shape {@code rowShape}. */
    static int[] withRows(int rows, int[] rowShape) {
        int[] s = new int[rowShape.length + 1];
        s[0] = rows;
        System.arraycopy(rowShape, 0, s, 1, rowShape.length);
        return s;
    }
}
