package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.Backend;
import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Prim;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.Shape;
import io.sparkgrad.np.UnaryFn;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockFn;
import io.sparkgrad.worker.BlockProgram;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.Kernels;
import io.sparkgrad.worker.PartitionFn;
import io.sparkgrad.worker.Reblock;
import io.sparkgrad.worker.Zips;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The kernels of distributed arrays, as Spark work. Every op is planned on the driver from the
 * operands' layouts and shapes and runs on the executors as the local kernel applied block by
 * block ({@link Kernels}):
 * <ul>
 *   <li>distributed operands with the same rows are zipped partition by partition (no shuffle);</li>
 *   <li>local operands broadcast along the rows travel with the task when small and as a Spark
 *       broadcast otherwise ({@link Dist#broadcastThreshold()});</li>
 *   <li>results that keep the rows stay distributed and lazy; results over the rows (a reduction
 *       over all elements or axis 0, a contraction {@code X.T().matmul(G)}) are pending local
 *       arrays, computed with the thread's other such results in one job ({@link Aggregations})
 *       whose per-block partials are combined in block order, so the result does not depend on
 *       the order in which tasks finish.</li>
 * </ul>
 */
final class DistBackend implements Backend {
    static final DistBackend INSTANCE = new DistBackend();

    private static final LocalBackend LOCAL = LocalBackend.INSTANCE;

    private DistBackend() {}

    @Override
    public int priority() {
        return 10;
    }

    /** Plans {@code p} over operands of which at least one is distributed; the result has {@code shape}. */
    @Override
    public NDArray apply(Prim p, NDArray[] in, int[] shape) {
        if (p instanceof Prim.Unary u) {
            return unary(u.f(), in[0], shape);
        } else if (p instanceof Prim.Binary b) {
            return binary(b.f(), in[0], in[1], shape);
        } else if (p instanceof Prim.Clip c) {
            return blockwise(new Operands("clip", in[0]), shape, Kernels.clip(c.lo(), c.hi()));
        } else if (p instanceof Prim.Where) {
            return where(in[0], in[1], in[2], shape);
        } else if (p instanceof Prim.Reduce r) {
            return reduce(r.f(), in[0], r.axis(), r.keepdims(), shape);
        } else if (p instanceof Prim.Norm n) {
            return norm(in[0], n.axis(), n.keepdims(), shape);
        } else if (p instanceof Prim.BroadcastTo) {
            return broadcastTo(in[0], shape);
        } else if (p instanceof Prim.BroadcastLike) {
            return broadcastLike(in[0], in[1]);
        } else if (p instanceof Prim.Reshape) {
            return reshape(in[0], shape);
        } else if (p instanceof Prim.Transpose t) {
            return transpose(in[0], t.perm(), shape);
        } else if (p instanceof Prim.Matmul) {
            return matmul(in[0], in[1], shape);
        } else if (p instanceof Prim.Slice sl) {
            return slice(in[0], sl.axis(), sl.start(), sl.stop(), shape);
        } else if (p instanceof Prim.Pad pd) {
            return pad(in[0], pd.axis(), pd.before(), pd.after(), shape);
        } else if (p instanceof Prim.Concat c) {
            return concat(in, c.axis(), shape);
        } else if (p instanceof Prim.Fill f) {
            return fullLike(in[0], f.value());
        } else if (p instanceof Prim.RandomUniform r) {
            return randomUniformLike(in[0], r.seed());
        }
        throw new IllegalStateException("internal: no distributed plan for " + p);
    }

    // ------------------------------------------------------------------ planning helpers

    /**
     * The distributed and local operands of one op. Distributed operands split into other row
     * blocks than the widest one's are moved into its blocks (a shuffle by row range, which the
     * job that runs it names), so that the kernel sees the same rows of every operand.
     */
    private static final class Operands {
        final List<DistArray> dist = new ArrayList<>();
        // the distributed operands as the op received them (before any re-blocking): the recorded inputs
        final List<DistArray> given = new ArrayList<>();
        final List<NDArray> local = new ArrayList<>();
        final int[] position; // argument position of each operand in the kernel's argument list
        Layout layout;

        Operands(String op, NDArray... operands) {
            position = new int[operands.length];
            DistArray widest = null;
            for (NDArray a : operands) {
                if (a instanceof DistArray) {
                    DistArray d = untransposed(op, a);
                    checkContext(op, d);
                    if (widest != null && d.layout().rows() != widest.layout().rows()) {
                        throw new IllegalArgumentException(op + ": the distributed operands have " + widest.layout().rows()
                            + " and " + d.layout().rows() + " rows (shapes " + Shape.str(widest.shape()) + " and "
                            + Shape.str(d.shape()) + "); a distributed array broadcasts along its rows only against "
                            + "local operands");
                    }
                    if (widest == null || Shape.size(d.layout().rowShape()) > Shape.size(widest.layout().rowShape())) {
                        widest = d;
                    }
                    dist.add(d);
                    given.add(d);
                }
            }
            if (widest != null) {
                layout = widest.layout();
                for (int k = 0; k < dist.size(); k++) {
                    dist.set(k, reblock(dist.get(k), layout));
                }
            }
            int nd = 0;
            int nl = 0;
            for (int k = 0; k < operands.length; k++) {
                if (operands[k] instanceof DistArray) {
                    position[k] = nd++;
                } else {
                    local.add(operands[k]);
                    position[k] = -1 - nl++;
                }
            }
            for (int k = 0; k < operands.length; k++) {
                if (position[k] < 0) {
                    position[k] = dist.size() + (-1 - position[k]);
                }
            }
        }
    }

    private static boolean isTransposedView(NDArray a) {
        return a instanceof DistArray && ((DistArray) a).isTransposedView();
    }

    /** Refuses an array whose blocks belong to a SparkContext that is stopped or no longer sparkgrad's. */
    static void checkContext(String op, DistArray d) {
        org.apache.spark.SparkContext sc = d.node().sc;
        if (sc.isStopped() || sc != Dist.session().sparkContext()) {
            throw new IllegalStateException(op + ": this distributed array (shape " + Shape.str(d.shape()) + ") belongs to "
                + (sc.isStopped() ? "a SparkContext that was stopped" : "another SparkContext than sparkgrad's session")
                + "; its blocks are gone: create it again on the current session");
        }
    }

    static DistArray untransposed(String op, NDArray a) {
        DistArray d = (DistArray) a;
        if (d.isTransposedView()) {
            throw new IllegalArgumentException(op + ": the transposed view of a distributed array (shape "
                + Shape.str(d.shape()) + ") can only be contracted over its rows, as in X.T().matmul(G); "
                + "transpose it back or call toLocal() first");
        }
        return d;
    }

    /**
     * Checks that an elementwise result of shape {@code out} keeps the rows of the distributed
     * operands: each one has the result's rank, and a local operand of that rank has one row (it
     * broadcasts along rows).
     */
    private static void checkRows(String op, Operands ops, int[] out, NDArray... operands) {
        for (NDArray a : operands) {
            int[] s = a.shape();
            boolean ok = a instanceof DistArray ? s.length == out.length : s.length < out.length || s[0] == 1;
            if (!ok) {
                throw new IllegalArgumentException(op + ": " + describe(a) + " of shape " + Shape.str(s)
                    + " does not line up with the rows of the distributed result of shape " + Shape.str(out)
                    + (a instanceof DistArray ? "" : "; a local operand must broadcast along the rows "
                    + "(leading dimension 1 or fewer dimensions), or be distributed with Dist.fromLocal"));
            }
        }
        if (out[0] != ops.layout.rows()) {
            throw new IllegalStateException("internal: " + op + " result rows " + out[0] + " vs " + ops.layout);
        }
    }

    private static String describe(NDArray a) {
        return a instanceof DistArray ? "the distributed operand" : "the local operand";
    }

    /**
     * The value of a local operand that the op's kernel will ship to the executors: a snapshot
     * ({@link LocalArray#snapshot}), so that the tasks, and the lineage Spark recomputes lost
     * blocks from, see the values of this moment whatever is assigned later. Whether it travels
     * inside the tasks or as a broadcast is decided when Spark work is made ({@link Broadcasts}).
     */
    private static Block ship(NDArray local) {
        return Block.of(-1, 0, ((LocalArray) local.toLocal()).snapshot());
    }

    /** Runs {@code fn} block by block; the result has {@code layout}'s rows and {@code rowShape}. */
    private static DistArray blockwise(Operands ops, int[] outShape, BlockFn fn) {
        return blockwise(ops, outShape, fn, BlockProgram.Kind.ROWWISE);
    }

    /**
     * Runs the row-local {@code fn} block by block, as a step of {@code kind} when a block
     * program computes it ({@link Programs}).
     */
    private static DistArray blockwise(Operands ops, int[] outShape, BlockFn fn, BlockProgram.Kind kind) {
        Object[] shipped = ops.local.stream().map(DistBackend::ship).toArray();
        int[] rowShape = Arrays.copyOfRange(outShape, 1, outShape.length);
        DistNode node = node(ops, ops.layout.withRowShape(rowShape), new BlockProgram.Kernel(kind, fn, null, shipped,
            rowShape, null), true);
        return new DistArray(node);
    }

    /** The node that {@code kernel} makes from the blocks of the distributed operands. */
    private static DistNode node(Operands ops, Layout layout, BlockProgram.Kernel kernel, boolean chunkable) {
        List<DistNode> inputs = new ArrayList<>(ops.dist.size());
        ops.dist.forEach(d -> inputs.add(d.node()));
        return DistNode.of(layout, kernel, inputs, chunkable);
    }

    /**
     * Plans {@code partial} on every block, the partials combined with {@code combine} into an
     * array of {@code shape}: pending until a value is needed, then run with the thread's other
     * planned aggregations in one job ({@link Aggregations}).
     */
    private static NDArray aggregate(String op, Operands ops, BlockFn partial, ReduceFn combine, int[] shape) {
        return aggregate(op, ops, partial, combine, shape, BlockProgram.Kind.ROWWISE);
    }

    private static NDArray aggregate(String op, Operands ops, BlockFn partial, ReduceFn combine, int[] shape,
                                     BlockProgram.Kind kind) {
        if (Autograd.isRecording()) {
            // whenever the job runs, it computes these blocks: keep them for a backward pass after it
            ops.given.forEach(DistArray::persistForBackward);
        }
        Object[] shipped = ops.local.stream().map(DistBackend::ship).toArray();
        DistNode partials = node(ops, ops.layout, new BlockProgram.Kernel(kind, partial, null, shipped, shape, combine),
            true);
        return Aggregations.plan(op, partials, shape);
    }

    /** Makes blocks from a layout alone, on the executors. */
    static DistArray generate(Layout layout, Generators.BlockGen gen) {
        return generate(layout, gen, new Object[0], false);
    }

    /**
     * Makes blocks from a layout alone; {@code rowsOnly} says that {@code gen}'s values depend on
     * the number of rows only (not on the block or its position), so a block program can make them
     * chunk by chunk.
     */
    private static DistArray generate(Layout layout, Generators.BlockGen gen, Object[] shipped, boolean rowsOnly) {
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.SOURCE, null, gen, shipped,
            layout.rowShape(), null);
        return new DistArray(DistNode.source(Dist.session().sparkContext(), layout, k, rowsOnly));
    }

    /**
     * Returns {@code d} with its rows moved into the blocks of {@code target} (the same number of
     * rows): {@code d} itself when they are split the same way, otherwise a shuffle by row range
     * that keeps every row's values and order.
     */
    static DistArray reblock(DistArray d, Layout target) {
        if (d.layout().sameRows(target)) {
            return d;
        }
        int[] rowShape = d.layout().rowShape();
        int n = target.numBlocks();
        long[] starts = new long[n + 1];
        int[] ints = target.rowStarts();
        for (int i = 0; i <= n; i++) {
            starts[i] = ints[i];
        }
        String what = "re-block (" + d.numBlocks() + " -> " + n + " blocks)";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(JavaRDD<Block> in) {
                return in.mapPartitionsToPair(Reblock.split(starts), false).partitionBy(new IndexPartitioner(n))
                    .mapPartitionsWithIndex(Reblock.join(starts, rowShape), true);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(target.withRowShape(rowShape), m, d.node()));
    }

    /** {@code fn} over each block of {@code d}, making blocks of {@code layout}: rows move, so never inside a program. */
    private static DistArray reblocked(DistArray d, Layout layout, BlockFn fn) {
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, fn, null, new Object[0],
            layout.rowShape(), null);
        return new DistArray(DistNode.of(layout, k, List.of(d.node()), false));
    }

    // ------------------------------------------------------------------ elementwise

    private NDArray unary(UnaryFn f, NDArray a, int[] shape) {
        Operands ops = new Operands(f.name().toLowerCase(), a);
        return blockwise(ops, shape, Kernels.unary(f));
    }

    private NDArray binary(BinaryFn f, NDArray a, NDArray b, int[] shape) {
        if (f == BinaryFn.ADD && isTransposedView(a) && isTransposedView(b) && Arrays.equals(a.shape(), b.shape())) {
            // The gradients of one X.T() used in two contractions meet here (backward sums them):
            // the sum of two views is the view of the sum of their bases.
            DistArray x = ((DistArray) a).transposedView();
            DistArray sum = (DistArray) binary(f, x, ((DistArray) b).transposedView(), x.shape());
            return sum.toTransposedView();
        }
        String op = f.name().toLowerCase();
        Operands ops = new Operands(op, a, b);
        checkRows(op, ops, shape, a, b);
        return blockwise(ops, shape, Kernels.binary(f, ops.position[0], ops.position[1]));
    }

    private NDArray where(NDArray cond, NDArray a, NDArray b, int[] shape) {
        Operands ops = new Operands("where", cond, a, b);
        checkRows("where", ops, shape, cond, a, b);
        return blockwise(ops, shape, Kernels.where(ops.position[0], ops.position[1], ops.position[2]));
    }

    private NDArray fullLike(NDArray like, double value) {
        DistArray d = (DistArray) like;
        DistArray base = generate(d.layout(), Generators.fill(value), new Object[0], true);
        return d.isTransposedView() ? base.transposedView() : base;
    }

    private NDArray randomUniformLike(NDArray like, long seed) {
        DistArray d = untransposed("randomUniformLike", like);
        return generate(d.layout(), Generators.uniform(0, 1, seed));
    }

    // ------------------------------------------------------------------ reductions

    private NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims, int[] shape) {
        String op = f.name().toLowerCase();
        Operands ops = new Operands(op, a);
        if (axis == Backend.ALL || axis == 0) {
            return aggregate(op, ops, Kernels.reduce(f, axis, keepdims), f, shape);
        }
        return blockwise(ops, shape, Kernels.reduce(f, axis, keepdims));
    }

    private NDArray norm(NDArray a, int axis, boolean keepdims, int[] shape) {
        Operands ops = new Operands("norm", a);
        if (axis == Backend.ALL || axis == 0) {
            NDArray ss = aggregate("norm", ops, Kernels.sumOfSquares(axis, keepdims), ReduceFn.SUM, shape);
            return Prim.apply(new Prim.Unary(UnaryFn.SQRT), ss);
        }
        return blockwise(ops, shape, Kernels.norm(axis, keepdims));
    }

    // ------------------------------------------------------------------ shape

    private NDArray broadcastTo(NDArray a, int[] shape) {
        DistArray d = untransposed("broadcastTo", a);
        if (shape.length != d.ndim() || shape[0] != d.layout().rows()) {
            throw new IllegalArgumentException("broadcastTo: a distributed array of shape " + Shape.str(d.shape())
                + " keeps its rows; it cannot become " + Shape.str(shape));
        }
        return blockwise(new Operands("broadcastTo", d), shape, Kernels.broadcastRows(Arrays.copyOfRange(shape, 1, shape.length)));
    }

    private NDArray broadcastLike(NDArray a, NDArray like) {
        if (!(like instanceof DistArray)) {
            throw new IllegalArgumentException("broadcastLike: a distributed array of shape " + Shape.str(a.shape())
                + " cannot be broadcast into a local one of shape " + Shape.str(like.shape()) + "; call toLocal() first");
        }
        DistArray target = untransposed("broadcastLike", like);
        int[] shape = target.shape();
        if (a instanceof DistArray) {
            return broadcastTo(a, shape);
        }
        int[] s = a.shape();
        if (s.length == shape.length && s[0] != 1) {
            // a local array holding every row: split it into the target's blocks
            return Dist.fromLocal(a.broadcastTo(shape), target.layout());
        }
        return generate(target.layout().withRowShape(Arrays.copyOfRange(shape, 1, shape.length)),
            Generators.broadcast(), new Object[] {ship(a)}, true);
    }

    private NDArray reshape(NDArray a, int[] shape) {
        DistArray d = untransposed("reshape", a);
        if (shape.length == 0 || shape[0] != d.layout().rows()) {
            throw new IllegalArgumentException("reshape: a distributed array keeps its rows; shape " + Shape.str(d.shape())
                + " cannot become " + Shape.str(shape) + " (reshape within rows only: (" + d.layout().rows() + ", ...))");
        }
        return blockwise(new Operands("reshape", d), shape, Kernels.reshapeRows(Arrays.copyOfRange(shape, 1, shape.length)));
    }

    private NDArray transpose(NDArray a, int[] perm, int[] out) {
        DistArray d = (DistArray) a;
        boolean swap = perm.length == 2 && perm[0] == 1;
        if (swap) {
            return d.transposedView();
        }
        d = untransposed("transpose", a);
        if (perm[0] != 0) {
            throw new IllegalArgumentException("transpose: axes " + Arrays.toString(perm) + " would move the rows of a "
                + "distributed array of shape " + Shape.str(d.shape()) + "; only 2-D X.T() (for X.T().matmul(G)) and "
                + "permutations that keep axis 0 first are supported");
        }
        return blockwise(new Operands("transpose", d), out, Kernels.transpose(perm));
    }

    private NDArray matmul(NDArray a, NDArray b, int[] shape) {
        int[] sa = a.shape();
        int[] sb = b.shape();
        if (a instanceof DistArray && ((DistArray) a).isTransposedView()) {
            if (!(b instanceof DistArray) || ((DistArray) b).isTransposedView()) {
                throw new IllegalArgumentException("matmul: X.T() of a distributed X (shape " + Shape.str(sa)
                    + ") contracts over the rows of X, so the right operand must be distributed with the same rows; got "
                    + describe(b) + " of shape " + Shape.str(sb));
            }
            if (Autograd.isRecording()) {
                // cache through the view itself: it is the recorded input whose graph release uncaches
                ((DistArray) a).persistForBackward();
            }
            DistArray x = ((DistArray) a).transposedView();
            Operands ops = new Operands("matmul", x, b);
            return aggregate("matmul", ops, Kernels.transposeMatmul(), ReduceFn.SUM, shape,
                BlockProgram.Kind.TRANSPOSE_MATMUL);
        }
        if (a instanceof DistArray && !(b instanceof DistArray)) {
            Operands ops = new Operands("matmul", a, b);
            return blockwise(ops, shape, Kernels.matmulLocal(), BlockProgram.Kind.MATMUL_LOCAL);
        }
        if (!(a instanceof DistArray) && isTransposedView(b)) {
            // L G^T = (G L^T)^T: each block of G times the local L^T, seen through the transposed
            // view. This is the gradient of X in X.T().matmul(G): g.matmul(G.T()).
            DistArray g = ((DistArray) b).transposedView();
            NDArray lt = LOCAL.transpose(a.toLocal(), new int[] {1, 0});
            Operands ops = new Operands("matmul", g, lt);
            return blockwise(ops, new int[] {sb[1], sa[0]}, Kernels.matmulLocal(), BlockProgram.Kind.MATMUL_LOCAL)
                .toTransposedView();
        }
        throw new IllegalArgumentException("matmul: shapes " + Shape.str(sa) + " (" + (a.isDistributed() ? "distributed" : "local")
            + ") and " + Shape.str(sb) + " (" + (b.isDistributed() ? "distributed" : "local") + ") are not supported: "
            + "a distributed X can be multiplied by a local matrix (X.matmul(W)), or contracted over its rows with "
            + "another distributed array (X.T().matmul(G)); make the other operand local with toLocal()");
    }

    private NDArray slice(NDArray a, int axis, int start, int stop, int[] out) {
        DistArray d = untransposed("slice", a);
        if (axis > 0) {
            return blockwise(new Operands("slice", d), out, Kernels.slice(axis, start, stop));
        }
        return reblocked(d, d.layout().sliceRows(start, stop), Kernels.sliceRows(d.layout().rowStarts(), start, stop));
    }

    private NDArray pad(NDArray a, int axis, int before, int after, int[] out) {
        DistArray d = untransposed("pad", a);
        if (axis > 0) {
            return blockwise(new Operands("pad", d), out, Kernels.pad(axis, before, after));
        }
        Layout parent = d.layout().unslice(before, after);
        if (parent == null) {
            throw new IllegalArgumentException("pad: padding the rows of a distributed array is only supported to "
                + "undo a row slice (its gradient); shape " + Shape.str(d.shape()) + ", padding " + before + ", " + after);
        }
        return reblocked(d, parent, Kernels.unsliceRows(parent.rowStarts(), before));
    }

    private NDArray concat(NDArray[] parts, int axis, int[] out) {
        if (axis == 0) {
            throw new IllegalArgumentException("concat: joining distributed arrays along their rows (axis 0) is not "
                + "supported; concatenate along another axis, or build one array with Dist.fromDataFrame");
        }
        for (NDArray p : parts) {
            if (!(p instanceof DistArray)) {
                throw new IllegalArgumentException("concat: along axis " + axis + " every part must be distributed with "
                    + "the same rows; part of shape " + Shape.str(p.shape()) + " is local (distribute it with Dist.fromLocal)");
            }
        }
        Operands ops = new Operands("concat", parts);
        return blockwise(ops, out, Kernels.concat(axis));
    }
}
