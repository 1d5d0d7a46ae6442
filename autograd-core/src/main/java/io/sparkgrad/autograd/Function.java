package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.Arrays;

/**
 * A user-defined op: subclass it with a {@link #forward} and a {@link #backward}, then
 * {@link #apply} it like any other op. Use it for a numerically better gradient than the composite
 * one, or for a computation autograd cannot see through.
 *
 * <pre>{@code
 * class Log1pExp extends Function {
 *     protected NDArray forward(NDArray... x) {
 *         saveForBackward(x[0]);
 *         return x[0].softplus();
 *     }
 *     protected NDArray[] backward(NDArray... g) {
 *         return new NDArray[] {g[0].mul(savedTensors()[0].sigmoid())};
 *     }
 * }
 * NDArray y = new Log1pExp().apply(x);
 * }</pre>
 *
 * <p>Unlike MXNet's, one instance can be applied any number of times: what {@link
 * #saveForBackward} keeps belongs to each application. {@code forward} runs without recording;
 * {@code backward} runs recorded when higher-order gradients are asked for, so writing it in
 * {@link NDArray} operations makes it differentiable again.
 */
public abstract class Function {
    /** What one application keeps: the saved arrays and the gradients last computed. */
    private static final class Application {
        final Function fn;
        NDArray[] saved = new NDArray[0];
        int[] savedVersions = new int[0];
        NDArray lastOutputGrad;
        NDArray[] inputGrads;

        Application(Function fn) {
            this.fn = fn;
        }
    }

    private static final ThreadLocal<Application> CURRENT = new ThreadLocal<>();

    private final Op<Application> op = Op.unlisted(getClass().getSimpleName(), Function::rule);

    /** Computes the output from the inputs; runs without recording. */
    protected abstract NDArray forward(NDArray... inputs);

    /**
     * Returns one gradient per input (null for an input that gets none) from the gradient of the
     * output ({@code outputGrads[0]}).
     */
    protected abstract NDArray[] backward(NDArray... outputGrads);

    /** Keeps arrays for {@link #backward} of the current application; call it from forward. */
    protected final void saveForBackward(NDArray... arrays) {
        Application app = current("saveForBackward");
        app.saved = arrays.clone();
        app.savedVersions = new int[arrays.length];
        for (int k = 0; k < arrays.length; k++) {
            app.savedVersions[k] = arrays[k].version();
        }
    }

    /** Returns what {@link #saveForBackward} kept for the application being differentiated. */
    protected final NDArray[] savedTensors() {
        Application app = current("savedTensors");
        for (int k = 0; k < app.saved.length; k++) {
            NDArray a = app.saved[k];
            if (a.version() != app.savedVersions[k]) {
                throw new IllegalStateException(getClass().getSimpleName() + ".backward: saved array " + k + " (shape "
                    + Shape.str(a.shape()) + ") was changed in place after forward saved it (version "
                    + app.savedVersions[k] + " then, " + a.version() + " now); change it after the backward pass");
            }
        }
        return app.saved.clone();
    }

    private Application current(String what) {
        Application app = CURRENT.get();
        if (app == null || app.fn != this) {
            throw new IllegalStateException(what + ": only valid inside forward or backward of " + getClass().getName());
        }
        return app;
    }

    /** Applies the function; recorded like any op when an input requires a gradient. */
    public final NDArray apply(NDArray... inputs) {
        Application app = new Application(this);
        Application prev = CURRENT.get();
        CURRENT.set(app);
        NDArray out;
        try (Autograd.Scope p = Autograd.pause()) {
            out = forward(inputs);
        } finally {
            CURRENT.set(prev);
        }
        if (out == null) {
            throw new IllegalStateException(getClass().getName() + ".forward returned null");
        }
        return op.record(app, inputs.clone(), out);
    }

    private static NDArray rule(Node<Application> node, NDArray g, int i) {
        Application app = node.params();
        if (app.lastOutputGrad != g) {
            Application prev = CURRENT.get();
            CURRENT.set(app);
            NDArray[] grads;
            try {
                grads = app.fn.backward(g);
            } finally {
                CURRENT.set(prev);
            }
            String name = app.fn.getClass().getName();
            NDArray[] in = node.inputs();
            if (grads == null || grads.length != in.length) {
                throw new IllegalStateException(name + ".backward returned " + (grads == null ? "null" : grads.length
                    + " gradients") + " for " + in.length + " inputs");
            }
            for (int k = 0; k < in.length; k++) {
                if (grads[k] != null && !Arrays.equals(grads[k].shape(), in[k].shape())) {
                    throw new IllegalStateException(name + ".backward returned a gradient of shape "
                        + Shape.str(grads[k].shape()) + " for input " + k + " of shape " + Shape.str(in[k].shape()));
                }
            }
            app.lastOutputGrad = g;
            app.inputGrads = grads;
        }
        NDArray gi = app.inputGrads[i];
        return gi != null ? gi : node.like(i).zerosLike();
    }
}
