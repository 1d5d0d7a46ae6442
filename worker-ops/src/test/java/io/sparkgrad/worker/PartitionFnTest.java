package io.sparkgrad.worker;

import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.UnaryFn;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Running a kernel over a partition: the distributed operands' blocks in argument order, then the
 * local operands; the result placed at the layout's start for the block; an empty partition gives
 * nothing, and operands of other layouts are refused naming both blocks. Zips pair the blocks of
 * co-partitioned operands the same way.
 */
class PartitionFnTest {

    static final NDArray A = Np.array(new double[][] {{1, 2}, {3, 4}, {5, 6}});
    static final NDArray B = Np.array(new double[][] {{10, 20}, {30, 40}, {50, 60}});
    static final NDArray ROW = Np.array(100, 200);
    /** The results' layout: block 2 starts at row 7. */
    static final long[] STARTS = {0, 3, 7, 10};

    @Test
    void theKernelSeesTheDistributedOperandsThenTheLocalOnesAndItsResultIsPlacedAtTheLayoutsStart() throws Exception {
        BlockFn f = (i, a) -> a[0].sub(a[1]).mul(a[2]).add((double) i);
        PartitionFn p = new PartitionFn(f, new Object[] {Block.of(0, 0, ROW)}, 0, STARTS);
        Block out = p.call(List.<Block[]>of(new Block[] {Block.of(2, 7, A), Block.of(2, 7, B)}).iterator()).next();
        assertEquals(2, out.index());
        assertEquals(7, out.rowStart());
        assertEquals(A.sub(B).mul(ROW).add(2.0), out.array());
        Block one = PartitionFn.ofOne((i, a) -> a[0].sub(a[1]), new Object[] {Block.of(0, 0, ROW)}, 1, new long[] {0, 5, 9})
            .call(List.of(Block.of(1, 0, A)).iterator()).next();
        assertEquals(A.sub(ROW), one.array());
        assertEquals(5, one.rowStart(), "the result's start, from the layout given, not the operand's");
        assertEquals(1, one.axis());
        Block two = PartitionFn.ofTwo((i, a) -> a[1].sub(a[0]).mul(a[2]), new Object[] {Block.of(0, 0, ROW)}, 0, STARTS)
            .call(List.of(Block.of(1, 3, A)).iterator(), List.of(Block.of(1, 3, B)).iterator()).next();
        assertEquals(B.sub(A).mul(ROW), two.array());
        assertEquals(1, two.index());
        assertEquals(3, two.rowStart());
    }

    @Test
    void localOperandsFollowTheDistributedOnesInTheirOrder() throws Exception {
        BlockFn f = (i, a) -> a[0].mul(a[1]).add(a[2]);
        Object[] locals = {Block.of(0, 0, ROW), Block.of(0, 0, Np.array(1, -1))};
        Block out = PartitionFn.ofOne(f, locals, 0, STARTS).call(List.of(Block.of(0, 0, A)).iterator()).next();
        assertEquals(A.mul(ROW).add(Np.array(1, -1)), out.array());
    }

    @Test
    void anEmptyPartitionGivesNothing() throws Exception {
        BlockFn f = (i, a) -> a[0];
        assertFalse(new PartitionFn(f, new Object[0], 0, STARTS).call(Collections.emptyIterator()).hasNext());
        assertFalse(PartitionFn.ofOne(f, new Object[0], 0, STARTS).call(Collections.emptyIterator()).hasNext());
        assertFalse(PartitionFn.ofTwo(f, new Object[0], 0, STARTS)
            .call(Collections.emptyIterator(), Collections.emptyIterator()).hasNext());
    }

    @Test
    void operandsOfOtherLayoutsAreRefusedNamingBothBlocks() {
        BlockFn f = (i, a) -> a[0];
        Iterator<Block> none = Collections.emptyIterator();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PartitionFn.ofTwo(f, new Object[0], 0, STARTS)
            .call(List.of(Block.of(1, 3, A)).iterator(), Collections.emptyIterator()));
        assertEquals("zip: a partition has a block in one operand only", e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> PartitionFn.ofTwo(f, new Object[0], 0, STARTS)
            .call(none, List.of(Block.of(1, 3, A)).iterator()));
        assertEquals("zip: a partition has a block in one operand only", e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> PartitionFn.ofTwo(f, new Object[0], 0, STARTS)
            .call(List.of(Block.of(1, 3, A)).iterator(), List.of(Block.of(2, 3, B)).iterator()));
        assertEquals("zip: Block(1, rows 3+3, shape (3, 2)) paired with Block(2, rows 3+3, shape (3, 2)); the operands' "
            + "layouts differ", e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> PartitionFn.ofTwo(f, new Object[0], 0, STARTS)
            .call(List.of(Block.of(1, 3, A)).iterator(), List.of(Block.of(1, 3, B.slice(0, 0, 2))).iterator()));
        assertTrue(e.getMessage().endsWith("the operands' layouts differ"), e.getMessage());
    }

    @Test
    void aKernelWithoutASparsePathReadsASparseBlocksDenseFormAndASparseAwareOneItsRows() throws Exception {
        Block sparse = new Block(0, 0, Csr.fromDense(3, 2, new double[] {0, 2, 0, 0, -3, 0}));
        NDArray[] seen = new NDArray[1];
        BlockFn plain = (i, a) -> {
            seen[0] = a[0];
            return a[0].add(1.0);
        };
        Block out = PartitionFn.ofOne(plain, new Object[0], 0, STARTS).call(List.of(sparse).iterator()).next();
        assertFalse(seen[0] instanceof SparseRows, "the densify rule");
        assertArrayEquals(new double[] {1, 3, 1, 1, -2, 1}, out.dataRef());
        Block kept = PartitionFn.ofOne(Kernels.unary(UnaryFn.ABS), new Object[0], 0, STARTS)
            .call(List.of(sparse).iterator()).next();
        assertTrue(kept.isSparse());
        assertArrayEquals(new double[] {0, 2, 0, 0, 3, 0}, kept.dataRef());
        // a sparse second operand of a kernel without a sparse path: dense too
        Block sum = PartitionFn.ofTwo(Kernels.binary(BinaryFn.ADD), new Object[0], 0, STARTS)
            .call(List.of(Block.of(0, 0, A)).iterator(), List.of(sparse).iterator()).next();
        assertArrayEquals(new double[] {1, 4, 3, 4, 2, 6}, sum.dataRef());
    }

    @Test
    void zipsAppendThePartitionsBlockOfEachOtherOperandInOrder() throws Exception {
        Iterator<Block[]> single = Zips.single().call(List.of(Block.of(1, 3, A)).iterator());
        Block[] t = single.next();
        assertFalse(single.hasNext());
        assertEquals(1, t.length);
        Block[] two = Zips.append().call(List.<Block[]>of(t).iterator(), List.of(Block.of(1, 3, B)).iterator()).next();
        assertEquals(2, two.length);
        assertArrayEquals(A.toArray(), two[0].dataRef());
        assertArrayEquals(B.toArray(), two[1].dataRef());
        assertEquals(1, t.length, "the tuple given is not changed");
        // a partial has other rows than the block it comes from: only its index is checked
        Block[] partial = Zips.appendPartial().call(List.<Block[]>of(two).iterator(),
            List.of(Block.of(1, 0, ROW.reshape(1, 2))).iterator()).next();
        assertEquals(3, partial.length);
        assertArrayEquals(ROW.toArray(), partial[2].dataRef());
        assertFalse(Zips.single().call(Collections.emptyIterator()).hasNext());
    }

    @Test
    void zipsRefuseOperandsOfOtherLayouts() {
        Block[] t = {Block.of(1, 3, A)};
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> Zips.append().call(List.<Block[]>of(t).iterator(), Collections.emptyIterator()));
        assertEquals("zip: partition of block 1 has no block in the other operand", e.getMessage());
        e = assertThrows(IllegalStateException.class,
            () -> Zips.append().call(List.<Block[]>of(t).iterator(), List.of(Block.of(1, 3, B.slice(0, 0, 2))).iterator()));
        assertEquals("zip: Block(1, rows 3+3, shape (3, 2)) paired with Block(1, rows 3+2, shape (2, 2)); the operands' "
            + "layouts differ", e.getMessage());
        e = assertThrows(IllegalStateException.class,
            () -> Zips.appendPartial().call(List.<Block[]>of(t).iterator(), List.of(Block.of(2, 0, ROW)).iterator()));
        assertTrue(e.getMessage().startsWith("zip: Block(1, rows 3+3"), e.getMessage());
    }

    @Test
    void aLocalOperandIsUnshippedFromTheTaskOrABroadcast() {
        Block b = Block.of(0, 0, ROW);
        assertTrue(PartitionFn.unship(b) == b);
    }
}
