package io.sparkgrad.worker;

import io.sparkgrad.autograd.Activity;
import org.apache.spark.TaskContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Makes chosen tasks fail, for tests of fault tolerance, or finish in a random order, for tests
 * of determinism ({@link #delayTasks}); off (and free) unless a test adds a rule or a delay.
 * A rule names the jobs it applies to by the pass they serve and an op among those they serve
 * (the job properties {@code sparkgrad.phase} and {@code sparkgrad.ops}: backward and
 * {@code matmul}, or backward and {@code store gradients}), the partition, and how many attempts
 * of that task fail. Rules live in this JVM, so they reach the executors of a local-mode session
 * only.
 */
public final class FaultInjector {
    private FaultInjector() {}

    private record Rule(Activity.Phase phase, String op, int partition, int failingAttempts) {}

    private static final List<Rule> RULES = new CopyOnWriteArrayList<>();

    /** The exception an injected fault throws. */
    public static final class InjectedFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFault(String message) {
            super(message);
        }
    }

    /**
     * Fails the first {@code attempts} attempts of the task for {@code partition} in the jobs of
     * {@code phase} that serve {@code op} (null: any op).
     */
    public static void failAttempts(Activity.Phase phase, String op, int partition, int attempts) {
        RULES.add(new Rule(phase, op, partition, attempts));
    }

    private static volatile long delaySeed;
    private static final java.util.Set<Long> DELAYED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static volatile int maxDelayMillis;

    /**
     * Makes every task of this JVM's executors wait, once, a pseudo-random time in
     * {@code [0, maxMillis)} before its work, drawn from {@code seed}, the stage, the partition and the attempt: with a
     * new seed per run, the tasks of a stage finish in another order, and a shuffle's blocks reach
     * their reducers in another order. For tests of determinism; 0 turns it off.
     */
    public static void delayTasks(long seed, int maxMillis) {
        if (maxMillis < 0) {
            throw new IllegalArgumentException("delayTasks: maxMillis must be >= 0, got " + maxMillis);
        }
        delaySeed = seed;
        maxDelayMillis = maxMillis;
    }

    /** Removes every rule and the delay. */
    public static void clear() {
        RULES.clear();
        maxDelayMillis = 0;
        DELAYED.clear();
    }

    /** The delay of a task of {@code stage}, {@code partition} and {@code attempt} for {@code seed}, in [0, max). */
    static long delayMillis(long seed, int max, int stage, int partition, int attempt) {
        long z = seed ^ (stage * 0x9E3779B97F4A7C15L) ^ (partition * 0xBF58476D1CE4E5B9L) ^ (attempt * 0x94D049BB133111EBL);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return Math.floorMod(z ^ (z >>> 31), (long) max);
    }

    /**
     * The blocks of a partition as they are, after {@link #check()}: for the jobs whose tasks run
     * no kernel (a collect of cached blocks), which the rules and delays then reach too.
     */
    public static <T> java.util.Iterator<T> checked(java.util.Iterator<T> blocks) {
        check();
        return blocks;
    }

    /** Called by the block kernels: throws when a rule matches the running task, waits when a delay is set. */
    static void check() {
        int max = maxDelayMillis;
        if (RULES.isEmpty() && max == 0) {
            return;
        }
        TaskContext task = TaskContext.get();
        if (task == null) {
            return;
        }
        if (max > 0 && DELAYED.add(task.taskAttemptId())) { // once per task, however many kernels it runs
            try {
                Thread.sleep(delayMillis(delaySeed, max, task.stageId(), task.partitionId(), task.attemptNumber()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // a killed task: let Spark see the interrupt
            }
        }
        String phase = task.getLocalProperty("sparkgrad.phase");
        String ops = task.getLocalProperty("sparkgrad.ops");
        for (Rule r : RULES) {
            if (r.phase().label().equals(phase) && (r.op() == null || ops != null && List.of(ops.split(",")).contains(r.op()))
                && task.partitionId() == r.partition() && task.attemptNumber() < r.failingAttempts()) {
                throw new InjectedFault("injected fault in '" + task.getLocalProperty("spark.job.description")
                    + "', partition " + r.partition() + ", attempt " + task.attemptNumber());
            }
        }
    }
}
