package io.sparkgrad.np;

/**
 * Where arrays live (in this JVM, or as row blocks on Spark executors) and how the primitives
 * ({@link Prim}) are computed over them. A backend is asked for primitives only: it never records
 * anything on the tape, and never sees an op of the rule table ({@link Ops}), whose gradient rules
 * are written in {@link NDArray} operations that dispatch back here. A new kind of array therefore
 * needs only a backend, never new gradient rules.
 *
 * <p>When the operands of one primitive come from different backends, the one with the highest
 * {@link #priority()} runs it (a distributed operand wins over a local one).
 */
public interface Backend {
    /** Sentinel axis meaning "all elements" for reductions. */
    int ALL = Integer.MIN_VALUE;

    /** Returns the rank used to choose among the backends of an op's operands. */
    int priority();

    /**
     * Computes {@code p} over {@code operands}, or defers it: the result has {@code shape} and
     * {@code dtype}, which the caller computed with {@link Prim#shape} and {@link Prim#dtype}
     * (backends do not compute them again). A float32 result holds float values: the backend rounds
     * what it computed once, unless the primitive only moves values ({@link Prim#movesValues}).
     */
    NDArray apply(Prim p, NDArray[] operands, long[] shape, DType dtype);

    /** Selects the backend that runs a primitive over {@code operands}. */
    static Backend of(NDArray... operands) {
        Backend best = operands[0].backend();
        for (int i = 1; i < operands.length; i++) {
            Backend b = operands[i].backend();
            if (b.priority() > best.priority()) {
                best = b;
            }
        }
        return best;
    }
}
