package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts the Spark jobs, stages and tasks that run, split by what sparkgrad was doing: a forward
 * op, a backward rule, or other work; and the task attempts that failed (and were retried). Registered as a {@link SparkListener} on the session
 * {@link Dist} uses; take a {@link #snapshot()} before and after a piece of work and subtract.
 *
 * <pre>{@code
 * Metrics.Snapshot before = Dist.metrics().snapshot();
 * loss.backward();
 * Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
 * d.backwardJobs();
 * }</pre>
 */
public final class Metrics extends SparkListener {
    private static final int FORWARD = 0;
    private static final int BACKWARD = 1;
    private static final int OTHER = 2;
    private static final int JOBS = 0;
    private static final int STAGES = 3;
    private static final int TASKS = 6;

    // [jobs|stages|tasks] x [forward, backward, other], then broadcasts created, failed task attempts
    private final AtomicLongArray counts = new AtomicLongArray(11);
    private final Map<Integer, Integer> stagePhase = new ConcurrentHashMap<>();

    /** Counts at one moment; subtract two with {@link #minus}. */
    public record Snapshot(long forwardJobs, long backwardJobs, long otherJobs,
                           long forwardStages, long backwardStages, long otherStages,
                           long forwardTasks, long backwardTasks, long otherTasks,
                           long broadcasts, long failedTasks) {
        /** Returns the Spark jobs of every kind. */
        public long jobs() {
            return forwardJobs + backwardJobs + otherJobs;
        }

        /** Returns the stages of every kind. */
        public long stages() {
            return forwardStages + backwardStages + otherStages;
        }

        /** Returns the tasks of every kind. */
        public long tasks() {
            return forwardTasks + backwardTasks + otherTasks;
        }

        /** Returns the counts since {@code earlier}. */
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(forwardJobs - earlier.forwardJobs, backwardJobs - earlier.backwardJobs,
                otherJobs - earlier.otherJobs, forwardStages - earlier.forwardStages,
                backwardStages - earlier.backwardStages, otherStages - earlier.otherStages,
                forwardTasks - earlier.forwardTasks, backwardTasks - earlier.backwardTasks,
                otherTasks - earlier.otherTasks, broadcasts - earlier.broadcasts, failedTasks - earlier.failedTasks);
        }
    }

    private static int phase(Properties props) {
        String p = props == null ? null : props.getProperty(Jobs.PHASE);
        if (Activity.Phase.FORWARD.label().equals(p)) {
            return FORWARD;
        }
        return Activity.Phase.BACKWARD.label().equals(p) ? BACKWARD : OTHER;
    }

    @Override
    public void onJobStart(SparkListenerJobStart e) {
        counts.incrementAndGet(JOBS + phase(e.properties()));
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
        int p = phase(e.properties());
        stagePhase.put(e.stageInfo().stageId(), p);
        counts.incrementAndGet(STAGES + p);
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted e) {
        stagePhase.remove(e.stageInfo().stageId()); // its tasks have ended: keep the map small
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        Integer p = stagePhase.get(e.stageId());
        counts.incrementAndGet(TASKS + (p == null ? OTHER : p));
        if (!e.taskInfo().successful()) {
            counts.incrementAndGet(10);
        }
    }

    void broadcastCreated() {
        counts.incrementAndGet(9);
    }

    /** Returns the counts so far, after Spark has delivered every event of the jobs that finished. */
    public Snapshot snapshot() {
        Dist.waitForListeners();
        long[] c = new long[counts.length()];
        for (int i = 0; i < c.length; i++) {
            c[i] = counts.get(i);
        }
        return new Snapshot(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
    }
}
