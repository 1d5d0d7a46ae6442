package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.Map;
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
    // the inputs' and then the output's version() when the op was recorded
    private int[] versions;
    // what explain shows of the node once free() released its arrays
    private Object[] freedInputs;
    private String freedOutput;

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
        int[] v = new int[inputs.length + 1];
        for (int i = 0; i < inputs.length; i++) {
            v[i] = inputs[i].version();
        }
        v[inputs.length] = output.version();
        this.versions = v;
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

    /**
     * Returns input {@code i}, for a rule that needs its values: they must be those the op saw, so
     * an input changed in place since ({@link NDArray#assign}) is an error naming the op. A rule
     * that needs only the input's shape or placement asks {@link #inShape} or {@link #like}.
     */
    public NDArray in(int i) {
        NDArray a = inputs()[i];
        checkVersion(a, i);
        return a;
    }

    /** Returns the op's output, for a rule that needs its values (checked as {@link #in}). */
    public NDArray out() {
        checkAlive();
        checkVersion(output, -1);
        return output;
    }

    /** Returns the shape of input {@code i}. */
    public long[] inShape(int i) {
        return inputs()[i].shape();
    }

    /**
     * Returns input {@code i} as a template of shape and placement only ({@code zerosLike},
     * {@code broadcastLike}): its values are not read, so a later in-place change does not matter.
     */
    public NDArray like(int i) {
        return inputs()[i];
    }

    /** Returns the output without the version check: for walking the graph, not for its values. */
    NDArray output() {
        checkAlive();
        return output;
    }

    /**
     * Returns the op's inputs (the array itself; do not modify), for the graph's structure: a rule
     * that reads an input's values asks {@link #in}.
     */
    public NDArray[] inputs() {
        checkAlive();
        return inputs;
    }

    private void checkVersion(NDArray a, int i) {
        int k = i < 0 ? inputs.length : i;
        if (a.version() != versions[k]) {
            String what = i < 0 ? "the output" : "input " + i;
            throw new IllegalStateException(Engine.walkName() + ": " + what + " of " + this + " (shape "
                + Shape.str(a.shape()) + ") was changed in place after the op was recorded (version " + versions[k]
                + " then, " + a.version() + " now), and the op's gradient needs the values it had; change it after "
                + "the backward pass, or compute the op again after the change");
        }
    }

    /** Returns true once {@code backward} without {@code retainGraph} released this node. */
    public boolean isFreed() {
        return inputs == null;
    }

    NDArray gradient(NDArray outputGrad, int i, boolean anomaly) {
        NDArray g = op.rule().grad(this, outputGrad, i);
        long[] want = inputs[i].shape();
        if (g == null || !java.util.Arrays.equals(g.shape(), want)) {
            throw new IllegalStateException("gradient rule of op '" + op.name() + "' returned "
                + (g == null ? "null" : "shape " + Shape.str(g.shape())) + " for input " + i
                + " of shape " + Shape.str(want));
        }
        if (g.dtype() != inputs[i].dtype()) {
            // an input's gradient has the input's type, as in PyTorch: a float32 input used with a
            // float64 one (whose rule gives float64) gets its gradient rounded to float32
            g = g.astype(inputs[i].dtype());
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

    /**
     * Releases the arrays (and what they cached for backward), keeping the graph's structure for
     * {@link Autograd#explain}: each input's creator, or a description of the leaf it was
     * ({@code leaves} gives one description object per leaf array, so that a leaf read twice is
     * shown once).
     */
    void free(Map<NDArray, GraphExport.Leaf> leaves) {
        if (inputs == null) {
            return;
        }
        Object[] structure = new Object[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            NDArray in = inputs[i];
            AutogradMeta m = in.autogradMetaOrNull();
            structure[i] = m != null && m.creator != null ? m.creator
                : leaves.computeIfAbsent(in, a -> new GraphExport.Leaf(GraphExport.describeLeaf(a)));
            in.onGraphFreed();
        }
        output.onGraphFreed();
        freedInputs = structure;
        freedOutput = GraphExport.describeOutput(output);
        params = null;
        inputs = null;
        output = null;
        versions = null;
        pending = null;
    }

    /** After {@link #free}: each input's creator node or leaf description, and the output's description. */
    Object[] freedInputs() {
        return freedInputs;
    }

    String freedOutput() {
        return freedOutput;
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
