package io.sparkgrad.worker;

import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.io.Serializable;

/**
 * One row block of a distributed tensor: a dense row-major array whose leading axis holds rows
 * {@code [rowStart, rowStart + rows())} of the whole tensor, and the index of the block (and of
 * the partition that holds it). A block also carries a partition's partial result of a reduction,
 * whose shape may have no row axis. Blocks are values: kernels read them and make new ones.
 */
public final class Block implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int index;
    private final long rowStart;
    private final int[] shape;
    private final double[] data;

    public Block(int index, long rowStart, int[] shape, double[] data) {
        if (Shape.size(shape) != data.length) {
            throw new IllegalArgumentException("block " + index + ": " + data.length + " values for shape " + Shape.str(shape));
        }
        this.index = index;
        this.rowStart = rowStart;
        this.shape = shape;
        this.data = data;
    }

    /** Wraps a local array (not copied) as block {@code index} starting at {@code rowStart}. */
    public static Block of(int index, long rowStart, NDArray values) {
        LocalArray local = (LocalArray) values.toLocal();
        return new Block(index, rowStart, local.shape(), local.data());
    }

    /** Returns a block with the same index and rows holding {@code values}. */
    public Block with(NDArray values) {
        return of(index, rowStart, values);
    }

    /** Returns the values as a local array sharing this block's storage. */
    public LocalArray array() {
        return LocalArray.wrap(shape, data);
    }

    public int index() {
        return index;
    }

    public long rowStart() {
        return rowStart;
    }

    public int rows() {
        return shape[0];
    }

    /** Returns the shape (not a copy; do not modify). */
    public int[] shapeRef() {
        return shape;
    }

    /** Returns the values (not a copy; do not modify). */
    public double[] dataRef() {
        return data;
    }

    @Override
    public String toString() {
        return "Block(" + index + ", rows " + rowStart + "+" + rows() + ", shape " + Shape.str(shape) + ")";
    }
}
