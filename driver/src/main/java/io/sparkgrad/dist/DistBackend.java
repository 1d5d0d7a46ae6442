package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.Backend;
import io.sparkgrad.np.LocalArray;
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
import io.sparkgrad.worker.Reblock;
import org.apache.spark.api.java.JavaRDD;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How primitives over distributed arrays become nodes of the deferred graph ({@link DistNode}):
 * where each result lives and which block kernel makes it. A distributed array is split into
 * blocks along one axis (rows, unless a transpose moved them, {@link Layout#axis()}); every
 * primitive runs on the executors as the local kernel applied to the blocks ({@link Kernels}):
 * <ul>
 *   <li>distributed operands split the same way are zipped partition by partition; one split
 *       otherwise is first moved into the other's blocks ({@link #reblock}, a shuffle the job
 *       names);</li>
 *   <li>local operands that broadcast along the blocked axis travel with the tasks
 *       ({@link Broadcasts} decides how);</li>
 *   <li>results that keep the blocked axis stay distributed and lazy; results over it (a
 *       reduction over all elements or along the blocked axis, a contraction
 *       {@code X.T().matmul(G)}) are pending local arrays, computed with the thread's other such
 *       results in one job ({@link Aggregations}) whose per-block partials are combined in block
 *       order, so the result does not depend on the order in which tasks finish.</li>
 * </ul>
 * No rule of the op table is anticipated here: each primitive is planned from its operands'
 * shapes and layouts alone.
 */
final class DistBackend implements Backend {
    static final DistBackend INSTANCE = new DistBackend();

    private DistBackend() {}

    @Override
    public int priority() {
        return 10;
    }

    /** Plans {@code p} over operands of which at least one is distributed; the result has {@code shape}. */
    @Override
    public NDArray apply(Prim p, NDArray[] in, long[] shape) {
        if (p instanceof Prim.Unary u) {
            return elementwise(p.name(), shape, Kernels.unary(u.f()), in[0]);
        } else if (p instanceof Prim.Binary b) {
            Operands ops = new Operands(p.name(), in);
            return elementwise(ops, p.name(), shape, Kernels.binary(b.f(), ops.position[0], ops.position[1]), in);
        } else if (p instanceof Prim.Clip c) {
            return elementwise("clip", shape, Kernels.clip(c.lo(), c.hi()), in[0]);
        } else if (p instanceof Prim.Where) {
            Operands ops = new Operands("where", in);
            return elementwise(ops, "where", shape, Kernels.where(ops.position[0], ops.position[1], ops.position[2]), in);
        } else if (p instanceof Prim.Reduce r) {
            return reduce(r.f(), in[0], r.axis(), r.keepdims(), shape);
        } else if (p instanceof Prim.Norm n) {
            return norm(in[0], n.axis(), n.keepdims(), shape);
        } else if (p instanceof Prim.BroadcastTo) {
            return broadcastTo(dist("broadcastTo", in[0]), shape);
        } else if (p instanceof Prim.BroadcastLike) {
            return broadcastLike(in[0], in[1]);
        } else if (p instanceof Prim.Reshape) {
            return reshape(dist("reshape", in[0]), shape);
        } else if (p instanceof Prim.Transpose t) {
            return transpose(dist("transpose", in[0]), t.perm(), shape);
        } else if (p instanceof Prim.Matmul) {
            return matmul(in[0], in[1], shape);
        } else if (p instanceof Prim.Slice sl) {
            return slice(dist("slice", in[0]), sl.axis(), sl.start(), sl.stop(), shape);
        } else if (p instanceof Prim.Pad pd) {
            return pad(dist("pad", in[0]), pd.axis(), pd.before(), pd.after(), shape);
        } else if (p instanceof Prim.Concat c) {
            return concat(in, c.axis(), shape);
        } else if (p instanceof Prim.Fill f) {
            DistArray d = dist("fill", in[0]);
            return generate(d.layout(), Generators.fill(f.value()), new Object[0], true);
        } else if (p instanceof Prim.RandomUniform r) {
            return generate(dist("randomUniformLike", in[0]).layout(), Generators.uniform(0, 1, r.seed()));
        }
        throw new IllegalStateException("internal: no distributed plan for " + p);
    }

    // ------------------------------------------------------------------ planning helpers

    /**
     * The distributed and local operands of one primitive. Distributed operands split at other
     * places than the widest one's are moved into its blocks (a shuffle by row range, which the
     * job that runs it names), so that the kernel sees the same positions of every operand.
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
                    DistArray d = (DistArray) a;
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

    /** Refuses an array whose blocks belong to a SparkContext that is stopped or no longer sparkgrad's. */
    static void checkContext(String op, DistArray d) {
        org.apache.spark.SparkContext sc = d.node().sc;
        if (sc.isStopped() || sc != Dist.session().sparkContext()) {
            throw new IllegalStateException(op + ": this distributed array (shape " + Shape.str(d.shape()) + ") belongs to "
                + (sc.isStopped() ? "a SparkContext that was stopped" : "another SparkContext than sparkgrad's session")
                + "; its blocks are gone: create it again on the current session");
        }
    }

    private static DistArray dist(String op, NDArray a) {
        DistArray d = (DistArray) a;
        checkContext(op, d);
        return d;
    }

    private static String describe(NDArray a) {
        return a instanceof DistArray ? "the distributed operand" : "the local operand";
    }

    /** What {@code layout}'s blocked axis is called in messages. */
    private static String blockedAxis(Layout layout) {
        return layout.axis() == 0 ? "its rows" : "axis " + layout.axis();
    }

    /** {@code shape} without axis {@code axis}: the shape of one row of it (which must fit a block). */
    private static int[] without(long[] shape, int axis) {
        long[] out = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != axis) {
                out[j++] = shape[i];
            }
        }
        return Shape.toInt("the rows of a distributed array", out);
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

    /** Runs {@code fn} block by block; the result of {@code outShape} is blocked along {@code outAxis}. */
    private static DistArray blockwise(Operands ops, long[] outShape, int outAxis, BlockFn fn, BlockProgram.Kind kind) {
        Object[] shipped = ops.local.stream().map(DistBackend::ship).toArray();
        int[] rowShape = without(outShape, outAxis);
        DistNode node = node(ops, ops.layout.along(outAxis, rowShape),
            new BlockProgram.Kernel(kind, fn, null, shipped, rowShape, outAxis, null), true);
        return new DistArray(node);
    }

    /** {@link #blockwise(Operands, long[], int, BlockFn, BlockProgram.Kind)} keeping the operands' blocked axis. */
    private static DistArray blockwise(Operands ops, long[] outShape, BlockFn fn) {
        return blockwise(ops, outShape, ops.layout.axis(), fn, BlockProgram.Kind.ROWWISE);
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
    private static NDArray aggregate(String op, Operands ops, BlockFn partial, ReduceFn combine, long[] shape,
                                     BlockProgram.Kind kind) {
        if (Autograd.isRecording()) {
            // whenever the job runs, it computes these blocks: keep them for a backward pass after it
            ops.given.forEach(DistArray::persistForBackward);
        }
        Object[] shipped = ops.local.stream().map(DistBackend::ship).toArray();
        int[] partialShape = Shape.toInt(op + " (its result is local)", shape);
        DistNode partials = node(ops, ops.layout,
            new BlockProgram.Kernel(kind, partial, null, shipped, partialShape, 0, combine), true);
        return Aggregations.plan(op, partials, partialShape);
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
    static DistArray generate(Layout layout, Generators.BlockGen gen, Object[] shipped, boolean rowsOnly) {
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.SOURCE, null, gen, shipped,
            layout.rowShape(), layout.axis(), null);
        return new DistArray(DistNode.source(Dist.session().sparkContext(), layout, k, rowsOnly));
    }

    /**
     * Returns {@code d} with its blocked axis split at the places {@code target}'s is: {@code d}
     * itself when it already is, otherwise a shuffle by position that keeps every value and its
     * order.
     */
    static DistArray reblock(DistArray d, Layout target) {
        if (d.layout().sameRows(target)) {
            return d;
        }
        Layout to = target.along(d.layout().axis(), d.layout().rowShape());
        int[] rowShape = to.rowShape();
        int axis = to.axis();
        int n = to.numBlocks();
        long[] starts = to.rowStarts();
        String what = "re-block (" + d.numBlocks() + " -> " + n + " blocks)";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(JavaRDD<Block> in) {
                return in.mapPartitionsToPair(Reblock.split(starts), false).partitionBy(new IndexPartitioner(n))
                    .mapPartitionsWithIndex(Reblock.join(starts, rowShape, axis), true);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(to, m, d.node()));
    }

    /** {@code fn} over each block of {@code d}, making blocks of {@code layout}: positions move, so never inside a program. */
    private static DistArray reblocked(DistArray d, Layout layout, BlockFn fn) {
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, fn, null, new Object[0],
            layout.rowShape(), layout.axis(), null);
        return new DistArray(DistNode.of(layout, k, List.of(d.node()), false));
    }

    // ------------------------------------------------------------------ elementwise

    private static NDArray elementwise(String op, long[] shape, BlockFn fn, NDArray a) {
        Operands ops = new Operands(op, a);
        return elementwise(ops, op, shape, fn, a);
    }

    /**
     * An elementwise result of shape {@code out}, blocked like the distributed operands: each has
     * the result's rank and blocked axis, and a local operand broadcasts along that axis (it has
     * length 1 there, or fewer dimensions).
     */
    private static NDArray elementwise(Operands ops, String op, long[] out, BlockFn fn, NDArray... operands) {
        int axis = ops.layout.axis();
        for (NDArray a : operands) {
            long[] s = a.shape();
            int k = axis - (out.length - s.length); // the operand's dimension that lines up with the blocked axis
            boolean ok = a instanceof DistArray
                ? s.length == out.length && ((DistArray) a).layout().axis() == axis
                : k < 0 || s[k] == 1;
            if (!ok) {
                String hint = a instanceof DistArray
                    ? "; both must be split along the same axis (transpose one of them)"
                    : axis == 0 ? "; a local operand must broadcast along the rows (leading dimension 1 or fewer "
                        + "dimensions), or be split like the other with Dist.fromLocal(local, like)"
                    : "; a local operand must broadcast along axis " + axis + " (length 1 there)";
                throw new IllegalArgumentException(op + ": " + describe(a) + " of shape " + Shape.str(s)
                    + " does not line up with the blocks of the distributed result of shape " + Shape.str(out)
                    + " (split along " + blockedAxis(ops.layout) + ")" + hint);
            }
        }
        if (out[axis] != ops.layout.rows()) {
            throw new IllegalStateException("internal: " + op + " result " + Shape.str(out) + " vs " + ops.layout);
        }
        return blockwise(ops, out, fn);
    }

    // ------------------------------------------------------------------ reductions

    private NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims, long[] shape) {
        String op = f.name().toLowerCase();
        Operands ops = new Operands(op, a);
        int blocked = ops.layout.axis();
        if (axis == Backend.ALL || axis == blocked) {
            return aggregate(op, ops, Kernels.reduce(f, axis, keepdims), f, shape, BlockProgram.Kind.ROWWISE);
        }
        return blockwise(ops, shape, reducedAxis(blocked, axis, keepdims), Kernels.reduce(f, axis, keepdims),
            BlockProgram.Kind.ROWWISE);
    }

    private NDArray norm(NDArray a, int axis, boolean keepdims, long[] shape) {
        Operands ops = new Operands("norm", a);
        int blocked = ops.layout.axis();
        if (axis == Backend.ALL || axis == blocked) {
            NDArray ss = aggregate("norm", ops, Kernels.sumOfSquares(axis, keepdims), ReduceFn.SUM, shape,
                BlockProgram.Kind.ROWWISE);
            return Prim.apply(new Prim.Unary(UnaryFn.SQRT), ss);
        }
        return blockwise(ops, shape, reducedAxis(blocked, axis, keepdims), Kernels.norm(axis, keepdims),
            BlockProgram.Kind.ROWWISE);
    }

    /** Where the blocked axis lands once {@code axis} (another one) is reduced. */
    private static int reducedAxis(int blocked, int axis, boolean keepdims) {
        return axis < blocked && !keepdims ? blocked - 1 : blocked;
    }

    // ------------------------------------------------------------------ shape

    private NDArray broadcastTo(DistArray d, long[] shape) {
        int from = d.layout().axis();
        int to = from + shape.length - d.ndim();
        if (shape[to] != d.shape()[from]) {
            throw new IllegalArgumentException("broadcastTo: a distributed array of shape " + Shape.str(d.shape())
                + " keeps " + blockedAxis(d.layout()) + "; it cannot become " + Shape.str(shape));
        }
        return blockwise(new Operands("broadcastTo", d), shape, to, Kernels.broadcast(from, to, without(shape, to)),
            BlockProgram.Kind.ROWWISE);
    }

    private NDArray broadcastLike(NDArray a, NDArray like) {
        if (!(like instanceof DistArray)) {
            throw new IllegalArgumentException("broadcastLike: a distributed array of shape " + Shape.str(a.shape())
                + " cannot be broadcast into a local one of shape " + Shape.str(like.shape()) + "; call toLocal() first");
        }
        DistArray target = dist("broadcastLike", like);
        long[] shape = target.shape();
        Layout layout = target.layout();
        if (a instanceof DistArray) {
            return broadcastTo((DistArray) a, shape);
        }
        long[] s = a.shape();
        int k = layout.axis() - (shape.length - s.length);
        if (k >= 0 && s[k] != 1) {
            // a local array holding every position of the blocked axis: split it into the target's blocks
            return Dist.fromLocal(a.broadcastTo(shape), layout);
        }
        return generate(layout, Generators.broadcast(), new Object[] {ship(a)}, true);
    }

    private NDArray reshape(DistArray d, long[] shape) {
        int from = d.layout().axis();
        int to = keptAxis(d.shape(), from, shape);
        if (to < 0) {
            throw new IllegalArgumentException("reshape: a distributed array keeps " + blockedAxis(d.layout()) + "; shape "
                + Shape.str(d.shape()) + " cannot become " + Shape.str(shape) + (from == 0
                ? " (reshape within rows only: (" + d.layout().rows() + ", ...))"
                : " (the axes before and after axis " + from + " may be reshaped, not across it)"));
        }
        return blockwise(new Operands("reshape", d), shape, to, Kernels.reshape(from, to, without(shape, to)),
            BlockProgram.Kind.ROWWISE);
    }

    /**
     * The axis of {@code to} that keeps blocked axis {@code axis} of {@code from}: the one with
     * the same length and the same number of elements before it, or -1 when the reshape moves
     * elements across the blocked axis.
     */
    private static int keptAxis(long[] from, int axis, long[] to) {
        long before = 1;
        for (int i = 0; i < axis; i++) {
            before *= from[i];
        }
        long acc = 1;
        for (int j = 0; j < to.length; j++) {
            if (acc == before && to[j] == from[axis]) {
                return j;
            }
            acc *= to[j];
            if (acc > before && before != 0) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Permutes the axes of each block; the blocked axis goes where the permutation sends it. A
     * transpose of a transpose is the original array (its node, not a copy).
     */
    private NDArray transpose(DistArray d, int[] perm, long[] out) {
        DistNode n = d.node();
        if (n.transposed != null && Arrays.equals(compose(n.transposePerm, perm), identity(perm.length))) {
            return new DistArray(n.transposed);
        }
        int from = d.layout().axis();
        int to = 0;
        while (perm[to] != from) {
            to++;
        }
        int[] rowShape = without(out, to);
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, Kernels.transpose(perm), null,
            new Object[0], rowShape, to, null);
        return new DistArray(DistNode.transpose(d.layout().along(to, rowShape), k, n, perm));
    }

    /** The permutation of applying {@code first}, then {@code second}. */
    private static int[] compose(int[] first, int[] second) {
        int[] out = new int[second.length];
        for (int i = 0; i < second.length; i++) {
            out[i] = first[second[i]];
        }
        return out;
    }

    private static int[] identity(int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = i;
        }
        return out;
    }

    /**
     * Matrix products with a distributed operand: a row-blocked {@code X} times a local {@code W}
     * stays row-blocked; a local {@code L} times a column-blocked {@code Y} stays column-blocked;
     * a column-blocked {@code A} times a row-blocked {@code B} split at the same places contracts
     * over the blocks, into a local result (for {@code A = X.T()}, each block's {@code X^T B} is
     * computed from {@code X}'s block directly).
     */
    private NDArray matmul(NDArray a, NDArray b, long[] shape) {
        boolean da = a instanceof DistArray;
        boolean db = b instanceof DistArray;
        int axisA = da ? ((DistArray) a).layout().axis() : -1;
        int axisB = db ? ((DistArray) b).layout().axis() : -1;
        if (da && axisA == 0 && !db) {
            Operands ops = new Operands("matmul", a, b);
            return blockwise(ops, shape, 0, Kernels.matmulLocal(), BlockProgram.Kind.MATMUL_LOCAL);
        }
        if (!da && db && axisB == 1) {
            Operands ops = new Operands("matmul", a, b); // kernel arguments: the block of b, then a
            return blockwise(ops, shape, 1, Kernels.matmul(1, 0), BlockProgram.Kind.ROWWISE);
        }
        if (da && db && axisA == 1 && axisB == 0) {
            DistArray x = (DistArray) a;
            DistNode base = x.node().transposed;
            if (base != null && base.layout.axis() == 0) {
                if (Autograd.isRecording()) {
                    x.persistForBackward(); // the recorded input, whose graph release uncaches
                }
                Operands ops = new Operands("matmul", new DistArray(base), b);
                return aggregate("matmul", ops, Kernels.transposeMatmul(), ReduceFn.SUM, shape,
                    BlockProgram.Kind.TRANSPOSE_MATMUL);
            }
            Operands ops = new Operands("matmul", a, b);
            return aggregate("matmul", ops, Kernels.matmul(0, 1), ReduceFn.SUM, shape, BlockProgram.Kind.ROWWISE);
        }
        throw new IllegalArgumentException("matmul: shapes " + Shape.str(a.shape()) + " (" + placement(a) + ") and "
            + Shape.str(b.shape()) + " (" + placement(b) + ") are not supported: a row-blocked X times a local matrix "
            + "(X.matmul(W)), a local matrix times a transpose (L.matmul(X.T())), and a contraction over the rows of "
            + "two distributed arrays (X.T().matmul(G)) are; make the other operand local with toLocal()");
    }

    private static String placement(NDArray a) {
        if (!(a instanceof DistArray)) {
            return "local";
        }
        int axis = ((DistArray) a).layout().axis();
        return axis == 0 ? "distributed in row blocks" : "distributed along axis " + axis;
    }

    private NDArray slice(DistArray d, int axis, long start, long stop, long[] out) {
        Layout layout = d.layout();
        if (axis != layout.axis()) {
            return blockwise(new Operands("slice", d), out, Kernels.slice(axis, (int) start, (int) stop));
        }
        return reblocked(d, layout.sliceRows(start, stop), Kernels.sliceBlocked(axis, layout.rowStarts(), start, stop));
    }

    /**
     * Pads with zeros. Along the blocked axis, padding that undoes a slice restores the layout the
     * slice was cut from (each block gets back its own zeros); other padding adds the zeros to the
     * first and the last block.
     */
    private NDArray pad(DistArray d, int axis, long before, long after, long[] out) {
        Layout layout = d.layout();
        if (axis != layout.axis()) {
            return blockwise(new Operands("pad", d), out, Kernels.pad(axis, (int) before, (int) after));
        }
        Layout parent = layout.unslice(before, after);
        if (parent != null) {
            return reblocked(d, parent, Kernels.unslice(axis, parent.rowStarts(), before));
        }
        return reblocked(d, layout.padEnds(before, after), Kernels.padEnds(axis, before, after, layout.numBlocks() - 1));
    }

    private NDArray concat(NDArray[] parts, int axis, long[] out) {
        Operands ops = new Operands("concat", parts);
        int blocked = ops.layout.axis();
        if (axis == blocked) {
            throw new IllegalArgumentException("concat: joining distributed arrays along the axis they are split along "
                + "(axis " + axis + ") is not supported; concatenate along another axis, or build one array with "
                + "Dist.fromDataFrame");
        }
        for (NDArray p : parts) {
            if (!(p instanceof DistArray) || ((DistArray) p).layout().axis() != blocked) {
                throw new IllegalArgumentException("concat: along axis " + axis + " every part must be distributed and "
                    + "split along the same axis; part of shape " + Shape.str(p.shape()) + " is "
                    + (p instanceof DistArray ? "split along axis " + ((DistArray) p).layout().axis()
                    : "local (distribute it with Dist.fromLocal(part, like))"));
            }
        }
        return blockwise(ops, out, Kernels.concat(axis));
    }
}
