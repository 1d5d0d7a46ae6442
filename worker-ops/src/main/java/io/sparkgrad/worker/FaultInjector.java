package io.sparkgrad.worker;

import io.sparkgrad.autograd.Activity;
import org.apache.spark.TaskContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Makes chosen tasks fail, for tests of fault tolerance; off (and free) unless a test adds a rule.
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

    /** Removes every rule. */
    public static void clear() {
        RULES.clear();
    }

    /** Called by the block kernels: throws when a rule matches the running task. */
    static void check() {
        if (RULES.isEmpty()) {
            return;
        }
        TaskContext task = TaskContext.get();
        if (task == null) {
            return;
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
