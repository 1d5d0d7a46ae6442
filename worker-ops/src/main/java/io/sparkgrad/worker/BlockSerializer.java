package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/** Writes a {@link Block} as its index, first row, shape and raw doubles: no field reflection. */
public final class BlockSerializer extends Serializer<Block> {
    /** Makes the serializer (blocks are immutable, so Kryo copies are the same object). */
    public BlockSerializer() {
        setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output out, Block b) {
        out.writeInt(b.index(), true);
        out.writeLong(b.rowStart(), true);
        out.writeInt(b.axis(), true);
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
        int axis = in.readInt(true);
        int[] shape = in.readInts(in.readInt(true), true);
        double[] data = in.readDoubles(in.readInt(true));
        return new Block(index, rowStart, axis, shape, data);
    }
}
