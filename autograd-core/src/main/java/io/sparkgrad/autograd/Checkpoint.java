package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;

import java.util.Arrays;

/**
 * Gradient checkpointing: the forward pass of a function runs without recording, so none of its
 * intermediates stay referenced; the one recorded node recomputes them when backward reaches it.
 */
final class Checkpoint {
    private Checkpoint() {}

    private static final class Saved {
        final ArrayFunction fn;
        NDArray lastOutputGrad;
        NDArray[] inputGrads;

        Saved(ArrayFunction fn) {
            this.fn = fn;
        }
    }

    private static final Op<Saved> OP = Op.unlisted("checkpoint", Checkpoint::rule);

    static NDArray apply(ArrayFunction fn, NDArray... inputs) {
        NDArray out;
        try (Autograd.Scope p = Autograd.pause(Autograd.isTraining())) {
            out = fn.apply(inputs);
        }
        return OP.record(new Saved(fn), inputs.clone(), out);
    }

    private static NDArray rule(Node<Saved> node, NDArray g, int i) {
        Saved s = node.params();
        if (s.lastOutputGrad != g) {
            if (Engine.STATE.get().recording) {
                throw new UnsupportedOperationException("checkpoint: higher-order gradients (createGraph) through a "
                    + "checkpoint are not supported; call the function directly where you need them");
            }
            NDArray[] in = node.inputs();
            NDArray[] vars = new NDArray[in.length];
            for (int k = 0; k < in.length; k++) {
                vars[k] = Autograd.freshVariable(node.in(k)); // the recomputation reads every input's values
            }
            NDArray y;
            // the forward ran in the same training mode; fn must be deterministic for the
            // recomputed intermediates to equal the ones that were not kept
            try (Autograd.Scope r = Autograd.record(Autograd.isTraining())) {
                y = s.fn.apply(vars);
            }
            s.inputGrads = y.requiresGrad()
                ? Engine.run(Arrays.asList(y), Arrays.asList(g), vars, false, false, true, null)
                : zeros(in);
            s.lastOutputGrad = g;
        }
        return s.inputGrads[i];
    }

    private static NDArray[] zeros(NDArray[] like) {
        NDArray[] z = new NDArray[like.length];
        for (int k = 0; k < like.length; k++) {
            z[k] = like[k].zerosLike();
        }
        return z;
    }
}
