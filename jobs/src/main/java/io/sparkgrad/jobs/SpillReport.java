package io.sparkgrad.jobs;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerBlockUpdated;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.storage.BlockUpdatedInfo;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * One console line per Spark job of a run whose cached blocks did not fit in memory and went to
 * disk ({@code train: job 3 spilled 12 blocks, 1.4 GiB to disk (...)}), instead of Spark's
 * warning per block, which the {@link RunLog} keeps in the log file. The jobs of the run are those
 * started by threads carrying its id as a local property, so two runs in one JVM count their own.
 */
final class SpillReport extends SparkListener implements AutoCloseable {
    static final String RUN = "sparkgrad.run";

    private final String command;
    private final PrintStream err;
    private final String id;
    private final SparkContext sc;
    private final String previous;
    // the run's jobs that are running: id -> {blocks, bytes}, and their descriptions
    private final Map<Integer, long[]> running = new LinkedHashMap<>();
    private final Map<Integer, String> names = new LinkedHashMap<>();

    private SpillReport(String command, PrintStream err, SparkContext sc, String id) {
        this.command = command;
        this.err = err;
        this.sc = sc;
        this.id = id;
        this.previous = sc == null ? null : sc.getLocalProperty(RUN);
    }

    /** Watches the jobs this thread starts on {@code sc} until closed. */
    static SpillReport watch(String command, PrintStream err, SparkContext sc) {
        SpillReport r = new SpillReport(command, err, sc, UUID.randomUUID().toString());
        sc.setLocalProperty(RUN, r.id);
        sc.addSparkListener(r);
        return r;
    }

    /** The command this thread runs, and its report once Spark is in use: see {@link #pending}. */
    private static final ThreadLocal<Object[]> PENDING = new ThreadLocal<>();

    /**
     * Makes {@link #attach} start a report for this thread's command, so that a command that fails
     * before it needs Spark (a missing file, a bad option) never starts it; {@link AutoCloseable#close}
     * ends the report if one was started.
     */
    static AutoCloseable pending(String command, PrintStream err) {
        Object[] state = {command, err, null};
        PENDING.set(state);
        return () -> {
            PENDING.remove();
            if (state[2] != null) {
                ((SpillReport) state[2]).close();
            }
        };
    }

    /** Starts the pending report of this thread's command on sparkgrad's session (once); no-op outside a command. */
    static void attach() {
        Object[] state = PENDING.get();
        if (state != null && state[2] == null) {
            state[2] = watch((String) state[0], (PrintStream) state[1], io.sparkgrad.dist.Dist.session().sparkContext());
        }
    }

    /** A report of the jobs whose local property {@value #RUN} is {@code id}, fed events by the caller. */
    static SpillReport of(String command, PrintStream err, String id) {
        return new SpillReport(command, err, null, id);
    }

    @Override
    public synchronized void onJobStart(SparkListenerJobStart start) {
        java.util.Properties p = start.properties();
        if (p != null && id.equals(p.getProperty(RUN))) {
            running.put(start.jobId(), new long[2]);
            String d = p.getProperty("spark.job.description");
            names.put(start.jobId(), d == null ? "" : d);
        }
    }

    @Override
    public synchronized void onBlockUpdated(SparkListenerBlockUpdated update) {
        BlockUpdatedInfo b = update.blockUpdatedInfo();
        if (running.isEmpty() || !b.blockId().isRDD() || !b.storageLevel().useDisk() || b.memSize() > 0
            || b.diskSize() <= 0) {
            return;
        }
        // a block update names no job: the run's latest running job gets it
        long[] last = null;
        for (long[] c : running.values()) {
            last = c;
        }
        last[0]++;
        last[1] += b.diskSize();
    }

    @Override
    public synchronized void onJobEnd(SparkListenerJobEnd end) {
        long[] c = running.remove(end.jobId());
        String name = names.remove(end.jobId());
        if (c != null && c[0] > 0) {
            err.printf("%s: job %d spilled %d block%s, %.1f GiB to disk: not enough memory to cache them (%s)%n", command,
                end.jobId(), c[0], c[0] == 1 ? "" : "s", c[1] / (double) (1L << 30), name);
        }
    }

    @Override
    public void close() {
        if (sc == null) {
            return;
        }
        try {
            sc.listenerBus().waitUntilEmpty(10_000);
        } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
            // the last lines may be missing; nothing else depends on them
        }
        sc.removeSparkListener(this);
        sc.setLocalProperty(RUN, previous);
    }
}
