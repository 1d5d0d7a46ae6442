package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkgrad.np.Csr;

/**
 * Writes a {@link Block} as its index, first row, shape and raw doubles, or a sparse block as its
 * CSR arrays (bytes in proportion to the non-zeros), a float32 block as raw floats: no field reflection.
 */
public final class BlockSerializer extends Serializer<Block> {
    /** Makes the serializer (blocks are immutable, so Kryo copies are the same object). */
    public BlockSerializer() {
        setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output out, Block b) {
        out.writeInt(b.index(), true);
        out.writeLong(b.rowStart(), true);
        if (b.isSparse()) { // axis 0 always: the varint -1 marks a sparse block
            Csr c = b.csr();
            out.writeInt(-1, false);
            out.writeInt(c.rows(), true);
            out.writeInt(c.cols(), true);
            out.writeInt(c.nnz(), true);
            int[] ptr = c.rowPtrRef();
            for (int i = 0; i < c.rows(); i++) {
                out.writeInt(ptr[i + 1] - ptr[i], true); // the row lengths: small varints
            }
            out.writeInts(c.colIdxRef(), true);
            out.writeDoubles(c.valuesRef());
            return;
        }
        if (b.isFloat()) { // the varint -2 marks a float32 block, then its axis
            out.writeInt(-2, false);
            out.writeInt(b.axis(), true);
            out.writeInt(b.shapeRef().length, true);
            out.writeInts(b.shapeRef(), true);
            out.writeInt(b.floatsRef().length, true);
            out.writeFloats(b.floatsRef());
            return;
        }
        out.writeInt(b.axis(), false);
        int[] shape = b.shapeRef();
        out.writeInt(shape.length, true);
        out.writeInts(shape, true);
        double[] data = b.dataRef();
        out.writeInt(data.length, true);
        out.writeDoubles(data);
    }

    @Override
    public Block read(Kryo kryo, Input in, Class<Block> type) {
        int index = in.readInt(true);
        long rowStart = in.readLong(true);
        int axis = in.readInt(false);
        if (axis == -1) {
            int rows = in.readInt(true);
            int cols = in.readInt(true);
            int nnz = in.readInt(true);
            int[] ptr = new int[rows + 1];
            for (int i = 1; i <= rows; i++) {
                ptr[i] = ptr[i - 1] + in.readInt(true);
            }
            int[] idx = in.readInts(nnz, true);
            double[] values = in.readDoubles(nnz);
            return new Block(index, rowStart, new Csr(rows, cols, ptr, idx, values));
        }
        if (axis == -2) {
            int floatAxis = in.readInt(true);
            int[] shape = in.readInts(in.readInt(true), true);
            float[] floats = in.readFloats(in.readInt(true));
            return new Block(index, rowStart, floatAxis, shape, floats);
        }
        int[] shape = in.readInts(in.readInt(true), true);
        double[] data = in.readDoubles(in.readInt(true));
        return new Block(index, rowStart, axis, shape, data);
    }
}
