package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers with Kryo every class sparkgrad sends between driver and executors, so that it runs
 * with {@code spark.kryo.registrationRequired=true}. Set
 * {@code spark.kryo.registrator=io.sparkgrad.worker.Registrator}.
 */
public final class Registrator implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(Block.class, new BlockSerializer());
        kryo.register(Block[].class);
        kryo.register(double[].class);
        kryo.register(float[].class);
        kryo.register(int[].class);
        kryo.register(long[].class);
        kryo.register(Gather.Rows.class);
        kryo.register(TileProduct.Tile.class, new TileProduct.Tile.Serializer());
        kryo.register(io.sparkgrad.np.Csr.class);
    }
}
