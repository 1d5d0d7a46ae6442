package io.sparkgrad.worker;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated blocks are a function of the seed and the block's index alone: the same whichever
 * blocks were made before, in whatever order, and on whichever executor (a recomputed block has
 * the same bits), and different from block to block and from seed to seed.
 */
class GeneratorsTest {

    static final long[] STARTS = {0, 5, 5, 12, 13};
    static final int[] ROW = {3};

    static double[] block(Generators.BlockGen gen, int index) throws Exception {
        Block b = Generators.generate(STARTS, ROW, 0, gen, new Object[0]).call(index);
        assertEquals(index, b.index());
        assertEquals(STARTS[index], b.rowStart());
        assertArrayEquals(new int[] {(int) (STARTS[index + 1] - STARTS[index]), 3}, b.shapeRef());
        return b.dataRef();
    }

    @Test
    void aBlocksRandomValuesDependOnTheSeedAndTheIndexOnly() throws Exception {
        for (Generators.BlockGen gen : new Generators.BlockGen[] {Generators.uniform(-1, 2, 42),
            Generators.normal(0, 1, 42)}) {
            double[] b3 = block(gen, 3);
            double[] b0 = block(gen, 0);
            double[] b2 = block(gen, 2);
            // made again, in another order, by another instance of the same generator
            assertArrayEquals(b2, block(gen, 2));
            assertArrayEquals(b0, block(gen, 0));
            assertArrayEquals(b3, block(gen, 3));
            assertEquals(0, block(gen, 1).length, "an empty block");
            assertFalse(Arrays.equals(Arrays.copyOf(b0, 3), b3), "blocks 0 and 3 differ");
            assertFalse(Arrays.equals(b2, Arrays.copyOf(b0, b2.length)), "blocks 0 and 2 start differently");
        }
        assertFalse(Arrays.equals(block(Generators.uniform(-1, 2, 42), 2), block(Generators.uniform(-1, 2, 43), 2)),
            "another seed, other values");
    }

    @Test
    void uniformSamplesStayInTheirBoundsAndNormalSamplesHaveTheirMoments() {
        double[] u = Generators.uniform(-1, 2, 7).make(0, new int[] {100_000}, new Object[0]).toArray();
        assertTrue(Arrays.stream(u).allMatch(v -> v >= -1 && v < 2));
        assertEquals(0.5, Arrays.stream(u).average().orElseThrow(), 0.02);
        // an odd count: the last element of the polar method's pairs is used alone
        double[] n = Generators.normal(3, 2, 7).make(0, new int[] {100_001}, new Object[0]).toArray();
        double mean = Arrays.stream(n).average().orElseThrow();
        double var = Arrays.stream(n).map(v -> (v - mean) * (v - mean)).sum() / n.length;
        assertEquals(3, mean, 0.03);
        assertEquals(4, var, 0.08);
    }

    @Test
    void fillAndBroadcastRepeatTheirValuesOverTheRows() throws Exception {
        assertArrayEquals(new double[] {2.5, 2.5, 2.5, 2.5, 2.5, 2.5},
            Generators.fill(2.5).make(0, new int[] {2, 3}, new Object[0]).toArray());
        assertArrayEquals(new double[6], Generators.fill(0).make(0, new int[] {2, 3}, new Object[0]).toArray());
        NDArray row = Np.array(1, -2, 3);
        Block b = Generators.generate(STARTS, ROW, 0, Generators.broadcast(), new Object[] {Block.of(0, 0, row)}).call(3);
        assertEquals(row.reshape(1, 3), b.array());
    }

    @Test
    void aGeneratorThatMakesTheWrongShapeIsAnInternalError() {
        Generators.BlockGen wrong = (index, shape, shipped) -> Np.zeros(2, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> Generators.generate(STARTS, ROW, 0, wrong, new Object[0]).call(0));
        assertTrue(e.getMessage().contains("shape (2, 2) for block 0 of shape (5, 3)"), e.getMessage());
    }
}
