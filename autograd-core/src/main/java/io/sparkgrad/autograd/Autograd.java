package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Recording scopes, backward and gradients as values: the Java mirror of {@code mxnet.autograd}.
 *
 * <pre>{@code
 * NDArray x = Np.arange(4.0);
 * x.attachGrad();
 * NDArray y;
 * try (var r = Autograd.record()) {
 *     y = x.mul(x).sum();
 * }
 * y.backward();
 * x.grad();   // array([0., 2., 4., 6.])
 * }</pre>
 *
 * <p>Recording, training and anomaly modes are per thread. Scopes nest: closing one restores the
 * modes it replaced.
 */
public final class Autograd {
    private Autograd() {}

    // ------------------------------------------------------------------ scopes

    /** A recording, pausing or mode scope; closing it restores the previous modes of this thread. */
    public static final class Scope implements AutoCloseable {
        private final Engine.State state;
        private final boolean prevRecording;
        private final boolean prevTraining;
        private final boolean prevAnomaly;
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        private Scope(boolean recording, boolean training, boolean anomaly) {
            state = Engine.STATE.get();
            prevRecording = state.recording;
            prevTraining = state.training;
            prevAnomaly = state.anomaly;
            state.recording = recording;
            state.training = training;
            state.anomaly = anomaly;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            if (Thread.currentThread() != owner) {
                throw new IllegalStateException("an autograd scope must be closed on the thread that opened it ("
                    + owner.getName() + "), not on " + Thread.currentThread().getName());
            }
            closed = true;
            state.recording = prevRecording;
            state.training = prevTraining;
            state.anomaly = prevAnomaly;
        }
    }

    private static Engine.State state() {
        return Engine.STATE.get();
    }

    /** Starts recording ops for {@code backward()}, in training mode (MXNet's default). */
    public static Scope record() {
        return record(true);
    }

    /** Starts recording ops, in training mode ({@code true}) or predict mode. */
    public static Scope record(boolean trainMode) {
        return new Scope(true, trainMode, state().anomaly);
    }

    /**
     * Stops recording until the scope closes, in predict mode (dropout is the identity): MXNet's
     * {@code autograd.pause()}, whose {@code train_mode} defaults to false.
     */
    public static Scope pause() {
        return pause(false);
    }

    /** Stops recording until the scope closes, in training mode ({@code true}) or predict mode. */
    public static Scope pause(boolean trainMode) {
        return new Scope(false, trainMode, state().anomaly);
    }

    /** Switches to training mode (dropout active) without changing recording. */
    public static Scope trainMode() {
        return new Scope(state().recording, true, state().anomaly);
    }

    /** Switches to predict mode (dropout is the identity) without changing recording. */
    public static Scope predictMode() {
        return new Scope(state().recording, false, state().anomaly);
    }

    /**
     * Turns on anomaly detection: ops remember the stack trace of the line that recorded them, and
     * a backward rule that produces NaN or infinity fails at once, naming the op, its input shapes
     * and that line. Costs a stack trace per op and a scan per gradient; nothing outside the scope.
     */
    public static Scope detectAnomaly() {
        return new Scope(state().recording, state().training, true);
    }

    /** Returns true inside a {@link #record()} scope that no {@link #pause()} interrupts, on this thread. */
    public static boolean isRecording() {
        return state().recording;
    }

    /** Returns true in training mode on this thread. */
    public static boolean isTraining() {
        return state().training;
    }

    /** Returns true inside {@link #detectAnomaly()} on this thread. */
    public static boolean isAnomalyDetectionEnabled() {
        return state().anomaly;
    }

    /**
     * Returns what this thread's tape is doing — applying {@code matmul#7} (forward), computing
     * the gradient of its input 1 (backward), storing gradients — or null outside any op. Backends
     * that run remote work use it to name that work after the tape.
     */
    public static Activity activity() {
        return Engine.activity();
    }

    private static final java.util.List<Runnable> PASS_END_LISTENERS = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Registers a callback run on the backward thread after every {@code backward()} and
     * {@link #grad} walk, also when it fails. Backends use it to release what they made for the
     * walk (a distributed backend releases the broadcasts its rules shipped).
     */
    public static void onBackwardEnd(Runnable listener) {
        PASS_END_LISTENERS.add(listener);
    }

    static void backwardEnded() {
        for (Runnable r : PASS_END_LISTENERS) {
            r.run();
        }
    }

    // ------------------------------------------------------------------ variables

    /**
     * Gives {@code x} a gradient buffer of zeros and makes it a variable that {@code backward()}
     * computes the gradient of; {@link GradReq#NULL} makes it a constant again. Equivalent to
     * {@code x.attachGrad(req)}.
     */
    public static void attachGrad(NDArray x, GradReq req) {
        markVariable(x, req == GradReq.NULL ? null : x.zerosLike(), req);
    }

    /**
     * Makes each array a variable with the given gradient buffer and request (MXNet's
     * {@code mark_variables}); a buffer must have its variable's shape.
     */
    public static void markVariables(List<NDArray> variables, List<NDArray> gradients, List<GradReq> reqs) {
        if (variables.size() != gradients.size() || variables.size() != reqs.size()) {
            throw new IllegalArgumentException("markVariables: " + variables.size() + " variables, " + gradients.size()
                + " gradient buffers and " + reqs.size() + " requests; the three lists must have equal lengths");
        }
        for (int i = 0; i < variables.size(); i++) {
            NDArray g = gradients.get(i);
            if (g != null && !Arrays.equals(g.shape(), variables.get(i).shape())) {
                throw new IllegalArgumentException("markVariables: gradient buffer " + i + " has shape " + Shape.str(g.shape())
                    + " but its variable has shape " + Shape.str(variables.get(i).shape()));
            }
            markVariable(variables.get(i), g, reqs.get(i));
        }
    }

    /**
     * Gives {@code x} a gradient buffer. On a recorded result, the graph is kept (as MXNet 2 does):
     * backward still flows through it to the variables it was computed from, and also stores its
     * gradient in its buffer, as the request says; {@link #dropGrad} undoes this.
     */
    private static void markVariable(NDArray x, NDArray buffer, GradReq req) {
        AutogradMeta m = x.autogradMeta();
        m.gradReq = req;
        m.grad = req == GradReq.NULL ? null : buffer;
        m.freshGrad = false;
    }

    /**
     * Removes {@code x}'s gradient buffer and request: a variable becomes a constant again, a
     * recorded result stops keeping its gradient (its graph is untouched).
     */
    public static void dropGrad(NDArray x) {
        AutogradMeta m = x.autogradMetaOrNull();
        if (m != null) {
            m.gradReq = null;
            m.grad = null;
            m.retainGrad = false;
            m.freshGrad = false;
        }
    }

    /**
     * Returns true when the last {@code backward()} wrote {@code x}'s gradient buffer (MXNet's
     * {@code _fresh_grad}): an optimizer can skip parameters a step did not reach, and clears it
     * with {@link #setFreshGrad} after its update.
     */
    public static boolean isFreshGrad(NDArray x) {
        AutogradMeta m = x.autogradMetaOrNull();
        return m != null && m.freshGrad;
    }

    /** Sets or clears {@code x}'s fresh-gradient flag (see {@link #isFreshGrad}). */
    public static void setFreshGrad(NDArray x, boolean fresh) {
        AutogradMeta m = x.autogradMetaOrNull();
        if (m == null || m.grad == null) {
            throw new IllegalStateException("setFreshGrad: the array has no gradient buffer; call attachGrad() on it first");
        }
        m.freshGrad = fresh;
    }

    /** A detached copy of {@code x} that requires a gradient but has no buffer (for gradients as values). */
    static NDArray freshVariable(NDArray x) {
        NDArray v = x.detach();
        v.autogradMeta().gradReq = GradReq.WRITE;
        return v;
    }

    /**
     * Registers a hook that runs when {@code x}'s gradient has been computed, in backward and in
     * {@link #grad}; a non-null return value replaces the gradient (same shape) before it flows on.
     */
    public static HookHandle registerHook(NDArray x, UnaryOperator<NDArray> hook) {
        AutogradMeta m = x.autogradMeta();
        if (!m.requiresGrad()) {
            throw new IllegalStateException("registerHook: the array does not require a gradient "
                + "(attach one, or register on a result computed under Autograd.record())");
        }
        if (m.hooks == null) {
            m.hooks = new ArrayList<>();
        }
        m.hooks.add(hook);
        return () -> m.hooks.remove(hook);
    }

    /** Removes a hook registered by {@link #registerHook}. */
    @FunctionalInterface
    public interface HookHandle {
        void remove();
    }

    /** Keeps the gradient of the recorded result {@code y} in {@code y.grad()} after backward. */
    public static void retainGrad(NDArray y) {
        AutogradMeta m = y.autogradMeta();
        if (m.creator == null) {
            throw new IllegalStateException("retainGrad: the array is a leaf, not a recorded result; "
                + (m.requiresGrad() ? "its gradient is kept already by attachGrad()" : "call attachGrad() on it instead"));
        }
        m.retainGrad = true;
    }

    // ------------------------------------------------------------------ backward

    /**
     * Computes the gradients of {@code heads} and stores them in the gradient buffers of the
     * variables they were computed from. A null {@code headGrads} (or a null entry) means all ones:
     * the gradient of the head's sum.
     *
     * @param retainGraph keep the walked graph so that it can be walked again
     */
    public static void backward(List<NDArray> heads, List<NDArray> headGrads, boolean retainGraph) {
        try {
            backwardAndStore(heads, headGrads, retainGraph);
        } finally {
            backwardEnded();
        }
    }

    private static void backwardAndStore(List<NDArray> heads, List<NDArray> headGrads, boolean retainGraph) {
        List<NDArray> leaves = new ArrayList<>();
        List<Node<?>> walked = new ArrayList<>();
        try {
            Engine.run(heads, headGrads, null, retainGraph, false, false, leaves, walked);
            store(leaves);
        } finally {
            // after storing: a distributed gradient stored in a distributed variable is computed
            // there, from the blocks the graph keeps cached
            Engine.free(walked);
        }
    }

    private static void store(List<NDArray> leaves) {
        Engine.State state = Engine.STATE.get();
        Activity prevLabel = state.label;
        state.label = Activity.STORE_GRADIENTS;
        try (Scope s = pause(isTraining())) {
            for (NDArray leaf : leaves) {
                AutogradMeta m = leaf.autogradMeta();
                NDArray g = m.pending;
                m.pending = null;
                if (m.gradReq == GradReq.ADD && m.grad != null) {
                    g = m.grad.add(g);
                }
                g = leaf.keptGradient(g); // a sparse variable keeps its pattern
                if (m.grad == null) {
                    m.grad = g;
                } else {
                    m.grad.assign(g);
                }
                m.freshGrad = true;
            }
        } finally {
            state.label = prevLabel;
        }
    }

    /** One head, see {@link #backward(List, List, boolean)}. */
    public static void backward(NDArray head, NDArray headGrad, boolean retainGraph) {
        backward(List.of(head), headGrad == null ? null : Arrays.asList(headGrad), retainGraph);
    }

    // ------------------------------------------------------------------ gradients as values

    /**
     * Returns the gradients of {@code heads} with respect to {@code variables} as new arrays,
     * touching no gradient buffer. Variables may be leaves or recorded results; each must lie on
     * the graph of the heads.
     *
     * @param headGrads   the heads' gradients, or null for all ones
     * @param retainGraph keep the graph for another walk (implied by {@code createGraph})
     * @param createGraph record the gradient computation, so its result can be differentiated again
     */
    public static List<NDArray> grad(List<NDArray> heads, List<NDArray> variables, List<NDArray> headGrads,
                                     boolean retainGraph, boolean createGraph) {
        return grad(heads, variables, headGrads, retainGraph, createGraph, false);
    }

    /**
     * As {@link #grad(List, List, List, boolean, boolean)}; with {@code allowUnused} a variable
     * that is not on the graph gets zeros instead of an error.
     */
    public static List<NDArray> grad(List<NDArray> heads, List<NDArray> variables, List<NDArray> headGrads,
                                     boolean retainGraph, boolean createGraph, boolean allowUnused) {
        if (variables.isEmpty()) {
            throw new IllegalArgumentException("grad: no variables given");
        }
        try {
            NDArray[] g = Engine.run(heads, headGrads, variables.toArray(new NDArray[0]), retainGraph, createGraph,
                allowUnused, null);
            return Arrays.asList(g);
        } finally {
            backwardEnded();
        }
    }

    /** The gradient of {@code head} (all-ones head gradient) with respect to one variable. */
    public static NDArray grad(NDArray head, NDArray variable) {
        return grad(head, variable, false);
    }

    /** The gradient of {@code head} with respect to one variable, recorded when {@code createGraph}. */
    public static NDArray grad(NDArray head, NDArray variable, boolean createGraph) {
        return grad(List.of(head), List.of(variable), null, false, createGraph).get(0);
    }

    /** The gradients of {@code head} with respect to several variables. */
    public static List<NDArray> grad(NDArray head, List<NDArray> variables) {
        return grad(List.of(head), variables, null, false, false);
    }

    /** A function's value and its gradients with respect to every argument. */
    public record ValueAndGrad(NDArray value, List<NDArray> grads) {}

    /**
     * Evaluates {@code fn} once with recording and back-propagates once, returning the value and
     * the gradient of its sum with respect to each argument. The arguments' own gradient buffers
     * are not touched.
     */
    public static ValueAndGrad valueAndGrad(ArrayFunction fn, NDArray... xs) {
        NDArray[] vars = new NDArray[xs.length];
        for (int i = 0; i < xs.length; i++) {
            vars[i] = freshVariable(xs[i]);
        }
        NDArray value;
        try (Scope r = record()) {
            value = fn.apply(vars);
        }
        if (!value.requiresGrad()) {
            List<NDArray> zeros = new ArrayList<>();
            for (NDArray x : xs) {
                zeros.add(x.zerosLike());
            }
            return new ValueAndGrad(value, zeros);
        }
        List<NDArray> grads = grad(List.of(value), Arrays.asList(vars), null, false, false, true);
        return new ValueAndGrad(value.detach(), grads);
    }

    /**
     * Returns the Jacobian of {@code fn} at {@code x}: an array of shape
     * {@code fn(x).shape + x.shape} whose entry {@code [i..., j...]} is d out[i...] / d x[j...]. It
     * takes one backward walk per output element.
     */
    public static NDArray jacobian(UnaryOperator<NDArray> fn, NDArray x) {
        NDArray v = freshVariable(x);
        NDArray out;
        try (Scope r = record()) {
            out = fn.apply(v);
        }
        long[] jShape = new long[out.ndim() + x.ndim()];
        System.arraycopy(out.shape(), 0, jShape, 0, out.ndim());
        System.arraycopy(x.shape(), 0, jShape, out.ndim(), x.ndim());
        int outSize = Shape.size(Shape.toInt("jacobian", out.shape()));
        int xSize = Shape.size(Shape.toInt("jacobian", x.shape()));
        double[] j = new double[Shape.size(Shape.toInt("jacobian", jShape))];
        if (out.requiresGrad()) {
            for (int e = 0; e < outSize; e++) {
                double[] onehot = new double[outSize];
                onehot[e] = 1;
                NDArray row = grad(List.of(out), List.of(v), List.of(Np.array(out.shape(), onehot)),
                    true, false, true).get(0);
                System.arraycopy(row.toArray(), 0, j, e * xSize, xSize);
            }
        }
        return Np.array(jShape, j);
    }

    /**
     * Returns the product of the Hessian of the scalar function {@code fn} at {@code x} with
     * {@code v}, without forming the Hessian: the gradient of {@code <grad fn(x), v>}.
     */
    public static NDArray hessianVectorProduct(UnaryOperator<NDArray> fn, NDArray x, NDArray v) {
        if (!Arrays.equals(x.shape(), v.shape())) {
            throw new IllegalArgumentException("hessianVectorProduct: x has shape " + Shape.str(x.shape())
                + " but v has shape " + Shape.str(v.shape()));
        }
        NDArray var = freshVariable(x);
        try (Scope r = record()) {
            NDArray y = fn.apply(var);
            if (y.size() != 1) {
                throw new IllegalArgumentException("hessianVectorProduct: fn must return one value, got shape "
                    + Shape.str(y.shape()));
            }
            NDArray g = grad(y, var, true);
            NDArray gv = g.mul(v).sum();
            if (!gv.requiresGrad()) {
                return x.zerosLike();
            }
            return grad(List.of(gv), List.of(var), null, false, false, true).get(0);
        }
    }

    // ------------------------------------------------------------------ checkpointing and graphs

    /**
     * Applies {@code fn} without keeping its intermediate arrays: backward runs it again to
     * recompute them. Trades compute for memory on deep or wide blocks.
     */
    public static NDArray checkpoint(ArrayFunction fn, NDArray... inputs) {
        return Checkpoint.apply(fn, inputs);
    }

    /** Returns the graph recorded for {@code head} as Graphviz DOT. */
    public static String toDot(NDArray head) {
        return GraphExport.toDot(head);
    }

    /** Returns the graph recorded for {@code head} as indented text, one op per line. */
    public static String explain(NDArray head) {
        return GraphExport.explain(head);
    }
}
