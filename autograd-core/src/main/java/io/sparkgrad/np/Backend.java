package io.sparkgrad.np;

/**
 * The kernels behind the primitive ops: where arrays live (in this JVM, or as row blocks on Spark
 * executors) and how their values are computed. Kernels never record anything on the tape; the op
 * table ({@link Ops}) calls them for forward values and writes every gradient rule in
 * {@link NDArray} operations, which dispatch back here. A new kind of array therefore needs only a
 * backend, never new gradient rules.
 *
 * <p>When the operands of one op come from different backends, the one with the highest
 * {@link #priority()} runs it (a distributed operand wins over a local one).
 */
public interface Backend {
    /** Sentinel axis meaning "all elements" for {@link #reduce}. */
    int ALL = Integer.MIN_VALUE;

    /** Returns the rank used to choose among the backends of an op's operands. */
    int priority();

    NDArray unary(UnaryFn f, NDArray a);

    /** Applies {@code f} with numpy broadcasting of {@code a} against {@code b}. */
    NDArray binary(BinaryFn f, NDArray a, NDArray b);

    /** Reduces along {@code axis} (already resolved), or over all elements when it is {@link #ALL}. */
    NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims);

    /** Returns the 2-norm over all elements ({@link #ALL}) or along {@code axis}. */
    NDArray norm(NDArray a, int axis, boolean keepdims);

    /** Clips every element into {@code [lo, hi]}. */
    NDArray clip(NDArray a, double lo, double hi);

    NDArray broadcastTo(NDArray a, int[] shape);

    /**
     * Broadcasts {@code a} to {@code like}'s shape and placement: the gradient rules use it to
     * spread a small (reduced) gradient over a possibly distributed array.
     */
    NDArray broadcastLike(NDArray a, NDArray like);

    NDArray reshape(NDArray a, int[] shape);

    /** Permutes the axes: output axis {@code i} is input axis {@code perm[i]}. */
    NDArray transpose(NDArray a, int[] perm);

    /** Multiplies two 2-D arrays whose inner dimensions agree (checked by the caller). */
    NDArray matmul(NDArray a, NDArray b);

    NDArray slice(NDArray a, int axis, int start, int stop);

    /** Pads with {@code before} zeros ahead of and {@code after} zeros behind {@code axis}. */
    NDArray pad(NDArray a, int axis, int before, int after);

    NDArray concat(NDArray[] parts, int axis);

    /** Picks {@code a} where {@code cond} is non-zero and {@code b} elsewhere, broadcasting all three. */
    NDArray where(NDArray cond, NDArray a, NDArray b);

    /** Returns an array of {@code like}'s shape and placement filled with {@code value}. */
    NDArray fullLike(NDArray like, double value);

    /**
     * Returns samples uniform in [0, 1) with {@code like}'s shape and placement; the same seed and
     * placement give the same samples.
     */
    NDArray randomUniformLike(NDArray like, long seed);

    /** Selects the backend that runs an op over {@code operands}. */
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
