package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One recorded application of an {@link Op}: its inputs, its output and its parameters. Together
 * the nodes reachable from an array are the tape that {@code backward()} walks in reverse. A
 * gradient rule reads what it needs from here ({@link #in}, {@link #out}, {@link #params}).
 *
 * @param <P> the op's parameter type ({@code Void} when it has none)
 */
public final class Node<P> {
    private static final AtomicLong IDS = new AtomicLong();

    private final Op<P> op;
    private P params;
    private final long id;
    private NDArray[] inputs;
    private NDArray output;

    // Scratch space of one backward pass: the output gradient gathered so far, and the pass that
    // last visited the node.
    NDArray pending;
    long pass;
    boolean needed;
    // Where the op was recorded; kept only inside Autograd.detectAnomaly().
    Throwable recordedAt;

    /** Returns a fresh node id; ids increase in recording order. */
    static long nextId() {
        return IDS.incrementAndGet();
    }

    Node(Op<P> op, P params, NDArray[] inputs, NDArray output, long id) {
        this.op = op;
        this.params = params;
        this.inputs = inputs;
        this.output = output;
        this.id = id;
    }

    /** Returns the op that was applied. */
    public Op<P> op() {
        return op;
    }

    /** Returns the op's parameters (an axis, a shape, ...), or null. */
    public P params() {
        return params;
    }

    /** Returns a number unique to this node within the JVM, increasing in recording order. */
    public long id() {
        return id;
    }

    /** Returns how many inputs the op took. */
    public int arity() {
        return inputs().length;
    }

    /** Returns input {@code i}. */
    public NDArray in(int i) {
        return inputs()[i];
    }

    /** Returns the op's output. */
    public NDArray out() {
        checkAlive();
        return output;
    }

    /** Returns the op's inputs (the array itself; do not modify). */
    public NDArray[] inputs() {
        checkAlive();
        return inputs;
    }

    /** Returns true once {@code backward} without {@code retainGraph} released this node. */
    public boolean isFreed() {
        return inputs == null;
    }

    NDArray gradient(NDArray outputGrad, int i, boolean anomaly) {
        NDArray g = op.rule().grad(this, outputGrad, i);
        int[] want = inputs[i].shape();
        if (g == null || !java.util.Arrays.equals(g.shape(), want)) {
            throw new IllegalStateException("gradient rule of op '" + op.name() + "' returned "
                + (g == null ? "null" : "shape " + Shape.str(g.shape())) + " for input " + i
                + " of shape " + Shape.str(want));
        }
        if (anomaly) {
            checkFinite(g, i);
        }
        return g;
    }

    private void checkFinite(NDArray g, int i) {
        for (double v : g.toArray()) {
            if (!Double.isFinite(v)) {
                StringBuilder shapes = new StringBuilder();
                for (NDArray in : inputs) {
                    shapes.append(shapes.length() == 0 ? "" : ", ").append(Shape.str(in.shape()));
                }
                String what = Double.isNaN(v) ? "NaN" : "infinity";
                IllegalStateException e = new IllegalStateException("anomaly: the backward rule of " + this
                    + " (inputs of shapes " + shapes + ") produced " + what + " in the gradient of input " + i
                    + (recordedAt == null ? "" : "; the op was recorded at the stack trace in the cause"));
                if (recordedAt != null) {
                    e.initCause(recordedAt);
                }
                throw e;
            }
        }
    }

    void free() {
        if (inputs == null) {
            return;
        }
        for (NDArray in : inputs) {
            in.onGraphFreed();
        }
        output.onGraphFreed();
        params = null;
        inputs = null;
        output = null;
        pending = null;
    }

    private void checkAlive() {
        if (inputs == null) {
            throw new IllegalStateException("the graph through " + this + " was freed by an earlier backward(); "
                + "pass retainGraph=true to the first backward to walk the graph again");
        }
    }

    @Override
    public String toString() {
        return op.name() + "#" + id;
    }
}
