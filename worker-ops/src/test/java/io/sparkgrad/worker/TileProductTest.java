package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The tiled product of two blocked matrices, its shuffles run by hand (every tile delivered, in a
 * reversed order): it equals the local product exactly (small integers: every sum is exact), for
 * cuts with empty pieces, for a right operand blocked by rows or by columns, assembled into blocks
 * of rows or of columns; and {@code X^T X} from partial products of blocks split along the
 * contracted rows.
 */
class TileProductTest {

    /** Small integers: a product of them sums exactly, in any order. */
    static NDArray ints(int rows, int cols, int seed) {
        double[] d = new double[rows * cols];
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextInt(-9, 10);
        }
        return Np.array(new int[] {rows, cols}, d);
    }

    static final NDArray A = ints(7, 5, 1);
    static final NDArray B = ints(5, 6, 2);

    static List<Block> blocks(NDArray x, int axis, long[] starts) {
        List<Block> b = new ArrayList<>();
        for (int i = 0; i + 1 < starts.length; i++) {
            b.add(Block.of(i, starts[i], axis, x.slice(axis, starts[i], starts[i + 1])));
        }
        return b;
    }

    static <T> List<Tuple2<Integer, T>> to(int key, List<Tuple2<Integer, T>> all) {
        List<Tuple2<Integer, T>> mine = new ArrayList<>();
        for (Tuple2<Integer, T> t : all) {
            if (t._1() == key) {
                mine.add(0, t);
            }
        }
        return mine;
    }

    /** The product of A (blocked by rows at aStarts) and B (blocked along bAxis at bStarts). */
    static NDArray product(long[] aStarts, int bAxis, long[] bStarts, long[] rowCuts, long[] innerCuts, long[] colCuts,
                           boolean byRows) throws Exception {
        int outRows = rowCuts.length - 1;
        int outCols = colCuts.length - 1;
        List<Tuple2<Integer, TileProduct.Tile>> sent = new ArrayList<>();
        TileProduct.tiles(true, rowCuts, innerCuts, outCols, outCols).call(blocks(A, 0, aStarts).iterator())
            .forEachRemaining(sent::add);
        TileProduct.tiles(false, innerCuts, colCuts, outRows, outCols).call(blocks(B, bAxis, bStarts).iterator())
            .forEachRemaining(sent::add);
        List<Tuple2<Integer, TileProduct.Tile>> outTiles = new ArrayList<>();
        for (int p = 0; p < outRows * outCols; p++) {
            TileProduct.multiply(rowCuts, colCuts, innerCuts.length - 1, byRows).call(p, to(p, sent).iterator())
                .forEachRemaining(outTiles::add);
        }
        return assemble(rowCuts, colCuts, byRows, outTiles);
    }

    static NDArray assemble(long[] rowCuts, long[] colCuts, boolean byRows, List<Tuple2<Integer, TileProduct.Tile>> tiles)
        throws Exception {
        int blocks = byRows ? rowCuts.length - 1 : colCuts.length - 1;
        List<NDArray> parts = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            Block block = TileProduct.assemble(rowCuts, colCuts, byRows).call(b, to(b, tiles).iterator()).next();
            assertEquals(b, block.index());
            assertEquals(byRows ? rowCuts[b] : colCuts[b], block.rowStart());
            assertEquals(byRows ? 0 : 1, block.axis());
            parts.add(block.array());
        }
        return Np.concat(parts, byRows ? 0 : 1);
    }

    @Test
    void aTiledProductEqualsTheLocalProduct() throws Exception {
        NDArray want = A.matmul(B);
        for (boolean byRows : new boolean[] {true, false}) {
            // B by rows, cut where B's blocks are and inside them
            assertEquals(want, product(new long[] {0, 4, 7}, 0, new long[] {0, 2, 5}, new long[] {0, 2, 4, 7},
                new long[] {0, 2, 5}, new long[] {0, 4, 6}, byRows), "by rows " + byRows);
            assertEquals(want, product(new long[] {0, 7}, 0, new long[] {0, 5}, new long[] {0, 1, 7},
                new long[] {0, 1, 3, 5}, new long[] {0, 1, 2, 6}, byRows), "by rows " + byRows);
            // B blocked by its columns (a transpose's blocks), an empty block of A
            assertEquals(want, product(new long[] {0, 3, 3, 7}, 1, new long[] {0, 4, 6}, new long[] {0, 3, 7},
                new long[] {0, 5}, new long[] {0, 4, 6}, byRows), "by rows " + byRows);
        }
    }

    @Test
    void eachTileGoesToEveryOutputTileThatNeedsIt() throws Exception {
        List<Tuple2<Integer, TileProduct.Tile>> sent = new ArrayList<>();
        // one block of A (rows 4..7 of A) cut at rows {0, 2, 4, 7} and columns {0, 2, 5}: tiles (2, 0), (2, 1),
        // each to the 2 output tiles of row 2
        TileProduct.tiles(true, new long[] {0, 2, 4, 7}, new long[] {0, 2, 5}, 2, 2)
            .call(List.of(Block.of(1, 4, A.slice(0, 4, 7))).iterator()).forEachRemaining(sent::add);
        int[] keys = {4, 5, 4, 5};
        int[][] rowColShape = {{2, 0, 3, 2}, {2, 0, 3, 2}, {2, 1, 3, 3}, {2, 1, 3, 3}};
        assertEquals(4, sent.size());
        for (int k = 0; k < 4; k++) {
            TileProduct.Tile t = sent.get(k)._2();
            assertEquals(keys[k], sent.get(k)._1(), "tile " + k);
            assertArrayEquals(rowColShape[k], new int[] {t.row, t.col, t.rows, t.cols}, "tile " + k);
        }
        assertArrayEquals(A.slice(0, 4, 7).slice(1, 2, 5).toArray(), sent.get(2)._2().values);
        // a block cut inside it: rows 0..4 at 2 gives tiles of rows 0..2 and 2..4
        sent.clear();
        TileProduct.tiles(true, new long[] {0, 2, 4, 7}, new long[] {0, 5}, 1, 1)
            .call(List.of(Block.of(0, 0, A.slice(0, 0, 4))).iterator()).forEachRemaining(sent::add);
        assertEquals(2, sent.size());
        assertArrayEquals(new int[] {1, 0, 2, 5}, new int[] {sent.get(1)._2().row, sent.get(1)._2().col,
            sent.get(1)._2().rows, sent.get(1)._2().cols});
        assertArrayEquals(A.slice(0, 2, 4).toArray(), sent.get(1)._2().values);
        // a block of B (rows 2..5 of B) cut at rows {0, 2, 5}, columns {0, 4, 6}, to the 3 output rows
        sent.clear();
        TileProduct.tiles(false, new long[] {0, 2, 5}, new long[] {0, 4, 6}, 3, 2)
            .call(List.of(Block.of(1, 2, B.slice(0, 2, 5))).iterator()).forEachRemaining(sent::add);
        int[] bKeys = {0, 2, 4, 1, 3, 5};
        assertEquals(6, sent.size());
        for (int k = 0; k < 6; k++) {
            assertEquals(bKeys[k], sent.get(k)._1(), "tile " + k);
            assertEquals(1, sent.get(k)._2().row);
        }
        assertArrayEquals(B.slice(0, 2, 5).slice(1, 4, 6).toArray(), sent.get(5)._2().values);
    }

    @Test
    void anOutputTileWithNoContributionsIsZeros() throws Exception {
        long[] rowCuts = {0, 2, 4};
        long[] colCuts = {0, 3};
        Tuple2<Integer, TileProduct.Tile> out = TileProduct.multiply(rowCuts, colCuts, 2, false)
            .call(1, Collections.emptyIterator()).next();
        assertEquals(0, out._1(), "keyed by its column block");
        assertArrayEquals(new double[6], out._2().values);
        assertEquals(1, out._2().row);
        assertEquals(0, out._2().col);
    }

    @Test
    void aBlockOfTheResultThatMissesATileIsAnInternalError() {
        long[] rowCuts = {0, 2, 4};
        long[] colCuts = {0, 3, 5};
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> TileProduct.assemble(rowCuts, colCuts, true).call(1, Collections.emptyIterator()));
        assertEquals("internal: block 1 of a tiled product received 0 tiles, not 2", e.getMessage());
        List<Tuple2<Integer, TileProduct.Tile>> one = List.of(new Tuple2<>(0,
            new TileProduct.Tile(-1, 0, 0, 2, 3, new double[6])));
        e = assertThrows(IllegalStateException.class,
            () -> TileProduct.assemble(new long[] {0, 2, 4, 6}, colCuts, false).call(0, one.iterator()));
        assertEquals("internal: block 0 of a tiled product received 1 tiles, not 3", e.getMessage());
    }

    @Test
    void theGramMatrixFromPartialProductsEqualsTheLocalOne() throws Exception {
        NDArray x = ints(9, 4, 3);
        NDArray want = x.T().matmul(x);
        long[] starts = {0, 4, 4, 9};
        long[] rowCuts = {0, 1, 4};
        long[] colCuts = {0, 3, 4};
        for (boolean byRows : new boolean[] {true, false}) {
            List<Tuple2<Integer, TileProduct.Tile>> sent = new ArrayList<>();
            for (int k = 0; k + 1 < starts.length; k++) {
                NDArray rows = x.slice(0, starts[k], starts[k + 1]);
                TileProduct.partials(rowCuts, colCuts).call(List.of(Block.of(k, starts[k], 1, rows.T())).iterator(),
                    List.of(Block.of(k, starts[k], rows)).iterator()).forEachRemaining(sent::add);
            }
            assertEquals(8, sent.size(), "4 tiles from each of the 2 blocks with rows");
            List<Tuple2<Integer, TileProduct.Tile>> outTiles = new ArrayList<>();
            for (int p = 0; p < 4; p++) {
                List<Tuple2<Integer, TileProduct.Tile>> mine = to(p, sent);
                assertEquals(2, mine.size());
                TileProduct.sum(rowCuts, colCuts, byRows).call(p, mine.iterator()).forEachRemaining(outTiles::add);
            }
            assertEquals(want, assemble(rowCuts, colCuts, byRows, outTiles), "by rows " + byRows);
        }
    }

    @Test
    void partialProductsAreSummedInTheOrderOfTheBlocksTheyCameFrom() throws Exception {
        long[] rowCuts = {0, 2, 4};
        long[] colCuts = {0, 1};
        List<Tuple2<Integer, TileProduct.Tile>> parts = new ArrayList<>();
        double[] v = {1e16, 1, -1e16, 1};
        for (int from = 3; from >= 0; from--) {
            parts.add(new Tuple2<>(1, new TileProduct.Tile(from, 1, 0, 2, 1, new double[] {v[from], 2 * v[from]})));
        }
        Tuple2<Integer, TileProduct.Tile> out = TileProduct.sum(rowCuts, colCuts, true).call(1, parts.iterator()).next();
        TileProduct.Tile t = out._2();
        assertEquals(1, out._1(), "keyed by its row of tiles");
        assertArrayEquals(new double[] {1, 2}, t.values, 0.0, "((1e16 + 1) - 1e16) + 1 in block order");
        assertArrayEquals(new int[] {-1, 1, 0, 2, 1}, new int[] {t.from, t.row, t.col, t.rows, t.cols});
    }

    @Test
    void aTileSerialisesItsFieldsAndValues() {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        new Registrator().registerClasses(kryo);
        TileProduct.Tile t = new TileProduct.Tile(-2, 3, 1, 2, 2, new double[] {1.5, -2, Double.NaN, 1e300});
        Output out = new Output(256, -1);
        kryo.writeObject(out, t);
        TileProduct.Tile back = kryo.readObject(new Input(out.toBytes()), TileProduct.Tile.class);
        assertArrayEquals(new int[] {-2, 3, 1, 2, 2}, new int[] {back.from, back.row, back.col, back.rows, back.cols});
        assertArrayEquals(t.values, back.values);
    }
}
