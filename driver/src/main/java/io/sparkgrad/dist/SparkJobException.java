package io.sparkgrad.dist;

/**
 * A Spark job that sparkgrad started failed for good (every task attempt). The message names the
 * tape op the job served ({@code sparkgrad backward: matmul#7 -> grad of input 1}); the cause is
 * Spark's own exception.
 */
public final class SparkJobException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SparkJobException(String message, Throwable cause) {
        super(message, cause);
    }
}
