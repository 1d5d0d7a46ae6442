package io.sparkgrad.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;

/** Float32 blocks: raw floats on the wire, the double form for kernels, pieces that stay float32. */
class FloatBlockTest {
    private static NDArray values(int rows, int cols) {
        Np.seed(rows * 31L + cols);
        return Np.randomNormal(0, 1, DType.FLOAT32, rows, cols);
    }

    @Test
    void aFloat32ArrayMakesAFloat32BlockThatSerialisesAsRawFloats() {
        NDArray x = values(50, 20);
        Block b = Block.of(3, 40, x);
        assertTrue(b.isFloat());
        assertEquals(DType.FLOAT32, b.array().dtype());
        assertArrayEquals(x.toArray(), b.dataRef());
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        new Registrator().registerClasses(kryo);
        Output out = new Output(1 << 10, -1);
        kryo.writeObject(out, b);
        assertTrue(out.position() < 4 * 1000 + 50, out.position() + " bytes for 1000 floats");
        Block back = kryo.readObject(new Input(out.toBytes()), Block.class);
        assertTrue(back.isFloat());
        assertEquals(3, back.index());
        assertEquals(40, back.rowStart());
        assertArrayEquals(b.floatsRef(), back.floatsRef());
        double[] rows = new double[2 * 20 + 1];
        back.widenRows(10, 12, rows, 1);
        assertEquals(x.toArray()[10 * 20], rows[1]);
        assertEquals(x.toArray()[12 * 20 - 1], rows[40]);
    }

    @Test
    void reblockingFloat32BlocksKeepsThemFloat32() throws Exception {
        NDArray x = values(10, 3);
        List<Block> source = List.of(Block.of(0, 0, x.slice(0, 0, 4).detach()), Block.of(1, 4, x.slice(0, 4, 10).detach()));
        long[] target = {0, 5, 5, 10};
        List<Tuple2<Integer, Block>> pieces = new ArrayList<>();
        Reblock.split(target).call(source.iterator()).forEachRemaining(pieces::add);
        double[] all = new double[30];
        int pos = 0;
        for (int t = 0; t < 3; t++) {
            List<Tuple2<Integer, Block>> mine = new ArrayList<>();
            for (Tuple2<Integer, Block> p : pieces) {
                if (p._1() == t) {
                    mine.add(p);
                }
            }
            Block joined = Reblock.join(target, new int[] {3}, 0).call(t, mine.iterator()).next();
            assertTrue(joined.isFloat() || joined.rows() == 0, joined.toString());
            joined.widenRows(0, joined.rows(), all, pos);
            pos += joined.rows() * 3;
        }
        assertArrayEquals(x.toArray(), all);
    }
}
