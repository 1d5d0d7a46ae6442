package io.sparkgrad.np;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Output arrays of kernels, recycled on one thread while a {@link Scope} is open. A block program
 * runs the same ops on chunk after chunk of rows; with a scope open, the arrays the ops wrote for
 * one chunk are handed out again for the next, so a task allocates its intermediates once rather
 * than once per chunk. Outside a scope, the normal case, every output is a new array.
 *
 * <p>Only kernels that overwrite every element of their output take it from here (elementwise
 * ops, products computed with {@code beta = 0}): a recycled array is not cleared.
 */
public final class Buffers {
    private Buffers() {}

    private static final ThreadLocal<Scope> OPEN = new ThreadLocal<>();

    /**
     * Opens a scope on this thread: until it is closed, kernels on this thread take their outputs
     * from it, and {@link Scope#recycle()} makes every array handed out so far free again.
     */
    public static Scope open() {
        if (OPEN.get() != null) {
            throw new IllegalStateException("internal: a buffer scope is already open on this thread");
        }
        Scope s = new Scope();
        OPEN.set(s);
        return s;
    }

    /** An array of {@code n} elements whose contents the caller overwrites entirely. */
    static double[] output(int n) {
        Scope s = OPEN.get();
        return s == null ? new double[n] : s.take(n);
    }

    /** The arrays of one thread's scope: free ones by length, and those handed out since the last recycle. */
    public static final class Scope implements AutoCloseable {
        /** The free arrays of one length. */
        private record Pool(int length, ArrayDeque<double[]> arrays) {}

        // a handful of distinct lengths per program (one per row width and chunk size)
        private final List<Pool> free = new ArrayList<>();
        private final List<double[]> taken = new ArrayList<>();

        private Scope() {}

        private ArrayDeque<double[]> freeOf(int n) {
            for (Pool p : free) {
                if (p.length() == n) {
                    return p.arrays();
                }
            }
            ArrayDeque<double[]> q = new ArrayDeque<>();
            free.add(new Pool(n, q));
            return q;
        }

        double[] take(int n) {
            double[] a = freeOf(n).poll();
            if (a == null) {
                a = new double[n];
            }
            taken.add(a);
            return a;
        }

        /**
         * Makes every array handed out since the last recycle free again. The caller guarantees that
         * nothing reads them any more (a block program calls this after each chunk, whose values it
         * has copied out).
         */
        public void recycle() {
            for (double[] a : taken) {
                freeOf(a.length).add(a);
            }
            taken.clear();
        }

        @Override
        public void close() {
            OPEN.remove();
        }
    }
}
