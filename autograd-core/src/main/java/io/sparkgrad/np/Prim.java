package io.sparkgrad.np;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A primitive computation as data: which kernel, with which parameters. Every op of the rule table
 * ({@link Ops}) computes its forward value as one primitive, and every backend is asked for
 * primitives only ({@link Backend#apply}): the local backend runs the kernel, the distributed one
 * records the primitive in its deferred graph and later compiles it into Spark work. The shape
 * rule of each primitive lives here, once ({@link #shape}), and so does its result type
 * ({@link #dtype}); backends receive both.
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
     * Returns the type of the result over {@code in}: the one place where each primitive's type
     * rule is written. By default numpy's promotion over every operand ({@link #promote}).
     */
    default DType dtype(NDArray[] in) {
        return promote(in);
    }

    /**
     * Returns true when the result's values are values of its operands (or zeros) moved around, so
     * that a float32 result needs no rounding: reshapes, transposes, slices, pads, joins, takes.
     */
    default boolean movesValues() {
        return false;
    }

    /**
     * numpy's promotion (NEP 50): float64 if any operand is a float64 array; float32 if the
     * operands that are arrays are float32; weak scalars ({@link NDArray#isWeak}) take the other
     * operands' type, and only weak scalars give float64.
     */
    static DType promote(NDArray... in) {
        DType t = null;
        for (NDArray a : in) {
            if (!a.isWeak()) {
                t = t == null ? a.dtype() : t.promote(a.dtype());
            }
        }
        return t == null ? DType.FLOAT64 : t;
    }

    /**
     * Computes {@code p} over {@code operands}: the shape and type once, then the kernel of the
     * backend with the highest priority among the operands'.
     */
    static NDArray apply(Prim p, NDArray... operands) {
        long[][] shapes = new long[operands.length][];
        for (int i = 0; i < operands.length; i++) {
            shapes[i] = operands[i].shape;
        }
        return Backend.of(operands).apply(p, operands, p.shape(shapes), p.dtype(operands));
    }

    /** The values of the operand as another type (numpy's {@code astype}): a copy, rounded to float for float32. */
    record Cast(DType to) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public DType dtype(NDArray[] in) { return to; }
        @Override
        public String name() { return "astype"; }
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
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
        @Override
        public String name() { return "clip"; }
    }

    /** {@code where(cond, a, b)}: the three operands broadcast together. */
    record Where() implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.broadcast("where", Shape.broadcast("where", in[0], in[1]), in[2]); }
        /** The condition is a mask: its type does not take part. */
        @Override
        public DType dtype(NDArray[] in) { return promote(in[1], in[2]); }
        @Override
        public String name() { return "where"; }
    }

    /** A reduction along a resolved axis, or over every element ({@link Backend#ALL}). */
    record Reduce(ReduceFn f, int axis, boolean keepdims) implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.reduced(in[0], axis, keepdims); }
        @Override
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
        @Override
        public String name() { return f.name().toLowerCase(); }
    }

    /** The 2-norm along a resolved axis, or over every element ({@link Backend#ALL}). */
    record Norm(int axis, boolean keepdims) implements Prim {
        @Override
        public long[] shape(long[][] in) { return Shape.reduced(in[0], axis, keepdims); }
        @Override
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
        @Override
        public String name() { return "norm"; }
    }

    /** Repeats the operand along dimensions of length 1 (and new leading ones) to {@code to}. */
    record BroadcastTo(long[] to) implements Prim {
        @Override
        public long[] shape(long[][] in) { return to.clone(); }
        @Override
        public boolean movesValues() { return true; }
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
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
        @Override
        public boolean movesValues() { return true; }
        @Override
        public String name() { return "broadcastLike"; }
    }

    /** The same elements in a new shape of the same size. */
    record Reshape(long[] to) implements Prim {
        @Override
        public long[] shape(long[][] in) { return to.clone(); }
        @Override
        public boolean movesValues() { return true; }
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
        @Override
        public boolean movesValues() { return true; }
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
        @Override
        public boolean movesValues() { return true; }
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
        @Override
        public boolean movesValues() { return true; }
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
        @Override
        public boolean movesValues() { return true; }
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
        /** The indices do not take part: the rows keep the table's type. */
        @Override
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
        @Override
        public boolean movesValues() { return true; }
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
        /** The indices do not take part. */
        @Override
        public DType dtype(NDArray[] in) { return promote(in[0], in[2]); }
    }

    /** {@code value} everywhere, with the shape and placement of the operand (whose values are not read). */
    record Fill(double value) implements Prim {
        @Override
        public long[] shape(long[][] in) { return in[0].clone(); }
        @Override
        public String name() { return "fill"; }
        /** The template's type, as numpy's {@code full_like}. */
        @Override
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
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
        @Override
        public DType dtype(NDArray[] in) { return in[0].dtype(); }
    }
}
