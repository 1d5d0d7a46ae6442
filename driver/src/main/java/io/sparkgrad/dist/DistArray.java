package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.Backend;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.Format;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.FaultInjector;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

import java.util.Arrays;
import java.util.List;

/**
 * An {@link NDArray} whose rows live on Spark executors: a {@link Layout} plus a node of the
 * deferred graph ({@link DistNode}) whose blocks, one per partition, hold the rows. Operations on
 * it are lazy: an op makes a node of its operands' nodes, which becomes an RDD only when Spark is
 * asked for its blocks; an aggregation job runs such nodes inside a block program instead. Those whose result
 * is local (a reduction or a contraction over the rows) return pending local arrays, computed
 * together in one Spark job when a value is needed (see {@code Aggregations}); {@link #toLocal()}
 * runs a job of its own.
 *
 * <p>Arrays read or made from data are split into blocks of rows. A transpose that moves axis 0
 * gives an array split along another axis ({@link Layout#axis()}): {@code X.T()} of a matrix is
 * split into blocks of columns, each the transpose of a row block of {@code X}, and
 * {@code X.T().matmul(G)} contracts over them.
 */
public final class DistArray extends NDArray {
    private final Layout layout;
    private DistNode node;
    // true when this array persisted its RDD for a backward pass: released when the graph is freed
    private boolean cachedForBackward;
    // true when assign cached the blocks it made (a variable's value, a stored gradient): released
    // when they are replaced, never when a graph that read them is freed
    private boolean ownsBlocks;
    // the number of times assign replaced the blocks
    private volatile int version;
    // assigns since the blocks' lineage was last cut by a checkpoint
    private int sinceCheckpoint;

    /**
     * Wraps blocks laid out as {@code layout}. The broadcasts that the RDD's lineage reads are held
     * by its closures, so Spark's ContextCleaner keeps them exactly as long as the RDD is reachable.
     */
    DistArray(Layout layout, JavaRDD<Block> rdd) {
        this(DistNode.leaf(layout, rdd));
    }

    /** Wraps blocks laid out as {@code layout} holding values of {@code dtype} (float32: floats, in float32 blocks). */
    DistArray(Layout layout, JavaRDD<Block> rdd, DType dtype) {
        this(DistNode.leaf(layout, rdd), dtype);
    }

    /** A float64 array whose blocks {@code node} describes. */
    DistArray(DistNode node) {
        this(node, DType.FLOAT64);
    }

    /** An array of {@code dtype} whose blocks {@code node} describes (for float32, they hold floats). */
    DistArray(DistNode node, DType dtype) {
        super(node.layout.shape(), dtype);
        this.layout = node.layout;
        this.node = node;
    }

    /** Returns how the array is split into blocks. */
    public Layout layout() {
        return layout;
    }

    /** Returns the blocks, one per partition, in row order (building their RDD if an op has not yet). */
    public JavaRDD<Block> rdd() {
        return node.rdd();
    }

    /** Returns the node of the deferred graph that makes the blocks. */
    DistNode node() {
        return node;
    }

    /** Returns the number of blocks (and of partitions) the rows are split into. */
    public int numBlocks() {
        return layout.numBlocks();
    }

    @Override
    public Backend backend() {
        return DistBackend.INSTANCE;
    }

    @Override
    public boolean isDistributed() {
        return true;
    }

    /**
     * Keeps {@code grad} on the non-zeros of this array's sparse blocks: a gradient with respect to
     * sparse data keeps its pattern (PyTorch's {@code sparse_mask}); a dense block keeps the whole
     * gradient. The projection runs with the gradient's last step, block by block.
     */
    @Override
    public NDArray keptGradient(NDArray grad) {
        return ndim() == 2 && layout.axis() == 0 ? DistBackend.onPattern(this, grad) : grad;
    }

    /**
     * Collects the values into this JVM; refused above {@link Dist#maxLocalBytes()} (1 GiB unless
     * changed) so that a mistaken call cannot take the driver down.
     */
    @Override
    public NDArray toLocal() {
        Shape.toInt("toLocal", shape); // before any job: a local array holds at most 2^31 - 1 elements
        long bytes = 8L * Shape.size(shape); // a local array holds doubles, whatever its type
        if (bytes > Dist.maxLocalBytes()) {
            throw new IllegalStateException("toLocal: a distributed array of shape " + Shape.str(shape) + " holds "
                + bytes + " bytes, above the limit of " + Dist.maxLocalBytes() + " bytes; reduce it first, or raise "
                + "the limit with Dist.setMaxLocalBytes");
        }
        DistBackend.checkContext("toLocal", this);
        List<Block> parts = Jobs.run("collect " + Shape.str(shape), node.movements(),
            () -> rdd().mapPartitions(FaultInjector::checked, true).collect());
        if (layout.axis() != 0) {
            NDArray[] blocks = parts.stream().map(Block::array).toArray(NDArray[]::new);
            NDArray joined = blocks.length == 1 ? blocks[0] : LocalBackend.INSTANCE.concat(blocks, layout.axis());
            return LocalArray.wrap(((LocalArray) joined).intShape(), ((LocalArray) joined).data(), dtype());
        }
        double[] data = new double[(int) Shape.size(layout.shape())];
        int pos = 0;
        for (Block b : parts) {
            int n = b.rows() * b.width();
            b.widenRows(0, b.rows(), data, pos);
            pos += n;
        }
        return LocalArray.wrap(Shape.toInt("toLocal", layout.shape()), data, dtype());
    }

    @Override
    public double[] toArray() {
        return ((LocalArray) toLocal()).data();
    }

    @Override
    public void assign(NDArray value) {
        if (Autograd.isRecording() && requiresGrad()) {
            throw new IllegalStateException("assign: cannot overwrite an array that requires a gradient while recording; "
                + "update variables outside Autograd.record()");
        }
        NDArray given = value;
        if (value instanceof DistArray && ((DistArray) value).layout.axis() != layout.axis()
            && Arrays.equals(value.shape(), shape)) {
            given = value.toLocal(); // split along another axis: collected, then split like this array
        }
        if (dtype() == DType.FLOAT32 && given.dtype() != DType.FLOAT32) {
            given = given.astype(DType.FLOAT32); // numpy's x[:] = v casts v to x's type
        }
        DistArray v = given instanceof DistArray ? (DistArray) given : (DistArray) given.broadcastLike(this);
        if (v.layout.axis() == layout.axis() && v.layout.rows() == layout.rows()) {
            v = DistBackend.reblock(v, layout); // the same rows in other blocks: moved into these
        }
        if (v.layout.axis() != layout.axis() || !v.layout.sameRows(layout) || !Arrays.equals(v.shape, shape)) {
            throw new IllegalArgumentException("assign: value of shape " + Shape.str(value.shape()) + " (" + v.layout
                + ") does not match the distributed array of shape " + Shape.str(shape) + " (" + layout + ")");
        }
        // Compute and cache the new blocks before the old ones are dropped: the new lineage may
        // read them (a gradient accumulated with GradReq.ADD).
        String moves = v.node().movements();
        JavaRDD<Block> fresh = v.rdd().persist(StorageLevel.MEMORY_AND_DISK());
        // Each assign's lineage reads the blocks it replaced: a parameter updated step after step
        // (or a gradient accumulated) would keep every earlier step's lineage and broadcasts. Every
        // Settings.checkpointInterval() assigns, with a checkpoint directory set, the new blocks are
        // also written there, which cuts the lineage (and a lost block is read back, not recomputed).
        int interval = Dist.settings().checkpointInterval();
        boolean checkpoint = interval > 0 && ++sinceCheckpoint >= interval && fresh.context().getCheckpointDir().isDefined();
        if (checkpoint) {
            fresh.checkpoint();
            sinceCheckpoint = 0;
        }
        Jobs.run((checkpoint ? "materialise and checkpoint " : "materialise ") + Shape.str(shape), moves, fresh::count);
        DistNode old = node;
        boolean oldOurs = ownsBlocks || cachedForBackward;
        node = DistNode.leaf(layout, fresh);
        ownsBlocks = true;
        cachedForBackward = false;
        version++;
        if (oldOurs && old.builtRdd() != fresh) {
            Aggregations.runIfReading(old); // a pending loss of the old values: from the cached blocks, while they are
            old.unpersist();
        }
    }

    @Override
    public int version() {
        return version;
    }

    /** Caches the blocks because a backward pass will read them again (idempotent). */
    void persistForBackward() {
        if (node.persist()) {
            cachedForBackward = true;
        }
    }

    /**
     * Drops what this array cached for backward and the executors' copies of the broadcasts its op
     * shipped. The values can still be recomputed: an unpersisted broadcast is fetched again from
     * the driver when a task needs it. A pending result that reads the cached blocks (the loss,
     * when it is read after backward) is computed first, from them: it would be computed anyway,
     * and later it would redo the work that made the blocks (a shuffle's reading side).
     */
    @Override
    public void onGraphFreed() {
        if (cachedForBackward) {
            if (node.builtRdd() != null) {
                Aggregations.runIfReading(node);
            }
            node.unpersist();
            cachedForBackward = false;
        }
        node.releaseBroadcasts();
    }

    @Override
    public NDArray detach() {
        return new DistArray(node, dtype());
    }

    /** Prints the values like a local array when they are small enough to collect. */
    @Override
    public String toString() {
        if (Shape.size(shape) <= 1_000_000) {
            return Format.array(Shape.toInt("toString", shape), toArray(), dtype());
        }
        return "DistArray(shape=" + Shape.str(shape) + ", " + layout + ")";
    }

    /**
     * Returns the values as a DataFrame of double columns, one row per row of this 1-D or 2-D
     * array, in row order and one partition per block; the columns are named {@code names}, or
     * {@code c0, c1, ...} when none are given.
     */
    public Dataset<Row> toDataFrame(String... names) {
        return DataIO.toDataFrame(this, names);
    }

    /**
     * Writes the values to a new Parquet directory at {@code path} (columns {@code c0, c1, ...}),
     * one file per block; {@link Dist#readParquet} reads them back in row order.
     */
    public void writeParquet(String path) {
        DataIO.writeParquet(this, path);
    }
}
