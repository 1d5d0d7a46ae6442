package io.sparkgrad.worker;

import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Re-blocking moves rows (or elements) into the blocks of another layout: every piece is keyed
 * by its target, starts at its global row, and the joined blocks hold the rows of the whole
 * array in order, bit for bit, for layouts with empty blocks on either side.
 */
class ReblockTest {

    /** 10 rows of 3: the value of element (r, c) is 10 r + c, so that a misplaced row shows. */
    static final NDArray X = Np.arange(10.0).reshape(10, 1).mul(10.0).add(Np.arange(3.0));

    static double[] rows(NDArray x, int r0, int r1) {
        return x.slice(0, r0, r1).toArray();
    }

    /** The blocks of {@code x} (blocked along {@code axis}) at {@code starts}, with their index and start. */
    static List<Block> blocks(NDArray x, int axis, long[] starts) {
        List<Block> b = new ArrayList<>();
        for (int i = 0; i + 1 < starts.length; i++) {
            b.add(Block.of(i, starts[i], axis, x.slice(axis, starts[i], starts[i + 1])));
        }
        return b;
    }

    static List<Tuple2<Integer, Block>> split(List<Block> source, long[] target) throws Exception {
        List<Tuple2<Integer, Block>> pieces = new ArrayList<>();
        Reblock.split(target).call(source.iterator()).forEachRemaining(pieces::add);
        return pieces;
    }

    /** The pieces keyed {@code t}, in a shuffled order (a shuffle delivers them in any order). */
    static List<Tuple2<Integer, Block>> to(int t, List<Tuple2<Integer, Block>> pieces) {
        List<Tuple2<Integer, Block>> mine = new ArrayList<>();
        for (Tuple2<Integer, Block> p : pieces) {
            if (p._1() == t) {
                mine.add(p);
            }
        }
        Collections.reverse(mine);
        return mine;
    }

    @Test
    void theTargetOfARowIsTheLastBlockStartingAtOrBeforeItSkippingEmptyBlocks() {
        long[] starts = {0, 0, 3, 3, 3, 7, 10};
        int[] want = {1, 1, 1, 4, 4, 4, 4, 5, 5, 5};
        for (int r = 0; r < 10; r++) {
            assertEquals(want[r], Reblock.targetOf(starts, r), "row " + r);
        }
        assertEquals(0, Reblock.targetOf(new long[] {0, 10}, 9));
        assertEquals(2, Reblock.targetOf(new long[] {0, 1, 2, 3}, 2));
    }

    @Test
    void splittingCutsEachBlockAtTheTargetsBoundariesAndKeysEachPieceByItsTarget() throws Exception {
        List<Block> source = blocks(X, 0, new long[] {0, 4, 4, 10});
        long[] target = {0, 3, 3, 8, 10};
        List<Tuple2<Integer, Block>> pieces = split(source, target);
        // block 0 (rows 0..4) gives rows 0..3 to target 0 and row 3 to target 2; block 2 (rows 4..10)
        // gives rows 4..8 to target 2 and rows 8..10 to target 3; the empty blocks give nothing
        int[][] want = {{0, 0, 3}, {2, 3, 4}, {2, 4, 8}, {3, 8, 10}};
        assertEquals(want.length, pieces.size(), pieces.toString());
        for (int k = 0; k < want.length; k++) {
            Tuple2<Integer, Block> p = pieces.get(k);
            assertEquals(want[k][0], p._1(), "piece " + k + "'s key");
            assertEquals(want[k][0], p._2().index(), "piece " + k + " carries its target's index");
            assertEquals(want[k][1], p._2().rowStart(), "piece " + k + "'s first row");
            assertArrayEquals(new int[] {want[k][2] - want[k][1], 3}, p._2().shapeRef(), "piece " + k);
            assertArrayEquals(rows(X, want[k][1], want[k][2]), p._2().dataRef(), "piece " + k);
        }
    }

    @Test
    void joiningThePiecesGivesTheTargetLayoutsBlocksInRowOrder() throws Exception {
        for (long[] from : new long[][] {{0, 10}, {0, 4, 4, 10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
            for (long[] target : new long[][] {{0, 10}, {0, 3, 3, 8, 10}, {0, 0, 5, 10, 10}}) {
                List<Tuple2<Integer, Block>> pieces = split(blocks(X, 0, from), target);
                for (int t = 0; t + 1 < target.length; t++) {
                    Block b = Reblock.join(target, new int[] {3}, 0).call(t, to(t, pieces).iterator()).next();
                    int r0 = (int) target[t];
                    int r1 = (int) target[t + 1];
                    assertEquals(t, b.index());
                    assertEquals(r0, b.rowStart());
                    assertFalse(b.isSparse());
                    assertArrayEquals(new int[] {r1 - r0, 3}, b.shapeRef(), "target block " + t);
                    assertArrayEquals(rows(X, r0, r1), b.dataRef(), "target block " + t);
                }
            }
        }
    }

    @Test
    void blocksOfATransposeAreCutAndJoinedAlongTheirBlockedAxis() throws Exception {
        NDArray xt = X.T(); // (3, 10), blocked along axis 1
        long[] target = {0, 2, 2, 7, 10};
        List<Tuple2<Integer, Block>> pieces = split(blocks(xt, 1, new long[] {0, 5, 10}), target);
        assertEquals(4, pieces.size(), pieces.toString());
        for (Tuple2<Integer, Block> p : pieces) {
            assertEquals(1, p._2().axis());
        }
        for (int t = 0; t + 1 < target.length; t++) {
            Block b = Reblock.join(target, new int[] {3}, 1).call(t, to(t, pieces).iterator()).next();
            assertEquals(1, b.axis());
            assertEquals(target[t], b.rowStart());
            assertEquals(xt.slice(1, target[t], target[t + 1]), b.array(), "target block " + t);
        }
    }

    @Test
    void aBlockThatReceivesTheWrongNumberOfRowsIsAnInternalError() throws Exception {
        long[] target = {0, 3, 10};
        List<Tuple2<Integer, Block>> pieces = split(blocks(X, 0, new long[] {0, 10}), target);
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> Reblock.join(target, new int[] {3}, 0).call(1, to(0, pieces).iterator()));
        assertEquals("re-block: block 1 received 3 rows of 7", e.getMessage());
        NDArray xt = X.T();
        List<Tuple2<Integer, Block>> cols = split(blocks(xt, 1, new long[] {0, 10}), target);
        e = assertThrows(IllegalStateException.class,
            () -> Reblock.join(target, new int[] {3}, 1).call(1, to(0, cols).iterator()));
        assertEquals("re-block: block 1 received 3 of 7 positions along axis 1", e.getMessage());
        e = assertThrows(IllegalStateException.class,
            () -> Reblock.join(target, new int[] {3}, 1).call(1, Collections.emptyIterator()));
        assertEquals("re-block: block 1 received 0 of 7 positions along axis 1", e.getMessage());
        Csr c = Csr.fromDense(10, 3, X.toArray());
        List<Tuple2<Integer, Block>> sparse = split(List.of(new Block(0, 0, c)), target);
        e = assertThrows(IllegalStateException.class,
            () -> Reblock.join(target, new int[] {3}, 0).call(1, to(0, sparse).iterator()));
        assertEquals("re-block: block 1 received 3 rows of 7", e.getMessage());
    }

    @Test
    void aTargetBlockOfNoRowsIsAnEmptyBlockOfTheRowShape() throws Exception {
        long[] target = {0, 4, 4, 10};
        Block empty = Reblock.join(target, new int[] {2, 3}, 0).call(1, Collections.emptyIterator()).next();
        assertArrayEquals(new int[] {0, 2, 3}, empty.shapeRef());
        assertEquals(4, empty.rowStart());
        assertEquals(1, empty.index());
        Block emptyCols = Reblock.join(target, new int[] {3}, 1).call(1, Collections.emptyIterator()).next();
        assertArrayEquals(new int[] {3, 0}, emptyCols.shapeRef());
        assertEquals(1, emptyCols.axis());
    }

    @Test
    void aSparsePieceAmongDensePiecesIsJoinedInItsDenseForm() throws Exception {
        long[] target = {0, 10};
        Csr c = Csr.fromDense(10, 3, X.toArray());
        List<Tuple2<Integer, Block>> pieces = new ArrayList<>();
        pieces.add(new Tuple2<>(0, new Block(0, 4, c.rows(4, 10))));
        pieces.add(new Tuple2<>(0, Block.of(0, 0, X.slice(0, 0, 4))));
        Block b = Reblock.join(target, new int[] {3}, 0).call(0, pieces.iterator()).next();
        assertFalse(b.isSparse());
        assertArrayEquals(X.toArray(), b.dataRef());
        List<Tuple2<Integer, Block>> allSparse = List.of(new Tuple2<>(0, new Block(0, 4, c.rows(4, 10))),
            new Tuple2<>(0, new Block(0, 0, c.rows(0, 4))));
        Block s = Reblock.join(target, new int[] {3}, 0).call(0, allSparse.iterator()).next();
        assertTrue(s.isSparse());
        assertEquals(0, s.rowStart());
        assertArrayEquals(X.toArray(), s.dataRef());
    }

    @Test
    void splittingElementsCutsTheRowMajorElementsAtTheTargetsElementBoundaries() throws Exception {
        // (10, 3) as 30 elements, reshaped to rows of 5: target blocks of 2, 0 and 4 rows
        long[] targetRows = {0, 2, 2, 6};
        long[] targetElements = {0, 10, 10, 30};
        List<Tuple2<Integer, Block>> pieces = new ArrayList<>();
        List<Block> source = blocks(X, 0, new long[] {0, 3, 3, 10});
        Reblock.splitElements(targetElements).call(source.iterator()).forEachRemaining(pieces::add);
        // block 0 holds elements 0..9 (all to target 0); block 2 elements 9..30: 9 to target 0, 10..30 to target 2
        int[][] want = {{0, 0, 9}, {0, 9, 10}, {2, 10, 30}};
        assertEquals(want.length, pieces.size(), pieces.toString());
        double[] all = X.toArray();
        for (int k = 0; k < want.length; k++) {
            Block p = pieces.get(k)._2();
            assertEquals(want[k][0], pieces.get(k)._1());
            assertEquals(want[k][0], p.index());
            assertEquals(want[k][1], p.rowStart(), "a flat piece starts at its element");
            assertArrayEquals(java.util.Arrays.copyOfRange(all, want[k][1], want[k][2]), p.dataRef(), "piece " + k);
        }
        NDArray reshaped = X.reshape(6, 5);
        for (int t = 0; t < 3; t++) {
            List<Tuple2<Integer, Block>> mine = new ArrayList<>();
            for (Tuple2<Integer, Block> p : pieces) {
                if (p._1() == t) {
                    mine.add(0, p);
                }
            }
            Block b = Reblock.joinElements(targetRows, new int[] {5}).call(t, mine.iterator()).next();
            assertEquals(t, b.index());
            assertEquals(targetRows[t], b.rowStart());
            assertArrayEquals(new int[] {(int) (targetRows[t + 1] - targetRows[t]), 5}, b.shapeRef());
            assertArrayEquals(rows(reshaped, (int) targetRows[t], (int) targetRows[t + 1]), b.dataRef(), "block " + t);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> Reblock.joinElements(targetRows, new int[] {5}).call(2, List.of(pieces.get(0)).iterator()));
        assertEquals("reshape: block 2 received 9 of 20 elements", e.getMessage());
    }

    @Test
    void renumberingPlacesEachPartitionsBlockAtItsNewStart() throws Exception {
        long[] starts = {0, 4, 9};
        Block dense = Block.of(0, 0, 1, X.T().slice(1, 0, 5));
        Block moved = Reblock.renumber(starts).call(1, List.of(dense).iterator()).next();
        assertEquals(1, moved.index());
        assertEquals(4, moved.rowStart());
        assertEquals(1, moved.axis());
        assertArrayEquals(dense.dataRef(), moved.dataRef());
        Block sparse = new Block(0, 0, Csr.fromDense(2, 3, rows(X, 0, 2)));
        Block movedSparse = Reblock.renumber(starts).call(1, List.of(sparse).iterator()).next();
        assertTrue(movedSparse.isSparse());
        assertEquals(1, movedSparse.index());
        assertEquals(4, movedSparse.rowStart());
        assertFalse(Reblock.renumber(starts).call(0, Collections.emptyIterator()).hasNext());
    }
}
