package io.sparkgrad.jobs;

/**
 * A problem with what the user asked for — a missing file, an unknown column, a bad option — told
 * in one line that names the file, column, row or option. The launcher prints it without a stack
 * trace (unless {@code --verbose}) and exits with code 2.
 */
public final class JobError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** A usage or input error told as {@code message} (one line, exit code 2). */
    public JobError(String message) {
        super(message);
    }

    /** A usage or input error told as {@code message}, caused by {@code cause}. */
    public JobError(String message, Throwable cause) {
        super(message, cause);
    }
}
