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
 * <p>A function with several outputs, as MXNet's {@code autograd.Function} returns tuples,
 * overrides {@link #forwardAll} instead and is applied with {@link #applyAll}; its
 * {@code backward} gets one gradient per output (zeros for an output nothing used).
 *
 * <p>Unlike MXNet's, one instance can be applied any number of times: what {@link
 * #saveForBackward} keeps belongs to each application. {@code forward} runs without recording;
 * {@code backward} runs recorded when higher-order gradients are asked for, so writing it in
 * {@link NDArray} operations makes it differentiable again.
 */
public abstract class Function {
    /** What one application keeps: its outputs, the saved arrays and the gradients last computed. */
    private static final class Application {
        final Function fn;
        NDArray[] outputs;
        NDArray[] saved = new NDArray[0];
        int[] savedVersions = new int[0];
        // per output: the output gradient last differentiated, and the input gradients it gave
        NDArray[] lastOutputGrad;
        NDArray[][] inputGrads;

        Application(Function fn) {
            this.fn = fn;
        }
    }

    /** The parameters of the node of output {@code k} of an application. */
    private record Output(Application app, int k) {}

    private static final ThreadLocal<Application> CURRENT = new ThreadLocal<>();

    private final Op<Output> op = Op.unlisted(getClass().getSimpleName(), Function::rule);

    /**
     * Computes the output from the inputs; runs without recording. A function with several
     * outputs overrides {@link #forwardAll} instead.
     */
    protected NDArray forward(NDArray... inputs) {
        throw new UnsupportedOperationException(getClass().getName() + " overrides neither forward nor forwardAll");
    }

    /** Computes the outputs from the inputs; runs without recording. By default, {@link #forward}'s one output. */
    protected NDArray[] forwardAll(NDArray... inputs) {
        return new NDArray[] {forward(inputs)};
    }

    /**
     * Returns one gradient per input (null for an input that gets none) from the gradients of the
     * outputs, one per output in order.
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

    /** Applies a function of one output; recorded like any op when an input requires a gradient. */
    public final NDArray apply(NDArray... inputs) {
        NDArray[] out = applyAll(inputs);
        if (out.length != 1) {
            throw new IllegalStateException(getClass().getName() + " has " + out.length + " outputs; call applyAll");
        }
        return out[0];
    }

    /** Applies the function and returns every output, each recorded when an input requires a gradient. */
    public final NDArray[] applyAll(NDArray... inputs) {
        Application app = new Application(this);
        Application prev = CURRENT.get();
        CURRENT.set(app);
        NDArray[] out;
        try (Autograd.Scope p = Autograd.pause(Autograd.isTraining())) {
            out = forwardAll(inputs);
        } finally {
            CURRENT.set(prev);
        }
        if (out == null || out.length == 0 || Arrays.asList(out).contains(null)) {
            throw new IllegalStateException(getClass().getName() + ".forward returned "
                + (out == null || out.length == 0 ? "no output" : "a null output"));
        }
        app.outputs = out.clone();
        app.lastOutputGrad = new NDArray[out.length];
        app.inputGrads = new NDArray[out.length][];
        NDArray[] recorded = new NDArray[out.length];
        for (int k = 0; k < out.length; k++) {
            recorded[k] = op.record(new Output(app, k), inputs.clone(), out[k]);
        }
        return recorded;
    }

    /**
     * The gradient of input {@code i} from the gradient {@code g} of output {@code k}: backward is
     * linear in the output gradients, so each output's node asks it with zeros for the others, and
     * backward sums what the nodes give.
     */
    private static NDArray rule(Node<Output> node, NDArray g, int i) {
        Application app = node.params().app();
        int k = node.params().k();
        if (app.lastOutputGrad[k] != g) {
            NDArray[] gs = new NDArray[app.outputs.length];
            for (int j = 0; j < gs.length; j++) {
                gs[j] = j == k ? g : app.outputs[j].zerosLike();
            }
            Application prev = CURRENT.get();
            CURRENT.set(app);
            NDArray[] grads;
            try {
                grads = app.fn.backward(gs);
            } finally {
                CURRENT.set(prev);
            }
            String name = app.fn.getClass().getName();
            NDArray[] in = node.inputs();
            if (grads == null || grads.length != in.length) {
                throw new IllegalStateException(name + ".backward returned " + (grads == null ? "null" : grads.length
                    + " gradients") + " for " + in.length + " inputs");
            }
            for (int j = 0; j < in.length; j++) {
                if (grads[j] != null && !Arrays.equals(grads[j].shape(), in[j].shape())) {
                    throw new IllegalStateException(name + ".backward returned a gradient of shape "
                        + Shape.str(grads[j].shape()) + " for input " + j + " of shape " + Shape.str(in[j].shape()));
                }
            }
            app.lastOutputGrad[k] = g;
            app.inputGrads[k] = grads;
        }
        NDArray gi = app.inputGrads[k][i];
        return gi != null ? gi : node.like(i).zerosLike();
    }
}
