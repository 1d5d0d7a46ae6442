package io.sparkgrad.dist;

import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockProgram;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.Zips;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.RDDBlockId;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles the reductions of an aggregation job into one {@link BlockProgram} per block. Every
 * row-local op on distributed arrays is a node of the deferred graph ({@link DistNode}), which
 * becomes an RDD only if Spark is asked for its blocks; when an aggregation job runs, the nodes
 * between the job's reductions and its <em>leaves</em> (blocks that are cached, or that a node no
 * program can compute chunk by chunk makes) become the steps of a program that each task
 * runs over its block a chunk of rows at a time. The forward and backward ops of a loss then read
 * each cached block once, in one task, with no intermediate array the size of a block.
 *
 * <p>Blocks that are persisted and already in memory are a leaf: they are read, not recomputed.
 * Blocks marked for persisting but not computed yet are computed inside the program, as their
 * chunks are needed.
 */
final class Programs {
    private Programs() {}

    /**
     * Returns one RDD of per-block partial tuples (the partial of each of {@code partials}, in
     * order) computed by a block program over their common leaves, or null when a partial is not
     * one a program computes, or needs whole blocks (the caller then zips the partials' own RDDs). The program's large local
     * operands become broadcasts of {@code broadcasts}, the job's scope.
     */
    static JavaRDD<Block[]> compile(List<DistNode> partials, Broadcasts.Scope broadcasts) {
        Compiler c = new Compiler(broadcasts);
        int[] outputs = new int[partials.size()];
        for (int k = 0; k < partials.size(); k++) {
            DistNode p = partials.get(k);
            if (!p.isPartial() || !p.chunkable) {
                return null; // a partial that needs whole blocks: the blocks' own RDDs
            }
            outputs[k] = c.visit(p);
        }
        // sources alone (a fill, a broadcast local array): the program runs over blocks of no
        // columns, which say how many rows each block has
        JavaRDD<Block[]> zipped = c.leaves.isEmpty() ? rowsOnly(partials.get(0)).rdd().mapPartitions(Zips.single(), true)
            : DistNode.zip(c.leaves);
        BlockProgram program = new BlockProgram(c.steps.toArray(new BlockProgram.Step[0]), outputs, Dist.programChunkRows(),
            Dist.programChunkBytes());
        return zipped.mapPartitions(program, true);
    }

    /** Blocks of rows of no values, laid out as {@code n}'s rows: what a program of sources alone runs over. */
    private static DistNode rowsOnly(DistNode n) {
        Layout layout = n.layout.along(0, new int[] {0});
        BlockProgram.Kernel k = new BlockProgram.Kernel(BlockProgram.Kind.SOURCE, null, Generators.fill(0), new Object[0],
            new int[] {0}, 0, null);
        return DistNode.source(n.sc, layout, k, false);
    }

    /** Walks from the partials to the leaves, numbering steps after the steps they read. */
    private static final class Compiler {
        final List<DistNode> leaves = new ArrayList<>();
        final List<BlockProgram.Step> steps = new ArrayList<>();
        final Map<DistNode, Integer> refs = new IdentityHashMap<>();
        final Broadcasts.Scope broadcasts;

        Compiler(Broadcasts.Scope broadcasts) {
            this.broadcasts = broadcasts;
        }

        int visit(DistNode n) {
            Integer known = refs.get(n);
            if (known != null) {
                return known;
            }
            int ref;
            if (n.kernel == null || !n.chunkable || isInMemory(n.builtRdd())) {
                leaves.add(n);
                ref = -leaves.size(); // leaf k is -1 - k
            } else {
                int[] args = new int[n.inputs.size()];
                for (int i = 0; i < args.length; i++) {
                    args[i] = visit(n.inputs.get(i));
                }
                steps.add(new BlockProgram.Step(broadcasts.ship(n.kernel), args));
                ref = steps.size() - 1;
            }
            refs.put(n, ref);
            return ref;
        }
    }

    /** True if {@code r} exists, is persisted and its first block is stored: reading it beats computing it. */
    private static boolean isInMemory(JavaRDD<Block> r) {
        if (r == null || r.getStorageLevel().equals(StorageLevel.NONE())) {
            return false;
        }
        try {
            return !SparkEnv.get().blockManager().master().getLocations(new RDDBlockId(r.id(), 0)).isEmpty();
        } catch (RuntimeException e) {
            return true; // cannot tell: read it as Spark would
        }
    }
}
