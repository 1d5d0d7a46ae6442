package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * The reverse walk shared by {@link Autograd#backward} and {@link Autograd#grad}. It names no op:
 * it orders the recorded nodes, asks each node's rule for the gradients of the inputs that need
 * one, and sums gradients where consumers meet.
 */
final class Engine {
    private Engine() {}

    /** Per-thread autograd mode. */
    static final class State {
        boolean recording;
        boolean training;
        boolean anomaly;
        // What the thread is computing, for backends that name their work (Spark job descriptions):
        // an op being applied (activeInput -1) or a node whose input gradient is computed.
        Op<?> activeOp;
        long activeId;
        int activeInput;
        Activity label; // work done outside any op, such as storing gradients
        String walk = "backward"; // the public call whose walk is running: backward or grad
    }

    /** The name of the call whose graph walk runs on this thread, for error messages. */
    static String walkName() {
        return STATE.get().walk;
    }

    /** Returns the op being applied or differentiated on this thread, or null. */
    static Activity activity() {
        State s = STATE.get();
        if (s.activeOp == null) {
            return s.label;
        }
        return s.activeInput < 0
            ? new Activity(Activity.Phase.FORWARD, s.activeOp.name(), s.activeId, -1)
            : new Activity(Activity.Phase.BACKWARD, s.activeOp.name(), s.activeId, s.activeInput);
    }

    static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);
    private static final AtomicLong PASSES = new AtomicLong();

    /**
     * Walks the graph from {@code heads}.
     *
     * @param targets the arrays to return gradients for, or null to gather the gradient of every
     *                variable (left in its {@code pending} slot and listed in {@code leavesOut})
     * @return the gradients of {@code targets}, or null when {@code targets} is null
     */
    static NDArray[] run(List<NDArray> heads, List<NDArray> headGrads, NDArray[] targets, boolean retainGraph,
                         boolean createGraph, boolean allowUnused, List<NDArray> leavesOut) {
        List<Node<?>> walked = new ArrayList<>();
        NDArray[] result = run(heads, headGrads, targets, retainGraph, createGraph, allowUnused, leavesOut, walked);
        free(walked);
        return result;
    }

    /**
     * As {@link #run(List, List, NDArray[], boolean, boolean, boolean, List)}, but the walked graph
     * is not released: its nodes are added to {@code toFree} (when the graph is not kept), for the
     * caller to {@link #free} once it has used the gradients. A backend computes the gradients
     * lazily, reading what the graph's arrays keep for it (cached blocks): released before the
     * gradients are stored, those would be computed again.
     */
    static NDArray[] run(List<NDArray> heads, List<NDArray> headGrads, NDArray[] targets, boolean retainGraph,
                         boolean createGraph, boolean allowUnused, List<NDArray> leavesOut, List<Node<?>> toFree) {
        String caller = targets == null ? "backward" : "grad";
        if (headGrads != null && headGrads.size() != heads.size()) {
            throw new IllegalArgumentException(caller + ": " + heads.size() + " heads but " + headGrads.size()
                + " head gradients");
        }
        long pass = PASSES.incrementAndGet();
        boolean anomaly = STATE.get().anomaly;
        Map<NDArray, Integer> targetIndex = new IdentityHashMap<>();
        NDArray[] result = null;
        if (targets != null) {
            result = new NDArray[targets.length];
            for (int t = 0; t < targets.length; t++) {
                targetIndex.put(targets[t], t);
            }
        }
        State state = STATE.get();
        boolean prevRecording = state.recording;
        String prevWalk = state.walk;
        state.recording = createGraph;
        state.walk = caller;
        try {
            NDArray[] seeds = new NDArray[heads.size()];
            List<Node<?>> roots = new ArrayList<>();
            boolean constantHead = false;
            for (int h = 0; h < heads.size(); h++) {
                NDArray head = heads.get(h);
                AutogradMeta m = head.autogradMetaOrNull();
                if (m == null || !m.requiresGrad()) {
                    if (targets != null && m != null && m.recordedConstant) {
                        constantHead = true; // recorded, but from constants: its gradients are zeros
                        continue;
                    }
                    throw new IllegalStateException(caller + ": head " + h + " (shape " + Shape.str(head.shape()) + ") "
                        + (m != null && m.recordedConstant
                        ? "was computed under Autograd.record() from constants only: it depends on no array with "
                            + "attachGrad(), so there is no gradient to compute"
                        : "was not computed under Autograd.record() from an array with attachGrad(), so it has no "
                            + "gradient to compute"));
                }
                seeds[h] = seed(caller, h, head, headGrads == null ? null : headGrads.get(h));
                if (m.creator != null) {
                    m.creator.inputs(); // a freed graph fails here with the retainGraph message
                    roots.add(m.creator);
                }
            }
            List<Node<?>> order = topologicalOrder(roots, pass);
            markNeeded(order, pass, targets == null ? null : targetIndex);

            for (int h = 0; h < heads.size(); h++) {
                if (seeds[h] == null) {
                    continue;
                }
                NDArray head = heads.get(h);
                Node<?> n = head.autogradMeta().creator;
                if (n != null) {
                    n.pending = plus(n.pending, seeds[h]);
                } else {
                    deliverToLeaf(head, seeds[h], pass, targetIndex, result, leavesOut);
                }
            }
            List<NDArray> attached = new ArrayList<>(); // recorded results with gradient buffers of their own
            for (int k = order.size() - 1; k >= 0; k--) {
                Node<?> n = order.get(k);
                NDArray g = n.pending;
                n.pending = null;
                if (g == null || !n.needed) {
                    continue;
                }
                NDArray out = n.output();
                AutogradMeta om = out.autogradMeta();
                Integer t = targetIndex.get(out);
                boolean buffer = om.gradReq != null && om.gradReq != GradReq.NULL; // attachGrad on a result
                boolean keep = targets == null && (om.retainGrad || buffer);
                if (g == ZERO && (om.hooks != null || keep || t != null)) {
                    g = out.zerosLike(); // someone will see this gradient
                }
                if (g != ZERO) {
                    g = runHooks(om, g, out);
                }
                if (keep && buffer) {
                    om.pending = g;
                    attached.add(out);
                } else if (keep) {
                    om.grad = g;
                }
                if (t != null) {
                    result[t] = g;
                }
                // a zero gradient, or an op whose gradient is zero: inputs are reached, nothing is computed
                boolean zero = g == ZERO || n.op().hasZeroGradient();
                NDArray[] in = n.inputs();
                for (int i = 0; i < in.length; i++) {
                    AutogradMeta im = in[i].autogradMetaOrNull();
                    if (im == null || !im.requiresGrad()) {
                        continue;
                    }
                    Node<?> c = im.creator;
                    if (c != null) {
                        if (c.pass == pass && c.needed) {
                            c.pending = plus(c.pending, zero ? ZERO : gradient(state, n, g, i, anomaly));
                        }
                    } else if (targets == null || targetIndex.containsKey(in[i])) {
                        deliverToLeaf(in[i], zero ? ZERO : gradient(state, n, g, i, anomaly), pass, targetIndex, result,
                            leavesOut);
                    }
                }
            }
            if (targets == null) {
                for (NDArray leaf : leavesOut) {
                    AutogradMeta m = leaf.autogradMeta();
                    m.pending = runHooks(m, m.pending == ZERO ? leaf.zerosLike() : m.pending, leaf);
                }
                leavesOut.addAll(attached); // stored like leaves; their hooks have run
            } else {
                for (int t = 0; t < targets.length; t++) {
                    boolean reached = result[t] != null;
                    if (!reached && !allowUnused && !constantHead) {
                        throw new IllegalArgumentException("grad: variable " + t + " (shape "
                            + Shape.str(targets[t].shape()) + ") is not on the graph of the heads; "
                            + "pass allowUnused=true to get zeros for it");
                    }
                    if (result[t] == null || result[t] == ZERO) {
                        result[t] = targets[t].zerosLike();
                    }
                    if (reached && targets[t].autogradMeta().creator == null) {
                        result[t] = runHooks(targets[t].autogradMeta(), result[t], targets[t]);
                    }
                }
            }
            if (!retainGraph && !createGraph) {
                toFree.addAll(order);
            }
            return result;
        } finally {
            state.recording = prevRecording;
            state.walk = prevWalk;
        }
    }

    /** Releases the arrays of walked {@code nodes} (and what they keep for backward). */
    static void free(List<Node<?>> nodes) {
        Map<NDArray, GraphExport.Leaf> leaves = new IdentityHashMap<>();
        for (Node<?> n : nodes) {
            n.free(leaves);
        }
    }

    /**
     * A gradient of zero, known without computing it: what flows from an op whose gradient is zero
     * (a comparison, {@code sign}), and through any op from there. Materialised (as
     * {@code zerosLike}) only where someone sees it: a hook, a buffer, a returned gradient.
     */
    private static final NDArray ZERO = Np.scalar(0);

    private static NDArray plus(NDArray a, NDArray b) {
        if (a == null || a == ZERO) {
            return b;
        }
        return b == ZERO ? a : a.add(b);
    }

    /**
     * The gradient that backward starts from at head {@code h}: ones (the gradient of the head's
     * sum), or the one given, which must have the head's shape; one given in the other placement
     * (local for a distributed head, or the reverse) is moved to the head's.
     */
    private static NDArray seed(String caller, int h, NDArray head, NDArray given) {
        if (given == null) {
            return head.onesLike();
        }
        if (!Arrays.equals(given.shape(), head.shape())) {
            throw new IllegalArgumentException(caller + ": head gradient " + h + " has shape "
                + Shape.str(given.shape()) + " but head " + h + " has shape " + Shape.str(head.shape()));
        }
        if (given.isDistributed() == head.isDistributed()) {
            return given;
        }
        try (Autograd.Scope p = Autograd.pause(Autograd.isTraining())) {
            return head.isDistributed() ? given.broadcastLike(head) : given.toLocal();
        }
    }

    /** Asks node {@code n} for the gradient of input {@code i}, naming that as the thread's activity. */
    private static NDArray gradient(State state, Node<?> n, NDArray g, int i, boolean anomaly) {
        Op<?> prevOp = state.activeOp;
        long prevId = state.activeId;
        int prevInput = state.activeInput;
        state.activeOp = n.op();
        state.activeId = n.id();
        state.activeInput = i;
        try {
            return n.gradient(g, i, anomaly);
        } finally {
            state.activeOp = prevOp;
            state.activeId = prevId;
            state.activeInput = prevInput;
        }
    }

    private static void deliverToLeaf(NDArray leaf, NDArray g, long pass, Map<NDArray, Integer> targetIndex,
                                      NDArray[] result, List<NDArray> leavesOut) {
        if (result != null) {
            Integer t = targetIndex.get(leaf);
            if (t != null) {
                result[t] = plus(result[t], g);
            }
            return;
        }
        AutogradMeta m = leaf.autogradMeta();
        if (m.pass != pass) {
            m.pass = pass;
            m.pending = g;
            leavesOut.add(leaf);
        } else {
            m.pending = plus(m.pending, g);
        }
    }

    private static NDArray runHooks(AutogradMeta m, NDArray g, NDArray owner) {
        if (m.hooks == null) {
            return g;
        }
        for (UnaryOperator<NDArray> hook : m.hooks) {
            NDArray r = hook.apply(g);
            if (r != null) {
                if (!Arrays.equals(r.shape(), owner.shape())) {
                    throw new IllegalStateException("hook returned a gradient of shape " + Shape.str(r.shape())
                        + " for an array of shape " + Shape.str(owner.shape()));
                }
                g = r;
            }
        }
        return g;
    }

    /**
     * Marks the nodes whose gradient is needed: all of them for backward, and for grad those that
     * lie on a path to a target. {@code order} lists inputs' creators before their consumers.
     */
    private static void markNeeded(List<Node<?>> order, long pass, Map<NDArray, Integer> targetIndex) {
        for (Node<?> n : order) {
            if (targetIndex == null || targetIndex.containsKey(n.output())) {
                n.needed = true;
                continue;
            }
            boolean needed = false;
            for (NDArray in : n.inputs()) {
                AutogradMeta im = in.autogradMetaOrNull();
                if (im == null) {
                    continue;
                }
                Node<?> c = im.creator;
                if (c != null ? c.pass == pass && c.needed : targetIndex.containsKey(in)) {
                    needed = true;
                    break;
                }
            }
            n.needed = needed;
        }
    }

    /**
     * Returns the nodes reachable from {@code roots} through inputs that require gradients, each
     * after the creators of all its inputs, with their gradient slots cleared. The search is
     * iterative, so a chain of any length fits in the Java stack.
     */
    static List<Node<?>> topologicalOrder(List<Node<?>> roots, long pass) {
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

    /** A new pass number, for walks outside {@link #run} (graph export). */
    static long newPass() {
        return PASSES.incrementAndGet();
    }
}
