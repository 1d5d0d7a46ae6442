package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A block knows its rows and width along its blocked axis, refuses values that do not fit its
 * shape, and travels through Kryo as it was (dense of any axis, sparse, empty) without copies of
 * its fields going astray.
 */
class BlockTest {

    static Kryo kryo() {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        new Registrator().registerClasses(kryo);
        return kryo;
    }

    static Block roundTrip(Block b) {
        Output out = new Output(1 << 10, -1);
        kryo().writeObject(out, b);
        return kryo().readObject(new Input(out.toBytes()), Block.class);
    }

    @Test
    void rowsAndWidthAreAlongTheBlockedAxis() {
        Block rows = new Block(3, 12, new int[] {4, 2, 3}, new double[24]);
        assertEquals(4, rows.rows());
        assertEquals(6, rows.width());
        assertEquals(0, rows.axis());
        Block cols = new Block(1, 5, 1, new int[] {2, 7, 3}, new double[42]);
        assertEquals(7, cols.rows());
        assertEquals(6, cols.width());
        assertEquals(1, cols.axis());
        Block scalar = new Block(0, 0, new int[0], new double[] {2.5});
        assertEquals(1, scalar.rows(), "a partial of a full reduction is one row");
        assertEquals(1, scalar.width());
        assertEquals(0, new Block(0, 0, new int[] {0, 4}, new double[0]).rows());
    }

    @Test
    void valuesThatDoNotFitTheShapeAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new Block(2, 0, new int[] {2, 3}, new double[5]));
        assertEquals("block 2: 5 values for shape (2, 3)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Block(4, 0, 2, new int[] {2, 3}, new double[6]));
        assertEquals("block 4: axis 2 for shape (2, 3)", e.getMessage());
        assertEquals(1, new Block(4, 0, 1, new int[] {2, 3}, new double[6]).axis());
    }

    @Test
    void aDenseBlockSharesItsStorageAndASparseOneMakesItsDenseForm() {
        double[] d = {1, 0, 0, 2};
        Block dense = new Block(0, 0, new int[] {2, 2}, d);
        assertTrue(dense.dataRef() == d);
        assertFalse(dense.isSparse());
        assertNull(dense.csr());
        assertFalse(dense.values() instanceof SparseRows);
        Block sparse = new Block(1, 2, Csr.fromDense(2, 2, d));
        assertTrue(sparse.isSparse());
        assertArrayEquals(new int[] {2, 2}, sparse.shapeRef());
        assertArrayEquals(d, sparse.dataRef());
        assertArrayEquals(d, sparse.array().toArray());
        assertTrue(sparse.values() instanceof SparseRows);
        assertEquals(2, sparse.width());
        assertEquals(0, sparse.axis());
        // wrapping sparse rows along axis 0 keeps them sparse; with(...) keeps index, start and axis
        Block wrapped = Block.of(5, 9, new SparseRows(sparse.csr()));
        assertTrue(wrapped.isSparse());
        assertEquals(9, wrapped.rowStart());
        Block moved = new Block(6, 30, 1, new int[] {3, 2}, new double[6]).with(Np.ones(3, 4));
        assertEquals(6, moved.index());
        assertEquals(30, moved.rowStart());
        assertEquals(1, moved.axis());
        assertArrayEquals(new int[] {3, 4}, moved.shapeRef());
    }

    @Test
    void everyKindOfBlockReadsBackFromKryoAsItWasWritten() {
        NDArray x = Np.arange(12.0).reshape(3, 4).sub(5.5);
        Block[] blocks = {
            Block.of(7, 1L << 40, x),
            Block.of(2, 3, 1, x),
            new Block(0, 0, new int[0], new double[] {Double.NaN}),
            new Block(1, 4, new int[] {0, 3}, new double[0]),
            new Block(3, 8, Csr.fromDense(3, 4, new double[] {0, 1, 0, 2, 0, 0, 0, 0, -3, 0, 0, 4})),
            new Block(4, 0, Csr.empty(0, 5)),
        };
        for (Block b : blocks) {
            Block back = roundTrip(b);
            String what = b.toString();
            assertEquals(b.index(), back.index(), what);
            assertEquals(b.rowStart(), back.rowStart(), what);
            assertEquals(b.axis(), back.axis(), what);
            assertEquals(b.isSparse(), back.isSparse(), what);
            assertArrayEquals(b.shapeRef(), back.shapeRef(), what);
            assertArrayEquals(b.dataRef(), back.dataRef(), what);
            if (b.isSparse()) {
                assertArrayEquals(b.csr().rowPtrRef(), back.csr().rowPtrRef(), what);
                assertArrayEquals(b.csr().colIdxRef(), back.csr().colIdxRef(), what);
            }
        }
    }

    @Test
    void blocksAndTilesAreImmutableForKryo() {
        Block b = Block.of(0, 0, Np.ones(2, 2));
        assertTrue(kryo().copy(b) == b, "an immutable block is not copied");
        TileProduct.Tile t = new TileProduct.Tile(-1, 0, 0, 1, 1, new double[] {1});
        assertTrue(kryo().copy(t) == t, "an immutable tile is not copied");
    }

    @Test
    void sparseRowsAreAReadOnlyLocalArgument() {
        SparseRows s = new SparseRows(Csr.fromDense(1, 2, new double[] {0, 3}));
        assertTrue(s.backend() == io.sparkgrad.np.LocalBackend.INSTANCE);
        assertTrue(s.detach() == s);
        assertEquals(0, s.version());
        assertArrayEquals(new double[] {0, 3}, s.toArray());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> s.assign(Np.zeros(1, 2)));
        assertEquals("assign: the rows of a sparse block are read-only", e.getMessage());
        NDArray d = Np.ones(2);
        assertTrue(SparseRows.dense(d) == d, "a dense argument is passed on as it is");
        assertFalse(SparseRows.dense(s) instanceof SparseRows);
    }

    @Test
    void aBlockNamesItsIndexRowsShapeAndKind() {
        // the text of the internal errors that name a block (zip: ... paired with ...)
        assertEquals("Block(2, rows 10+3, shape (3, 4))", new Block(2, 10, new int[] {3, 4}, new double[12]).toString());
        assertEquals("Block(1, axis 1 5+4, shape (3, 4))", new Block(1, 5, 1, new int[] {3, 4}, new double[12]).toString());
        assertEquals("Block(0, rows 0+2, shape (2, 2), sparse, 1 non-zeros)",
            new Block(0, 0, Csr.fromDense(2, 2, new double[] {0, 0, 3, 0})).toString());
    }
}
