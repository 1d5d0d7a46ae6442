package io.sparkgrad.worker;

import io.sparkgrad.np.Backend;
import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.UnaryFn;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a block program cuts a block into chunks (the rows per chunk from the widest array a chunk
 * holds: a dense leaf's width, a step's row, a sparse leaf's non-zeros per row unless a kernel
 * without a sparse path reads it) and the paths of its steps that {@link BlockProgramChunkTest}
 * does not take: a min partial, contractions of a computed operand and of a transpose's block,
 * a chunk of a block along axis 1. Every result is checked against the local engine.
 */
class BlockProgramEdgeTest {

    /** The rows of each chunk a recording step saw, in order (tests run one at a time in a class). */
    static final List<Integer> SEEN = new ArrayList<>();

    /** A kernel that records its chunk's rows and passes its operand on. */
    static final BlockFn RECORD = (i, a) -> {
        SEEN.add((int) a[0].dim(0));
        return SparseRows.dense(a[0]);
    };

    static BlockProgram.Kernel rowwise(BlockFn fn, int[] rowShape, ReduceFn combine) {
        return BlockProgramChunkTest.rowwise(fn, rowShape, combine);
    }

    static BlockProgram.Step step(BlockProgram.Kernel k, int... args) {
        return new BlockProgram.Step(k, args);
    }

    static final BlockFn SUM_ALL = Kernels.reduce(ReduceFn.SUM, Backend.ALL, false);

    static List<Integer> chunks(BlockProgram p, Block... leaves) {
        SEEN.clear();
        p.call(List.<Block[]>of(leaves).iterator()).next();
        return new ArrayList<>(SEEN);
    }

    @Test
    void theRowsPerChunkComeFromTheWidestArrayOfAChunk() {
        Block leaf = Block.of(0, 0, Np.ones(10, 5));
        BlockProgram.Step record = step(rowwise(RECORD, new int[] {5}, null), -1);
        BlockProgram.Step sum = step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 0);
        // 8 bytes x 5 values x 3 rows: chunks of 3, 3, 3 and 1 rows
        assertEquals(List.of(3, 3, 3, 1), chunks(new BlockProgram(new BlockProgram.Step[] {record, sum}, new int[] {1}, 100,
            8 * 5 * 3), leaf));
        // fewer rows per chunk than the bytes allow: the program's setting
        assertEquals(List.of(4, 4, 2), chunks(new BlockProgram(new BlockProgram.Step[] {record, sum}, new int[] {1}, 4,
            8 * 5 * 6), leaf));
        // a step with rows of 10 values: chunks of 1 row at the same bytes... of 3 rows at twice them
        BlockProgram.Step wide = step(rowwise(Kernels.concat(1), new int[] {10}, null), -1, -1);
        BlockProgram.Step sumWide = step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 2);
        assertEquals(List.of(3, 3, 3, 1), chunks(new BlockProgram(new BlockProgram.Step[] {record, sum, wide, sumWide},
            new int[] {1, 3}, 100, 8 * 10 * 3), leaf));
        // a partial's shape (here 5 x 5) is not a row: it does not narrow the chunks
        BlockProgram.Step gram = step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(),
            null, new Object[0], new int[] {50, 50}, 0, ReduceFn.SUM), -1, 0);
        assertEquals(List.of(3, 3, 3, 1), chunks(new BlockProgram(new BlockProgram.Step[] {record, gram}, new int[] {1}, 100,
            8 * 5 * 3), leaf));
        // a chunk is never less than a row, whatever the bytes
        assertEquals(List.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), chunks(new BlockProgram(new BlockProgram.Step[] {record, sum},
            new int[] {1}, 100, 1), leaf));
    }

    @Test
    void aSparseLeafCountsItsNonZerosPerRowUnlessAKernelReadsItsDenseForm() {
        // 12 rows of 100 columns, 2 non-zeros a row: 2 * 24 / 12 + 1 = 5 values a row
        double[] d = new double[12 * 100];
        for (int i = 0; i < 12; i++) {
            d[i * 100 + i] = 1 + i;
            d[i * 100 + 50 + i] = -1;
        }
        Block sparse = new Block(0, 0, Csr.fromDense(12, 100, d));
        BlockProgram.Step abs = step(rowwise(Kernels.unary(UnaryFn.ABS), new int[] {100}, null), -1);
        BlockProgram.Step record = step(rowwise(Kernels.reduce(ReduceFn.SUM, 1, false), new int[] {}, null), 0);
        BlockProgram.Step seen = step(rowwise(RECORD, new int[] {}, null), 1);
        BlockProgram.Step sum = step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 2);
        BlockProgram onNonZeros = new BlockProgram(new BlockProgram.Step[] {abs, record, seen, sum}, new int[] {3}, 100,
            8 * 5 * 4);
        assertEquals(List.of(4, 4, 4), chunks(onNonZeros, sparse), "abs keeps the rows sparse: 5 values a row");
        Block[] out = onNonZeros.call(List.<Block[]>of(new Block[] {sparse}).iterator()).next();
        assertEquals(78.0 + 12, out[0].dataRef()[0], 0.0);
        // exp reads the dense form: 100 values a row
        BlockProgram.Step exp = step(rowwise(Kernels.unary(UnaryFn.EXP), new int[] {100}, null), -1);
        BlockProgram dense = new BlockProgram(new BlockProgram.Step[] {exp, record, seen, sum}, new int[] {3}, 100,
            8 * 100 * 4);
        assertEquals(List.of(4, 4, 4), chunks(dense, sparse), "exp reads 100 values a row");
        // a step that makes the sparse rows dense (a sum of each row) does not pass on their sparsity
        BlockProgram.Step rowSums = step(rowwise(Kernels.reduce(ReduceFn.SUM, 1, true), new int[] {1}, null), -1);
        BlockProgram.Step seenSums = step(rowwise(RECORD, new int[] {1}, null), 0);
        BlockProgram.Step total = step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 1);
        assertEquals(List.of(6, 6), chunks(new BlockProgram(new BlockProgram.Step[] {rowSums, seenSums, total}, new int[] {2},
            100, 8 * 5 * 6), sparse));
    }

    /** A kernel that records whether it received sparse rows, then sums its operand's rows. */
    static final List<Boolean> SPARSE_SEEN = new ArrayList<>();

    @Test
    void onlySparseAwareKernelsReceiveSparseRowsAndContractionsOnStorageDoNotWidenTheChunks() {
        double[] d = new double[12 * 100];
        for (int i = 0; i < 12; i++) {
            d[i * 100 + i] = 1 + i;
            d[i * 100 + 50 + i] = -1;
        }
        Block sparse = new Block(0, 0, Csr.fromDense(12, 100, d));
        NDArray dense = Np.array(new int[] {12, 100}, d);
        NDArray w = Np.ones(100, 1);
        BlockFn plain = (i, a) -> {
            SPARSE_SEEN.add(a[0] instanceof SparseRows);
            return a[0].sum(1, true);
        };
        SparseFn aware = (i, a) -> {
            SPARSE_SEEN.add(a[0] instanceof SparseRows);
            return SparseRows.dense(a[0]).sum(1, true);
        };
        for (BlockFn f : new BlockFn[] {plain, aware}) {
            SPARSE_SEEN.clear();
            new BlockProgram(new BlockProgram.Step[] {step(rowwise(f, new int[] {1}, null), -1),
                step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 0)}, new int[] {1}, 100, 1 << 20)
                .call(List.<Block[]>of(new Block[] {sparse}).iterator()).next();
            assertEquals(List.of(f == aware), SPARSE_SEEN, f == aware ? "sparse aware" : "the densify rule");
        }
        // X w by a kernel without a sparse path, on the leaf's storage: the chunks count the non-zeros (5 a row)
        BlockProgram.Step xw = step(new BlockProgram.Kernel(BlockProgram.Kind.MATMUL_LOCAL, Kernels.matmul(0, 1), null,
            new Object[] {Block.of(0, 0, w)}, new int[] {1}, 0, null), -1);
        BlockProgram.Step seen = step(rowwise(RECORD, new int[] {1}, null), 0);
        BlockProgram.Step sum = step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 1);
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {xw, seen, sum}, new int[] {2}, 100, 8 * 5 * 6);
        assertEquals(List.of(6, 6), chunks(p, sparse));
        assertEquals(dense.matmul(w).sum().item(), p.call(List.<Block[]>of(new Block[] {sparse}).iterator()).next()[0]
            .dataRef()[0], 1e-12);
    }

    @Test
    void aContractionOfSparseRowsThatAStepMadeReadsEachChunksOwnRows() {
        double[] d = new double[7 * 4];
        for (int i = 0; i < 7; i++) {
            d[i * 4 + i % 4] = i - 3;
        }
        Block sparse = new Block(0, 0, Csr.fromDense(7, 4, d));
        NDArray x = Np.array(new int[] {7, 4}, d);
        NDArray g = Np.arange(7.0).reshape(7, 1).add(1);
        BlockProgram.Step abs = step(rowwise(Kernels.unary(UnaryFn.ABS), new int[] {4}, null), -1);
        BlockProgram.Step xtg = step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(),
            null, new Object[0], new int[] {4, 1}, 0, ReduceFn.SUM), 0, -2);
        for (long bytes : new long[] {8 * 4 * 2, Long.MAX_VALUE / 2}) {
            Block[] out = new BlockProgram(new BlockProgram.Step[] {abs, xtg}, new int[] {1}, 2, bytes)
                .call(List.<Block[]>of(new Block[] {sparse, Block.of(0, 0, g)}).iterator()).next();
            assertArrayEquals(x.abs().T().matmul(g).toArray(), out[0].dataRef(), 0.0, bytes + " bytes");
        }
    }

    @Test
    void aStepsLocalOperandsFollowItsDistributedOnesInOrder() {
        NDArray x = Np.arange(6.0).reshape(3, 2);
        NDArray lo = Np.array(1, 2);
        NDArray hi = Np.array(10, 20);
        BlockFn f = (i, a) -> a[0].mul(a[1]).add(a[2]);
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {
            step(new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, f, null, new Object[] {Block.of(0, 0, lo),
                Block.of(0, 0, hi)}, new int[] {2}, 0, null), -1),
            step(rowwise(Kernels.reduce(ReduceFn.SUM, 0, false), new int[] {2}, ReduceFn.SUM), 0)}, new int[] {1}, 1, 1);
        Block[] out = p.call(List.<Block[]>of(new Block[] {Block.of(0, 0, x)}).iterator()).next();
        assertArrayEquals(x.mul(lo).add(hi).sum(0).toArray(), out[0].dataRef(), 0.0, "one row a chunk (chunkRows 1)");
    }

    @Test
    void aMinPartialAndContractionsOfAComputedOperandGiveTheLocalValues() {
        NDArray x = Np.arange(21.0).reshape(7, 3).sub(10).mul(0.5);
        NDArray w = Np.array(new double[][] {{1, 0}, {-1, 2}, {0.5, 1}});
        BlockProgram.Step[] steps = {
            step(rowwise(Kernels.unary(UnaryFn.SQUARE), new int[] {3}, null), -1),
            // 1: min(x^2 - x, axis 0)
            step(rowwise(Kernels.binary(BinaryFn.SUB), new int[] {3}, null), 0, -1),
            step(rowwise(Kernels.reduce(ReduceFn.MIN, 0, false), new int[] {3}, ReduceFn.MIN), 1),
            // 3: (x^2) W, the contraction of a computed operand
            step(new BlockProgram.Kernel(BlockProgram.Kind.MATMUL_LOCAL, Kernels.matmulLocal(), null,
                new Object[] {Block.of(0, 0, w)}, new int[] {2}, 0, null), 0),
            step(rowwise(Kernels.reduce(ReduceFn.SUM, 0, false), new int[] {2}, ReduceFn.SUM), 3),
            // 5: (x^2)^T x, with a computed left operand
            step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(), null,
                new Object[0], new int[] {3, 3}, 0, ReduceFn.SUM), 0, -1),
            // 6: max(x): a max partial of one value
            step(rowwise(Kernels.reduce(ReduceFn.MAX, Backend.ALL, false), new int[0], ReduceFn.MAX), -1),
        };
        for (long bytes : new long[] {1, 8 * 3 * 3, Long.MAX_VALUE / 2}) {
            Block[] out = new BlockProgram(steps, new int[] {2, 4, 5, 6}, 1000, bytes)
                .call(List.<Block[]>of(new Block[] {Block.of(1, 0, x)}).iterator()).next();
            String what = "chunks of " + bytes + " bytes";
            NDArray sq = x.square();
            assertArrayEquals(sq.sub(x).min(0).toArray(), out[0].dataRef(), 0.0, what);
            assertArrayEquals(sq.matmul(w).sum(0).toArray(), out[1].dataRef(), 1e-12, what);
            assertArrayEquals(sq.T().matmul(x).toArray(), out[2].dataRef(), 1e-12, what);
            assertArrayEquals(new int[] {3, 3}, out[2].shapeRef());
            assertEquals(5.0, out[3].dataRef()[0], 0.0, what);
        }
    }

    @Test
    void theBlockOfATransposeIsCutIntoChunksAlongItsBlockedAxis() {
        // X^T of 3 x 8, blocked along axis 1: the program's rows are X's columns
        NDArray x = Np.arange(24.0).reshape(3, 8).sub(4);
        Block leaf = Block.of(0, 0, 1, x);
        NDArray w = Np.array(new double[][] {{1, 2, 3}});
        BlockProgram.Step[] steps = {
            step(rowwise(Kernels.unary(UnaryFn.ABS), new int[] {3}, null), -1),
            step(rowwise(Kernels.reduce(ReduceFn.SUM, 1, false), new int[] {3}, ReduceFn.SUM), 0),
            // w (1 x 3) times the chunk (3 x r) cannot use the leaf's storage: the kernel's path
            step(new BlockProgram.Kernel(BlockProgram.Kind.MATMUL_LOCAL, Kernels.matmul(1, 0), null,
                new Object[] {Block.of(0, 0, w)}, new int[] {1}, 1, null), -1),
            step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 2),
        };
        for (long bytes : new long[] {8 * 3 * 3, Long.MAX_VALUE / 2}) {
            Block[] out = new BlockProgram(steps, new int[] {1, 3}, 1000, bytes)
                .call(List.<Block[]>of(new Block[] {leaf}).iterator()).next();
            assertArrayEquals(x.abs().sum(1).toArray(), out[0].dataRef(), 0.0, bytes + " bytes");
            assertEquals(w.matmul(x).sum().item(), out[1].dataRef()[0], 0.0, bytes + " bytes");
        }
    }

    @Test
    void theProgramsOutputsCarryTheBlocksIndexAndStartAndBadSettingsAreRefused() {
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), -1)},
            new int[] {0, 0}, 10, 1000);
        Block[] out = p.call(List.<Block[]>of(new Block[] {Block.of(4, 40, Np.ones(3, 2))}).iterator()).next();
        assertEquals(2, out.length);
        for (Block b : out) {
            assertEquals(4, b.index());
            assertEquals(40, b.rowStart());
            assertEquals(6.0, b.dataRef()[0], 0.0);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new BlockProgram(new BlockProgram.Step[0], new int[0], 0, 10));
        assertEquals("internal: chunks of 0 rows, at most 10 bytes", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BlockProgram(new BlockProgram.Step[0], new int[0], 1, 0));
        assertEquals("internal: chunks of 1 rows, at most 0 bytes", e.getMessage());
        IllegalStateException z = assertThrows(IllegalStateException.class, () -> p.call(List.<Block[]>of(new Block[] {
            Block.of(4, 40, Np.ones(3, 2)), Block.of(5, 40, Np.ones(3, 2))}).iterator()));
        assertTrue(z.getMessage().contains("paired with Block(5"), z.getMessage());
    }

    @Test
    void theProfileTimesEveryStepAndNamesItsKernelAndShapes() {
        NDArray x = Np.ones(6, 2);
        BlockProgram p = new BlockProgram(new BlockProgram.Step[] {
            step(rowwise(Kernels.binary(BinaryFn.MUL), new int[] {2}, null), -1, -1),
            step(rowwise(SUM_ALL, new int[0], ReduceFn.SUM), 0),
        }, new int[] {1}, 4, 1 << 20);
        StepTimes.start();
        Block[] out;
        try {
            out = p.call(List.<Block[]>of(new Block[] {Block.of(0, 0, x)}).iterator()).next();
        } finally {
            List<StepTimes.Entry> table = StepTimes.stop();
            List<String> what = table.stream().map(StepTimes.Entry::what).toList();
            // the kernel's factory (a lambda's synthetic name) and constants, its chunk's shapes and its operands'
            assertTrue(what.stream().anyMatch(s -> s.startsWith(" 0 ROWWISE binary") && s.contains("MUL")
                && s.endsWith(" (4, 2) <- leaf0 (4, 2), leaf0 (4, 2)")), what.toString());
            assertTrue(what.stream().anyMatch(s -> s.startsWith(" 1 ROWWISE reduce") && s.endsWith(" () <- s0 (4, 2)")),
                what.toString());
            assertTrue(what.contains("   copies: a chunk of leaf 0 into its buffer (2, 2)"), what.toString());
            assertTrue(what.contains("   partials: combining the chunks' partials"), what.toString());
            for (StepTimes.Entry e : table) {
                if (e.what().startsWith(" 0 ") || e.what().startsWith(" 1 ")) {
                    assertEquals(2, e.calls(), "two chunks of rows: " + e);
                }
            }
            for (StepTimes.Entry e : table) {
                if (e.what().startsWith(" 0 ")) {
                    assertTrue(e.nanos() > 0, "the step's time is added: " + e);
                }
            }
            for (int k = 1; k < table.size(); k++) {
                assertTrue(table.get(k - 1).nanos() >= table.get(k).nanos(), "the longest first");
            }
        }
        assertEquals(12.0, out[0].dataRef()[0], 0.0, "timing changes no value");
        assertTrue(!StepTimes.on, "stopped");
        StepTimes.start();
        assertTrue(StepTimes.stop().isEmpty(), "start() clears the table");
    }
}
