package io.sparkgrad.dist;

import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockFn;
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
 * row-local op on distributed arrays is an {@link Op} on its operands' blocks
 * ({@link DistArray.Blocks}), which becomes an RDD only if Spark is asked for those blocks; when an
 * aggregation job runs, the ops between the job's reductions and its <em>leaves</em> (blocks that are
 * cached, or that an op which is not row-local makes) become the steps of a program that each task
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
     * What a row-local op computes from its operands' blocks, chunk by chunk: its kernel, and the
     * blocks of its distributed operands.
     */
    record Op(BlockProgram.Kernel kernel, List<DistArray.Blocks> inputs) {
        /**
         * {@code fn} applied to the same rows of {@code inputs} (with the local operands
         * {@code shipped}); its rows have shape {@code rowShape}, or, for the partial of a
         * reduction over rows ({@code combine} not null), the partial has shape {@code rowShape}.
         */
        static Op rowwise(BlockProgram.Kind kind, BlockFn fn, List<DistArray> inputs, Object[] shipped, int[] rowShape,
                          ReduceFn combine) {
            List<DistArray.Blocks> in = new ArrayList<>(inputs.size());
            inputs.forEach(d -> in.add(d.blocks()));
            return new Op(new BlockProgram.Kernel(kind, fn, null, shipped, rowShape, combine), in);
        }

        /** {@code gen}'s values, which depend on the number of rows only. */
        static Op source(Generators.BlockGen gen, int[] rowShape) {
            return new Op(new BlockProgram.Kernel(BlockProgram.Kind.SOURCE, null, gen, new Object[0], rowShape, null),
                List.of());
        }
    }

    /**
     * Returns one RDD of per-block partial tuples (the partial of each of {@code partials}, in
     * order) computed by a block program over their common leaves, or null when there is no leaf
     * to run over (the caller then zips the partials' own RDDs).
     */
    static JavaRDD<Block[]> compile(List<DistArray.Blocks> partials) {
        Compiler c = new Compiler();
        int[] outputs = new int[partials.size()];
        for (int k = 0; k < partials.size(); k++) {
            DistArray.Blocks p = partials.get(k);
            if (p.op == null || p.op.kernel().combine() == null) {
                return null;
            }
            outputs[k] = c.visit(p);
        }
        if (c.leaves.isEmpty()) {
            return null; // nothing to run over: the partials come from sources alone
        }
        JavaRDD<Block[]> zipped = c.leaves.get(0).rdd().mapPartitions(Zips.single(), true);
        for (int k = 1; k < c.leaves.size(); k++) {
            zipped = zipped.zipPartitions(c.leaves.get(k).rdd(), Zips.append());
        }
        BlockProgram program = new BlockProgram(c.steps.toArray(new BlockProgram.Step[0]), outputs, Dist.programChunkBytes());
        return zipped.mapPartitions(program, true);
    }

    /** Walks from the partials to the leaves, numbering steps after the steps they read. */
    private static final class Compiler {
        final List<DistArray.Blocks> leaves = new ArrayList<>();
        final List<BlockProgram.Step> steps = new ArrayList<>();
        final Map<DistArray.Blocks, Integer> refs = new IdentityHashMap<>();

        int visit(DistArray.Blocks b) {
            Integer known = refs.get(b);
            if (known != null) {
                return known;
            }
            Op op = b.op;
            int ref;
            if (op == null || isInMemory(b.builtRdd())) {
                leaves.add(b);
                ref = -leaves.size(); // leaf k is -1 - k
            } else {
                int[] args = new int[op.inputs().size()];
                for (int i = 0; i < args.length; i++) {
                    args[i] = visit(op.inputs().get(i));
                }
                steps.add(new BlockProgram.Step(op.kernel(), args));
                ref = steps.size() - 1;
            }
            refs.put(b, ref);
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
