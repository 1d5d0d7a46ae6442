package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.ReduceFn;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.Partials;
import io.sparkgrad.worker.Zips;
import org.apache.spark.Dependency;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.StorageLevel;

import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The reductions over the rows of distributed arrays whose results are local: a sum or max over
 * all elements or axis 0, a contraction {@code X.T().matmul(G)}. Each is <em>planned</em> where the
 * op runs, and returns a pending local array ({@link LocalArray#pending}); the planned
 * aggregations of a thread run together, in one Spark job, when the first of their values is
 * needed. A loss read after its {@code backward()} therefore costs one pass over the data for the
 * loss and every gradient of local parameters together:
 * <ul>
 *   <li>the aggregations over arrays with the same rows, and the row-local ops between them and
 *       their data, run as one block program per task ({@link Programs}): each task runs the
 *       block-local forward and backward of its block, a chunk of rows at a time;</li>
 *   <li>with block programs off ({@link Dist#setBlockPrograms}), the aggregations' own RDDs are
 *       zipped instead, and an intermediate that several of them read (the scores {@code X w}
 *       that the loss and the gradient both need) is kept in memory for the job, so each task
 *       computes it once;</li>
 *   <li>the partials are combined in block order, so results never depend on task timing:
 *       directly on the driver when they are small or few, otherwise through a tree of combining
 *       tasks whose depth is chosen from the number of blocks ({@link Dist#aggregationFanIn()}).</li>
 * </ul>
 * With {@link Dist#setFusion} off, every aggregation runs at once in its own job, as planned.
 */
final class Aggregations {
    private Aggregations() {}

    /** Planned aggregations a batch takes before it runs without waiting for a value. */
    private static final int MAX_BATCH = 256;

    /** One planned aggregation: the partial of every block, and how partials combine. */
    private static final class Member {
        final Activity activity;
        final DistNode partials;
        final int[] shape;
        double[] value;

        Member(Activity activity, DistNode partials, int[] shape) {
            this.activity = activity;
            this.partials = partials;
            this.shape = shape;
        }

        Layout layout() {
            return partials.layout;
        }

        ReduceFn combine() {
            return partials.kernel.combine();
        }
    }

    /**
     * The aggregations planned on one thread since its last job; they run together. A member is
     * held weakly: only its pending value (and values computed from it) keep it, so an aggregation
     * nobody can read any more is dropped rather than computed, and its blocks can be released.
     */
    private static final class Batch {
        private final List<WeakReference<Member>> members = new ArrayList<>();
        volatile boolean closed; // no member joins once it has started to run
        RuntimeException failure;

        /** Adds {@code m} unless the batch has started to run (on another thread, say): then false. */
        synchronized boolean add(Member m) {
            if (closed) {
                return false;
            }
            members.removeIf(r -> r.get() == null);
            members.add(new WeakReference<>(m));
            return true;
        }

        synchronized int size() {
            return members.size();
        }

        synchronized double[] valueOf(Member m) {
            if (!closed) {
                run();
            }
            if (failure != null) {
                throw failure;
            }
            return m.value;
        }

        synchronized void run() {
            closed = true;
            if (OPEN.get() == this) {
                OPEN.remove();
            }
            List<Member> live = new ArrayList<>();
            for (WeakReference<Member> r : members) {
                Member m = r.get();
                if (m != null) {
                    live.add(m);
                }
            }
            members.clear();
            try {
                if (!live.isEmpty()) {
                    runJob(live);
                }
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            }
        }
    }

    private static final ThreadLocal<Batch> OPEN = new ThreadLocal<>();

    /**
     * Plans an aggregation of {@code partials} (one per block, combined as their kernel says) into
     * an array of {@code shape}; returns its value, pending when fusion is on. {@code op} names it
     * when it runs outside any op of the tape.
     */
    static NDArray plan(String op, DistNode partials, int[] shape) {
        Activity activity = Autograd.activity();
        Member m = new Member(activity != null ? activity : new Activity(Activity.Phase.FORWARD, op, 0, -1), partials,
            shape);
        if (!Dist.fusion()) {
            Batch alone = new Batch();
            alone.add(m);
            return LocalArray.wrap(shape, alone.valueOf(m));
        }
        Batch b = OPEN.get();
        if (b == null || !b.add(m)) {
            b = new Batch();
            b.add(m);
            OPEN.set(b);
        }
        Batch batch = b;
        if (b.size() >= MAX_BATCH) {
            b.run();
        }
        return LocalArray.pending(shape, () -> batch.valueOf(m));
    }

    /**
     * Runs this thread's planned aggregations now if one of them reads the blocks of {@code node}
     * (which are about to be dropped from Spark's cache: a variable was assigned). Computed later,
     * they would be right too, but from the lineage of blocks no longer cached, which for a
     * parameter updated step after step goes back to its first value.
     */
    static void runIfReading(DistNode node) {
        Batch b = OPEN.get();
        if (b == null) {
            return;
        }
        List<DistNode> roots = new ArrayList<>();
        synchronized (b) {
            for (WeakReference<Member> r : b.members) {
                Member m = r.get();
                if (m != null) {
                    roots.add(m.partials);
                }
            }
        }
        if (DistNode.reaches(roots, node)) {
            b.run();
        }
    }

    // ------------------------------------------------------------------ the job

    private static void runJob(List<Member> members) {
        for (Member m : members) {
            if (m.partials.sc.isStopped()) {
                throw new IllegalStateException(describe(members) + ": the SparkContext of these pending results was "
                    + "stopped before they were computed; their blocks are gone: compute them again on the current session");
            }
        }
        // Members over the same rows are zipped into one RDD of partial tuples; groups with
        // different rows (rare) are unioned, so the job is one however many there are.
        List<List<Member>> groups = new ArrayList<>();
        for (Member m : members) {
            List<Member> g = groups.stream().filter(x -> x.get(0).layout().sameRows(m.layout())).findFirst().orElse(null);
            if (g == null) {
                g = new ArrayList<>();
                groups.add(g);
            }
            g.add(m);
        }
        String moves = movements(members);
        // the block programs' broadcasts serve this job only: destroyed when it ends
        try (Broadcasts.Scope broadcasts = new Broadcasts.Scope(members.get(0).partials.sc)) {
            runJob(members, groups, moves, broadcasts);
        }
    }

    private static void runJob(List<Member> members, List<List<Member>> groups, String moves,
                               Broadcasts.Scope broadcasts) {
        List<JavaRDD<Block[]>> parts = new ArrayList<>();
        List<Integer> tuplesPerGroup = new ArrayList<>();
        for (List<Member> g : groups) {
            JavaRDD<Block[]> z = Dist.blockPrograms() ? Programs.compile(partialsOf(g), broadcasts) : null;
            if (z == null) {
                z = g.get(0).partials.rdd().mapPartitions(Zips.single(), true);
                for (int k = 1; k < g.size(); k++) {
                    z = z.zipPartitions(g.get(k).partials.rdd(), Zips.appendPartial());
                }
            }
            z = tree(z, fns(g), g.stream().mapToLong(m -> 8L * Shape.size(m.shape)).sum());
            tuplesPerGroup.add(z.getNumPartitions());
            parts.add(z);
        }
        JavaRDD<Block[]> job = DistNode.concatenated(parts);
        List<RDD<?>> shared = persistShared(job.rdd());
        try {
            List<Block[]> tuples = Jobs.runAs(activities(members), moves, job::collect);
            int pos = 0;
            for (int gi = 0; gi < groups.size(); gi++) {
                List<Member> g = groups.get(gi);
                int n = tuplesPerGroup.get(gi);
                if (pos + n > tuples.size()) {
                    throw new IllegalStateException("internal: aggregation job returned " + tuples.size() + " partials");
                }
                ReduceFn[] fns = fns(g);
                Block[] acc = Partials.copy(tuples.get(pos));
                for (int k = 1; k < n; k++) {
                    Partials.add(acc, tuples.get(pos + k), fns);
                }
                pos += n;
                for (int k = 0; k < g.size(); k++) {
                    Member m = g.get(k);
                    if (Shape.size(m.shape) != acc[k].dataRef().length) {
                        throw new IllegalStateException("internal: aggregation of shape " + Shape.str(m.shape)
                            + " combined " + acc[k].dataRef().length + " values");
                    }
                    m.value = acc[k].dataRef();
                }
            }
        } finally {
            shared.forEach(r -> r.unpersist(false));
        }
    }

    private static List<DistNode> partialsOf(List<Member> g) {
        List<DistNode> out = new ArrayList<>(g.size());
        g.forEach(m -> out.add(m.partials));
        return out;
    }

    private static ReduceFn[] fns(List<Member> g) {
        return g.stream().map(Member::combine).toArray(ReduceFn[]::new);
    }

    /**
     * Combines the partial tuples ({@code tupleBytes} each) through levels of combining tasks until
     * at most {@link Dist#aggregationFanIn()} remain for the driver: the depth is the least that
     * keeps every combine within the fan-in, and each level groups equal runs of consecutive
     * blocks. Up to {@link Dist#treeAggregationBytes()} in all, the driver takes them directly.
     */
    private static JavaRDD<Block[]> tree(JavaRDD<Block[]> tuples, ReduceFn[] fns, long tupleBytes) {
        int fanIn = Dist.aggregationFanIn();
        int p = tuples.getNumPartitions();
        if ((double) p * tupleBytes <= Dist.treeAggregationBytes()) {
            return tuples;
        }
        int depth = 1;
        for (double reach = fanIn; reach < p; reach *= fanIn) {
            depth++;
        }
        for (int level = depth; level > 1; level--) {
            int group = Math.max(2, (int) Math.ceil(Math.pow(p, 1.0 / level) - 1e-9));
            int groups = (p + group - 1) / group;
            tuples = tuples.mapPartitionsToPair(Partials.keyByGroup(group), false)
                .partitionBy(new IndexPartitioner(groups))
                .mapPartitions(Partials.combineGroup(fns), false);
            p = groups;
        }
        return tuples;
    }

    /**
     * Keeps in memory, for one job, every uncached RDD that two or more RDDs of the job's lineage
     * read: each task then computes it once, not once per reader.
     * Returns the RDDs to release after the job.
     */
    private static List<RDD<?>> persistShared(RDD<?> job) {
        Map<Integer, Integer> readers = new HashMap<>();
        Map<Integer, RDD<?>> byId = new HashMap<>();
        Deque<RDD<?>> todo = new ArrayDeque<>();
        todo.push(job);
        while (!todo.isEmpty()) {
            RDD<?> r = todo.pop();
            for (Dependency<?> d : scala.jdk.javaapi.CollectionConverters.asJava(r.dependencies())) {
                RDD<?> parent = d.rdd();
                int id = parent.id();
                if (readers.merge(id, 1, Integer::sum) == 1) {
                    byId.put(id, parent);
                    if (parent.getStorageLevel().equals(StorageLevel.NONE())) {
                        todo.push(parent); // a cached RDD is read, not recomputed: its lineage does not matter
                    }
                }
            }
        }
        List<RDD<?>> persisted = new ArrayList<>();
        readers.forEach((id, n) -> {
            RDD<?> r = byId.get(id);
            if (n >= 2 && r.getStorageLevel().equals(StorageLevel.NONE())) {
                r.persist(StorageLevel.MEMORY_ONLY());
                persisted.add(r);
            }
        });
        return persisted;
    }

    /** What the members' blocks move between executors before they are reduced, or null. */
    private static String movements(List<Member> members) {
        java.util.Set<String> all = new java.util.LinkedHashSet<>();
        for (Member m : members) {
            String s = m.partials.movements();
            if (s != null) {
                all.add(s);
            }
        }
        return all.isEmpty() ? null : String.join(", ", all);
    }

    private static List<Activity> activities(List<Member> members) {
        List<Activity> out = new ArrayList<>(members.size());
        members.forEach(m -> out.add(m.activity));
        return out;
    }

    /** Names the pending results of {@code members} for an error message. */
    private static String describe(List<Member> members) {
        return Jobs.describe(activities(members));
    }
}
