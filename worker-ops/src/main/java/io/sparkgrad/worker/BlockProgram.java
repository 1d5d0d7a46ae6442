package io.sparkgrad.worker;

import io.sparkgrad.np.Buffers;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.Shape;
import org.apache.spark.api.java.function.FlatMapFunction;

import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;

/**
 * The per-block program of an aggregation job: the row-local ops between a partition's input
 * blocks (the <em>leaves</em>: cached data, or blocks Spark computes) and the partials of the
 * job's reductions, run over the block a chunk of rows at a time. Each chunk's intermediates
 * (the scores {@code X w}, the loss per row, the gradient per row) stay in the core's cache between
 * the forward and the backward ops that read them, so the block is read from memory once, and no
 * intermediate the size of a block is ever made. The partials of the chunks are combined in row
 * order. Every program cuts a block into the same chunks (a number of rows, fewer only where an
 * array of the chunk would exceed a cap), so a reduction's bits do not depend on what else its
 * job computes: alone or fused with others, it sums the same chunks.
 *
 * <p>Steps run in order; an argument {@code >= 0} is the value of that step for the chunk, and
 * {@code < 0} is leaf {@code -1 - arg}. Contractions with a leaf run on the leaf's storage
 * ({@link LocalBackend#matmulRows}); other steps see a chunk of the leaf copied into a buffer that
 * the task reuses from chunk to chunk.
 */
public final class BlockProgram implements FlatMapFunction<Iterator<Block[]>, Block[]> {
    private static final long serialVersionUID = 1L;
    private static final LocalBackend L = LocalBackend.INSTANCE;

    /** How a step computes its chunk. */
    public enum Kind {
        /** Its kernel applied to the chunks of its distributed operands and its local operands. */
        ROWWISE,
        /** {@code X W}: the chunk of a distributed X times a local W. */
        MATMUL_LOCAL,
        /** The partial {@code X^T G} of the chunk's rows. */
        TRANSPOSE_MATMUL,
        /** Values that depend on the number of rows only (a fill, a broadcast local array). */
        SOURCE
    }

    /**
     * What an op computes for a chunk, apart from where its distributed operands come from.
     *
     * @param fn the kernel (null for a source)
     * @param gen the generator of a source (null otherwise)
     * @param shipped the local operands, each a {@link Block} or a {@code Broadcast<Block>}
     * @param rowShape the shape of one row of the result, that is its shape without the blocked
     *                 axis (of a source: of its values), or the shape of the partial of a
     *                 reduction over the blocks
     * @param axis the result's blocked axis (0: rows)
     * @param combine how the chunks' results combine, for a partial of a reduction over the
     *                blocks; null for an op whose result is blocked like its operands
     */
    public record Kernel(Kind kind, BlockFn fn, Generators.BlockGen gen, Object[] shipped, int[] rowShape, int axis,
                         ReduceFn combine) implements Serializable {}

    /**
     * One op of the program: its kernel, and its distributed operands, each an earlier step
     * ({@code >= 0}) or a leaf ({@code < 0}, leaf {@code -1 - arg}).
     */
    public record Step(Kernel kernel, int[] args) implements Serializable {}

    private final Step[] steps;
    private final int[] outputs;
    private final int chunkRows;
    private final long maxChunkBytes;

    /**
     * @param steps the ops, each after the steps it reads
     * @param outputs the steps whose combined partials the program returns, in order
     * @param chunkRows the rows per chunk
     * @param maxChunkBytes the most bytes of the widest array in a chunk (leaf or step): fewer rows
     *     per chunk where {@code chunkRows} of it would hold more
     */
    public BlockProgram(Step[] steps, int[] outputs, int chunkRows, long maxChunkBytes) {
        if (chunkRows < 1 || maxChunkBytes < 1) {
            throw new IllegalArgumentException("internal: chunks of " + chunkRows + " rows, at most " + maxChunkBytes
                + " bytes");
        }
        this.steps = steps;
        this.outputs = outputs;
        this.chunkRows = chunkRows;
        this.maxChunkBytes = maxChunkBytes;
    }

    @Override
    public Iterator<Block[]> call(Iterator<Block[]> partition) {
        FaultInjector.check();
        if (!partition.hasNext()) {
            return Collections.emptyIterator();
        }
        return Collections.singletonList(run(partition.next())).iterator();
    }

    /** Runs the program over one partition's leaf blocks (all with the same rows). */
    private Block[] run(Block[] leaves) {
        Block first = leaves[0];
        int rows = first.rows();
        for (Block b : leaves) {
            if (b.index() != first.index() || b.rows() != rows) {
                throw new IllegalStateException("zip: " + first + " paired with " + b + "; the operands' layouts differ");
            }
        }
        long width = chunkWidth(leaves);
        // The same rows per chunk whatever else the program computes (below the cap), so that a
        // reduction's partials, combined chunk by chunk, have the same bits alone in its job or fused
        // with others
        int chunk = (int) Math.max(1, Math.min(Math.min(Math.max(rows, 1), chunkRows), maxChunkBytes / (8 * width)));

        Chunks chunks = new Chunks(leaves, chunk);
        double[][] partials = new double[steps.length][];
        NDArray[] values = new NDArray[steps.length];
        int[][] partialShapes = new int[steps.length][];
        // the kernels' outputs for one chunk are recycled for the next: every value of a chunk is
        // used within it, and its partials are copied out before the recycle
        try (Buffers.Scope scope = Buffers.open()) {
            run(rows, chunk, first.index(), chunks, values, partials, partialShapes, scope);
        }
        Block[] out = new Block[outputs.length];
        for (int k = 0; k < outputs.length; k++) {
            int s = outputs[k];
            out[k] = new Block(first.index(), first.rowStart(), partialShapes[s], partials[s]);
        }
        return out;
    }

    /**
     * The values a chunk holds per row in its widest array: a dense leaf's width, a step's row; a
     * sparse leaf (and the sparse rows a {@link SparseFn} makes of it) counts its non-zeros per
     * row, unless a kernel without a sparse path reads it, which then reads its dense form.
     */
    private long chunkWidth(Block[] leaves) {
        int rows = leaves[0].rows();
        long width = 1;
        boolean[] sparse = new boolean[steps.length];
        for (Block b : leaves) {
            width = Math.max(width, b.isSparse() ? (rows == 0 ? 1 : 2L * b.csr().nnz() / rows + 1) : b.width());
        }
        for (int s = 0; s < steps.length; s++) {
            Kernel k = steps[s].kernel();
            long denseRead = 0; // the widest sparse operand this step reads in dense form
            boolean sparseIn = false;
            for (int ref : steps[s].args()) {
                boolean isSparse = ref < 0 ? leaves[-1 - ref].isSparse() : sparse[ref];
                if (isSparse) {
                    sparseIn = true;
                    long w = ref < 0 ? leaves[-1 - ref].width() : Shape.size(steps[ref].kernel().rowShape());
                    boolean onStorage = ref == steps[s].args()[0] && ref < 0
                        && (k.kind() == Kind.MATMUL_LOCAL || k.kind() == Kind.TRANSPOSE_MATMUL);
                    if (!(k.fn() instanceof SparseFn) && !onStorage) {
                        denseRead = Math.max(denseRead, w);
                    }
                }
            }
            width = Math.max(width, denseRead);
            sparse[s] = sparseIn && k.fn() instanceof SparseFn && ((SparseFn) k.fn()).keepsSparse();
            if (k.combine() == null && !sparse[s]) { // a partial's shape is not a row's
                width = Math.max(width, Shape.size(k.rowShape()));
            }
        }
        return width;
    }

    /**
     * The sparse {@code X} of a step that adds {@code X^T G} straight into its partial, row after
     * row, rather than making each chunk's partial (the size of the result) and adding that: for a
     * wide X the chunks' partials would cost far more than the non-zeros. A sparse leaf gives its
     * whole block (the chunk's rows are picked by {@link Chunks#r0}), the sparse rows a step made
     * give the chunk's; null for any other step.
     */
    private static Csr sparseContraction(Step step, NDArray[] values, Chunks chunks) {
        Kernel k = step.kernel();
        if (k.kind() != Kind.TRANSPOSE_MATMUL || k.combine() != ReduceFn.SUM) {
            return null;
        }
        int x = step.args()[0];
        if (x < 0) {
            return chunks.leaves[-1 - x].csr();
        }
        return values[x] instanceof SparseRows ? ((SparseRows) values[x]).csr() : null;
    }

    private void run(int rows, int chunk, int block, Chunks chunks, NDArray[] values, double[][] partials,
                     int[][] partialShapes, Buffers.Scope scope) {
        // a block of no rows still runs once, so that its partials (the identities) exist
        for (int r0 = 0; r0 < rows || r0 == 0; r0 += chunk) {
            int r1 = Math.min(rows, r0 + chunk);
            chunks.at(r0, r1);
            boolean timed = StepTimes.on;
            for (int s = 0; s < steps.length; s++) {
                long t0 = timed ? System.nanoTime() : 0;
                Csr x = sparseContraction(steps[s], values, chunks);
                if (x != null) {
                    boolean leaf = steps[s].args()[0] < 0;
                    NDArray g = SparseRows.dense(arg(steps[s].args()[1], values, chunks));
                    if (partials[s] == null) {
                        int[] shape = {x.cols(), (int) g.dim(1)};
                        partials[s] = new double[Shape.size(shape)];
                        partialShapes[s] = shape;
                    }
                    Sparse.addTransposeTimesRows(x, leaf ? chunks.r0 : 0, leaf ? chunks.r1 : x.rows(), g, partials[s]);
                    if (timed) {
                        StepTimes.add("step " + s + ": sparse X^T G into the partial", System.nanoTime() - t0);
                    }
                    continue; // its value is the partial: no later step reads it
                }
                NDArray v = compute(steps[s], block, values, chunks);
                if (timed) {
                    StepTimes.add(label(s, values, chunks, v), System.nanoTime() - t0 - chunks.takeCopyNanos());
                }
                values[s] = v;
                ReduceFn combine = steps[s].kernel().combine();
                if (combine != null) {
                    long t1 = timed ? System.nanoTime() : 0;
                    if (partials[s] == null) {
                        partials[s] = v.toArray(); // a copy: v's array is recycled
                        partialShapes[s] = ((LocalArray) v.toLocal()).intShape();
                    } else {
                        Partials.combine(combine, partials[s], ((LocalArray) v.toLocal()).data());
                    }
                    if (timed) {
                        StepTimes.add("   partials: combining the chunks' partials", System.nanoTime() - t1);
                    }
                }
            }
            java.util.Arrays.fill(values, null);
            scope.recycle();
            if (rows == 0) {
                break;
            }
        }
    }

    // the labels of the steps for the profile (StepTimes), made at the first chunk a task times
    private transient String[] labels;

    private String label(int s, NDArray[] values, Chunks chunks, NDArray out) {
        if (labels == null) {
            labels = new String[steps.length];
        }
        if (labels[s] == null) {
            int[] refs = steps[s].args();
            String[] shapes = new String[refs.length];
            for (int i = 0; i < refs.length; i++) {
                NDArray a = refs[i] >= 0 ? values[refs[i]] : chunks.current[-1 - refs[i]];
                shapes[i] = a == null ? "(storage)" : Shape.str(a.shape());
            }
            labels[s] = StepTimes.label(s, steps[s].kernel(), refs, shapes, Shape.str(out.shape()));
        }
        return labels[s];
    }

    private NDArray compute(Step step, int block, NDArray[] values, Chunks chunks) {
        Kernel k = step.kernel();
        int[] refs = step.args();
        switch (k.kind()) {
            case SOURCE:
                return k.gen().make(block, Kernels.withExtent(k.axis(), chunks.rows(), k.rowShape()), k.shipped());
            case MATMUL_LOCAL:
                if (refs[0] < 0 && chunks.leaves[-1 - refs[0]].isSparse()) {
                    return Sparse.timesRows(chunks.leaves[-1 - refs[0]].csr(), chunks.r0, chunks.r1, local(k, 0));
                }
                // on the storage of a float64 leaf; a float32 leaf's chunk is widened (below) first
                if (refs[0] < 0 && chunks.leaves[-1 - refs[0]].axis() == 0 && !chunks.leaves[-1 - refs[0]].isFloat()) {
                    return L.matmulRows(chunks.leaf(-1 - refs[0]), chunks.r0, chunks.r1, local(k, 0));
                }
                break;
            case TRANSPOSE_MATMUL:
                if (refs[0] < 0 && chunks.leaves[-1 - refs[0]].isSparse()) {
                    break; // the kernel, on the chunk's sparse rows
                }
                if (refs[0] < 0 && chunks.leaves[-1 - refs[0]].axis() == 0 && !chunks.leaves[-1 - refs[0]].isFloat()) {
                    return L.matmulTransposedLeftRows(chunks.leaf(-1 - refs[0]), chunks.r0, chunks.r1,
                        arg(refs[1], values, chunks));
                }
                break;
            default:
                break;
        }
        NDArray[] args = new NDArray[refs.length + k.shipped().length];
        boolean sparseAware = k.fn() instanceof SparseFn;
        for (int i = 0; i < refs.length; i++) {
            NDArray a = arg(refs[i], values, chunks);
            args[i] = sparseAware ? a : SparseRows.dense(a); // the densify rule
        }
        for (int i = 0; i < k.shipped().length; i++) {
            args[refs.length + i] = local(k, i);
        }
        return k.fn().apply(block, args);
    }

    private static NDArray arg(int ref, NDArray[] values, Chunks chunks) {
        return ref >= 0 ? values[ref] : chunks.chunkOf(-1 - ref);
    }

    private static NDArray local(Kernel k, int i) {
        return PartitionFn.unship(k.shipped()[i]).array();
    }

    /**
     * The current chunk {@code [r0, r1)} of each leaf along its blocked axis (rows, mostly): the
     * leaf itself when the chunk is the whole block, otherwise a copy, of rows into a buffer
     * reused by every full chunk of the task.
     */
    private static final class Chunks {
        final Block[] leaves;
        final int chunk;
        final double[][] buffers;
        final NDArray[] current;
        int r0;
        int r1;
        long copyNanos; // time spent copying since takeCopyNanos last ran, for the profile

        Chunks(Block[] leaves, int chunk) {
            this.leaves = leaves;
            this.chunk = chunk;
            this.buffers = new double[leaves.length][];
            this.current = new NDArray[leaves.length];
        }

        void at(int from, int to) {
            r0 = from;
            r1 = to;
            java.util.Arrays.fill(current, null);
        }

        int rows() {
            return r1 - r0;
        }

        long takeCopyNanos() {
            long t = copyNanos;
            copyNanos = 0;
            return t;
        }

        LocalArray leaf(int k) {
            return leaves[k].array();
        }

        NDArray chunkOf(int k) {
            NDArray c = current[k];
            if (c != null) {
                return c;
            }
            Block b = leaves[k];
            if (b.isSparse()) {
                c = new SparseRows(b.csr().rows(r0, r1)); // the chunk's non-zeros
            } else if (r0 == 0 && r1 == b.rows() && !b.isFloat()) {
                c = b.array();
            } else if (b.axis() != 0) {
                c = r0 == 0 && r1 == b.rows() ? b.array() : L.slice(b.array(), b.axis(), r0, r1); // a strided cut: a copy
            } else {
                int[] shape = b.shapeRef().clone();
                int width = b.width();
                shape[0] = r1 - r0;
                double[] d;
                if (r1 - r0 == chunk) {
                    if (buffers[k] == null) {
                        buffers[k] = new double[chunk * width];
                    }
                    d = buffers[k];
                } else {
                    d = new double[(r1 - r0) * width]; // the last, shorter chunk
                }
                long t0 = StepTimes.on ? System.nanoTime() : 0;
                b.widenRows(r0, r1, d, 0); // a float32 block's rows widened to doubles, a float64 one's copied
                if (StepTimes.on) {
                    long t = System.nanoTime() - t0;
                    copyNanos += t;
                    StepTimes.add("   copies: a chunk of leaf " + k + " into its buffer " + Shape.str(shape), t);
                }
                c = LocalArray.wrap(shape, d, b.dtype());
            }
            current[k] = c;
            return c;
        }
    }
}
