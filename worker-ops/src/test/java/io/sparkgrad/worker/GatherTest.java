package io.sparkgrad.worker;

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
 * {@code take} and {@code scatterAdd} by distributed indices, run side by side as the shuffles
 * run them (every message delivered, in a reversed order): the results are the local engine's,
 * bit for bit, for repeated and negative indices, empty blocks of the table and of the indices,
 * and bad indices are refused naming their global position.
 */
class GatherTest {

    /** A table of 10 rows of 2: row r is (r, -r / 4). */
    static final NDArray TABLE = Np.arange(10.0).reshape(10, 1).mul(Np.array(1, -0.25));
    static final long[] TABLE_STARTS = {0, 3, 3, 8, 10};
    /** 7 indices in blocks of 3, 0 and 4: repeated, negative, at the first and last rows of table blocks. */
    static final NDArray IDX = Np.array(9, 0, 3, 7, -1, 3, 2);
    static final long[] IDX_STARTS = {0, 3, 3, 7};

    static List<Block> blocks(NDArray x, long[] starts) {
        List<Block> b = new ArrayList<>();
        for (int i = 0; i + 1 < starts.length; i++) {
            b.add(Block.of(i, starts[i], x.slice(0, starts[i], starts[i + 1])));
        }
        return b;
    }

    static <T> List<T> keyed(List<Tuple2<Integer, T>> all, int key) {
        List<T> out = new ArrayList<>();
        for (Tuple2<Integer, T> t : all) {
            if (t._1() == key) {
                out.add(t._2());
            }
        }
        Collections.reverse(out);
        return out;
    }

    static <T> List<Tuple2<Integer, T>> keyedAs(List<T> values, int key) {
        List<Tuple2<Integer, T>> out = new ArrayList<>();
        for (T v : values) {
            out.add(new Tuple2<>(key, v));
        }
        return out;
    }

    static NDArray take(NDArray table, long[] tableStarts, NDArray idx, long[] idxStarts) throws Exception {
        List<Tuple2<Integer, Gather.Rows>> requests = new ArrayList<>();
        for (Block b : blocks(idx, idxStarts)) {
            Gather.requests("take", tableStarts).call(List.of(b).iterator()).forEachRemaining(requests::add);
        }
        List<Tuple2<Integer, Gather.Rows>> answers = new ArrayList<>();
        List<Block> tableBlocks = blocks(table, tableStarts);
        for (int t = 0; t < tableBlocks.size(); t++) {
            Gather.answers(2).call(List.of(tableBlocks.get(t)).iterator(), keyedAs(keyed(requests, t), t).iterator())
                .forEachRemaining(answers::add);
        }
        List<NDArray> out = new ArrayList<>();
        List<Block> idxBlocks = blocks(idx, idxStarts);
        for (int i = 0; i < idxBlocks.size(); i++) {
            Block r = Gather.assemble("take", tableStarts[tableStarts.length - 1], new int[] {2})
                .call(List.of(idxBlocks.get(i)).iterator(), keyedAs(keyed(answers, i), i).iterator()).next();
            assertEquals(i, r.index());
            assertEquals(idxStarts[i], r.rowStart());
            out.add(r.array());
        }
        return Np.concat(out.toArray(new NDArray[0]));
    }

    @Test
    void requestsAskEachTableBlockOnceForEachDistinctRowItHolds() throws Exception {
        List<Tuple2<Integer, Gather.Rows>> got = new ArrayList<>();
        Gather.requests("take", TABLE_STARTS).call(List.of(Block.of(2, 3, Np.array(7, -1, 3, 2, 3, 0))).iterator())
            .forEachRemaining(got::add);
        // rows 0, 2 (block 0), 3, 7 (block 2), 9 (block 3)
        assertEquals(3, got.size(), got.toString());
        long[][] rows = {{0, 2}, {3, 7}, {9}};
        int[] targets = {0, 2, 3};
        for (int k = 0; k < 3; k++) {
            assertEquals(targets[k], got.get(k)._1());
            assertEquals(2, got.get(k)._2().from);
            assertArrayEquals(rows[k], got.get(k)._2().rows);
        }
    }

    @Test
    void takeGivesTheLocalGather() throws Exception {
        assertEquals(TABLE.take(IDX), take(TABLE, TABLE_STARTS, IDX, IDX_STARTS));
        NDArray idx2 = Np.array(new int[] {4, 2}, new double[] {1, 1, 9, -10, 5, 4, 8, 0});
        assertEquals(TABLE.take(idx2), take(TABLE, TABLE_STARTS, idx2, new long[] {0, 1, 4}));
    }

    @Test
    void badIndicesAreRefusedNamingTheirGlobalPosition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Gather.requests("take", TABLE_STARTS).call(List.of(Block.of(1, 3, Np.array(1, 2, 10))).iterator()));
        assertEquals("take: index 10 (position 5 of the indices) is out of range for an axis of length 10", e.getMessage());
        NDArray pairs = Np.array(new int[] {2, 2}, new double[] {0, 1, 2.5, 3});
        e = assertThrows(IllegalArgumentException.class,
            () -> Gather.requests("take", TABLE_STARTS).call(List.of(Block.of(1, 4, pairs)).iterator()));
        assertEquals("take: index 2.5 (position 10 of the indices) is not an integer", e.getMessage());
    }

    @Test
    void aMissingAnswerIsAnInternalError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Gather.assemble("take", 10, new int[] {2})
            .call(List.of(Block.of(0, 0, Np.array(4))).iterator(), Collections.emptyIterator()));
        assertEquals("internal: take got no answer for row 4", e.getMessage());
    }

    static NDArray scatterAdd(NDArray idx, long[] idxStarts, NDArray values, long[] targetStarts) throws Exception {
        List<Tuple2<Integer, Gather.Rows>> pieces = new ArrayList<>();
        List<Block> ib = blocks(idx, idxStarts);
        List<Block> vb = blocks(values, idxStarts);
        for (int i = 0; i < ib.size(); i++) {
            Gather.pieces("scatterAdd", targetStarts, 2).call(List.of(ib.get(i)).iterator(), List.of(vb.get(i)).iterator())
                .forEachRemaining(pieces::add);
        }
        List<NDArray> out = new ArrayList<>();
        for (int t = 0; t + 1 < targetStarts.length; t++) {
            Block b = Gather.sum(targetStarts, new int[] {2}).call(t, keyedAs(keyed(pieces, t), t).iterator()).next();
            assertEquals(t, b.index());
            assertEquals(targetStarts[t], b.rowStart());
            out.add(b.array());
        }
        return Np.concat(out.toArray(new NDArray[0]));
    }

    @Test
    void piecesSendEachTargetBlockItsIndicesAndValuesInPositionOrder() throws Exception {
        List<Tuple2<Integer, Gather.Rows>> got = new ArrayList<>();
        NDArray v = Np.arange(8.0).reshape(4, 2);
        Gather.pieces("scatterAdd", TABLE_STARTS, 2).call(List.of(Block.of(1, 3, Np.array(7, 0, -3, 1))).iterator(),
            List.of(Block.of(1, 3, v)).iterator()).forEachRemaining(got::add);
        assertEquals(2, got.size());
        assertEquals(0, got.get(0)._1());
        assertArrayEquals(new long[] {0, 1}, got.get(0)._2().rows);
        assertArrayEquals(new double[] {2, 3, 6, 7}, got.get(0)._2().values);
        assertEquals(2, got.get(1)._1());
        assertEquals(1, got.get(1)._2().from);
        assertArrayEquals(new long[] {7, 7}, got.get(1)._2().rows);
        assertArrayEquals(new double[] {0, 1, 4, 5}, got.get(1)._2().values);
    }

    @Test
    void scatterAddGivesTheLocalSumsBitForBit() throws Exception {
        // values whose sums depend on the order of addition: the blocks' pieces must add in index order
        NDArray values = Np.array(new double[][] {{1e16, 1}, {1, 2}, {-1e16, 3}, {1, 4}, {3, 5}, {0.5, 6}, {1e-3, 7}});
        NDArray idx = Np.array(3, 9, 3, 3, -1, 0, 3);
        NDArray want = Np.scatterAdd(Np.zeros(10, 2), idx, values);
        NDArray got = scatterAdd(idx, IDX_STARTS, values, TABLE_STARTS);
        assertArrayEquals(want.toArray(), got.toArray(), 0.0);
        assertEquals(want, got);
        assertEquals(1.001, got.toArray()[6], 0.0, "1e16 - 1e16 + 1 + 1e-3, added in index order");
    }

    @Test
    void aTargetBlockThatReceivesNothingIsZeros() throws Exception {
        Block b = Gather.sum(TABLE_STARTS, new int[] {2}).call(2, Collections.emptyIterator()).next();
        assertArrayEquals(new int[] {5, 2}, b.shapeRef());
        assertArrayEquals(new double[10], b.dataRef());
        assertEquals(3, b.rowStart());
    }
}
