package io.sparkgrad.worker;

import org.apache.spark.TaskContext;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Makes chosen tasks fail, for tests of fault tolerance; off (and free) unless a test adds a rule.
 * A rule names the jobs it applies to by the start of their description (sparkgrad names jobs
 * after the tape: {@code "sparkgrad forward: sum"}, {@code "sparkgrad backward: matmul"},
 * {@code "sparkgrad backward: store gradients"}), the partition, and how many attempts of that
 * task fail. Rules live in this JVM, so they reach the executors of a local-mode session only.
 */
public final class FaultInjector {
    private FaultInjector() {}

    private record Rule(String jobPrefix, int partition, int failingAttempts) {}

    private static final List<Rule> RULES = new CopyOnWriteArrayList<>();

    /** The exception an injected fault throws. */
    public static final class InjectedFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFault(String message) {
            super(message);
        }
    }

    /** Fails the first {@code attempts} attempts of the task for {@code partition} in matching jobs. */
    public static void failAttempts(String jobPrefix, int partition, int attempts) {
        RULES.add(new Rule(jobPrefix, partition, attempts));
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
        String job = task.getLocalProperty("spark.job.description");
        for (Rule r : RULES) {
            if (job != null && job.startsWith(r.jobPrefix()) && task.partitionId() == r.partition()
                && task.attemptNumber() < r.failingAttempts()) {
                throw new InjectedFault("injected fault in '" + job + "', partition " + r.partition() + ", attempt "
                    + task.attemptNumber());
            }
        }
    }
}
