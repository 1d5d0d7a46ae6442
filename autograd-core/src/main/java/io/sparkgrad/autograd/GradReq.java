package io.sparkgrad.autograd;

/** How {@code backward()} stores the gradient of a variable, as MXNet's {@code grad_req}. */
public enum GradReq {
    /** Overwrite the gradient buffer at every backward (the default). */
    WRITE,
    /** Add each backward's gradient to the buffer, until the user resets it. */
    ADD,
    /** Keep no gradient: the array is treated as a constant. */
    NULL
}
