package io.sparkgrad.worker;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kernels that see a block's place in the layout: applied block by block and joined, they
 * give what the local op gives over the whole array, for blocks of uneven and empty sizes.
 */
class KernelsTest {

    /** 10 rows of 3 in blocks of 3, 0, 4 and 3 rows: where each block starts, and a last entry of 10. */
    static final long[] STARTS = {0, 3, 3, 7, 10};
    static final NDArray X = Np.arange(30.0).reshape(10, 3).sub(7);

    static List<NDArray> blocks(NDArray x, long[] starts) {
        List<NDArray> b = new ArrayList<>();
        for (int i = 0; i + 1 < starts.length; i++) {
            b.add(x.slice(0, starts[i], starts[i + 1]));
        }
        return b;
    }

    static NDArray apply(BlockFn fn, List<NDArray> blocks, NDArray... locals) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            NDArray[] args = new NDArray[1 + locals.length];
            args[0] = blocks.get(i);
            System.arraycopy(locals, 0, args, 1, locals.length);
            out.add(fn.apply(i, args));
        }
        return Np.concat(out.toArray(new NDArray[0]));
    }

    @Test
    void aSliceOfTheBlockedAxisCutsEachBlockToItsShareOfTheRange() {
        for (long[] range : new long[][] {{1, 8}, {0, 10}, {3, 7}, {4, 5}, {9, 10}, {2, 2}}) {
            NDArray got = apply(Kernels.sliceBlocked(0, STARTS, range[0], range[1]), blocks(X, STARTS));
            assertEquals(X.slice(0, range[0], range[1]), got, range[0] + ":" + range[1]);
        }
    }

    @Test
    void unsliceRestoresTheParentsBlocksWithZerosOutsideTheSlice() {
        long from = 2;
        long to = 8;
        List<NDArray> cut = new ArrayList<>();
        List<NDArray> parent = blocks(X, STARTS);
        for (int i = 0; i < parent.size(); i++) {
            cut.add(Kernels.sliceBlocked(0, STARTS, from, to).apply(i, new NDArray[] {parent.get(i)}));
        }
        NDArray restored = apply(Kernels.unslice(0, STARTS, from), cut);
        NDArray want = X.slice(0, from, to).pad(0, from, 10 - to);
        assertEquals(want, restored);
        for (int i = 0; i < parent.size(); i++) {
            NDArray block = Kernels.unslice(0, STARTS, from).apply(i, new NDArray[] {cut.get(i)});
            assertEquals(STARTS[i + 1] - STARTS[i], block.dim(0), "block " + i + " has its parent's rows again");
        }
    }

    @Test
    void paddingTheBlockedAxisAddsZerosToTheFirstAndLastBlocksOnly() {
        NDArray got = apply(Kernels.padEnds(0, 2, 1, 3), blocks(X, STARTS));
        assertEquals(X.pad(0, 2, 1), got);
    }

    @Test
    void theSharesOfAGatherFromBlocksOfRowsAddUpToTheGather() {
        NDArray idx = Np.array(9, 0, 4, -1, 3, 3, 6, 2, 7);
        int[] outShape = {9, 3};
        NDArray sum = Np.zeros(9, 3);
        List<NDArray> b = blocks(X, STARTS);
        for (int i = 0; i < b.size(); i++) {
            sum = sum.add(Kernels.takeFromRows(STARTS, outShape).apply(i, new NDArray[] {b.get(i), idx}));
        }
        assertEquals(X.take(idx), sum);
    }

    @Test
    void rowsOfAGeneratedScatterAddAreTheScatterAddsRows() {
        // rows at the first and last positions of blocks (0, 2, 3, 6, 7, 9), repeated, from the end
        NDArray idx = Np.array(1, 8, 1, -1, 5, 0, 3, 6, 7, 2, 3);
        NDArray values = Np.arange(22.0).reshape(11, 2);
        NDArray want = Np.scatterAdd(Np.zeros(10, 2), idx, values);
        List<NDArray> got = new ArrayList<>();
        for (int i = 0; i + 1 < STARTS.length; i++) {
            got.add(Generators.scatterAddRows(STARTS).make(i, new int[] {(int) (STARTS[i + 1] - STARTS[i]), 2},
                new Object[] {Block.of(0, 0, idx), Block.of(0, 0, values)}));
        }
        assertEquals(want, Np.concat(got.toArray(new NDArray[0])));
    }

    @Test
    void reshapeAndBroadcastKeepEachBlocksRows() {
        NDArray x6 = Np.arange(60.0).reshape(10, 6);
        List<NDArray> b = blocks(x6, STARTS);
        assertEquals(x6.reshape(10, 2, 3), apply(Kernels.reshape(0, 0, new int[] {2, 3}), b));
        NDArray col = Np.arange(10.0).reshape(10, 1);
        assertEquals(col.broadcastTo(10, 4), apply(Kernels.broadcast(0, 0, new int[] {4}), blocks(col, STARTS)));
        // a block of a transpose (blocked along axis 1) keeps its extent as the new axis 1
        NDArray t = Np.arange(12.0).reshape(3, 4);
        assertArrayEquals(new long[] {3, 4, 1}, Kernels.reshape(1, 1, new int[] {3, 1}).apply(0, new NDArray[] {t}).shape());
    }

    @Test
    void withExtentInsertsTheBlockedAxisWhereItBelongs() {
        assertArrayEquals(new int[] {5, 2, 3}, Kernels.withExtent(0, 5, new int[] {2, 3}));
        assertArrayEquals(new int[] {2, 5, 3}, Kernels.withExtent(1, 5, new int[] {2, 3}));
        assertArrayEquals(new int[] {2, 3, 5}, Kernels.withExtent(2, 5, new int[] {2, 3}));
        assertArrayEquals(new int[] {0}, Kernels.withExtent(0, 0, new int[0]));
    }

    @Test
    void theElementwiseAndReductionKernelsAreTheLocalEnginesOps() {
        NDArray w = Np.array(new double[][] {{1, -1}, {0.5, 2}, {0, 3}});
        List<NDArray> b = blocks(X, STARTS);
        assertEquals(X.matmul(w), apply(Kernels.matmulLocal(), b, w));
        assertEquals(X.clip(-3, 4), apply(Kernels.clip(-3, 4), b));
        assertEquals(X.sum(1), apply(Kernels.reduce(io.sparkgrad.np.ReduceFn.SUM, 1, false), b));
        assertEquals(X.square().sum(1, true), apply(Kernels.sumOfSquares(1, true), b));
        assertEquals(X.norm(1, false), apply(Kernels.norm(1, false), b));
        // a distributed right operand comes first in the arguments: sub(local, block)
        NDArray row = Np.array(10, 20, 30);
        assertEquals(row.sub(X), apply(Kernels.binary(io.sparkgrad.np.BinaryFn.SUB, 1, 0), b, row));
    }
}
