package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;

/**
 * What autograd knows about one array: the recorded op that produced it, or, for a variable, its
 * gradient buffer and {@link GradReq}. Arrays that never meet autograd have none. Its state is
 * changed only by this package; {@link NDArray} exposes it read-only for graph tools.
 */
public final class AutogradMeta {
    Node<?> creator;
    GradReq gradReq;
    NDArray grad;
    boolean retainGrad;
    // true when the last backward wrote the gradient buffer (MXNet's _fresh_grad)
    boolean freshGrad;
    // true for a result computed under record() from constants only: its gradients are zero
    boolean recordedConstant;
    java.util.List<java.util.function.UnaryOperator<NDArray>> hooks;

    // Scratch space of one backward pass: the gradient gathered so far for a leaf, and the pass
    // that last touched it.
    NDArray pending;
    long pass;

    /** Returns the recorded op application that produced the array, or null for a leaf. */
    public Node<?> creator() {
        return creator;
    }

    /** Returns how gradients are stored, or null when {@code attachGrad} was never called. */
    public GradReq gradReq() {
        return gradReq;
    }

    /** Returns true when gradients flow into the array: a recorded result or a variable. */
    public boolean requiresGrad() {
        return creator != null || (gradReq != null && gradReq != GradReq.NULL);
    }

    /** Returns the gradient buffer, or null when the array has none. */
    public NDArray grad() {
        return grad;
    }
}
