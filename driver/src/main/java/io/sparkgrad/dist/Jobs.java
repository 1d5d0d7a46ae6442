package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import io.sparkgrad.autograd.Autograd;
import org.apache.spark.SparkContext;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Runs the Spark jobs sparkgrad starts, each described after the tape activities it serves
 * ({@code sparkgrad backward: matmul#7 -> grad of input 1}), so the Spark UI reads like the tape.
 * Beside the description, two local properties tell listeners and test hooks what a job is for
 * without parsing it: {@value #PHASE} ({@code forward} or {@code backward}; absent for other work
 * such as collecting or caching) and {@value #OPS} (the ops served, comma-separated). A failed job
 * surfaces as one exception naming the activities, with Spark's error as its cause.
 */
final class Jobs {
    private Jobs() {}

    /** The local property Spark shows as a job's description. */
    static final String DESCRIPTION = "spark.job.description";
    /** The local property holding the phase of the pass a job serves: {@code forward} or {@code backward}. */
    static final String PHASE = "sparkgrad.phase";
    /** The local property holding the names of the ops a job serves, comma-separated ({@code matmul,sum}). */
    static final String OPS = "sparkgrad.ops";

    /**
     * Runs a job for {@code what} (a collect, a cache), named after this thread's activity when the
     * tape is inside an op.
     */
    static <T> T run(String what, Supplier<T> job) {
        return run(what, null, job);
    }

    /**
     * As {@link #run(String, Supplier)}, for a job that also moves rows between executors as
     * {@code moves} describes (null: none), which the description names.
     */
    static <T> T run(String what, String moves, Supplier<T> job) {
        Activity a = Autograd.activity();
        List<Activity> activities = a == null ? List.of() : List.of(a);
        return runJob(withMoves(a == null ? "sparkgrad " + what : describe(activities), moves), activities, job);
    }

    /** The description of a job for {@code what}, as {@link #run} names it. */
    static String describe(String what) {
        Activity a = Autograd.activity();
        return a == null ? "sparkgrad " + what : describe(List.of(a));
    }

    /** Runs a job that serves {@code activities} (a fused job serves several) and moves rows as {@code moves} says. */
    static <T> T runAs(List<Activity> activities, String moves, Supplier<T> job) {
        return runJob(withMoves(describe(activities), moves), activities, job);
    }

    private static String withMoves(String description, String moves) {
        return moves == null ? description : description + "; moves rows: " + moves;
    }

    /**
     * The description of a job that serves {@code activities}: one keeps its own
     * ({@code sparkgrad forward: sum#3}); several list the backward rules served and the forward
     * ops computed with them ({@code sparkgrad backward: matmul#7 -> grad of input 1 (in one pass
     * with forward: sum#5)}).
     */
    static String describe(List<Activity> activities) {
        if (activities.size() == 1) {
            return "sparkgrad " + activities.get(0);
        }
        List<String> backward = new ArrayList<>();
        List<String> forward = new ArrayList<>();
        for (Activity a : activities) {
            (a.phase() == Activity.Phase.BACKWARD ? backward : forward).add(a.detail());
        }
        if (backward.isEmpty()) {
            return "sparkgrad forward: " + String.join(", ", forward);
        }
        return "sparkgrad backward: " + String.join(", ", backward)
            + (forward.isEmpty() ? "" : " (in one pass with forward: " + String.join(", ", forward) + ")");
    }

    private static <T> T runJob(String description, List<Activity> activities, Supplier<T> job) {
        SparkContext sc = Dist.session().sparkContext();
        String[] keys = {DESCRIPTION, PHASE, OPS};
        String[] previous = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            previous[i] = sc.getLocalProperty(keys[i]);
        }
        Set<String> ops = new LinkedHashSet<>();
        Activity.Phase phase = null;
        for (Activity a : activities) {
            ops.add(a.op());
            if (phase == null || a.phase() == Activity.Phase.BACKWARD) {
                phase = a.phase();
            }
        }
        sc.setLocalProperty(DESCRIPTION, description);
        sc.setLocalProperty(PHASE, phase == null ? null : phase.label());
        sc.setLocalProperty(OPS, ops.isEmpty() ? null : String.join(",", ops));
        try {
            return job.get();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw e; // sparkgrad's own driver-side checks already name the op
        } catch (Exception e) {
            // Spark's SparkException is checked in Java's eyes but thrown from Scala unchecked
            throw new SparkJobException(description + ": the Spark job failed: " + rootMessage(e), e);
        } finally {
            for (int i = 0; i < keys.length; i++) {
                sc.setLocalProperty(keys[i], previous[i]);
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
