package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import org.apache.spark.SparkContext;

import java.util.function.Supplier;

/**
 * Runs the Spark jobs sparkgrad starts, each described after the tape op it serves
 * ({@code sparkgrad backward: matmul#7 -> grad of input 1}), so the Spark UI reads like the tape.
 * A failed job surfaces as one exception naming that op, with Spark's error as its cause.
 */
final class Jobs {
    private Jobs() {}

    /** The local property Spark shows as a job's description. */
    static final String DESCRIPTION = "spark.job.description";

    /** The description of the work this thread is doing, for a job that serves {@code what}. */
    static String describe(String what) {
        String activity = Autograd.activity();
        return "sparkgrad " + (activity != null ? activity : what);
    }

    static <T> T run(String what, Supplier<T> job) {
        return runAs(describe(what), job);
    }

    /** Runs {@code job} under a description of its own (a fused job names every op it serves). */
    static <T> T runAs(String description, Supplier<T> job) {
        SparkContext sc = Dist.session().sparkContext();
        String previous = sc.getLocalProperty(Jobs.DESCRIPTION);
        sc.setLocalProperty(DESCRIPTION, description);
        try {
            return job.get();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw e; // sparkgrad's own driver-side checks already name the op
        } catch (Exception e) {
            // Spark's SparkException is checked in Java's eyes but thrown from Scala unchecked
            throw new SparkJobException(description + ": the Spark job failed: " + rootMessage(e), e);
        } finally {
            sc.setLocalProperty(Jobs.DESCRIPTION, previous);
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
