package io.sparkgrad.worker;

import io.sparkgrad.np.Csr;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.io.Serializable;

/**
 * One block of a distributed tensor: a dense row-major array (or, for a sparse block, a
 * {@link Csr} matrix of rows: {@link #isSparse()}) that holds positions
 * {@code [rowStart, rowStart + rows())} of the whole tensor along its blocked {@link #axis()}
 * (axis 0, the rows, unless the tensor was transposed), all of every other axis, and the index
 * of the block (and of the partition that holds it). A block also carries a partition's partial
 * result of a reduction, or a local operand shipped to the executors; those have axis 0 and no
 * meaning in their start. Blocks are values: kernels read them and make new ones.
 *
 * <p>A sparse block is a 2-D block of rows whose values are only its non-zeros, so that it costs
 * memory (cached or serialised) in proportion to them. Kernels that know the kind ({@link SparseFn})
 * run on the non-zeros; every other reader gets the dense form ({@link #array()}, {@link #dataRef()}).
 *
 * <p>A float32 block ({@link #isFloat()}) holds a dense block of a float32 array as {@code float[]}:
 * half the bytes cached, shuffled and shipped. Readers that do not know the kind get the double
 * form ({@link #array()}, {@link #dataRef()}: a widened copy); block programs widen it a chunk of
 * rows at a time ({@link #widenRows}). Sparse blocks stay float64.
 */
public final class Block implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int index;
    private final long rowStart;
    private final int axis;
    private final int[] shape;
    private final double[] data; // null for a sparse or float32 block
    private final Csr csr; // null for a dense block
    private final float[] floats; // non-null for a float32 block

    /** A block of rows (blocked along axis 0). */
    public Block(int index, long rowStart, int[] shape, double[] data) {
        this(index, rowStart, 0, shape, data);
    }

    /** A block along {@code axis} holding positions from {@code rowStart} (the arrays are kept, not copied). */
    public Block(int index, long rowStart, int axis, int[] shape, double[] data) {
        this(index, rowStart, axis, shape, data, null, data.length);
    }

    /** A float32 block along {@code axis} holding positions from {@code rowStart} (the array is kept, not copied). */
    public Block(int index, long rowStart, int axis, int[] shape, float[] floats) {
        this(index, rowStart, axis, shape, null, floats, floats.length);
    }

    /** A dense block of doubles or of floats (the other null), checked against its shape. */
    private Block(int index, long rowStart, int axis, int[] shape, double[] data, float[] floats, int values) {
        if (Shape.size(shape) != values) {
            throw new IllegalArgumentException("block " + index + ": " + values + " values for shape " + Shape.str(shape));
        }
        if (axis != 0 && axis >= shape.length) {
            throw new IllegalArgumentException("block " + index + ": axis " + axis + " for shape " + Shape.str(shape));
        }
        this.index = index;
        this.rowStart = rowStart;
        this.axis = axis;
        this.shape = shape;
        this.data = data;
        this.csr = null;
        this.floats = floats;
    }

    /** A sparse block of rows (blocked along axis 0) holding {@code csr}. */
    public Block(int index, long rowStart, Csr csr) {
        this.index = index;
        this.rowStart = rowStart;
        this.axis = 0;
        this.shape = new int[] {csr.rows(), csr.cols()};
        this.data = null;
        this.csr = csr;
        this.floats = null;
    }

    /** Wraps a local array (not copied) as block {@code index} of rows starting at {@code rowStart}. */
    public static Block of(int index, long rowStart, NDArray values) {
        return of(index, rowStart, 0, values);
    }

    /**
     * Wraps a local array (not copied) as block {@code index} along {@code axis}, starting at
     * {@code start}; a float32 array becomes a float32 block (its values narrowed into a {@code float[]}).
     */
    public static Block of(int index, long start, int axis, NDArray values) {
        if (values instanceof SparseRows && axis == 0) {
            return new Block(index, start, ((SparseRows) values).csr());
        }
        LocalArray local = (LocalArray) values.toLocal();
        if (local.dtype() == DType.FLOAT32) {
            double[] d = local.data();
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            return new Block(index, start, axis, local.intShape(), f);
        }
        return new Block(index, start, axis, local.intShape(), local.data());
    }

    /** Returns a block with the same index, position and axis holding {@code values}. */
    public Block with(NDArray values) {
        return of(index, rowStart, axis, values);
    }

    /**
     * Returns the values as a local array sharing this block's storage; for a sparse block, its
     * dense form (a new array each call: the densify rule of kernels without a sparse path).
     */
    public LocalArray array() {
        return LocalArray.wrap(shape, dataRef(), dtype());
    }

    /** Returns true for a float32 block, whose values are {@link #floatsRef()}. */
    public boolean isFloat() {
        return floats != null;
    }

    /** Returns the type of the values: float32 for a float32 block, else float64. */
    public DType dtype() {
        return floats != null ? DType.FLOAT32 : DType.FLOAT64;
    }

    /** Returns a float32 block's values (not a copy; do not modify), or null. */
    public float[] floatsRef() {
        return floats;
    }

    /**
     * Copies the values of rows (positions along axis 0) {@code [r0, r1)} of a dense block into
     * {@code out} from {@code offset}, as doubles: a chunk of a float32 block widened for the kernels.
     */
    public void widenRows(int r0, int r1, double[] out, int offset) {
        int w = width();
        if (floats == null) {
            System.arraycopy(dataRef(), r0 * w, out, offset, (r1 - r0) * w);
            return;
        }
        int from = r0 * w;
        int n = (r1 - r0) * w;
        float[] f = floats;
        for (int j = 0; j < n; j++) { // one counted loop: the JIT vectorises the widening
            out[offset + j] = f[from + j];
        }
    }

    /** Returns the values as a kernel argument: a {@link SparseRows} for a sparse block, else {@link #array()}. */
    public NDArray values() {
        return csr != null ? new SparseRows(csr) : array();
    }

    /** Returns true when the block holds its non-zeros only ({@link #csr()}). */
    public boolean isSparse() {
        return csr != null;
    }

    /** Returns the CSR matrix of a sparse block, or null for a dense one. */
    public Csr csr() {
        return csr;
    }

    /** Returns the number of values in one position along the blocked axis (a row's, for a block of rows). */
    public int width() {
        int w = 1;
        for (int d = 0; d < shape.length; d++) {
            if (d != axis) {
                w *= shape[d];
            }
        }
        return w;
    }

    /** Returns the index of the block, and of the partition that holds it. */
    public int index() {
        return index;
    }

    /** Returns the position of the block's first row (along its blocked axis) in the whole tensor. */
    public long rowStart() {
        return rowStart;
    }

    /** Returns the axis along which the tensor is split into blocks (0 for rows). */
    public int axis() {
        return axis;
    }

    /** Returns the block's length along its blocked axis: its rows, for a block of rows. */
    public int rows() {
        return shape.length == 0 ? 1 : shape[axis];
    }

    /** Returns the shape (not a copy; do not modify). */
    public int[] shapeRef() {
        return shape;
    }

    /** Returns the values (not a copy; do not modify); for a sparse block, its dense form (a new array each call). */
    public double[] dataRef() {
        if (floats != null) {
            double[] d = new double[floats.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = floats[i];
            }
            return d;
        }
        return csr != null ? csr.toDense() : data;
    }

    @Override
    public String toString() {
        return "Block(" + index + ", " + (axis == 0 ? "rows " : "axis " + axis + " ") + rowStart + "+" + rows()
            + ", shape " + Shape.str(shape) + (csr != null ? ", sparse, " + csr.nnz() + " non-zeros" : "")
            + (floats != null ? ", float32" : "") + ")";
    }
}
