package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A primitive operation: a forward computation and, beside it, the rule that turns the gradient of
 * its output into the gradient of one input. Rules are written in {@link NDArray} operations, so
 * the same rule serves local and distributed arrays, and records itself when higher-order
 * gradients are asked for. The tape and {@code backward()} never name an op; they only call these.
 *
 * <p>Every op defined through {@link #define} is listed by {@link #registry()}, which the gradient
 * check suite uses to prove it covers them all.
 *
 * @param <P> the type of the op's parameters ({@code Void} for none)
 */
public final class Op<P> {
    /** Computes an op's output from its inputs, without recording. */
    @FunctionalInterface
    public interface Forward<P> {
        NDArray compute(NDArray[] inputs, P params);
    }

    /** Returns the gradient with respect to input {@code i}, given the output's gradient {@code g}. */
    @FunctionalInterface
    public interface Rule<P> {
        NDArray grad(Node<P> node, NDArray g, int i);
    }

    private static final List<Op<?>> REGISTRY = Collections.synchronizedList(new ArrayList<>());

    private final String name;
    private final Forward<P> forward;
    private final Rule<P> rule;
    // recorded like a differentiable op, with a gradient of zero for every input (no rule)
    private final boolean zeroGradient;

    private Op(String name, Forward<P> forward, Rule<P> rule, boolean zeroGradient) {
        this.name = name;
        this.forward = forward;
        this.rule = rule;
        this.zeroGradient = zeroGradient;
    }

    /** Defines a differentiable op and lists it in the {@link #registry()}. */
    public static <P> Op<P> define(String name, Forward<P> forward, Rule<P> rule) {
        Op<P> op = new Op<>(name, forward, rule, false);
        REGISTRY.add(op);
        return op;
    }

    /**
     * Defines an op whose gradient is zero for every input (a comparison, {@code sign},
     * {@code floor}), as MXNet does: it is recorded, so its inputs are on the graph and get zeros
     * at every order, but backward computes nothing for it.
     */
    public static <P> Op<P> zeroGradient(String name, Forward<P> forward) {
        Op<P> op = new Op<>(name, forward, null, true);
        REGISTRY.add(op);
        return op;
    }

    /** Returns every op defined so far, in definition order. */
    public static List<Op<?>> registry() {
        synchronized (REGISTRY) {
            return List.copyOf(REGISTRY);
        }
    }

    /** Returns the op's name as the tape and error messages print it. */
    public String name() {
        return name;
    }

    /** Returns true when the op has a gradient rule. */
    public boolean isDifferentiable() {
        return rule != null;
    }

    /** Returns true when the op is recorded with a gradient of zero for every input. */
    public boolean hasZeroGradient() {
        return zeroGradient;
    }

    Rule<P> rule() {
        return rule;
    }

    /**
     * Computes the op and, when recording and some input requires a gradient, records it.
     *
     * @return a new array (never one of {@code inputs})
     */
    public NDArray apply(P params, NDArray... inputs) {
        Engine.State state = Engine.STATE.get();
        long id = willRecord(state, inputs) ? Node.nextId() : 0;
        if (state.activeOp != null) { // inside another op or a backward rule: that is the activity
            return record(params, inputs, forward.compute(inputs, params), id);
        }
        state.activeOp = this;
        state.activeId = id;
        state.activeInput = -1;
        try {
            return record(params, inputs, forward.compute(inputs, params), id);
        } finally {
            state.activeOp = null;
        }
    }

    private boolean willRecord(Engine.State state, NDArray[] inputs) {
        if ((rule == null && !zeroGradient) || !state.recording) {
            return false;
        }
        for (NDArray in : inputs) {
            if (in.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /** Records {@code out}, already computed from {@code inputs}, as this op's result. */
    NDArray record(P params, NDArray[] inputs, NDArray out) {
        Engine.State state = Engine.STATE.get();
        return record(params, inputs, out, willRecord(state, inputs) ? Node.nextId() : 0);
    }

    /** Records {@code out} as node {@code id}; an id of 0 means "not recorded". */
    private NDArray record(P params, NDArray[] inputs, NDArray out, long id) {
        for (NDArray in : inputs) {
            if (out == in) {
                out = in.detach(); // a kernel may return its input unchanged; the result must be a new array
                break;
            }
        }
        if (id != 0) {
            Node<P> node = new Node<>(this, params, inputs, out, id);
            if (Engine.STATE.get().anomaly) {
                node.recordedAt = new Throwable("op " + node + " recorded here");
            }
            out.autogradMeta().creator = node;
        } else if (Engine.STATE.get().recording && out.autogradMetaOrNull() == null) {
            // computed under record() from constants: its gradient with respect to anything is zero
            out.autogradMeta().recordedConstant = true;
        }
        return out;
    }

    /** An op that is not listed in the registry: a user's {@link Function}, a checkpoint. */
    static <P> Op<P> unlisted(String name, Rule<P> rule) {
        return new Op<>(name, (in, p) -> {
            throw new IllegalStateException(name + " is computed by its owner, not through apply");
        }, rule, false);
    }

    @Override
    public String toString() {
        return name;
    }
}
