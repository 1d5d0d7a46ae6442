package io.sparkgrad.worker;

import io.sparkgrad.np.Backend;
import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.UnaryFn;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A block program run a chunk of rows at a time gives what the same ops give over the whole
 * block (to 1e-12: the chunks' partials are added in row order, the whole block's sum in one
 * pass), and repeats bit for bit. The program: {@code h = tanh(X W)}, and the partials
 * {@code sum(h, 0)}, {@code X^T h}, {@code max(X, 0)}, {@code sum(exp(X) * 2)} (a source step of 2s)
 * and {@code sum(h * X[:, :2])} ({@code X} read again in a row-wise step).
 */
class BlockProgramChunkTest {

    static final int ROWS = 13;

    static BlockProgram.Kernel rowwise(BlockFn fn, int[] rowShape, ReduceFn combine) {
        return new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, fn, null, new Object[0], rowShape, 0, combine);
    }

    static BlockProgram program(NDArray w, long chunkBytes) {
        BlockFn sumAll = Kernels.reduce(ReduceFn.SUM, Backend.ALL, false);
        BlockProgram.Step[] steps = {
            // 0: X W, a contraction with the leaf on its storage
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.MATMUL_LOCAL, Kernels.matmulLocal(), null,
                new Object[] {Block.of(0, 0, w)}, new int[] {2}, 0, null), new int[] {-1}),
            // 1: h = tanh(X W)
            new BlockProgram.Step(rowwise(Kernels.unary(UnaryFn.TANH), new int[] {2}, null), new int[] {0}),
            // 2: sum(h, 0)
            new BlockProgram.Step(rowwise(Kernels.reduce(ReduceFn.SUM, 0, false), new int[] {2}, ReduceFn.SUM),
                new int[] {1}),
            // 3: X^T h
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(),
                null, new Object[0], new int[] {3, 2}, 0, ReduceFn.SUM), new int[] {-1, 1}),
            // 4: max(X, 0)
            new BlockProgram.Step(rowwise(Kernels.reduce(ReduceFn.MAX, 0, false), new int[] {3}, ReduceFn.MAX),
                new int[] {-1}),
            // 5: 2s, as many rows as the chunk
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.SOURCE, null, Generators.fill(2.0),
                new Object[0], new int[] {3}, 0, null), new int[0]),
            // 6, 7, 8: sum(exp(X) * 2)
            new BlockProgram.Step(rowwise(Kernels.unary(UnaryFn.EXP), new int[] {3}, null), new int[] {-1}),
            new BlockProgram.Step(rowwise(Kernels.binary(BinaryFn.MUL), new int[] {3}, null), new int[] {6, 5}),
            new BlockProgram.Step(rowwise(sumAll, new int[0], ReduceFn.SUM), new int[] {7}),
            // 9, 10, 11: sum(h * X[:, :2])
            new BlockProgram.Step(rowwise(Kernels.slice(1, 0, 2), new int[] {2}, null), new int[] {-1}),
            new BlockProgram.Step(rowwise(Kernels.binary(BinaryFn.MUL), new int[] {2}, null), new int[] {1, 9}),
            new BlockProgram.Step(rowwise(sumAll, new int[0], ReduceFn.SUM), new int[] {10}),
        };
        return new BlockProgram(steps, new int[] {2, 3, 4, 8, 11}, Integer.MAX_VALUE, chunkBytes); // rows set by the bytes
    }

    static NDArray x(int rows) {
        double[] d = new double[rows * 3];
        java.util.Random r = new java.util.Random(rows);
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextGaussian() * Math.pow(10, r.nextInt(-3, 4));
        }
        return Np.array(new int[] {rows, 3}, d);
    }

    static final NDArray W = Np.array(new double[][] {{0.3, -0.2}, {0.05, 0.4}, {-0.1, 0.002}});

    static double[][] run(NDArray x, long chunkBytes) throws Exception {
        Iterator<Block[]> out = program(W, chunkBytes).call(List.<Block[]>of(new Block[] {Block.of(4, 100, x)}).iterator());
        Block[] partials = out.next();
        assertFalse(out.hasNext());
        double[][] v = new double[partials.length][];
        for (int k = 0; k < v.length; k++) {
            assertEquals(4, partials[k].index(), "the partials carry the block's index");
            v[k] = partials[k].dataRef();
        }
        return v;
    }

    /** The same values from the local engine over the whole block. */
    static double[][] local(NDArray x) {
        NDArray h = x.matmul(W).tanh();
        return new double[][] {h.sum(0).toArray(), x.T().matmul(h).toArray(), x.max(0).toArray(),
            {x.exp().mul(2.0).sum().item()}, {h.mul(x.slice(1, 0, 2)).sum().item()}};
    }

    static void assertClose(double[][] want, double[][] got, String what) {
        for (int k = 0; k < want.length; k++) {
            assertEquals(want[k].length, got[k].length, what + ", output " + k);
            for (int i = 0; i < want[k].length; i++) {
                double scale = Math.max(1, Math.abs(want[k][i]));
                assertEquals(want[k][i], got[k][i], 1e-12 * scale, what + ", output " + k + " element " + i);
            }
        }
    }

    @Test
    void chunkByChunkGivesTheWholeBlocksValuesAndRepeatsBitForBit() throws Exception {
        NDArray x = x(ROWS);
        double[][] whole = run(x, Long.MAX_VALUE / 2);
        assertClose(local(x), whole, "the whole block against the local engine");
        // 1 row per chunk, 2 rows (an uneven last chunk of 1), 4 rows (13 = 4 + 4 + 4 + 1)
        for (long bytes : new long[] {1, 8 * 6 * 2, 8 * 6 * 4}) {
            double[][] chunked = run(x, bytes);
            assertClose(whole, chunked, "chunks of " + bytes / 48 + " rows");
            double[][] again = run(x, bytes);
            for (int k = 0; k < chunked.length; k++) {
                assertTrue(Arrays.equals(chunked[k], again[k]), "a second run differs in output " + k);
            }
        }
    }

    @Test
    void theSourceStepMakesAChunksRowsOnly() throws Exception {
        // sum(exp(X) * 2) over X = 0: 2 per element, 13 x 3 of them, whatever the chunk
        NDArray zeros = Np.zeros(ROWS, 3);
        for (long bytes : new long[] {1, 8 * 6 * 5, Long.MAX_VALUE / 2}) {
            assertEquals(2.0 * ROWS * 3, run(zeros, bytes)[3][0]);
        }
    }

    @Test
    void aBlockOfNoRowsGivesTheIdentityOfASum() throws Exception {
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {
            new BlockProgram.Step(rowwise(Kernels.unary(UnaryFn.EXP), new int[] {3}, null), new int[] {-1}),
            new BlockProgram.Step(rowwise(Kernels.reduce(ReduceFn.SUM, 0, false), new int[] {3}, ReduceFn.SUM),
                new int[] {0}),
        }, new int[] {1}, 64, 64);
        Block[] out = p.call(List.<Block[]>of(new Block[] {Block.of(2, 7, Np.zeros(0, 3))}).iterator()).next();
        assertArrayEquals(new double[] {0, 0, 0}, out[0].dataRef());
        assertArrayEquals(new int[] {3}, out[0].shapeRef());
        assertFalse(p.call(java.util.Collections.emptyIterator()).hasNext(), "an empty partition gives nothing");
    }

    @Test
    void leavesOfDifferentRowsAreRefused() {
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {
            new BlockProgram.Step(rowwise(Kernels.binary(BinaryFn.ADD), new int[] {3}, null),
                new int[] {-1, -2}),
        }, new int[] {0}, 64, 64);
        Block[] leaves = {Block.of(0, 0, Np.zeros(4, 3)), Block.of(0, 0, Np.zeros(5, 3))};
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> p.call(List.<Block[]>of(leaves).iterator()));
        assertTrue(e.getMessage().startsWith("zip:"), e.getMessage());
    }

    /**
     * The rows per chunk are the program's setting, not a function of its widest array: a sum of a
     * one-column block gives the same bits alone and in a program that also sums a wider array of
     * the same rows (as a fused job computes them), and other bits with other rows per chunk.
     */
    @Test
    void aSumGivesTheSameBitsAloneAndBesideAWiderArray() throws Exception {
        java.util.Random r = new java.util.Random(3);
        double[] narrow = new double[5000];
        double[] wide = new double[5000 * 40];
        for (int i = 0; i < narrow.length; i++) {
            narrow[i] = r.nextGaussian() * 1e3;
        }
        for (int i = 0; i < wide.length; i++) {
            wide[i] = r.nextGaussian();
        }
        BlockFn sumAll = Kernels.reduce(ReduceFn.SUM, Backend.ALL, false);
        BlockProgram.Step sumNarrow = new BlockProgram.Step(rowwise(sumAll, new int[0], ReduceFn.SUM), new int[] {-1});
        BlockProgram.Step sumWide = new BlockProgram.Step(rowwise(sumAll, new int[0], ReduceFn.SUM), new int[] {-2});
        Block n = new Block(0, 0, new int[] {5000, 1}, narrow);
        Block w = new Block(0, 0, new int[] {5000, 40}, wide);
        double alone = new BlockProgram(new BlockProgram.Step[] {sumNarrow}, new int[] {0}, 1024, 16L << 20)
            .call(List.<Block[]>of(new Block[] {n}).iterator()).next()[0].dataRef()[0];
        double fused = new BlockProgram(new BlockProgram.Step[] {sumNarrow, sumWide}, new int[] {0, 1}, 1024, 16L << 20)
            .call(List.<Block[]>of(new Block[] {n, w}).iterator()).next()[0].dataRef()[0];
        assertEquals(alone, fused, 0.0, "the same chunks: the same bits");
        double otherRows = new BlockProgram(new BlockProgram.Step[] {sumNarrow}, new int[] {0}, 1000, 16L << 20)
            .call(List.<Block[]>of(new Block[] {n}).iterator()).next()[0].dataRef()[0];
        assertEquals(alone, otherRows, 1e-9 * Math.abs(alone), "other chunks agree within rounding");
    }
}
