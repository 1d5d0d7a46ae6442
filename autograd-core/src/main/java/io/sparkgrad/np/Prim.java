package io.sparkgrad.np;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A primitive computation as data: which kernel, with which parameters. Every op of the rule table
 * ({@link Ops}) computes its forward value as one primitive, and every backend is asked for
 * primitives only ({@link Backend#apply}): the local backend runs the kernel, the distributed one
 * records the primitive in its deferred graph and later compiles it into Spark work. The shape
 * rule of each primitive lives here, once ({@link #shape}); backends receive the computed shape.
 *
 * <p>The user-facing checks (that shapes broadcast, that an axis exists, that a reshape keeps the
 * size) run before a primitive is made, in {@link NDArray}'s methods, so their errors name the
 * user's call. Primitives are {@link Serializable}: a distributed backend ships them to executors.
 */
public sealed interface Prim extends Serializable {
    /**
     * Returns the shape of the result for operands of shapes {@code in} (already checked by the
     * caller): the one place where each primitive's shape rule is written.
     */
    long[] shape(long[][] in);

    /** Returns a short name for messages and plans ({@code exp}, {@code sum}, {@code matmul}). */
    String name();

    /**
     * Computes {@code p} over {@code operands}: the shape once, then the kernel of the backend with
     * the highest priority among the operands'.
     */
    static NDArray apply(Prim p, NDArray... operands) {
        long[][] shapes = new long[operands.length][];
        for (int i = 0; i < operands.length; i++) {
            shapes[i] = operands[i].shape;
        }
        return Backend.of(operands).apply(p, operands, p.shape(shapes));
    }

    /** An elementwise function of one operand. */
    record Unary(UnaryFn f) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return f.name().toLowerCase(); }
    }

    /** An elementwise function of two operands, with numpy broadcasting. */
    record Binary(BinaryFn f) implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.broadcast(name(), in[0], in[1]); }
        @Override
        public String name() { return f.name().toLowerCase(); }
    }

    /** Every element limited to {@code [lo, hi]}. */
    record Clip(double lo, double hi) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return "clip"; }
    }

    /** {@code where(cond, a, b)}: the three operands broadcast together. */
    record Where() implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.broadcast("where", Shape.broadcast("where", in[0], in[1]), in[2]); }
        @Override
        public String name() { return "where"; }
    }

    /** A reduction along a resolved axis, or over every element ({@link Backend#ALL}). */
    record Reduce(ReduceFn f, int axis, boolean keepdims) implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.reduced(in[0], axis, keepdims); }
        @Override
        public String name() { return f.name().toLowerCase(); }
    }

    /** The 2-norm along a resolved axis, or over every element ({@link Backend#ALL}). */
    record Norm(int axis, boolean keepdims) implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.reduced(in[0], axis, keepdims); }
        @Override
        public String name() { return "norm"; }
    }

    /** Repeats the operand along dimensions of length 1 (and new leading ones) to {@code to}. */
    record BroadcastTo(long[] to) implements Prim {
        @Override
        public long[] shape(long[][] in) { return to.clone(); }
        @Override
        public String name() { return "broadcastTo"; }
        @Override public String toString() { return "BroadcastTo" + Shape.str(to); }
    }

    /**
     * Broadcasts operand 0 to the shape and placement of operand 1, whose values are not read: the
     * gradient rules spread a reduced gradient over a possibly distributed array with it.
     */
    record BroadcastLike() implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[1].clone(); }
        @Override
        public String name() { return "broadcastLike"; }
    }

    /** The same elements in a new shape of the same size. */
    record Reshape(long[] to) implements Prim {
        @Override
        public long[] shape(long[][] in) { return to.clone(); }
        @Override
        public String name() { return "reshape"; }
        @Override public String toString() { return "Reshape" + Shape.str(to); }
    }

    /** Permuted axes: output axis {@code i} is input axis {@code perm[i]}. */
    record Transpose(int[] perm) implements Prim {
        @Override
        public long[] shape(long[][] in) {
            long[] out = new long[perm.length];
            for (int i = 0; i < perm.length; i++) {
                out[i] = in[0][perm[i]];
            }
            return out;
        }
        @Override
        public String name() { return "transpose"; }
        @Override public String toString() { return "Transpose" + Arrays.toString(perm); }
    }

    /** The product of two 2-D operands whose inner dimensions agree. */
    record Matmul() implements Prim {
        @Override
        public long[] shape(long[][] in) { return new long[] {in[0][0], in[1][1]}; }
        @Override
        public String name() { return "matmul"; }
    }

    /** Elements {@code [start, stop)} along {@code axis}. */
    record Slice(int axis, long start, long stop) implements Prim {
        @Override
        public long[] shape(long[][] in) {
            long[] out = in[0].clone();
            out[axis] = stop - start;
            return out;
        }
        @Override
        public String name() { return "slice"; }
    }

    /** {@code before} zeros ahead of and {@code after} zeros behind {@code axis}. */
    record Pad(int axis, long before, long after) implements Prim {
        @Override
        public long[] shape(long[][] in) {
            long[] out = in[0].clone();
            out[axis] += before + after;
            return out;
        }
        @Override
        public String name() { return "pad"; }
    }

    /** The operands joined along {@code axis}. */
    record Concat(int axis) implements Prim {
        @Override
        public long[] shape(long[][] in) {
            long[] out = in[0].clone();
            out[axis] = 0;
            for (long[] s : in) {
                out[axis] += s[axis];
            }
            return out;
        }
        @Override
        public String name() { return "concat"; }
    }

    /**
     * Rows of operand 0 picked by the indices of operand 1 (numpy's {@code take(a, indices, axis=0)}):
     * the result has the indices' shape followed by a row's.
     */
    record Take() implements Prim {
        @Override
        public long[] shape(long[][] in) {
            long[] out = new long[in[1].length + in[0].length - 1];
            System.arraycopy(in[1], 0, out, 0, in[1].length);
            System.arraycopy(in[0], 1, out, in[1].length, in[0].length - 1);
            return out;
        }
        @Override
        public String name() { return "take"; }
    }

    /**
     * Zeros of the shape and placement of operand 0 (whose values are not read), with each row of
     * operand 2 added at the row operand 1 indexes: the gradient of {@link Take}.
     */
    record ScatterAdd() implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return "scatterAdd"; }
    }

    /** {@code value} everywhere, with the shape and placement of the operand (whose values are not read). */
    record Fill(double value) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return "fill"; }
    }

    /**
     * Samples uniform in [0, 1) with the shape and placement of the operand (whose values are not
     * read); the same seed and placement give the same samples.
     */
    record RandomUniform(long seed) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return "randomUniform"; }
    }
}
