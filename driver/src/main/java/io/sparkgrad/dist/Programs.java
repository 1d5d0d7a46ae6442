package io.sparkgrad.dist;

import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.BlockFn;
import io.sparkgrad.worker.BlockProgram;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.Zips;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.RDDBlockId;
import org.apache.spark.storage.StorageLevel;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Compiles the reductions of an aggregation job into one {@link BlockProgram} per block. Every
 * row-local op on distributed arrays records here what its RDD computes from its operands' RDDs;
 * when a job runs, the ops between the job's reductions and its <em>leaves</em> (blocks that are
 * cached, or that an op which is not row-local makes) become the steps of a program that each task
 * runs over its block a chunk of rows at a time. The forward and backward ops of a loss then read
 * each cached block once, in one task, with no intermediate array the size of a block.
 *
 * <p>An RDD that is persisted and already in memory stays a leaf: its blocks are read, not
 * recomputed. One that is persisted but not computed yet is computed inside the program, as its
 * chunks are needed.
 */
final class Programs {
    private Programs() {}

    /** What an op's RDD computes from its operands' RDDs, chunk by chunk. */
    private static final class Op {
        final BlockProgram.Kind kind;
        final BlockFn fn;
        final Generators.BlockGen gen;
        // weakly: an op's RDD holds its operands through its lineage, and a strong reference from
        // this map would keep blocks cached for a dropped tape from ever being released
        final List<WeakReference<RDD<Block>>> inputs;
        final Object[] shipped;
        final int[] rowShape;
        final ReduceFn combine;

        Op(BlockProgram.Kind kind, BlockFn fn, Generators.BlockGen gen, List<WeakReference<RDD<Block>>> inputs, Object[] shipped,
           int[] rowShape, ReduceFn combine) {
            this.kind = kind;
            this.fn = fn;
            this.gen = gen;
            this.inputs = inputs;
            this.shipped = shipped;
            this.rowShape = rowShape;
            this.combine = combine;
        }
    }

    private static final scala.reflect.ClassTag<Block> BLOCK = scala.reflect.ClassTag$.MODULE$.apply(Block.class);

    // Held weakly by RDD: an op nobody can reach any more is forgotten with its RDD.
    private static final Map<RDD<?>, Op> OPS = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * Records that {@code out} applies {@code fn} to the same rows of {@code inputs} (with the local
     * operands {@code shipped}); its rows have shape {@code rowShape}, or, for the partial of a
     * reduction over rows ({@code combine} not null), the partial has shape {@code rowShape}.
     */
    static void rowwise(JavaRDD<Block> out, BlockProgram.Kind kind, BlockFn fn, List<DistArray> inputs,
                        Object[] shipped, int[] rowShape, ReduceFn combine) {
        List<WeakReference<RDD<Block>>> in = new ArrayList<>(inputs.size());
        inputs.forEach(d -> in.add(new WeakReference<>(d.rdd().rdd())));
        OPS.put(out.rdd(), new Op(kind, fn, null, in, shipped, rowShape, combine));
    }

    /** Records that {@code out}'s blocks are {@code gen}'s values, which depend on the number of rows only. */
    static void source(JavaRDD<Block> out, Generators.BlockGen gen, int[] rowShape) {
        OPS.put(out.rdd(), new Op(BlockProgram.Kind.SOURCE, null, gen, List.of(), new Object[0], rowShape, null));
    }

    /**
     * Returns one RDD of per-block partial tuples (the partial of each of {@code partials}, in
     * order) computed by a block program over their common leaves, or null when one of them was
     * not made by a recorded op (the caller then zips the partials' own RDDs).
     */
    static JavaRDD<Block[]> compile(List<JavaRDD<Block>> partials) {
        Compiler c = new Compiler();
        int[] outputs = new int[partials.size()];
        for (int k = 0; k < partials.size(); k++) {
            Op op = OPS.get(partials.get(k).rdd());
            if (op == null || op.combine == null) {
                return null;
            }
            outputs[k] = c.visit(partials.get(k));
        }
        if (c.leaves.isEmpty()) {
            return null; // nothing to run over: the partials come from sources alone
        }
        JavaRDD<Block[]> zipped = c.leaves.get(0).mapPartitions(Zips.single(), true);
        for (int k = 1; k < c.leaves.size(); k++) {
            zipped = zipped.zipPartitions(c.leaves.get(k), Zips.append());
        }
        BlockProgram program = new BlockProgram(c.steps.toArray(new BlockProgram.Step[0]), outputs, Dist.programChunkBytes());
        return zipped.mapPartitions(program, true);
    }

    /** Walks from the partials to the leaves, numbering steps after the steps they read. */
    private static final class Compiler {
        final List<JavaRDD<Block>> leaves = new ArrayList<>();
        final List<BlockProgram.Step> steps = new ArrayList<>();
        final Map<RDD<?>, Integer> refs = new IdentityHashMap<>();

        int visit(JavaRDD<Block> j) {
            RDD<?> r = j.rdd();
            Integer known = refs.get(r);
            if (known != null) {
                return known;
            }
            Op op = OPS.get(r);
            int ref;
            if (op == null || isInMemory(r)) {
                leaves.add(j);
                ref = -leaves.size(); // leaf k is -1 - k
            } else {
                int[] args = new int[op.inputs.size()];
                for (int i = 0; i < args.length; i++) {
                    RDD<Block> in = op.inputs.get(i).get();
                    if (in == null) { // cannot happen while r is reachable: its lineage holds its operands
                        throw new IllegalStateException("internal: an operand of a live RDD was collected");
                    }
                    args[i] = visit(JavaRDD.fromRDD(in, BLOCK));
                }
                steps.add(new BlockProgram.Step(op.kind, op.fn, op.gen, args, op.shipped, op.rowShape, op.combine));
                ref = steps.size() - 1;
            }
            refs.put(r, ref);
            return ref;
        }
    }

    /** True if {@code r} is persisted and its first block is stored: reading it beats computing it. */
    private static boolean isInMemory(RDD<?> r) {
        if (r.getStorageLevel().equals(StorageLevel.NONE())) {
            return false;
        }
        try {
            return !SparkEnv.get().blockManager().master().getLocations(new RDDBlockId(r.id(), 0)).isEmpty();
        } catch (RuntimeException e) {
            return true; // cannot tell: read it as Spark would
        }
    }
}
