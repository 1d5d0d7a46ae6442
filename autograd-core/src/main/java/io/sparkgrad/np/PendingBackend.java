package io.sparkgrad.np;

import java.util.function.Supplier;

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

    /** The result of {@code kernel}: run now when no operand is pending any more, later otherwise. */
    private static NDArray later(int[] shape, Supplier<NDArray> kernel, NDArray... operands) {
        boolean pending = false;
        for (NDArray a : operands) {
            pending |= a instanceof LocalArray && ((LocalArray) a).isPending();
        }
        if (!pending) {
            return kernel.get();
        }
        // views (reshape) share the operand's values, as they do when computed at once
        return LocalArray.pending(shape, () -> ((LocalArray) kernel.get()).data());
    }

    @Override
    public NDArray unary(UnaryFn f, NDArray a) {
        return later(a.shape.clone(), () -> LOCAL.unary(f, a), a);
    }

    @Override
    public NDArray binary(BinaryFn f, NDArray a, NDArray b) {
        return later(Shape.broadcast(f.name().toLowerCase(), a.shape, b.shape), () -> LOCAL.binary(f, a, b), a, b);
    }

    @Override
    public NDArray reduce(ReduceFn f, NDArray a, int axis, boolean keepdims) {
        return later(Shape.reduced(a.shape, axis, keepdims), () -> LOCAL.reduce(f, a, axis, keepdims), a);
    }

    @Override
    public NDArray norm(NDArray a, int axis, boolean keepdims) {
        return later(Shape.reduced(a.shape, axis, keepdims), () -> LOCAL.norm(a, axis, keepdims), a);
    }

    @Override
    public NDArray clip(NDArray a, double lo, double hi) {
        return later(a.shape.clone(), () -> LOCAL.clip(a, lo, hi), a);
    }

    @Override
    public NDArray broadcastTo(NDArray a, int[] shape) {
        return later(shape.clone(), () -> LOCAL.broadcastTo(a, shape), a);
    }

    @Override
    public NDArray broadcastLike(NDArray a, NDArray like) {
        return later(like.shape.clone(), () -> LOCAL.broadcastLike(a, like), a);
    }

    @Override
    public NDArray reshape(NDArray a, int[] shape) {
        return later(shape.clone(), () -> LOCAL.reshape(a, shape), a);
    }

    @Override
    public NDArray transpose(NDArray a, int[] perm) {
        int[] out = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            out[i] = a.shape[perm[i]];
        }
        return later(out, () -> LOCAL.transpose(a, perm), a);
    }

    @Override
    public NDArray matmul(NDArray a, NDArray b) {
        return later(new int[] {a.shape[0], b.shape[1]}, () -> LOCAL.matmul(a, b), a, b);
    }

    @Override
    public NDArray slice(NDArray a, int axis, int start, int stop) {
        int[] out = a.shape.clone();
        out[axis] = stop - start;
        return later(out, () -> LOCAL.slice(a, axis, start, stop), a);
    }

    @Override
    public NDArray pad(NDArray a, int axis, int before, int after) {
        int[] out = a.shape.clone();
        out[axis] += before + after;
        return later(out, () -> LOCAL.pad(a, axis, before, after), a);
    }

    @Override
    public NDArray concat(NDArray[] parts, int axis) {
        int[] out = parts[0].shape.clone();
        out[axis] = 0;
        for (NDArray p : parts) {
            out[axis] += p.shape[axis];
        }
        return later(out, () -> LOCAL.concat(parts, axis), parts);
    }

    @Override
    public NDArray where(NDArray cond, NDArray a, NDArray b) {
        int[] out = Shape.broadcast("where", Shape.broadcast("where", cond.shape, a.shape), b.shape);
        return later(out, () -> LOCAL.where(cond, a, b), cond, a, b);
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
