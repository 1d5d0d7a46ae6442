package io.sparkgrad.np;

import java.util.Arrays;

/**
 * Static helpers for shapes: sizes, row-major strides, numpy broadcasting and axis checks. Every
 * check names the op it guards and prints the shapes involved, so a user reads which line failed
 * and why.
 */
public final class Shape {
    private Shape() {}

    /** Returns the number of elements of an array with this shape (1 for a 0-d scalar). */
    public static int size(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + str(shape) + " has " + n
                + " elements; a local array holds at most " + Integer.MAX_VALUE);
        }
        return (int) n;
    }

    /** Returns the number of elements of an array with this shape (1 for a 0-d scalar), however many. */
    public static long size(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Returns {@code shape} as ints, for an array that lives in this JVM: fails naming {@code op}
     * when it has more elements than a local array holds (2^31 - 1).
     */
    public static int[] toInt(String op, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
            if (d > Integer.MAX_VALUE || n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + ": shape " + str(shape) + " has " + sizeText(shape)
                    + " elements; a local array holds at most " + Integer.MAX_VALUE);
            }
        }
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = (int) shape[i];
        }
        return out;
    }

    private static String sizeText(long[] shape) {
        try {
            return Long.toString(size(shape));
        } catch (ArithmeticException e) {
            return "more than " + Long.MAX_VALUE;
        }
    }

    /** Returns {@code shape} as longs. */
    public static long[] of(int... shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = shape[i];
        }
        return out;
    }

    /** Returns the row-major strides of {@code shape}, in elements. */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** Formats a shape as numpy does: {@code (2, 3)}, {@code (4,)}, {@code ()}. */
    public static String str(int[] shape) {
        return str(of(shape));
    }

    /** Formats a shape as numpy does: {@code (2, 3)}, {@code (4,)}, {@code ()}. */
    public static String str(long[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return b.append(')').toString();
    }

    /** Checks that every dimension is non-negative, naming {@code op} otherwise. */
    public static long[] checkValid(String op, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(op + ": negative dimension in shape " + str(shape));
            }
        }
        return shape.clone();
    }

    /** Checks that every dimension is non-negative, naming {@code op} otherwise. */
    public static int[] checkValid(String op, int[] shape) {
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(op + ": negative dimension in shape " + str(shape));
            }
        }
        return shape.clone();
    }

    /**
     * Returns the numpy broadcast of two shapes: trailing dimensions are aligned, and each pair
     * must be equal or contain a 1.
     */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i < n - a.length ? 1 : a[i - (n - a.length)];
            int db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": operands could not be broadcast together with shapes "
                    + str(a) + " " + str(b));
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** The numpy broadcast of two shapes, as {@link #broadcast(String, int[], int[])}. */
    public static long[] broadcast(String op, long[] a, long[] b) {
        int n = Math.max(a.length, b.length);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long da = i < n - a.length ? 1 : a[i - (n - a.length)];
            long db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": operands could not be broadcast together with shapes "
                    + str(a) + " " + str(b));
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Checks that {@code from} broadcasts to exactly {@code to} (numpy's broadcast_to rule). */
    public static void checkBroadcastTo(String op, long[] from, long[] to) {
        boolean ok = from.length <= to.length;
        for (int i = 0; ok && i < from.length; i++) {
            long f = from[from.length - 1 - i];
            long t = to[to.length - 1 - i];
            ok = f == t || f == 1;
        }
        if (!ok) {
            throw new IllegalArgumentException(op + ": cannot broadcast shape " + str(from) + " to " + str(to));
        }
    }


    /** Resolves a possibly negative axis against {@code ndim}, naming {@code op} when out of range. */
    public static int axis(String op, int axis, int ndim) {
        int a = axis < 0 ? axis + ndim : axis;
        if (a < 0 || a >= ndim) {
            throw new IllegalArgumentException(op + ": axis " + axis + " is out of bounds for an array of dimension " + ndim);
        }
        return a;
    }

    /**
     * Returns {@code shape} with dimension {@code axis} removed, or set to 1 when {@code keepdims};
     * {@link Backend#ALL} reduces every dimension.
     */
    public static int[] reduced(int[] shape, int axis, boolean keepdims) {
        return toInt("reduce", reduced(of(shape), axis, keepdims));
    }

    /** As {@link #reduced(int[], int, boolean)}, for a shape of any size. */
    public static long[] reduced(long[] shape, int axis, boolean keepdims) {
        if (axis == Backend.ALL) {
            long[] out = new long[keepdims ? shape.length : 0];
            Arrays.fill(out, 1);
            return out;
        }
        if (keepdims) {
            long[] out = shape.clone();
            out[axis] = 1;
            return out;
        }
        long[] out = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != axis) {
                out[j++] = shape[i];
            }
        }
        return out;
    }

    /**
     * Resolves a reshape target, which may hold one {@code -1} to infer, against {@code from}.
     */
    public static long[] reshape(long[] from, long[] to) {
        long size = size(from);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape: can only specify one unknown dimension, got " + Arrays.toString(to));
                }
                infer = i;
            } else if (to[i] < 0) {
                throw new IllegalArgumentException("reshape: negative dimension in " + Arrays.toString(to));
            } else {
                known = Math.multiplyExact(known, to[i]);
            }
        }
        long[] out = to.clone();
        if (infer >= 0) {
            if (known == 0 || size % known != 0) {
                throw new IllegalArgumentException("reshape: cannot reshape array of size " + size + " into shape " + Arrays.toString(to));
            }
            out[infer] = size / known;
        } else if (known != size) {
            throw new IllegalArgumentException("reshape: cannot reshape array of shape " + str(from) + " (size " + size
                + ") into shape " + str(to));
        }
        return out;
    }

}
