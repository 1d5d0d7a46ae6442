package io.sparkgrad.np;

import java.util.function.Function;

/**
 * The backend of pending local arrays ({@link LocalArray#pending}): an op over them returns another
 * pending array, of the shape the local kernel would produce, whose values the local kernel
 * computes once they are needed. A loss such as {@code X.matmul(w).softplus().mean() + penalty}
 * therefore stays pending through its local tail, and a backend that defers its reductions (the
 * distributed one) can run the loss together with the gradients of a later backward pass.
 *
 * <p>Shapes are checked by {@link NDArray} before an op reaches a backend, so a wrong shape still
 * fails at the line that wrote it. An op that mixes a pending array with a distributed one goes to
 * the distributed backend (higher priority), which needs the values and so computes them.
 */
final class PendingBackend implements Backend {
    static final PendingBackend INSTANCE = new PendingBackend();

    private static final LocalBackend LOCAL = LocalBackend.INSTANCE;

    private PendingBackend() {}

    @Override
    public int priority() {
        return 1; // above local arrays, below distributed ones
    }

    /**
     * The result of {@code kernel} over {@code operands}: run now when no operand is pending any
     * more, later otherwise. Later, it reads a snapshot of each operand taken now, so that an
     * in-place change made in between (an optimizer's assign) does not reach it.
     */
    private static NDArray later(int[] shape, Function<NDArray[], NDArray> kernel, NDArray... operands) {
        boolean pending = false;
        for (NDArray a : operands) {
            pending |= a instanceof LocalArray && ((LocalArray) a).isPending();
        }
        if (!pending) {
            return kernel.apply(operands);
        }
        NDArray[] frozen = new NDArray[operands.length];
        for (int i = 0; i < operands.length; i++) {
            frozen[i] = operands[i] instanceof LocalArray ? ((LocalArray) operands[i]).snapshot() : operands[i];
        }
        return LocalArray.pending(shape, () -> ((LocalArray) kernel.apply(frozen)).data());
    }

    @Override
    public NDArray unary(UnaryFn f, NDArray a) {
        return later(a.shape.clone(), in -> LOCAL.unary(f, in[0]), a);
    }

    @Override
    public NDArray binary(BinaryFn f, NDArray a, NDArray b) {
        return later(Shape.broadcast(f.name().toLowerCase(), a.shape, b.shape), in -> LOCAL.binary(f, in[0], in[1]), a, b);
    }

    @Override
    public NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims) {
        return later(Shape.reduced(a.shape, axis, keepdims), in -> LOCAL.reduce(f, in[0], axis, keepdims), a);
    }

    @Override
    public NDArray norm(NDArray a, int axis, boolean keepdims) {
        return later(Shape.reduced(a.shape, axis, keepdims), in -> LOCAL.norm(in[0], axis, keepdims), a);
    }

    @Override
    public NDArray clip(NDArray a, double lo, double hi) {
        return later(a.shape.clone(), in -> LOCAL.clip(in[0], lo, hi), a);
    }

    @Override
    public NDArray broadcastTo(NDArray a, int[] shape) {
        return later(shape.clone(), in -> LOCAL.broadcastTo(in[0], shape), a);
    }

    @Override
    public NDArray broadcastLike(NDArray a, NDArray like) {
        return later(like.shape.clone(), in -> LOCAL.broadcastTo(in[0], like.shape), a);
    }

    @Override
    public NDArray reshape(NDArray a, int[] shape) {
        return ((LocalArray) a).view(shape.clone()); // a view of the pending values, as of any values
    }

    @Override
    public NDArray transpose(NDArray a, int[] perm) {
        int[] out = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            out[i] = a.shape[perm[i]];
        }
        return later(out, in -> LOCAL.transpose(in[0], perm), a);
    }

    @Override
    public NDArray matmul(NDArray a, NDArray b) {
        return later(new int[] {a.shape[0], b.shape[1]}, in -> LOCAL.matmul(in[0], in[1]), a, b);
    }

    @Override
    public NDArray slice(NDArray a, int axis, int start, int stop) {
        int[] out = a.shape.clone();
        out[axis] = stop - start;
        return later(out, in -> LOCAL.slice(in[0], axis, start, stop), a);
    }

    @Override
    public NDArray pad(NDArray a, int axis, int before, int after) {
        int[] out = a.shape.clone();
        out[axis] += before + after;
        return later(out, in -> LOCAL.pad(in[0], axis, before, after), a);
    }

    @Override
    public NDArray concat(NDArray[] parts, int axis) {
        int[] out = parts[0].shape.clone();
        out[axis] = 0;
        for (NDArray p : parts) {
            out[axis] += p.shape[axis];
        }
        return later(out, in -> LOCAL.concat(in, axis), parts);
    }

    @Override
    public NDArray where(NDArray cond, NDArray a, NDArray b) {
        int[] out = Shape.broadcast("where", Shape.broadcast("where", cond.shape, a.shape), b.shape);
        return later(out, in -> LOCAL.where(in[0], in[1], in[2]), cond, a, b);
    }

    @Override
    public NDArray fullLike(NDArray like, double value) {
        return LOCAL.fullLike(like, value); // needs the shape only
    }

    @Override
    public NDArray randomUniformLike(NDArray like, long seed) {
        return LOCAL.randomUniformLike(like, seed);
    }
}
