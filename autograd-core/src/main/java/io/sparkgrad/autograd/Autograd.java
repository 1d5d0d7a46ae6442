package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recording scopes and backward, the Java mirror of {@code mxnet.autograd}.
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
 * <p>Recording state is per thread. Scopes nest: closing one restores the state it replaced.
 */
public final class Autograd {
    private Autograd() {}

    private static final class State {
        boolean recording;
        boolean training;
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);
    private static final AtomicLong PASSES = new AtomicLong();

    /** A recording, pausing or mode scope; closing it restores the previous state of this thread. */
    public static final class Scope implements AutoCloseable {
        private final State state;
        private final boolean prevRecording;
        private final boolean prevTraining;
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        private Scope(boolean recording, boolean training) {
            state = STATE.get();
            prevRecording = state.recording;
            prevTraining = state.training;
            state.recording = recording;
            state.training = training;
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
        }
    }

    /** Starts recording ops for {@code backward()}, in training mode (MXNet's default). */
    public static Scope record() {
        return record(true);
    }

    /** Starts recording ops, in training mode or in predict mode. */
    public static Scope record(boolean trainMode) {
        return new Scope(true, trainMode);
    }

    /** Stops recording until the scope closes (training mode is left as it is). */
    public static Scope pause() {
        return new Scope(false, STATE.get().training);
    }

    /** Returns true inside a {@link #record()} scope that no {@link #pause()} interrupts, on this thread. */
    public static boolean isRecording() {
        return STATE.get().recording;
    }

    /** Returns true in training mode on this thread. */
    public static boolean isTraining() {
        return STATE.get().training;
    }

    /**
     * Gives {@code x} a gradient buffer of zeros and makes it a variable that {@code backward()}
     * computes the gradient of; {@link GradReq#NULL} makes it a constant again. Equivalent to
     * {@code x.attachGrad(req)}.
     */
    public static void attachGrad(NDArray x, GradReq req) {
        AutogradMeta m = x.autogradMeta();
        if (m.creator != null && req != GradReq.NULL) {
            // MXNet allows this and silently cuts the graph; say so instead.
            throw new IllegalArgumentException("attachGrad: the array is the result of the recorded op " + m.creator
                + "; call detach() first to make it a variable of its own");
        }
        m.gradReq = req;
        m.grad = req == GradReq.NULL ? null : x.zerosLike();
    }

    /**
     * Computes the gradients of {@code heads} and stores them in the gradient buffers of the
     * variables they were computed from. A null {@code headGrads} (or a null entry) means all ones:
     * the gradient of the head's sum.
     *
     * @param retainGraph keep the walked graph so that it can be walked again
     */
    public static void backward(List<NDArray> heads, List<NDArray> headGrads, boolean retainGraph) {
        if (headGrads != null && headGrads.size() != heads.size()) {
            throw new IllegalArgumentException("backward: " + heads.size() + " heads but " + headGrads.size() + " head gradients");
        }
        List<NDArray> leaves = new ArrayList<>();
        run(heads, headGrads, retainGraph, false, leaves);
        try (Scope s = pause()) {
            store(leaves);
        }
    }

    /** Writes (or, for {@link GradReq#ADD}, adds) each leaf's gathered gradient into its buffer. */
    private static void store(List<NDArray> leaves) {
        for (NDArray leaf : leaves) {
            AutogradMeta m = leaf.autogradMeta();
            NDArray g = m.pending;
            m.pending = null;
            if (m.gradReq == GradReq.ADD && m.grad != null) {
                g = m.grad.add(g);
            }
            if (m.grad == null) {
                m.grad = g;
            } else {
                m.grad.assign(g);
            }
        }
    }

    /** One head, see {@link #backward(List, List, boolean)}. */
    public static void backward(NDArray head, NDArray headGrad, boolean retainGraph) {
        backward(List.of(head), headGrad == null ? null : Arrays.asList(headGrad), retainGraph);
    }

    /**
     * Walks the graph from {@code heads} in reverse topological order, applying each node's rules
     * and summing gradients where consumers meet. Leaf gradients are left in their
     * {@code pending} slot and the leaves listed in {@code leavesOut}.
     */
    static void run(List<NDArray> heads, List<NDArray> headGrads, boolean retainGraph, boolean createGraph,
                    List<NDArray> leavesOut) {
        long pass = PASSES.incrementAndGet();
        try (Scope s = createGraph ? record(isTraining()) : pause()) {
            NDArray[] seeds = new NDArray[heads.size()];
            List<Node<?>> roots = new ArrayList<>();
            for (int h = 0; h < heads.size(); h++) {
                NDArray head = heads.get(h);
                AutogradMeta m = head.autogradMetaOrNull();
                if (m == null || !m.requiresGrad()) {
                    throw new IllegalStateException("backward: this array was not computed under Autograd.record() "
                        + "from an array with attachGrad(), so it has no gradient to compute");
                }
                NDArray seed = headGrads == null ? null : headGrads.get(h);
                if (seed == null) {
                    seed = head.onesLike();
                } else if (!Arrays.equals(seed.shape(), head.shape())) {
                    throw new IllegalArgumentException("backward: head gradient has shape " + Shape.str(seed.shape())
                        + " but the head has shape " + Shape.str(head.shape()));
                }
                seeds[h] = seed;
                if (m.creator != null) {
                    m.creator.inputs(); // a freed graph fails here with the retainGraph message
                    roots.add(m.creator);
                }
            }
            List<Node<?>> order = topologicalOrder(roots, pass);
            for (int h = 0; h < heads.size(); h++) {
                AutogradMeta m = heads.get(h).autogradMeta();
                if (m.creator != null) {
                    Node<?> n = m.creator;
                    n.pending = n.pending == null ? seeds[h] : n.pending.add(seeds[h]);
                } else {
                    accumulateLeaf(heads.get(h), seeds[h], pass, leavesOut);
                }
            }
            for (int k = order.size() - 1; k >= 0; k--) {
                Node<?> n = order.get(k);
                NDArray g = n.pending;
                n.pending = null;
                if (g == null) {
                    continue;
                }
                NDArray[] in = n.inputs();
                for (int i = 0; i < in.length; i++) {
                    AutogradMeta im = in[i].autogradMetaOrNull();
                    if (im == null || !im.requiresGrad()) {
                        continue;
                    }
                    NDArray gi = n.gradient(g, i);
                    if (im.creator != null) {
                        Node<?> c = im.creator;
                        c.pending = c.pending == null ? gi : c.pending.add(gi);
                    } else {
                        accumulateLeaf(in[i], gi, pass, leavesOut);
                    }
                }
            }
            if (!retainGraph) {
                for (Node<?> n : order) {
                    n.free();
                }
            }
        }
    }

    private static void accumulateLeaf(NDArray leaf, NDArray g, long pass, List<NDArray> leavesOut) {
        AutogradMeta m = leaf.autogradMeta();
        if (m.pass != pass) {
            m.pass = pass;
            m.pending = g;
            leavesOut.add(leaf);
        } else {
            m.pending = m.pending.add(g);
        }
    }

    /**
     * Returns the nodes reachable from {@code roots} through inputs that require gradients, each
     * after the creators of all its inputs, with their gradient slots cleared. The search is
     * iterative, so a chain of any length fits in the Java stack.
     */
    private static List<Node<?>> topologicalOrder(List<Node<?>> roots, long pass) {
        List<Node<?>> order = new ArrayList<>();
        Node<?>[] stack = new Node<?>[16];
        int[] next = new int[16];
        for (Node<?> root : roots) {
            if (root.pass == pass) {
                continue;
            }
            root.pass = pass;
            root.pending = null;
            int top = 0;
            stack[0] = root;
            next[0] = 0;
            while (top >= 0) {
                Node<?> n = stack[top];
                NDArray[] in = n.inputs();
                int i = next[top];
                if (i == in.length) {
                    order.add(n);
                    stack[top--] = null;
                    continue;
                }
                next[top] = i + 1;
                AutogradMeta im = in[i].autogradMetaOrNull();
                Node<?> c = im == null ? null : im.creator;
                if (c != null && c.pass != pass) {
                    c.inputs(); // a freed node fails here with the retainGraph message
                    c.pass = pass;
                    c.pending = null;
                    if (++top == stack.length) {
                        stack = Arrays.copyOf(stack, top * 2);
                        next = Arrays.copyOf(next, top * 2);
                    }
                    stack[top] = c;
                    next[top] = 0;
                }
            }
        }
        return order;
    }
}
