package io.sparkgrad.worker;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.UnaryFn;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sparse (CSR) blocks give the dense blocks' values: the kernels with a sparse path (products,
 * zero-preserving elementwise ops, column slices) and every other kernel (which reads the dense
 * form), alone and inside block programs run a chunk at a time, at densities 0, 0.1%, 5% and 60%,
 * with an empty row and a block of no rows. Sums are compared to 1e-12 relative (the sparse
 * kernels add in storage order, BLAS in its own); elementwise results bit for bit but for the
 * sign of a zero ({@link #assertSameValues}).
 */
class SparseBlockTest {

    static final double[] DENSITIES = {0, 0.001, 0.05, 0.6};

    /** A rows x cols matrix with about {@code density} of its entries non-zero, row 1 (if any) all zeros. */
    static double[] random(int rows, int cols, double density, long seed) {
        Random r = new Random(seed);
        double[] d = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (i != 1 && r.nextDouble() < density) {
                    d[i * cols + j] = r.nextGaussian() * Math.pow(10, r.nextInt(-2, 3));
                }
            }
        }
        return d;
    }

    static void assertClose(double[] want, double[] got, String what) {
        assertEquals(want.length, got.length, what + ": lengths");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-12 * Math.max(1, Math.abs(want[i])), what + ", element " + i);
        }
    }

    /**
     * The same values bit for bit, but for the sign of a zero: a sparse block's zeros are
     * {@code +0.0}, where the dense kernel may make {@code -0.0} ({@code 0 * -2}); they compare equal.
     */
    static void assertSameValues(double[] want, double[] got, String... what) {
        assertEquals(want.length, got.length, "lengths");
        for (int i = 0; i < want.length; i++) {
            boolean same = want[i] == got[i] || Double.doubleToLongBits(want[i]) == Double.doubleToLongBits(got[i]);
            assertTrue(same, String.join(" ", what) + " element " + i + ": want " + want[i] + ", got " + got[i]);
        }
    }

    @Test
    void csrHoldsTheNonZerosAndGivesTheDenseFormBack() {
        double[] d = {0, 2, 0, 0, 0, 0, 1, -3, 0};
        Csr c = Csr.fromDense(3, 3, d);
        assertEquals(3, c.nnz());
        assertArrayEquals(new int[] {0, 1, 1, 3}, c.rowPtrRef());
        assertArrayEquals(new int[] {1, 0, 1}, c.colIdxRef());
        assertArrayEquals(d, c.toDense());
        assertArrayEquals(new double[] {0, 0, 0, 1, -3, 0}, c.rows(1, 3).toDense());
        assertArrayEquals(new double[] {2, 0, 0, 0, -3, 0}, c.columns(1, 3).toDense());
        assertArrayEquals(d, Csr.concatRows(List.of(c.rows(0, 1), c.rows(1, 1), c.rows(1, 3)), 3).toDense());
        assertEquals(0, Csr.empty(0, 5).toDense().length);
    }

    @Test
    void malformedCsrArraysAreRefusedNamingTheRow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new Csr(2, 3, new int[] {0, 2, 3}, new int[] {2, 1, 0}, new double[] {1, 1, 1}));
        assertTrue(e.getMessage().contains("row 0 has column 1 after column 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
            () -> new Csr(1, 3, new int[] {0, 1}, new int[] {3}, new double[] {1}));
        assertTrue(e.getMessage().contains("[0, 3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Csr(2, 3, new int[] {0, 1}, new int[] {0}, new double[] {1}));
        assertTrue(e.getMessage().contains("rows + 1"), e.getMessage());
    }

    @Test
    void productsOnTheNonZerosEqualTheDenseProducts() {
        for (double density : DENSITIES) {
            for (int rows : new int[] {0, 1, 9}) {
                double[] d = random(rows, 7, density, rows * 31L + (long) (density * 1000));
                NDArray dense = Np.array(new int[] {rows, 7}, d);
                NDArray sparse = new SparseRows(Csr.fromDense(rows, 7, d));
                String what = "density " + density + ", " + rows + " rows";
                for (int m : new int[] {1, 3}) {
                    NDArray w = Np.array(new int[] {7, m}, random(7, m, 1, m));
                    NDArray g = Np.array(new int[] {rows, m}, random(rows, m, 1, 5 + m));
                    assertClose(Kernels.matmulLocal().apply(0, new NDArray[] {dense, w}).toArray(),
                        Kernels.matmulLocal().apply(0, new NDArray[] {sparse, w}).toArray(), what + ": X W, m " + m);
                    assertClose(Kernels.transposeMatmul().apply(0, new NDArray[] {dense, g}).toArray(),
                        Kernels.transposeMatmul().apply(0, new NDArray[] {sparse, g}).toArray(), what + ": X^T G, m " + m);
                }
            }
        }
    }

    @Test
    void zeroPreservingOpsKeepTheBlockSparseWithTheDenseValues() {
        double[] d = random(6, 5, 0.3, 7);
        d[3] = 4; // a square root of a non-zero
        d[4] = -2.5; // abs and sign of a negative value
        NDArray dense = Np.array(new int[] {6, 5}, d);
        NDArray sparse = new SparseRows(Csr.fromDense(6, 5, d));
        for (UnaryFn f : new UnaryFn[] {UnaryFn.ABS, UnaryFn.SQUARE, UnaryFn.SQRT, UnaryFn.SIGN, UnaryFn.RELU,
            UnaryFn.TANH}) {
            NDArray got = Kernels.unary(f).apply(0, new NDArray[] {sparse});
            assertTrue(got instanceof SparseRows, f + " keeps the rows sparse");
            assertSameValues(Kernels.unary(f).apply(0, new NDArray[] {dense}).toArray(), got.toArray(), f.toString());
        }
        NDArray exp = Kernels.unary(UnaryFn.EXP).apply(0, new NDArray[] {dense});
        assertSameValues(exp.toArray(), Kernels.unary(UnaryFn.EXP).apply(0, new NDArray[] {sparse.toLocal()}).toArray());
        NDArray[] factors = {Np.array(2.5), Np.array(new double[] {1, -2, 3, 0.5, 4}),
            Np.array(new int[] {1, 5}, new double[] {1, -2, 3, 0.5, 4}), Np.array(new int[] {6, 1}, new double[] {1, 2, 3, 4, 5, 6})};
        for (NDArray s : factors) {
            for (BinaryFn f : new BinaryFn[] {BinaryFn.MUL, BinaryFn.DIV}) {
                NDArray got = Kernels.binary(f).apply(0, new NDArray[] {sparse, s});
                assertTrue(got instanceof SparseRows, f + " by " + s + " keeps the rows sparse");
                assertSameValues(Kernels.binary(f).apply(0, new NDArray[] {dense, s}).toArray(), got.toArray(), f + " by " + s);
            }
            NDArray left = Kernels.binary(BinaryFn.MUL, 1, 0).apply(0, new NDArray[] {sparse, s});
            assertSameValues(Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {s, dense}).toArray(), left.toArray());
        }
        // factors that would turn the zeros into NaN, and ops that fill the zeros, give the dense values
        Object[][] filling = {{BinaryFn.MUL, Double.POSITIVE_INFINITY}, {BinaryFn.MUL, Double.NaN}, {BinaryFn.DIV, 0.0},
            {BinaryFn.ADD, 2.5}};
        for (Object[] c : filling) {
            BinaryFn f = (BinaryFn) c[0];
            NDArray s = Np.array((double) c[1]);
            NDArray got = Kernels.binary(f).apply(0, new NDArray[] {sparse, s});
            assertFalse(got instanceof SparseRows, f + " by " + c[1] + " is dense");
            assertSameValues(Kernels.binary(f).apply(0, new NDArray[] {dense, s}).toArray(), got.toArray(), f + " by " + c[1]);
        }
        NDArray cols = Kernels.slice(1, 1, 4).apply(0, new NDArray[] {sparse});
        assertTrue(cols instanceof SparseRows);
        assertSameValues(Kernels.slice(1, 1, 4).apply(0, new NDArray[] {dense}).toArray(), cols.toArray());
    }

    @Test
    void elementwiseProductsOfSparseRowsStaySparseWithTheDenseValues() {
        for (double density : DENSITIES) {
            for (int rows : new int[] {0, 1, 9}) {
                String what = "density " + density + ", " + rows + " rows";
                double[] a = random(rows, 6, density, rows * 13L + (long) (density * 1000));
                double[] b = random(rows, 6, density, rows * 17L + 1 + (long) (density * 1000)); // another pattern
                double[] same = a.clone(); // a's pattern, other values
                double[] full = random(rows, 6, 1, rows + 3L);
                for (int i = 0; i < full.length; i++) {
                    full[i] = full[i] == 0 ? 1.5 : full[i]; // no zero divisors (row 1 of random() is zeros)
                }
                for (int i = 0; i < same.length; i++) {
                    same[i] *= full[i] + 3;
                }
                NDArray sa = new SparseRows(Csr.fromDense(rows, 6, a));
                for (double[] other : new double[][] {b, same}) {
                    NDArray got = Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {sa, new SparseRows(Csr.fromDense(rows, 6, other))});
                    assertTrue(got instanceof SparseRows, what + ": sparse * sparse");
                    assertSameValues(Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {Np.array(new int[] {rows, 6}, a),
                        Np.array(new int[] {rows, 6}, other)}).toArray(), got.toArray(), what, "sparse * sparse");
                }
                NDArray d = Np.array(new int[] {rows, 6}, full);
                NDArray dense = Np.array(new int[] {rows, 6}, a);
                for (BinaryFn f : new BinaryFn[] {BinaryFn.MUL, BinaryFn.DIV}) {
                    NDArray got = Kernels.binary(f).apply(0, new NDArray[] {sa, d});
                    assertTrue(got instanceof SparseRows, what + ": sparse " + f + " dense of its shape");
                    assertSameValues(Kernels.binary(f).apply(0, new NDArray[] {dense, d}).toArray(), got.toArray(), what,
                        f.toString());
                }
                NDArray left = Kernels.binary(BinaryFn.MUL, 1, 0).apply(0, new NDArray[] {sa, d}); // d * x
                assertTrue(left instanceof SparseRows);
                assertSameValues(Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {d, dense}).toArray(), left.toArray());
            }
        }
        // an infinity against a zero makes NaN densely: such products take the dense path
        double[] a = {0, 2, Double.POSITIVE_INFINITY, 0};
        double[] b = {1, 0, 0, 3};
        NDArray got = Kernels.binary(BinaryFn.MUL).apply(0, new NDArray[] {new SparseRows(Csr.fromDense(2, 2, a)),
            new SparseRows(Csr.fromDense(2, 2, b))});
        assertFalse(got instanceof SparseRows);
        assertTrue(Double.isNaN(got.toArray()[2]), "inf * 0 is NaN, as the dense product: " + got);
        NDArray byZero = Kernels.binary(BinaryFn.DIV).apply(0, new NDArray[] {new SparseRows(Csr.fromDense(2, 2, b)),
            Np.array(new int[] {2, 2}, new double[] {1, 1, 0, 1})});
        assertFalse(byZero instanceof SparseRows);
        assertTrue(Double.isNaN(byZero.toArray()[2]), "0 / 0 is NaN, as the dense quotient: " + byZero);
    }

    @Test
    void aRowSliceOfASparseBlockKeepsItsNonZeros() {
        double[] d = random(9, 5, 0.4, 2);
        long[] starts = {0, 4, 9, 9}; // the second block holds rows 4..8, the third none
        NDArray sparse = new SparseRows(Csr.fromDense(5, 5, java.util.Arrays.copyOfRange(d, 20, 45)));
        NDArray got = Kernels.sliceBlocked(0, starts, 2, 7).apply(1, new NDArray[] {sparse});
        assertTrue(got instanceof SparseRows, "rows 4..6 of the second block stay sparse");
        assertArrayEquals(java.util.Arrays.copyOfRange(d, 20, 35), got.toArray());
        NDArray none = Kernels.sliceBlocked(0, starts, 2, 7).apply(2, new NDArray[] {new SparseRows(Csr.empty(0, 5))});
        assertArrayEquals(new long[] {0, 5}, none.shape());
    }

    @Test
    void sumsOverTheNonZerosEqualTheDenseSums() {
        for (double density : DENSITIES) {
            double[] d = random(9, 6, density, 21);
            NDArray dense = Np.array(new int[] {9, 6}, d);
            NDArray sparse = new SparseRows(Csr.fromDense(9, 6, d));
            for (int axis : new int[] {0, 1, io.sparkgrad.np.Backend.ALL}) {
                for (boolean keep : new boolean[] {false, true}) {
                    String what = "density " + density + ", axis " + axis + (keep ? ", keepdims" : "");
                    for (BlockFn f : new BlockFn[] {Kernels.reduce(ReduceFn.SUM, axis, keep), Kernels.sumOfSquares(axis, keep)}) {
                        NDArray want = f.apply(0, new NDArray[] {dense});
                        NDArray got = f.apply(0, new NDArray[] {sparse});
                        assertArrayEquals(want.shape(), got.shape(), what);
                        assertClose(want.toArray(), got.toArray(), what);
                    }
                }
            }
        }
    }

    /**
     * {@code z = X w}, then the partials {@code X^T z}, {@code sum(|X| * 2, 0)}, {@code max(X, 0)},
     * {@code sum(exp(X[:, :2]))} and {@code X[:, :2]^T z}.
     */
    static BlockProgram program(NDArray w, long chunkBytes) {
        BlockProgram.Step[] steps = {
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.MATMUL_LOCAL, Kernels.matmulLocal(), null,
                new Object[] {Block.of(0, 0, w)}, new int[] {1}, 0, null), new int[] {-1}),
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(),
                null, new Object[0], new int[] {5, 1}, 0, ReduceFn.SUM), new int[] {-1, 0}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.unary(UnaryFn.ABS), new int[] {5}, null), new int[] {-1}),
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, Kernels.binary(BinaryFn.MUL), null,
                new Object[] {Block.of(0, 0, Np.array(2.0))}, new int[] {5}, 0, null), new int[] {2}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.reduce(ReduceFn.SUM, 0, false), new int[] {5},
                ReduceFn.SUM), new int[] {3}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.reduce(ReduceFn.MAX, 0, false), new int[] {5},
                ReduceFn.MAX), new int[] {-1}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.slice(1, 0, 2), new int[] {2}, null), new int[] {-1}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.unary(UnaryFn.EXP), new int[] {2}, null), new int[] {6}),
            new BlockProgram.Step(BlockProgramChunkTest.rowwise(Kernels.reduce(ReduceFn.SUM, io.sparkgrad.np.Backend.ALL, false),
                new int[0], ReduceFn.SUM), new int[] {7}),
            // X[:, :2]^T z: the contraction of sparse rows that a step made
            new BlockProgram.Step(new BlockProgram.Kernel(BlockProgram.Kind.TRANSPOSE_MATMUL, Kernels.transposeMatmul(),
                null, new Object[0], new int[] {2, 1}, 0, ReduceFn.SUM), new int[] {6, 0}),
        };
        return new BlockProgram(steps, new int[] {1, 4, 5, 8, 9}, Integer.MAX_VALUE, chunkBytes); // rows set by the bytes
    }

    static double[][] run(Block leaf, long chunkBytes) throws Exception {
        NDArray w = Np.array(new int[] {5, 1}, new double[] {0.5, -1, 2, 0.25, 3});
        Iterator<Block[]> out = program(w, chunkBytes).call(List.<Block[]>of(new Block[] {leaf}).iterator());
        Block[] partials = out.next();
        double[][] v = new double[partials.length][];
        for (int k = 0; k < v.length; k++) {
            v[k] = partials[k].dataRef();
        }
        return v;
    }

    @Test
    void aBlockProgramOverASparseBlockGivesTheDenseBlocksValuesChunkByChunk() throws Exception {
        for (double density : DENSITIES) {
            for (int rows : new int[] {0, 1, 2, 17}) {
                double[] d = random(rows, 5, density, 100 + rows);
                Block dense = Block.of(3, 40, Np.array(new int[] {rows, 5}, d));
                Block sparse = new Block(3, 40, Csr.fromDense(rows, 5, d));
                double[][] want = run(dense, Long.MAX_VALUE / 2);
                for (long bytes : new long[] {1, 8 * 5 * 3, Long.MAX_VALUE / 2}) {
                    String what = "density " + density + ", " + rows + " rows, chunks of " + bytes + " bytes";
                    double[][] got = run(sparse, bytes);
                    for (int k = 0; k < want.length; k++) {
                        assertClose(want[k], got[k], what + ", output " + k);
                    }
                    double[][] again = run(sparse, bytes);
                    for (int k = 0; k < got.length; k++) {
                        assertArrayEquals(got[k], again[k], what + ": a second run repeats bit for bit");
                    }
                }
            }
        }
    }

    @Test
    void aPartitionFnKeepsAZeroPreservingResultSparse() throws Exception {
        double[] d = random(4, 6, 0.2, 3);
        Block sparse = new Block(0, 0, Csr.fromDense(4, 6, d));
        Iterator<Block> out = PartitionFn.ofOne(Kernels.unary(UnaryFn.SQUARE), new Object[0], 0, new long[] {0, 4})
            .call(List.of(sparse).iterator());
        Block b = out.next();
        assertTrue(b.isSparse());
        assertSameValues(LocalArray.wrap(new int[] {4, 6}, d).square().toArray(), b.dataRef());
        Block e = PartitionFn.ofOne(Kernels.unary(UnaryFn.EXP), new Object[0], 0, new long[] {0, 4})
            .call(List.of(sparse).iterator()).next();
        assertFalse(e.isSparse(), "exp fills the zeros: the result is dense");
        assertSameValues(LocalArray.wrap(new int[] {4, 6}, d).exp().toArray(), e.dataRef());
    }

    @Test
    void aSparseBlockSerialisesItsNonZerosOnlyAndReadsBackTheSame() {
        double[] d = random(50, 1000, 0.01, 9);
        Block b = new Block(2, 77, Csr.fromDense(50, 1000, d));
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        new Registrator().registerClasses(kryo);
        Output out = new Output(1 << 10, -1);
        kryo.writeObject(out, b);
        assertTrue(out.position() < 16 * b.csr().nnz() + 100,
            out.position() + " bytes for " + b.csr().nnz() + " non-zeros (the dense form is " + 8 * d.length + ")");
        Block back = kryo.readObject(new Input(out.toBytes()), Block.class);
        assertTrue(back.isSparse());
        assertEquals(2, back.index());
        assertEquals(77, back.rowStart());
        assertArrayEquals(d, back.dataRef());
        Block dense = Block.of(1, 5, Np.array(new int[] {2, 2}, new double[] {1, 2, 3, 4}));
        out = new Output(1 << 10, -1);
        kryo.writeObject(out, dense);
        Block denseBack = kryo.readObject(new Input(out.toBytes()), Block.class);
        assertFalse(denseBack.isSparse());
        assertArrayEquals(dense.dataRef(), denseBack.dataRef());
    }

    @Test
    void reblockingMovesSparseRowsAsSparseRows() throws Exception {
        double[] d = random(10, 4, 0.3, 11);
        Csr all = Csr.fromDense(10, 4, d);
        List<Block> source = List.of(new Block(0, 0, all.rows(0, 3)), new Block(1, 3, all.rows(3, 10)));
        long[] target = {0, 5, 5, 10};
        List<Tuple2<Integer, Block>> pieces = new ArrayList<>();
        Reblock.split(target).call(source.iterator()).forEachRemaining(pieces::add);
        for (int t = 0; t < 3; t++) {
            List<Tuple2<Integer, Block>> mine = new ArrayList<>();
            for (Tuple2<Integer, Block> p : pieces) {
                if (p._1() == t) {
                    mine.add(p);
                }
            }
            Block joined = Reblock.join(target, new int[] {4}, 0).call(t, mine.iterator()).next();
            int r0 = (int) target[t];
            int r1 = (int) target[t + 1];
            assertEquals(r1 - r0, joined.rows());
            assertEquals(r1 > r0, joined.isSparse(), "block " + t);
            assertArrayEquals(java.util.Arrays.copyOfRange(d, r0 * 4, r1 * 4), joined.dataRef(), "block " + t);
        }
    }
}
