package io.sparkgrad.worker;

import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.Shape;
import io.sparkgrad.np.UnaryFn;

/**
 * The block kernels: what each op does to one block (and to the local operands shipped with it).
 * Each is the local engine's kernel applied to the block, so a distributed result is the local
 * result of the same expression, block by block.
 */
public final class Kernels {
    private Kernels() {}

    private static final LocalBackend L = LocalBackend.INSTANCE;

    /**
     * A zero-preserving function ({@code f(0)} is {@code +0.0}: abs, square, sqrt, sign, relu...)
     * keeps a sparse block sparse; {@code neg} ({@code -0.0}) and the functions that fill the
     * zeros ({@code exp}, {@code cos}...) read the dense form.
     */
    public static BlockFn unary(UnaryFn f) {
        if (Double.doubleToRawLongBits(f.apply(0.0)) != 0L) {
            return (i, a) -> L.unary(f, a[0]);
        }
        return keepingSparse((i, a) -> a[0] instanceof SparseRows ? Sparse.unary(f, ((SparseRows) a[0]).csr())
            : L.unary(f, a[0]));
    }

    /** Returns the kernel applying {@code f} elementwise to a block and its second operand, with numpy broadcasting. */
    public static BlockFn binary(BinaryFn f) {
        return binary(f, 0, 1);
    }

    /**
     * Binary with the operands in the given argument positions (a distributed right operand comes
     * first). A sparse left operand times (or divided by) a scalar, a row vector, a column or an
     * array of its own shape of finite non-zero-safe factors stays sparse, and so does the product
     * of two sparse operands of one shape with finite values (on the positions both hold); any other
     * case reads the dense form.
     */
    public static BlockFn binary(BinaryFn f, int left, int right) {
        if (f != BinaryFn.MUL && f != BinaryFn.DIV) {
            return (i, a) -> L.binary(f, a[left], a[right]);
        }
        return keepingSparse((i, a) -> {
            if (f == BinaryFn.MUL && a[left] instanceof SparseRows && a[right] instanceof SparseRows) {
                NDArray out = Sparse.product(((SparseRows) a[left]).csr(), ((SparseRows) a[right]).csr());
                if (out != null) {
                    return out;
                }
            } else if (a[left] instanceof SparseRows && !(a[right] instanceof SparseRows)) {
                NDArray out = Sparse.scaled(f, ((SparseRows) a[left]).csr(), a[right]);
                if (out != null) {
                    return out;
                }
            } else if (f == BinaryFn.MUL && a[right] instanceof SparseRows && !(a[left] instanceof SparseRows)) {
                NDArray out = Sparse.scaled(f, ((SparseRows) a[right]).csr(), a[left]); // x * s = s * x, bit for bit
                if (out != null) {
                    return out;
                }
            }
            return L.binary(f, SparseRows.dense(a[left]), SparseRows.dense(a[right]));
        });
    }

    /** Marks {@code fn} as a kernel that takes sparse rows and returns sparse rows for them. */
    private static SparseFn keepingSparse(BlockFn fn) {
        return new KeepsSparse(fn);
    }

    /** A kernel ({@link #fn}, for profiles) whose result for sparse rows is sparse rows. */
    static final class KeepsSparse implements SparseFn {
        private static final long serialVersionUID = 1L;
        final BlockFn fn;

        KeepsSparse(BlockFn fn) {
            this.fn = fn;
        }

        @Override
        public NDArray apply(int block, NDArray[] args) {
            return fn.apply(block, args);
        }

        @Override
        public boolean keepsSparse() {
            return true;
        }
    }

    /**
     * The second argument on the non-zeros of the first: for a sparse first argument, sparse rows of
     * its pattern holding the second's values there; for a dense one, the second as it is.
     */
    public static BlockFn onPattern() {
        return keepingSparse((i, a) -> a[0] instanceof SparseRows ? Sparse.onPattern(((SparseRows) a[0]).csr(), a[1])
            : SparseRows.dense(a[1]));
    }

    /**
     * The rounding step of a float32 result: each value of the block (or chunk) rounded to the
     * nearest float, as the local engine rounds every float32 primitive's result once. Sparse
     * rows stay sparse: their non-zeros are rounded (a sparse block keeps float64 storage).
     */
    public static BlockFn roundToFloat() {
        return keepingSparse((i, a) -> a[0] instanceof SparseRows
            ? new SparseRows(((SparseRows) a[0]).csr().map(v -> (double) (float) v)) : L.roundToFloat(a[0]));
    }

    /** Returns the kernel limiting every element of a block to {@code [lo, hi]}. */
    public static BlockFn clip(double lo, double hi) {
        return (i, a) -> L.clip(a[0], lo, hi);
    }

    /** where(args[c], args[x], args[y]). */
    public static BlockFn where(int c, int x, int y) {
        return (i, a) -> L.where(a[c], a[x], a[y]);
    }

    /** A sum of a sparse block adds its non-zeros only; other reductions read the dense form. */
    public static BlockFn reduce(ReduceFn f, int axis, boolean keepdims) {
        if (f != ReduceFn.SUM) {
            return (i, a) -> L.reduce(f, a[0], axis, keepdims);
        }
        return (SparseFn) (i, a) -> a[0] instanceof SparseRows ? Sparse.sum(((SparseRows) a[0]).csr(), axis, keepdims)
            : L.reduce(f, a[0], axis, keepdims);
    }

    /** The partial of a 2-norm: the sum of squares over {@code axis} (or all elements); on the non-zeros of a sparse block. */
    public static BlockFn sumOfSquares(int axis, boolean keepdims) {
        return (SparseFn) (i, a) -> a[0] instanceof SparseRows
            ? Sparse.sum(((SparseRows) a[0]).csr().map(v -> v * v), axis, keepdims)
            : L.reduce(ReduceFn.SUM, L.unary(UnaryFn.SQUARE, a[0]), axis, keepdims);
    }

    /** Returns the kernel taking the 2-norm of a block along {@code axis} (not the blocked one). */
    public static BlockFn norm(int axis, boolean keepdims) {
        return (i, a) -> L.norm(a[0], axis, keepdims);
    }

    /** A block times a local matrix: {@code X_b W}; on the non-zeros for a sparse block. */
    public static BlockFn matmulLocal() {
        return (SparseFn) (i, a) -> a[0] instanceof SparseRows ? Sparse.times(((SparseRows) a[0]).csr(), a[1])
            : L.matmul(a[0], SparseRows.dense(a[1]));
    }

    /** The partial of a contraction over rows: {@code X_b^T G_b}; on the non-zeros for a sparse block. */
    public static BlockFn transposeMatmul() {
        return (SparseFn) (i, a) -> a[0] instanceof SparseRows ? Sparse.transposeTimes(((SparseRows) a[0]).csr(), a[1])
            : L.matmulTransposedLeft(a[0], SparseRows.dense(a[1]));
    }

    /**
     * Gives each block (blocked along {@code inAxis}) the shape {@code rowShape} with its length
     * along the blocked axis inserted as axis {@code outAxis}.
     */
    public static BlockFn reshape(int inAxis, int outAxis, int[] rowShape) {
        return (i, a) -> L.reshape(a[0], withExtent(outAxis, (int) a[0].dim(inAxis), rowShape));
    }

    /** Broadcasts each block (blocked along {@code inAxis}) as {@link #reshape} shapes it. */
    public static BlockFn broadcast(int inAxis, int outAxis, int[] rowShape) {
        return (i, a) -> L.broadcastTo(a[0], withExtent(outAxis, (int) a[0].dim(inAxis), rowShape));
    }

    /** The product of the arguments in positions {@code left} and {@code right}. */
    public static BlockFn matmul(int left, int right) {
        return (i, a) -> L.matmul(a[left], a[right]);
    }

    /** Permutes the axes of each block; {@code perm[0]} is 0, so rows stay rows. */
    public static BlockFn transpose(int[] perm) {
        return (i, a) -> L.transpose(a[0], perm);
    }

    /** Rows of the table in argument position {@code table} picked by the indices in position {@code indices}. */
    public static BlockFn take(int table, int indices) {
        return (i, a) -> L.take(a[table], a[indices], -1); // a chunk of the indices: positions not counted
    }

    /**
     * The share of {@code take(table, indices)} that a block of the table's rows holds (argument
     * 0, block {@code i} of {@code starts}; the local indices are argument 1): its rows where an
     * index falls in them, zeros elsewhere. Summed over the blocks, it is the gather.
     */
    public static BlockFn takeFromRows(long[] starts, int[] outShape) {
        long rows = starts[starts.length - 1];
        return (i, a) -> {
            double[] idx = a[1].toArray();
            double[] block = ((io.sparkgrad.np.LocalArray) a[0].toLocal()).data();
            int width = Shape.size(outShape) / Math.max(1, idx.length);
            double[] o = new double[Shape.size(outShape)];
            for (int k = 0; k < idx.length; k++) {
                long r = LocalBackend.row("take", idx, k, k, rows);
                if (r >= starts[i] && r < starts[i + 1]) {
                    System.arraycopy(block, (int) (r - starts[i]) * width, o, k * width, width);
                }
            }
            return io.sparkgrad.np.LocalArray.wrap(outShape.clone(), o);
        };
    }

    /** {@code scatterAdd} into zeros of {@code shape}, from the indices and values in positions {@code indices} and {@code values}. */
    public static BlockFn scatterAdd(int[] shape, int indices, int values) {
        return (i, a) -> L.scatterAdd(shape, a[indices], a[values], -1);
    }

    /** A slice of the columns of a sparse block (the features of LIBSVM rows without the label) stays sparse. */
    public static BlockFn slice(int axis, int start, int stop) {
        if (axis != 1) {
            return (i, a) -> L.slice(a[0], axis, start, stop);
        }
        return keepingSparse((i, a) -> a[0] instanceof SparseRows
            ? new SparseRows(((SparseRows) a[0]).csr().columns(start, stop)) : L.slice(a[0], axis, start, stop));
    }

    /** Returns the kernel padding a block with zeros along {@code axis} (not the blocked one). */
    public static BlockFn pad(int axis, int before, int after) {
        return (i, a) -> L.pad(a[0], axis, before, after);
    }

    /**
     * Cuts each block to the global positions [start, stop) along the blocked {@code axis};
     * {@code starts} is the input's layout.
     */
    public static BlockFn sliceBlocked(int axis, long[] starts, long start, long stop) {
        BlockFn fn = (i, a) -> {
            long lo = Math.min(Math.max(start, starts[i]), starts[i + 1]) - starts[i];
            long hi = Math.min(Math.max(stop, starts[i]), starts[i + 1]) - starts[i];
            return a[0] instanceof SparseRows ? new SparseRows(((SparseRows) a[0]).csr().rows((int) lo, (int) hi))
                : L.slice(a[0], axis, (int) lo, (int) hi);
        };
        return axis == 0 ? keepingSparse(fn) : fn; // a row slice of a sparse block keeps its rows' non-zeros
    }

    /**
     * Pads each block of a slice along the blocked {@code axis} back to the layout it was cut
     * from ({@code parentStarts}), given that the slice began at parent position {@code offset}.
     */
    public static BlockFn unslice(int axis, long[] parentStarts, long offset) {
        return (i, a) -> {
            long parentRows = parentStarts[i + 1] - parentStarts[i];
            long before = Math.min(Math.max(offset - parentStarts[i], 0), parentRows);
            long after = parentRows - before - a[0].dim(axis);
            return L.pad(a[0], axis, (int) before, (int) after);
        };
    }

    /**
     * Pads along the blocked {@code axis}: {@code before} zeros ahead of block 0, {@code after}
     * behind block {@code last}; the blocks between keep their values.
     */
    public static BlockFn padEnds(int axis, long before, long after, int last) {
        return (i, a) -> L.pad(a[0], axis, i == 0 ? (int) before : 0, i == last ? (int) after : 0);
    }

    /** Returns the kernel joining the blocks of every operand along {@code axis} (not the blocked one). */
    public static BlockFn concat(int axis) {
        return (i, a) -> L.concat(a, axis);
    }

    /** The shape of {@code rows} rows of shape {@code rowShape}. */
    static int[] withRows(int rows, int[] rowShape) {
        return withExtent(0, rows, rowShape);
    }

    /** {@code rowShape} (a shape without its blocked axis) with {@code extent} inserted as axis {@code axis}. */
    public static int[] withExtent(int axis, int extent, int[] rowShape) {
        int[] s = new int[rowShape.length + 1];
        System.arraycopy(rowShape, 0, s, 0, axis);
        s[axis] = extent;
        System.arraycopy(rowShape, axis, s, axis + 1, rowShape.length - axis);
        return s;
    }
}
