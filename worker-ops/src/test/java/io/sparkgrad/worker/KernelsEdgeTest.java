package io.sparkgrad.worker;

import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.UnaryFn;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The block kernels not covered by {@link KernelsTest}, and the edges of those it covers: each is
 * the local op of the same arguments (in the argument positions it is given), a zero-preserving
 * op keeps sparse rows sparse and no other does, and the layout kernels handle the first, last
 * and empty blocks.
 */
class KernelsEdgeTest {

    static final NDArray X = Np.array(new double[][] {{1, -2, 0}, {0, 3, -4}});
    static final NDArray Y = Np.array(new double[][] {{5, 6, 7}, {8, 9, 10}});
    static final SparseRows S = new SparseRows(Csr.fromDense(2, 3, X.toArray()));

    static NDArray apply(BlockFn f, NDArray... args) {
        return f.apply(0, args);
    }

    @Test
    void theKernelsAreTheLocalOpsOfTheirArgumentPositions() {
        NDArray c = Np.array(new double[][] {{1, 0, 1}, {0, 0, 1}});
        assertEquals(Np.where(c, X, Y), apply(Kernels.where(0, 1, 2), c, X, Y));
        assertEquals(Np.where(c, X, Y), apply(Kernels.where(2, 0, 1), X, Y, c));
        assertEquals(Np.where(c, Y, X), apply(Kernels.where(2, 1, 0), X, Y, c));
        NDArray w = Np.array(new double[][] {{1, 2}, {3, 4}, {5, 6}});
        assertEquals(X.matmul(w), apply(Kernels.matmul(0, 1), X, w));
        assertEquals(X.matmul(w), apply(Kernels.matmul(1, 0), w, X));
        assertEquals(X.T().matmul(Y), apply(Kernels.transposeMatmul(), X, Y));
        NDArray x3 = Np.arange(24.0).reshape(2, 3, 4);
        assertEquals(x3.transpose(0, 2, 1), apply(Kernels.transpose(new int[] {0, 2, 1}), x3));
        assertEquals(Np.concat(List.of(X, Y), 1), apply(Kernels.concat(1), X, Y));
        assertEquals(X.pad(1, 1, 2), apply(Kernels.pad(1, 1, 2), X));
        assertEquals(X.slice(0, 1, 2), apply(Kernels.slice(0, 1, 2), X));
        assertEquals(X.slice(1, 1, 3), apply(Kernels.slice(1, 1, 3), X));
        assertEquals(X.max(1, true), apply(Kernels.reduce(ReduceFn.MAX, 1, true), X));
        assertEquals(X.min(0), apply(Kernels.reduce(ReduceFn.MIN, 0, false), X));
        assertEquals(X.norm(0, true), apply(Kernels.norm(0, true), X));
        assertEquals(Y.sub(X), apply(Kernels.binary(BinaryFn.SUB), Y, X));
        assertEquals(Y.div(X.add(10.0)), apply(Kernels.binary(BinaryFn.DIV, 1, 0), X.add(10.0), Y));
    }

    @Test
    void takeAndScatterAddOfAChunkAreTheLocalOnes() {
        NDArray table = Np.arange(12.0).reshape(4, 3);
        NDArray idx = Np.array(3, -4, 1, 1);
        assertEquals(table.take(idx), apply(Kernels.take(0, 1), table, idx));
        assertEquals(table.take(idx), apply(Kernels.take(1, 0), idx, table));
        NDArray v = Np.arange(8.0).reshape(4, 2);
        assertEquals(Np.scatterAdd(Np.zeros(5, 2), idx, v), apply(Kernels.scatterAdd(new int[] {5, 2}, 1, 0), v, idx));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> apply(Kernels.take(0, 1), table, Np.array(4)));
        assertTrue(e.getMessage().startsWith("take: index 4 is out of range for an axis of length 4"), e.getMessage());
    }

    @Test
    void theShareOfAGatherOfNoIndicesIsEmptyAndABadIndexIsNamed() {
        long[] starts = {0, 2, 4};
        NDArray table = Np.arange(8.0).reshape(4, 2);
        NDArray none = apply(Kernels.takeFromRows(starts, new int[] {0, 2}), table.slice(0, 0, 2), Np.zeros(0));
        assertArrayEquals(new long[] {0, 2}, none.shape());
        NDArray share = Kernels.takeFromRows(starts, new int[] {3, 2}).apply(1, new NDArray[] {table.slice(0, 2, 4), Np.array(1, 3, -2)});
        assertArrayEquals(new double[] {0, 0, 6, 7, 4, 5}, share.toArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Kernels.takeFromRows(starts, new int[] {2, 2}).apply(1, new NDArray[] {table.slice(0, 2, 4), Np.array(1, 4)}));
        assertEquals("take: index 4 (position 1 of the indices) is out of range for an axis of length 4", e.getMessage());
    }

    @Test
    void onlyZeroPreservingOpsKeepSparseRowsSparse() {
        assertTrue(Kernels.unary(UnaryFn.ABS) instanceof SparseFn);
        assertTrue(((SparseFn) Kernels.unary(UnaryFn.ABS)).keepsSparse());
        assertFalse(Kernels.unary(UnaryFn.NEG) instanceof SparseFn, "neg(0) is -0.0");
        assertFalse(Kernels.unary(UnaryFn.EXP) instanceof SparseFn);
        assertEquals(X.neg(), apply(Kernels.unary(UnaryFn.NEG), X));
        assertTrue(((SparseFn) Kernels.binary(BinaryFn.MUL)).keepsSparse());
        assertFalse(Kernels.binary(BinaryFn.ADD) instanceof SparseFn);
        assertTrue(((SparseFn) Kernels.slice(1, 0, 2)).keepsSparse());
        assertFalse(Kernels.slice(0, 0, 2) instanceof SparseFn);
        assertFalse(((SparseFn) Kernels.reduce(ReduceFn.SUM, 0, false)).keepsSparse(), "a sum is dense");
        assertFalse(Kernels.reduce(ReduceFn.MAX, 0, false) instanceof SparseFn);
        assertFalse(((SparseFn) Kernels.matmulLocal()).keepsSparse());
    }

    @Test
    void aProductOfTwoSparseOperandsStaysSparseAndASparseDivisorReadsTheDenseForm() {
        NDArray both = apply(Kernels.binary(BinaryFn.MUL), S, S);
        assertTrue(both instanceof SparseRows, "x * x on the intersection of the patterns");
        assertArrayEquals(X.mul(X).toArray(), both.toArray());
        NDArray divisor = apply(Kernels.binary(BinaryFn.DIV), Y, S);
        assertFalse(divisor instanceof SparseRows);
        assertArrayEquals(Y.div(X).toArray(), divisor.toArray());
        NDArray right = apply(Kernels.binary(BinaryFn.MUL), Np.array(2.0), S);
        assertTrue(right instanceof SparseRows, "s * x keeps x sparse");
        assertArrayEquals(X.mul(2.0).toArray(), right.toArray(), 0.0);
        NDArray nanLeft = apply(Kernels.binary(BinaryFn.MUL), Np.array(Double.NaN), S);
        assertFalse(nanLeft instanceof SparseRows);
        NDArray sparseTimesDense = apply(Kernels.matmulLocal(), S, Np.array(new double[][] {{1}, {2}, {3}}));
        assertArrayEquals(new double[] {-3, -6}, sparseTimesDense.toArray());
        NDArray denseTimesSparse = apply(Kernels.matmulLocal(), Y, new SparseRows(Csr.fromDense(3, 1, new double[] {1, 0, 2})));
        assertArrayEquals(new double[] {19, 28}, denseTimesSparse.toArray());
        NDArray tSparse = apply(Kernels.transposeMatmul(), Y, new SparseRows(Csr.fromDense(2, 1, new double[] {1, 2})));
        assertArrayEquals(new double[] {21, 24, 27}, tSparse.toArray());
        NDArray sq = apply(Kernels.sumOfSquares(io.sparkgrad.np.Backend.ALL, false), S);
        assertEquals(30.0, sq.item());
    }

    @Test
    void layoutKernelsHandleTheFirstLastAndEmptyBlocks() {
        long[] starts = {0, 2, 2, 5};
        NDArray x = Np.arange(15.0).reshape(5, 3);
        // a slice [1, 4) cut from each block: rows 1 of block 0, none of block 1, rows 2..4 of block 2
        assertEquals(x.slice(0, 1, 2), Kernels.sliceBlocked(0, starts, 1, 4).apply(0, new NDArray[] {x.slice(0, 0, 2)}));
        assertEquals(0, Kernels.sliceBlocked(0, starts, 1, 4).apply(1, new NDArray[] {x.slice(0, 2, 2)}).dim(0));
        assertEquals(x.slice(0, 2, 4), Kernels.sliceBlocked(0, starts, 1, 4).apply(2, new NDArray[] {x.slice(0, 2, 5)}));
        // a slice entirely before or after a block gives it no rows
        assertEquals(0, Kernels.sliceBlocked(0, starts, 3, 5).apply(0, new NDArray[] {x.slice(0, 0, 2)}).dim(0));
        assertEquals(0, Kernels.sliceBlocked(0, starts, 0, 2).apply(2, new NDArray[] {x.slice(0, 2, 5)}).dim(0));
        // along axis 1 (a transpose's blocks)
        NDArray t = x.T();
        assertEquals(t.slice(1, 2, 4), Kernels.sliceBlocked(1, starts, 1, 4).apply(2, new NDArray[] {t.slice(1, 2, 5)}));
        // unslice: rows [1, 4) of the parent, back in the parent's blocks
        NDArray cut = x.slice(0, 1, 4);
        assertEquals(cut.slice(0, 0, 1).pad(0, 1, 0), Kernels.unslice(0, starts, 1).apply(0,
            new NDArray[] {cut.slice(0, 0, 1)}));
        assertEquals(cut.slice(0, 1, 3).pad(0, 0, 1), Kernels.unslice(0, starts, 1).apply(2, new NDArray[] {cut.slice(0, 1, 3)}));
        assertEquals(Np.zeros(2, 3), Kernels.unslice(0, starts, 4).apply(0, new NDArray[] {Np.zeros(0, 3)}));
        // padEnds: only block 0 gets rows before, only the last block rows after
        NDArray mid = Kernels.padEnds(0, 2, 3, 2).apply(1, new NDArray[] {x.slice(0, 2, 2)});
        assertEquals(0, mid.dim(0));
        assertEquals(x.slice(0, 2, 5).pad(0, 0, 3), Kernels.padEnds(0, 2, 3, 2).apply(2, new NDArray[] {x.slice(0, 2, 5)}));
        assertEquals(x.slice(0, 0, 2).pad(0, 2, 0), Kernels.padEnds(0, 2, 3, 2).apply(0, new NDArray[] {x.slice(0, 0, 2)}));
        NDArray only = Kernels.padEnds(1, 1, 2, 0).apply(0, new NDArray[] {t});
        assertEquals(t.pad(1, 1, 2), only);
    }

    @Test
    void reshapeAndBroadcastOfATransposesBlockKeepItsExtent() {
        NDArray t = Np.arange(6.0).reshape(2, 3); // a block of 3 positions along axis 1
        assertArrayEquals(new long[] {3, 2, 1}, Kernels.reshape(1, 0, new int[] {2, 1}).apply(0, new NDArray[] {t}).shape());
        NDArray b = Kernels.broadcast(1, 1, new int[] {2}).apply(0, new NDArray[] {Np.arange(3.0).reshape(1, 3)});
        assertEquals(Np.arange(3.0).reshape(1, 3).broadcastTo(2, 3), b);
    }
}
