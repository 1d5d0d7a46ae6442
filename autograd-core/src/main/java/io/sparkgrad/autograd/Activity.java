package io.sparkgrad.autograd;

/**
 * What the tape is doing on a thread: applying an op (forward), computing the gradient of one of
 * an op's inputs (backward), or work of the backward pass outside any op (storing gradients).
 * Backends that run remote work ask for it ({@link Autograd#activity()}) to name that work after
 * the tape, to count it and to decide how long what they ship must live.
 *
 * @param phase   forward or backward
 * @param op      the op's name ({@code matmul}), or what the pass does outside ops ({@code store gradients})
 * @param nodeId  the recorded node's id, or 0 when the op is not recorded (or for work outside ops)
 * @param input   the input whose gradient is computed, or -1
 */
public record Activity(Phase phase, String op, long nodeId, int input) {
    /** The direction of the pass. */
    public enum Phase {
        FORWARD, BACKWARD;

        /** Returns the phase as job descriptions print it: {@code forward}, {@code backward}. */
        public String label() {
            return name().toLowerCase();
        }
    }

    /** Storing the gradients in their buffers at the end of {@code backward()}. */
    static final Activity STORE_GRADIENTS = new Activity(Phase.BACKWARD, "store gradients", 0, -1);

    /** Returns the op and its node id as the tape prints them: {@code matmul#7}, or the op alone. */
    public String opWithId() {
        return nodeId != 0 ? op + "#" + nodeId : op;
    }

    /** Returns the activity without its phase: {@code sum#3}, {@code matmul#7 -> grad of input 1}. */
    public String detail() {
        return opWithId() + (input >= 0 ? " -> grad of input " + input : "");
    }

    /**
     * Returns the activity as Spark job descriptions show it: {@code forward: sum#3},
     * {@code backward: matmul#7 -> grad of input 1}, {@code backward: store gradients}.
     */
    @Override
    public String toString() {
        return phase.label() + ": " + detail();
    }
}
