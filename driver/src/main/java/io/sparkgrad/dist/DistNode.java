package io.sparkgrad.dist;

import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockProgram;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.PartitionFn;
import io.sparkgrad.worker.Zips;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.rdd.UnionRDD;
import org.apache.spark.storage.StorageLevel;
import scala.jdk.javaapi.CollectionConverters;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * One value of the deferred graph of distributed work: the blocks of a distributed array, one per
 * partition of its {@link Layout}, or the per-block partials of a reduction over its rows. A node
 * is a <em>leaf</em> (an RDD that Spark already has: data read or cached) or a block kernel
 * applied to the blocks of its input nodes, with local operands shipped beside it
 * ({@link BlockProgram.Kernel}). Nodes never change; a distributed array that is assigned gets a
 * new node.
 *
 * <p>Nothing runs when a node is made. Spark sees a node only when it must: its RDD is built
 * from the kernel on first request ({@link #rdd()}: {@code toLocal}, {@code Dist.cache}, an input
 * of a node that a block program cannot compute), while an aggregation job compiles the nodes
 * between its reductions and their leaves into one block program per task instead ({@link Programs}),
 * so the nodes of a training step usually never become RDDs.
 */
final class DistNode {
    final SparkContext sc;
    final Layout layout;
    /** Null for a leaf. */
    final BlockProgram.Kernel kernel;
    final List<DistNode> inputs;
    /**
     * True when a block program can compute this node a chunk of rows at a time from its inputs'
     * chunks: a kernel whose block {@code i} holds the rows of its inputs' block {@code i}, or a
     * source whose values depend on the number of rows only. A node that moves rows between
     * blocks (a row slice) or generates values per block (random samples) is a leaf of programs.
     */
    final boolean chunkable;
    /** For a node that moves rows between blocks (a shuffle), how its RDD is made from its input's; else null. */
    final Movement movement;
    /**
     * For a transpose, the node it transposes and the permutation (planning uses them: a transpose
     * of a transpose is the original, and {@code X.T().matmul(G)} reads the blocks of {@code X});
     * else null.
     */
    final DistNode transposed;
    final int[] transposePerm;
    private JavaRDD<Block> rdd;
    private boolean persistWhenBuilt;
    // the broadcasts of the RDD's local operands: they live as long as the RDD may be recomputed
    private Broadcasts.Scope broadcasts;

    /** Rows moved between blocks: a shuffle whose RDD is made from the input node's RDD. */
    interface Movement {
        /** The RDD of the moved blocks, from the RDDs of the node's inputs. */
        JavaRDD<Block> apply(List<JavaRDD<Block>> inputs);

        /**
         * What moves between executors, for job descriptions ({@code re-block (200 -> 3 blocks)}),
         * or null when nothing does (blocks renumbered or picked, not shuffled).
         */
        String describe();
    }

    private DistNode(SparkContext sc, Layout layout, BlockProgram.Kernel kernel, List<DistNode> inputs,
                     boolean chunkable, Movement movement, JavaRDD<Block> rdd) {
        this(sc, layout, kernel, inputs, chunkable, movement, rdd, null, null);
    }

    private DistNode(SparkContext sc, Layout layout, BlockProgram.Kernel kernel, List<DistNode> inputs,
                     boolean chunkable, Movement movement, JavaRDD<Block> rdd, DistNode transposed, int[] transposePerm) {
        this.sc = sc;
        this.layout = layout;
        this.kernel = kernel;
        this.inputs = inputs;
        this.chunkable = chunkable;
        this.movement = movement;
        this.rdd = rdd;
        this.transposed = transposed;
        this.transposePerm = transposePerm;
    }

    /** A leaf: blocks Spark already has, one per partition of {@code layout}. */
    static DistNode leaf(Layout layout, JavaRDD<Block> rdd) {
        return new DistNode(rdd.context(), layout, null, List.of(), false, null, checked(layout, rdd));
    }

    /** {@code kernel} applied to the blocks of {@code inputs} (same partitions), block {@code i} to block {@code i}. */
    static DistNode of(Layout layout, BlockProgram.Kernel kernel, List<DistNode> inputs, boolean chunkable) {
        return new DistNode(inputs.get(0).sc, layout, kernel, List.copyOf(inputs), chunkable, null, null);
    }

    /** {@code kernel}, a transpose by {@code perm}, applied to the blocks of {@code input}. */
    static DistNode transpose(Layout layout, BlockProgram.Kernel kernel, DistNode input, int[] perm) {
        return new DistNode(input.sc, layout, kernel, List.of(input), true, null, null, input, perm.clone());
    }

    /** Blocks made from the layout alone by {@code kernel}'s generator. */
    static DistNode source(SparkContext sc, Layout layout, BlockProgram.Kernel kernel, boolean chunkable) {
        return new DistNode(sc, layout, kernel, List.of(), chunkable, null, null);
    }

    /** The rows of {@code input} moved into the blocks of {@code layout} by {@code movement}. */
    static DistNode moved(Layout layout, Movement movement, DistNode input) {
        return moved(layout, movement, List.of(input));
    }

    /** The blocks of {@code inputs} moved into the blocks of {@code layout} by {@code movement}. */
    static DistNode moved(Layout layout, Movement movement, List<DistNode> inputs) {
        return new DistNode(inputs.get(0).sc, layout, null, List.copyOf(inputs), false, movement, null);
    }

    /** True when the node is data Spark holds (no kernel and no movement make it). */
    boolean isLeaf() {
        return kernel == null && movement == null;
    }

    /**
     * Describes the rows that making these blocks would move between executors (the movements
     * between this node and the blocks Spark already holds), or returns null when none move.
     */
    String movements() {
        java.util.Set<String> found = new java.util.LinkedHashSet<>();
        java.util.ArrayDeque<DistNode> todo = new java.util.ArrayDeque<>();
        java.util.Set<DistNode> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        todo.push(this);
        while (!todo.isEmpty()) {
            DistNode n = todo.pop();
            if (!seen.add(n) || n.isStored()) {
                continue;
            }
            if (n.movement != null && n.movement.describe() != null) {
                found.add(n.movement.describe());
            }
            n.inputs.forEach(todo::push);
        }
        return found.isEmpty() ? null : String.join(", ", found);
    }

    /** True when {@code target} is one of {@code roots} or an input of theirs, directly or not. */
    static boolean reaches(List<DistNode> roots, DistNode target) {
        java.util.ArrayDeque<DistNode> todo = new java.util.ArrayDeque<>(roots);
        java.util.Set<DistNode> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        while (!todo.isEmpty()) {
            DistNode n = todo.pop();
            if (n == target) {
                return true;
            }
            if (seen.add(n)) {
                n.inputs.forEach(todo::push);
            }
        }
        return false;
    }

    /** True when the blocks exist in Spark's storage (cached) or are data Spark reads itself. */
    private synchronized boolean isStored() {
        return rdd != null && (isLeaf() || !rdd.getStorageLevel().equals(StorageLevel.NONE()));
    }

    private static JavaRDD<Block> checked(Layout layout, JavaRDD<Block> rdd) {
        if (rdd.getNumPartitions() != layout.numBlocks()) {
            throw new IllegalStateException("internal: RDD has " + rdd.getNumPartitions() + " partitions for " + layout);
        }
        return rdd;
    }

    /** True for the partials of a reduction over the rows (combined by the aggregation that reads them). */
    boolean isPartial() {
        return kernel != null && kernel.combine() != null;
    }

    /** Returns the blocks as an RDD, building it from the kernel on the first call. */
    synchronized JavaRDD<Block> rdd() {
        if (rdd == null) {
            JavaRDD<Block> r = checked(layout, build());
            if (persistWhenBuilt) {
                r.persist(StorageLevel.MEMORY_AND_DISK());
            }
            rdd = r;
        }
        return rdd;
    }

    /** The RDD if it has been built, else null. */
    synchronized JavaRDD<Block> builtRdd() {
        return rdd;
    }

    private JavaRDD<Block> build() {
        if (movement != null) {
            List<JavaRDD<Block>> in = new java.util.ArrayList<>(inputs.size());
            inputs.forEach(n -> in.add(n.rdd()));
            return movement.apply(in);
        }
        broadcasts = new Broadcasts.Scope(sc);
        BlockProgram.Kernel k = broadcasts.ship(kernel);
        if (k.kind() == BlockProgram.Kind.SOURCE) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
            int n = layout.numBlocks();
            List<Integer> indices = IntStream.range(0, n).boxed().collect(Collectors.toList());
            return jsc.parallelize(indices, n).map(Generators.generate(layout.rowStarts(), layout.rowShape(),
                layout.axis(), k.gen(), k.shipped()));
        }
        int axis = k.axis(); // the layout's, or 0 for the partials of a reduction over the blocks
        long[] starts = layout.rowStarts();
        switch (inputs.size()) {
            case 1:
                return inputs.get(0).rdd().mapPartitions(PartitionFn.ofOne(k.fn(), k.shipped(), axis, starts), true);
            case 2:
                return inputs.get(0).rdd().zipPartitions(inputs.get(1).rdd(),
                    PartitionFn.ofTwo(k.fn(), k.shipped(), axis, starts));
            default:
                return zip(inputs).mapPartitions(new PartitionFn(k.fn(), k.shipped(), axis, starts), true);
        }
    }

    /**
     * Drops the executors' copies of the broadcasts this node's RDD reads (a task that needs one
     * fetches it again), when the graph that used the node is freed.
     */
    synchronized void releaseBroadcasts() {
        if (broadcasts != null) {
            broadcasts.release();
        }
    }

    /** The blocks of {@code nodes}, partition by partition, as tuples in the nodes' order. */
    static JavaRDD<Block[]> zip(List<DistNode> nodes) {
        JavaRDD<Block[]> z = nodes.get(0).rdd().mapPartitions(Zips.single(), true);
        for (int k = 1; k < nodes.size(); k++) {
            z = z.zipPartitions(nodes.get(k).rdd(), Zips.append());
        }
        return z;
    }

    /**
     * The partitions of {@code rdds}, one RDD's after the other's. Not {@code RDD.union}: given
     * RDDs with equal partitioners it merges their partitions pairwise instead.
     */
    static <T> JavaRDD<T> concatenated(List<JavaRDD<T>> rdds) {
        if (rdds.size() == 1) {
            return rdds.get(0);
        }
        List<RDD<T>> all = new java.util.ArrayList<>(rdds.size());
        rdds.forEach(r -> all.add(r.rdd()));
        scala.reflect.ClassTag<T> tag = rdds.get(0).classTag();
        return JavaRDD.fromRDD(new UnionRDD<>(rdds.get(0).context(), CollectionConverters.asScala(all).toSeq(), tag), tag);
    }

    /** Persists the RDD now if it exists, else when it is built; false if it was persisted already. */
    synchronized boolean persist() {
        if (rdd == null) {
            boolean fresh = !persistWhenBuilt;
            persistWhenBuilt = true;
            return fresh;
        }
        if (rdd.getStorageLevel().equals(StorageLevel.NONE())) {
            rdd.persist(StorageLevel.MEMORY_AND_DISK());
            return true;
        }
        return false;
    }

    synchronized void unpersist() {
        persistWhenBuilt = false;
        if (rdd != null) {
            rdd.unpersist(false);
        }
    }
}
