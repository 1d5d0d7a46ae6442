package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.Backend;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Prim;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.Shape;
import io.sparkgrad.np.UnaryFn;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockFn;
import io.sparkgrad.worker.BlockProgram;
import io.sparkgrad.worker.Gather;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.Kernels;
import io.sparkgrad.worker.Reblock;
import org.apache.spark.api.java.JavaPairRDD;
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

    /**
     * Plans {@code p} over operands of which at least one is distributed; the result has
     * {@code shape} and {@code dtype}. Kernels compute in double; a float32 result then takes a
     * rounding step ({@link #typed}), so its values are the local engine's, rounded where it rounds.
     */
    @Override
    public NDArray apply(Prim p, NDArray[] in, long[] shape, DType dtype) {
        return typed(p, plan(p, in, shape), dtype);
    }

    /**
     * Returns {@code r}, the planned result of {@code p}, as a result of {@code dtype}: a float32
     * distributed result of a primitive that computes values gets a row-wise step rounding them to
     * float (fused into the block programs that read it, and making float32 blocks where its
     * blocks are kept); one that moves values is labelled only. A local result (a reduction over
     * the blocks, combined in double) is rounded once when its value is computed.
     */
    private static NDArray typed(Prim p, NDArray r, DType dtype) {
        if (r.dtype() == dtype) {
            return r; // float64 plans, and local fallbacks that LocalBackend already typed
        }
        if (r instanceof DistArray d) {
            if (dtype == DType.FLOAT64 || p.movesValues()) {
                return new DistArray(d.node(), dtype);
            }
            BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, Kernels.roundToFloat(), null,
                new Object[0], d.layout().rowShape(), d.layout().axis(), null);
            return new DistArray(DistNode.of(d.layout(), k, List.of(d.node()), true), dtype);
        }
        LocalArray local = (LocalArray) r.toLocal();
        if (dtype == DType.FLOAT64) { // float values labelled float64
            return LocalArray.pending(r.shape(), dtype, local::data);
        }
        // the combined partials are read once, when the rounded value is asked for
        return LocalArray.pending(r.shape(), dtype, () -> {
            double[] d = local.data().clone();
            dtype.round(d, 0, d.length);
            return d;
        });
    }

    private NDArray plan(Prim p, NDArray[] in, long[] shape) {
        if (p instanceof Prim.Unary || p instanceof Prim.Binary || p instanceof Prim.Clip || p instanceof Prim.Where) {
            return elementwise(p, shape, in);
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
        } else if (p instanceof Prim.Take) {
            return take(in[0], in[1], shape);
        } else if (p instanceof Prim.ScatterAdd) {
            return scatterAdd(in[0], in[1], in[2], shape);
        } else if (p instanceof Prim.Fill f) {
            DistArray d = dist("fill", in[0]);
            return generate(d.layout(), Generators.fill(f.value()), new Object[0], true);
        } else if (p instanceof Prim.RandomUniform r) {
            return generate(dist("randomUniformLike", in[0]).layout(), Generators.uniform(0, 1, r.seed()));
        } else if (p instanceof Prim.Cast) {
            return new DistArray(dist("astype", in[0]).node()); // the same blocks, a new array: typed rounds or labels them
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
        return aggregate(op, ops, partial, combine, shape, kind, true);
    }

    /**
     * {@link #aggregate(String, Operands, BlockFn, ReduceFn, long[], BlockProgram.Kind)}; a
     * {@code partial} that is not {@code chunkable} needs whole blocks (it reads where they start).
     */
    private static NDArray aggregate(String op, Operands ops, BlockFn partial, ReduceFn combine, long[] shape,
                                     BlockProgram.Kind kind, boolean chunkable) {
        if (Autograd.isRecording()) {
            // whenever the job runs, it computes these blocks: keep them for a backward pass after it
            ops.given.forEach(DistArray::persistForBackward);
        }
        Object[] shipped = ops.local.stream().map(DistBackend::ship).toArray();
        int[] partialShape = Shape.toInt(op + " (its result is local)", shape);
        DistNode partials = node(ops, ops.layout,
            new BlockProgram.Kernel(kind, partial, null, shipped, partialShape, 0, combine), chunkable);
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
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                return in.get(0).mapPartitionsToPair(Reblock.split(starts), false).partitionBy(new IndexPartitioner(n))
                    .mapPartitionsWithIndex(Reblock.join(starts, rowShape, axis), false);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(to, m, d.node()));
    }

    /** {@code fn} over each block of {@code d}, making blocks of {@code layout}: positions move, so never inside a program. */
    /** {@code g} (of {@code x}'s shape) on the non-zeros of {@code x}'s sparse blocks; a dense block's rows as they are. */
    static DistArray onPattern(DistArray x, NDArray g) {
        // a gradient split along another axis is collected, as assigning it to x's buffer would do
        boolean lined = g instanceof DistArray && ((DistArray) g).layout().axis() == x.layout().axis();
        NDArray gd = lined ? g : Dist.fromLocal(g.toLocal(), x);
        return blockwise(new Operands("gradient", x, gd), x.shape(), Kernels.onPattern());
    }

    private static DistArray reblocked(DistArray d, Layout layout, BlockFn fn) {
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.ROWWISE, fn, null, new Object[0],
            layout.rowShape(), layout.axis(), null);
        return new DistArray(DistNode.of(layout, k, List.of(d.node()), false));
    }

    // ------------------------------------------------------------------ elementwise

    /**
     * An elementwise primitive: its result is blocked like the distributed operands that line up
     * with it (the result's rank, all of its blocked axis). The others are moved to fit: a local
     * operand holding every position of the blocked axis is split into the result's blocks and
     * shipped with them; a distributed operand that broadcasts along the blocked axis, or is
     * split along another one, is collected (it fits this JVM, or the op is refused saying so);
     * when no operand lines up, the op runs locally.
     */
    private static NDArray elementwise(Prim p, long[] out, NDArray[] in) {
        String op = p.name();
        NDArray[] a = in.clone();
        DistArray carrier = null;
        for (NDArray x : a) {
            if (x instanceof DistArray && linesUp((DistArray) x, out)
                && (carrier == null || Shape.size(((DistArray) x).layout().rowShape())
                    > Shape.size(carrier.layout().rowShape()))) {
                carrier = (DistArray) x;
            }
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i] instanceof DistArray && (carrier == null || !linesUp((DistArray) a[i], out)
                || ((DistArray) a[i]).layout().axis() != carrier.layout().axis())) {
                a[i] = collected(op, (DistArray) a[i]); // it broadcasts along the blocks, or is split otherwise
            }
        }
        if (carrier == null) {
            return LocalBackend.INSTANCE.apply(p, a, out, p.dtype(in));
        }
        Layout layout = carrier.layout();
        int axis = layout.axis();
        for (int i = 0; i < a.length; i++) {
            long[] s = a[i].shape();
            int k = axis - (out.length - s.length); // the operand's dimension that lines up with the blocked axis
            if (!(a[i] instanceof DistArray) && k >= 0 && s[k] != 1) {
                a[i] = split(a[i], out.length, layout); // every position of the blocked axis: shipped in blocks
            }
        }
        Operands ops = new Operands(op, a);
        BlockFn fn;
        if (p instanceof Prim.Unary u) {
            fn = Kernels.unary(u.f());
        } else if (p instanceof Prim.Binary b) {
            fn = Kernels.binary(b.f(), ops.position[0], ops.position[1]);
        } else if (p instanceof Prim.Clip c) {
            fn = Kernels.clip(c.lo(), c.hi());
        } else {
            fn = Kernels.where(ops.position[0], ops.position[1], ops.position[2]);
        }
        return blockwise(ops, out, fn);
    }

    /** True when {@code d} has the result's rank and all of its blocked axis (it does not broadcast along it). */
    private static boolean linesUp(DistArray d, long[] out) {
        return d.ndim() == out.length && d.layout().rows() == out[d.layout().axis()];
    }

    /**
     * The values of {@code d} in this JVM, for an op that needs them whole: refused, naming the
     * op, when they are more than {@link Dist#maxLocalBytes()}.
     */
    private static NDArray collected(String op, DistArray d) {
        long bytes = 8L * d.size();
        if (bytes > Dist.maxLocalBytes()) {
            throw new IllegalArgumentException(op + ": the distributed operand of shape " + Shape.str(d.shape())
                + " (split along " + blockedAxis(d.layout()) + ") would have to be collected to line up with the others, "
                + "but it holds " + bytes + " bytes, above Dist.maxLocalBytes() (" + Dist.maxLocalBytes() + "); "
                + "split the operands the same way");
        }
        return d.toLocal();
    }

    /**
     * A local operand holding every position of {@code layout}'s blocked axis (once made of rank
     * {@code rank}, with leading dimensions of 1), split into those blocks.
     */
    private static DistArray split(NDArray local, int rank, Layout layout) {
        long[] s = local.shape();
        long[] full = new long[rank];
        java.util.Arrays.fill(full, 1);
        System.arraycopy(s, 0, full, rank - s.length, s.length);
        NDArray shaped = s.length == rank ? local : Prim.apply(new Prim.Reshape(full), local.toLocal());
        int axis = layout.axis();
        return Dist.fromLocal(shaped, layout.along(axis, without(full, axis)));
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

    /**
     * Broadcasts block by block; along the blocked axis itself (an array of one row repeated into
     * many), the one row is collected and the result made on the executors in blocks of the
     * default size.
     */
    private NDArray broadcastTo(DistArray d, long[] shape) {
        int from = d.layout().axis();
        int to = from + shape.length - d.ndim();
        if (shape[to] != d.shape()[from]) {
            NDArray row = collected("broadcastTo", d);
            int[] rowShape = without(shape, to);
            Layout layout = Layout.ofBlockRows(shape[to], Dist.defaultBlockRows(rowShape), rowShape).along(to, rowShape);
            return generate(layout, Generators.broadcast(), new Object[] {ship(row)}, true);
        }
        return blockwise(new Operands("broadcastTo", d), shape, to, Kernels.broadcast(from, to, without(shape, to)),
            BlockProgram.Kind.ROWWISE);
    }

    /**
     * Broadcasts {@code a} to the shape and placement of {@code like} (the gradient rules use it:
     * a gradient lives where its input does). Into a local template, a distributed {@code a} is
     * collected; already shaped and placed like the template, {@code a} is returned as it is.
     */
    private NDArray broadcastLike(NDArray a, NDArray like) {
        if (!(like instanceof DistArray)) {
            NDArray[] args = {collected("broadcastLike", (DistArray) a), like};
            return LocalBackend.INSTANCE.apply(new Prim.BroadcastLike(), args, like.shape(), a.dtype());
        }
        if (a instanceof DistArray && ((DistArray) a).layout().equals(((DistArray) like).layout())) {
            return a;
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

    /**
     * Reshapes block by block when the blocked axis stays (the other axes are regrouped). Across
     * the rows of row blocks, elements move: each block keeps the elements that still fall in it
     * and the others go to their new blocks (a shuffle by element range, which the job names). A
     * result of no axis, or a reshape across another blocked axis, collects the values.
     */
    private NDArray reshape(DistArray d, long[] shape) {
        int from = d.layout().axis();
        int to = keptAxis(d.shape(), from, shape);
        if (to >= 0) {
            return blockwise(new Operands("reshape", d), shape, to, Kernels.reshape(from, to, without(shape, to)),
                BlockProgram.Kind.ROWWISE);
        }
        if (from != 0 || shape.length == 0 || rowSize(shape) == 0) {
            return Prim.apply(new Prim.Reshape(shape), collected("reshape", d));
        }
        return reshapeAcrossRows(d, shape);
    }

    private static long rowSize(long[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            n *= shape[i];
        }
        return n;
    }

    /** {@code d}'s elements, in row-major order, as rows of {@code shape}, in as many blocks as {@code d} has. */
    private static DistArray reshapeAcrossRows(DistArray d, long[] shape) {
        Layout source = d.layout();
        long width = Shape.size(source.rowShape());
        long newWidth = rowSize(shape);
        int n = source.numBlocks();
        long[] starts = new long[n + 1];
        long[] elementStarts = new long[n + 1];
        for (int i = 0; i <= n; i++) {
            // the new block that begins where the old one did, rounded down to a whole row
            starts[i] = i == n ? shape[0] : Math.min(shape[0], source.rowStart(i) * width / newWidth);
            elementStarts[i] = starts[i] * newWidth;
        }
        int[] rowShape = without(shape, 0);
        Layout target = Layout.ofStarts(starts, rowShape);
        String what = "reshape across rows " + Shape.str(d.shape()) + " -> " + Shape.str(shape);
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                return in.get(0).mapPartitionsToPair(Reblock.splitElements(elementStarts), false)
                    .partitionBy(new IndexPartitioner(n)).mapPartitionsWithIndex(Reblock.joinElements(starts, rowShape), false);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(target, m, d.node()));
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
        if (da && db && axisA == 1 && axisB == 0 && a.ndim() == 2 && b.ndim() == 2
                && 8L * shape[0] * shape[1] > productBroadcastBytes()) {
            return keptForBackward(TiledProducts.product((DistArray) a, (DistArray) b, Dist.settings()));
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
        // A local operand that lines up with the other's blocks along the contracted axis is split
        // into them, and the product contracts over the blocks.
        if (!da && db && axisB == 0) {
            Layout rows = ((DistArray) b).layout();
            return matmul(Dist.fromLocal(a, rows.along(1, without(a.shape(), 1))), b, shape);
        }
        if (da && !db && axisA == 1) {
            Layout cols = ((DistArray) a).layout();
            return matmul(a, Dist.fromLocal(b, cols.along(0, without(b.shape(), 0))), shape);
        }
        // Otherwise the smaller operand (a weight matrix, mostly) is collected and sent to every
        // task when it is small enough, and both are cut into tiles that one shuffle brings together
        // when it is not
        if (da && db) {
            boolean smallerIsB = b.size() <= a.size();
            DistArray small = (DistArray) (smallerIsB ? b : a);
            boolean matrices = a.ndim() == 2 && b.ndim() == 2; // tiles are of matrices; others are collected
            if (8L * small.size() <= (matrices ? productBroadcastBytes() : Dist.maxLocalBytes())) {
                NDArray local = collected("matmul", small);
                return Prim.apply(new Prim.Matmul(), smallerIsB ? a : local, smallerIsB ? local : b);
            }
            if (matrices) {
                return keptForBackward(TiledProducts.product((DistArray) a, (DistArray) b, Dist.settings()));
            }
        }
        throw new IllegalArgumentException("matmul: shapes " + Shape.str(a.shape()) + " (" + placement(a) + ") and "
            + Shape.str(b.shape()) + " (" + placement(b) + ") cannot be multiplied here: neither operand fits this JVM "
            + "(Dist.maxLocalBytes() is " + Dist.maxLocalBytes() + " bytes), they are not split along the axis the "
            + "product contracts, and tiled products take matrices only; reshape them to matrices");
    }

    /**
     * A recorded op's result whose blocks a shuffle makes (a join, a tiled product): cached once
     * made, so that the jobs that read it again (the loss's, backward's) do not redo the shuffle's
     * reading side; its graph's release uncaches it.
     */
    private static DistArray keptForBackward(DistArray result) {
        if (Autograd.isRecording()) {
            result.persistForBackward();
        }
        return result;
    }

    /** The largest distributed operand of a product collected and sent to every task (and local contraction). */
    private static long productBroadcastBytes() {
        return Math.min(Dist.maxLocalBytes(), Dist.settings().productBroadcastBytes());
    }

    // ------------------------------------------------------------------ gathers

    /**
     * Rows of {@code table} picked by {@code indices}. Distributed indices with a local table
     * (an embedding lookup from a column of the data) stay distributed like the indices, the table
     * travelling with the tasks. Local indices into a distributed table gather, in one job, the
     * rows each block holds. Both distributed, each in blocks of rows (an embedding table kept on
     * the executors): a join by row, the result blocked like the indices; split otherwise, the
     * table is collected when it fits this JVM.
     */
    private NDArray take(NDArray table, NDArray indices, long[] shape) {
        if (table instanceof DistArray && indices instanceof DistArray) {
            DistArray t = dist("take", table);
            DistArray idx = dist("take", indices);
            if (t.layout().axis() == 0 && idx.layout().axis() == 0) {
                return keptForBackward(joinedTake(t, idx, shape));
            }
            if (8L * t.size() > Dist.maxLocalBytes()) {
                throw new IllegalArgumentException("take: gathering rows of a distributed table of shape "
                    + Shape.str(t.shape()) + " by distributed indices of shape " + Shape.str(indices.shape())
                    + " needs the table in this JVM, and it holds " + 8L * t.size() + " bytes, above "
                    + "Dist.maxLocalBytes() (" + Dist.maxLocalBytes() + "); gather by local indices, or raise "
                    + "Dist.setMaxLocalBytes");
            }
            return take(collected("take", t), indices, shape);
        }
        if (indices instanceof DistArray) {
            Operands ops = new Operands("take", table, indices);
            int outAxis = ops.layout.axis(); // the indices' axes come first in the result
            return blockwise(ops, shape, outAxis, Kernels.take(ops.position[0], ops.position[1]),
                BlockProgram.Kind.ROWWISE);
        }
        DistArray t = dist("take", table);
        checkIndices("take", indices, t.shape()[0]);
        Operands ops = new Operands("take", t, indices);
        if (t.layout().axis() != 0) {
            // every block holds all the rows of some columns: gather in each, blocked like them
            int outAxis = indices.ndim() + t.layout().axis() - 1;
            return blockwise(ops, shape, outAxis, Kernels.take(0, 1), BlockProgram.Kind.ROWWISE);
        }
        int[] out = Shape.toInt("take (its result is local)", shape);
        return aggregate("take", ops, Kernels.takeFromRows(t.layout().rowStarts(), out), ReduceFn.SUM, shape,
            BlockProgram.Kind.ROWWISE, false);
    }

    /**
     * Zeros like {@code like} with the rows of {@code values} added at {@code indices}. Into a
     * distributed {@code like} (the gradient of a distributed table) from local indices and values,
     * each block makes its own rows; from distributed ones (the gradient of a local table gathered
     * by a column of the data), the blocks' partial sums are combined in one job.
     */
    private NDArray scatterAdd(NDArray like, NDArray indices, NDArray values, long[] shape) {
        boolean spread = indices instanceof DistArray || values instanceof DistArray;
        if (like instanceof DistArray && !spread) {
            DistArray d = dist("scatterAdd", like);
            checkIndices("scatterAdd", indices, d.shape()[0]);
            if (d.layout().axis() == 0) {
                return generate(d.layout(), Generators.scatterAddRows(d.layout().rowStarts()),
                    new Object[] {ship(indices), ship(values)}, false);
            }
            return Dist.fromLocal(scatterAdd(Np.zeros(shape), indices, values, shape), d.layout());
        }
        if (like instanceof DistArray) {
            DistArray d = dist("scatterAdd", like);
            DistArray carrier = (DistArray) (indices instanceof DistArray ? indices : values);
            boolean valuesInRows = !(values instanceof DistArray) || ((DistArray) values).layout().axis() == 0;
            if (d.layout().axis() == 0 && carrier.layout().axis() == 0 && indices.ndim() >= 1 && valuesInRows) {
                // the gradient of a distributed table gathered by distributed indices: summed where its blocks live
                Layout rows = carrier.layout();
                DistArray idx = dist("scatterAdd", indices instanceof DistArray ? indices
                    : split(indices, indices.ndim(), rows));
                DistArray val = values instanceof DistArray ? dist("scatterAdd", values)
                    : Dist.fromLocal(values, rows.along(0, without(values.shape(), 0)));
                return scattered(d.layout(), idx, reblock(val, idx.layout()));
            }
            if (8L * d.size() > Dist.maxLocalBytes()) {
                throw new IllegalArgumentException("scatterAdd: adding distributed values into a distributed array of "
                    + "shape " + Shape.str(d.shape()) + " sums them in this JVM, and it holds " + 8L * d.size()
                    + " bytes, above Dist.maxLocalBytes() (" + Dist.maxLocalBytes() + "); raise Dist.setMaxLocalBytes");
            }
            return Dist.fromLocal(scatterAdd(Np.zeros(shape), indices, values, shape).toLocal(), d.layout());
        }
        if (!spread) {
            NDArray[] args = {like, indices, values};
            return LocalBackend.INSTANCE.apply(new Prim.ScatterAdd(), args, shape, new Prim.ScatterAdd().dtype(args));
        }
        // the indices and the values line up row by row: a local one is split like the distributed one
        DistArray carrier = (DistArray) (indices instanceof DistArray ? indices : values);
        int axis = carrier.layout().axis();
        if (axis >= indices.ndim()) {
            // blocked along a row of the values: each block holds every index
            NDArray localValues = collected("scatterAdd", (DistArray) values);
            return scatterAdd(like, indices, localValues, shape);
        }
        NDArray idx = indices instanceof DistArray ? indices : split(indices, indices.ndim(), carrier.layout());
        NDArray val = values;
        if (val instanceof DistArray && ((DistArray) val).layout().axis() != axis) {
            // blocked along another axis than the indices (the gradient of one row of a take, say):
            // collected, to be split into the indices' blocks of rows below
            val = collected("scatterAdd", (DistArray) val);
        }
        if (!(val instanceof DistArray)) {
            val = Dist.fromLocal(val, carrier.layout().along(axis, without(values.shape(), axis)));
        }
        Operands ops = new Operands("scatterAdd", idx, val);
        int[] out = Shape.toInt("scatterAdd (its result is local)", shape);
        return aggregate("scatterAdd", ops, Kernels.scatterAdd(out, ops.position[0], ops.position[1]), ReduceFn.SUM,
            shape, BlockProgram.Kind.ROWWISE);
    }

    /**
     * {@code take} of a table in blocks of rows by indices in blocks of rows, as a join by row on
     * the executors: each block of indices asks each table block for the distinct rows it needs,
     * and puts its block of the result together from the answers ({@link Gather}).
     */
    private static DistArray joinedTake(DistArray table, DistArray indices, long[] shape) {
        Layout t = table.layout();
        long[] starts = t.rowStarts();
        int[] tableRowShape = t.rowShape();
        int width = Shape.size(tableRowShape);
        int tableBlocks = t.numBlocks();
        int indexBlocks = indices.numBlocks();
        Layout out = indices.layout().along(0, without(shape, 0));
        String what = "gather (rows of " + tableBlocks + " table blocks joined to " + indexBlocks + " blocks of indices)";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                JavaPairRDD<Integer, Gather.Rows> asked = in.get(1)
                    .mapPartitionsToPair(Gather.requests("take", starts), false)
                    .partitionBy(new IndexPartitioner(tableBlocks));
                JavaPairRDD<Integer, Gather.Rows> answered = JavaPairRDD.fromJavaRDD(
                    in.get(0).zipPartitions(asked, Gather.answers(width))).partitionBy(new IndexPartitioner(indexBlocks));
                return in.get(1).zipPartitions(answered, Gather.assemble("take", starts[tableBlocks], tableRowShape));
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(out, m, List.of(table.node(), indices.node())));
    }

    /**
     * {@code scatterAdd} into zeros laid out as {@code target} (blocks of rows) from indices and
     * values in the same blocks of rows, as a shuffle keyed by the target block: each target block
     * adds what it receives in the indices' global order ({@link Gather#sum}).
     */
    private static DistArray scattered(Layout target, DistArray indices, DistArray values) {
        long[] starts = target.rowStarts();
        int[] rowShape = target.rowShape();
        int n = target.numBlocks();
        String what = "scatter-add (" + indices.numBlocks() + " blocks of indices summed into " + n + " blocks)";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                JavaRDD<scala.Tuple2<Integer, Gather.Rows>> pieces = in.get(0).zipPartitions(in.get(1),
                    Gather.pieces("scatterAdd", starts, Shape.size(rowShape)));
                return JavaPairRDD.fromJavaRDD(pieces).partitionBy(new IndexPartitioner(n))
                    .mapPartitionsWithIndex(Gather.sum(starts, rowShape), false);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(target, m, List.of(indices.node(), values.node())));
    }

    /** Refuses, before any job, local indices that name no row of an axis of {@code rows}. */
    private static void checkIndices(String op, NDArray indices, long rows) {
        double[] idx = indices.toArray();
        for (int k = 0; k < idx.length; k++) {
            LocalBackend.row(op, idx, k, k, rows);
        }
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
        int part = layout.partAt(start, stop);
        if (part >= 0) {
            return concatenatedPart(d, part);
        }
        return reblocked(d, layout.sliceRows(start, stop), Kernels.sliceBlocked(axis, layout.rowStarts(), start, stop));
    }

    /** Part {@code part} of a concatenation along the blocked axis: its own blocks, picked, not moved. */
    private static NDArray concatenatedPart(DistArray d, int part) {
        Layout layout = d.layout();
        Layout partLayout = layout.part(part);
        int first = layout.firstBlockOfPart(part);
        int count = partLayout.numBlocks();
        long[] starts = partLayout.rowStarts();
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                scala.Function1<Object, Object> keep = (scala.Function1<Object, Object> & java.io.Serializable)
                    i -> (Integer) i >= first && (Integer) i < first + count;
                JavaRDD<Block> picked = org.apache.spark.rdd.PartitionPruningRDD.create(in.get(0).rdd(), keep).toJavaRDD();
                return picked.mapPartitionsWithIndex(Reblock.renumber(starts), false);
            }

            @Override
            public String describe() {
                return null; // the part's blocks stay where they are
            }
        };
        return new DistArray(DistNode.moved(partLayout, m, d.node()));
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

    /**
     * Joins arrays. Along an axis that is not the blocked one, block by block: the parts are
     * split like the first distributed one (local parts and parts split otherwise are moved to
     * fit). Along the blocked axis, the result's blocks are the parts' blocks one after the other
     * (a local part becomes blocks of its own): nothing moves, and slicing a part back out (the
     * gradient of concat) gives it its own blocks again.
     */
    private NDArray concat(NDArray[] parts, int axis, long[] out) {
        DistArray first = null;
        for (NDArray p : parts) {
            if (p instanceof DistArray) {
                first = (DistArray) p;
                break;
            }
        }
        if (first.layout().axis() == axis) {
            return concatBlocks(parts, axis, out);
        }
        NDArray[] a = parts.clone();
        Layout layout = first.layout();
        for (int i = 0; i < a.length; i++) {
            if (a[i] instanceof DistArray && ((DistArray) a[i]).layout().axis() != layout.axis()) {
                a[i] = collected("concat", (DistArray) a[i]);
            }
            if (!(a[i] instanceof DistArray)) {
                a[i] = split(a[i], out.length, layout);
            }
        }
        return blockwise(new Operands("concat", a), out, Kernels.concat(axis));
    }

    /** Concatenates along the blocked axis: the parts' blocks, renumbered, with no value moved. */
    private static NDArray concatBlocks(NDArray[] parts, int axis, long[] out) {
        List<DistNode> nodes = new ArrayList<>();
        List<Layout> layouts = new ArrayList<>();
        for (NDArray p : parts) {
            DistArray d;
            if (p instanceof DistArray && ((DistArray) p).layout().axis() == axis) {
                d = (DistArray) p;
                checkContext("concat", d);
            } else {
                NDArray local = p instanceof DistArray ? collected("concat", (DistArray) p) : p;
                int[] rowShape = without(local.shape(), axis);
                d = Dist.fromLocal(local, Layout.ofBlockRows(local.dim(axis), Dist.defaultBlockRows(rowShape), rowShape)
                    .along(axis, rowShape));
            }
            nodes.add(d.node());
            layouts.add(d.layout());
        }
        Layout layout = Layout.concatenated(layouts);
        long[] starts = layout.rowStarts();
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                return DistNode.concatenated(in).mapPartitionsWithIndex(Reblock.renumber(starts), false);
            }

            @Override
            public String describe() {
                return null; // the blocks stay where they are
            }
        };
        return new DistArray(DistNode.moved(layout, m, nodes));
    }
}
