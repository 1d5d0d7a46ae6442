package io.sparkgrad.worker;

import io.sparkgrad.np.BinaryFn;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.UnaryFn;

/**
 * The kernels of sparse blocks ({@link Csr} rows), on their non-zeros: what {@link Kernels} runs
 * when a block turns out to be sparse. Each returns what the dense kernel returns for the dense
 * form, up to the order of additions; elementwise results are the dense kernel's bit for bit.
 */
final class Sparse {
    private Sparse() {}

    private static final LocalBackend L = LocalBackend.INSTANCE;

    /** {@code X W} for a local 2-D {@code W}: dense {@code rows x m}. */
    static NDArray times(Csr x, NDArray w) {
        int[] s = checkedProduct("matmul", x, w);
        return LocalArray.wrap(new int[] {x.rows(), s[1]}, x.times(0, x.rows(), w.toLocal().toArray(), s[1]));
    }

    /** Rows {@code [r0, r1)} of {@code X} times {@code W}. */
    static NDArray timesRows(Csr x, int r0, int r1, NDArray w) {
        int[] s = checkedProduct("matmul", x, w);
        return LocalArray.wrap(new int[] {r1 - r0, s[1]}, x.times(r0, r1, data(w), s[1]));
    }

    /** {@code X^T G} for a dense {@code G} with {@code X}'s rows: dense {@code cols x m}. */
    static NDArray transposeTimes(Csr x, NDArray g) {
        int m = checkedTransposed(x, x.rows(), g);
        double[] acc = new double[x.cols() * m];
        x.addTransposeTimes(0, x.rows(), data(g), m, acc);
        return LocalArray.wrap(new int[] {x.cols(), m}, acc);
    }

    /** Adds rows {@code [r0, r1)} of {@code X} transposed times {@code G} into {@code acc} ({@code cols x m}). */
    static void addTransposeTimesRows(Csr x, int r0, int r1, NDArray g, double[] acc) {
        int m = checkedTransposed(x, r1 - r0, g);
        x.addTransposeTimes(r0, r1, data(g), m, acc);
    }

    /** {@code f} on the stored values ({@code f(0) == 0}); the dense kernel computes each one. */
    static NDArray unary(UnaryFn f, Csr x) {
        double[] v = x.valuesRef();
        double[] out = L.unary(f, LocalArray.wrap(new int[] {v.length}, v)).toArray();
        return new SparseRows(new Csr(x.rows(), x.cols(), x.rowPtrRef(), x.colIdxRef(), out));
    }

    /**
     * {@code X * s} or {@code X / s} for a scalar, a row vector ({@code (cols,)} or
     * {@code (1, cols)}), a column ({@code (rows, 1)}) or a dense array of {@code X}'s shape of
     * factors that keep zeros zero (finite for a product; non-zero and not NaN for a quotient);
     * null when {@code s} is none of these, for the caller to take the dense path.
     */
    static NDArray scaled(BinaryFn f, Csr x, NDArray s) {
        long[] shape = s.shape();
        long n = s.size();
        int kind; // 0 scalar, 1 per column, 2 per row, 3 per element
        if (n == 1 && shape.length <= 2) {
            kind = 0;
        } else if ((shape.length == 1 || (shape.length == 2 && shape[0] == 1)) && shape[shape.length - 1] == x.cols()) {
            kind = 1;
        } else if (shape.length == 2 && shape[0] == x.rows() && shape[1] == 1) {
            kind = 2;
        } else if (shape.length == 2 && shape[0] == x.rows() && shape[1] == x.cols()) {
            kind = 3;
        } else {
            return null;
        }
        double[] c = data(s);
        for (double v : c) {
            if (f == BinaryFn.MUL ? !Double.isFinite(v) : (v == 0 || Double.isNaN(v))) {
                return null; // the zeros would become NaN: the dense path says so
            }
        }
        double[] v = x.valuesRef();
        int[] idx = x.colIdxRef();
        int[] ptr = x.rowPtrRef();
        double[] out = new double[v.length];
        boolean mul = f == BinaryFn.MUL;
        for (int i = 0; i < x.rows(); i++) {
            for (int p = ptr[i]; p < ptr[i + 1]; p++) {
                double k = kind == 0 ? c[0] : kind == 1 ? c[idx[p]] : kind == 2 ? c[i]
                    : c[i * x.cols() + idx[p]]; // a dense operand of X's shape holds fewer than 2^31 values
                out[p] = mul ? v[p] * k : v[p] / k;
            }
        }
        return new SparseRows(new Csr(x.rows(), x.cols(), ptr, idx, out));
    }

    /**
     * {@code A * B} elementwise for two sparse matrices of one shape: non-zero only where both
     * hold a value, so on the positions both store (the intersection of the patterns, row by row);
     * null when the shapes differ or a stored value is not finite ({@code inf * 0} is NaN in the
     * dense form), for the caller to take the dense path.
     */
    static NDArray product(Csr a, Csr b) {
        if (a.rows() != b.rows() || a.cols() != b.cols() || !finite(a.valuesRef()) || !finite(b.valuesRef())) {
            return null;
        }
        int[] pa = a.rowPtrRef();
        int[] ia = a.colIdxRef();
        double[] va = a.valuesRef();
        int[] pb = b.rowPtrRef();
        int[] ib = b.colIdxRef();
        double[] vb = b.valuesRef();
        int[] ptr = new int[a.rows() + 1];
        int[] idx = new int[Math.min(a.nnz(), b.nnz())];
        double[] v = new double[idx.length];
        int n = 0;
        for (int i = 0; i < a.rows(); i++) {
            int p = pa[i];
            int q = pb[i];
            while (p < pa[i + 1] && q < pb[i + 1]) { // the columns of a row are ascending in both
                if (ia[p] < ib[q]) {
                    p++;
                } else if (ia[p] > ib[q]) {
                    q++;
                } else {
                    idx[n] = ia[p];
                    v[n++] = va[p++] * vb[q++];
                }
            }
            ptr[i + 1] = n;
        }
        return new SparseRows(new Csr(a.rows(), a.cols(), ptr, java.util.Arrays.copyOf(idx, n), java.util.Arrays.copyOf(v, n)));
    }

    /** The values of {@code g} (dense, or sparse rows, of {@code x}'s shape) at the positions {@code x} stores. */
    static NDArray onPattern(Csr x, NDArray g) {
        long[] s = g.shape();
        if (s.length != 2 || s[0] != x.rows() || s[1] != x.cols()) {
            throw new IllegalArgumentException("gradient: a gradient of shape " + io.sparkgrad.np.Shape.str(s)
                + " for a sparse block of shape (" + x.rows() + ", " + x.cols() + ")");
        }
        double[] out = new double[x.nnz()];
        int[] ptr = x.rowPtrRef();
        int[] idx = x.colIdxRef();
        if (g instanceof SparseRows) { // look the positions up in g's own rows
            Csr c = ((SparseRows) g).csr();
            int[] pc = c.rowPtrRef();
            int[] ic = c.colIdxRef();
            double[] vc = c.valuesRef();
            for (int i = 0; i < x.rows(); i++) {
                int q = pc[i];
                for (int p = ptr[i]; p < ptr[i + 1]; p++) {
                    while (q < pc[i + 1] && ic[q] < idx[p]) {
                        q++;
                    }
                    out[p] = q < pc[i + 1] && ic[q] == idx[p] ? vc[q] : 0;
                }
            }
        } else {
            double[] d = data(g);
            for (int i = 0; i < x.rows(); i++) {
                for (int p = ptr[i]; p < ptr[i + 1]; p++) {
                    out[p] = d[i * x.cols() + idx[p]];
                }
            }
        }
        return new SparseRows(new Csr(x.rows(), x.cols(), ptr, idx, out));
    }

    private static boolean finite(double[] v) {
        for (double d : v) {
            if (!Double.isFinite(d)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The sum of a sparse matrix over {@code axis} (0: per column, 1: per row,
     * {@link io.sparkgrad.np.Backend#ALL}: of everything), over its non-zeros in storage order.
     */
    static NDArray sum(Csr x, int axis, boolean keepdims) {
        int a = axis == io.sparkgrad.np.Backend.ALL ? -1 : axis < 0 ? axis + 2 : axis;
        double[] v = x.valuesRef();
        int[] idx = x.colIdxRef();
        int[] ptr = x.rowPtrRef();
        if (a == 0) {
            double[] o = new double[x.cols()];
            for (int p = 0; p < v.length; p++) {
                o[idx[p]] += v[p];
            }
            return LocalArray.wrap(keepdims ? new int[] {1, x.cols()} : new int[] {x.cols()}, o);
        }
        if (a == 1) {
            double[] o = new double[x.rows()];
            for (int i = 0; i < x.rows(); i++) {
                double s = 0;
                for (int p = ptr[i]; p < ptr[i + 1]; p++) {
                    s += v[p];
                }
                o[i] = s;
            }
            return LocalArray.wrap(keepdims ? new int[] {x.rows(), 1} : new int[] {x.rows()}, o);
        }
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return LocalArray.wrap(keepdims ? new int[] {1, 1} : new int[0], new double[] {s});
    }

    private static int[] checkedProduct(String op, Csr x, NDArray w) {
        long[] s = w.shape();
        if (s.length != 2 || s[0] != x.cols()) {
            throw new IllegalArgumentException(op + ": a sparse block of shape (" + x.rows() + ", " + x.cols()
                + ") times an array of shape " + io.sparkgrad.np.Shape.str(s));
        }
        return new int[] {(int) s[0], (int) s[1]};
    }

    private static int checkedTransposed(Csr x, int rows, NDArray g) {
        long[] s = g.shape();
        if (s.length != 2 || s[0] != rows) {
            throw new IllegalArgumentException("matmul: a^T b needs equal rows, got " + rows + " rows of a sparse block of shape ("
                + x.rows() + ", " + x.cols() + ") and shape " + io.sparkgrad.np.Shape.str(s));
        }
        return (int) s[1];
    }

    private static double[] data(NDArray a) {
        NDArray l = a.toLocal();
        return l instanceof LocalArray ? ((LocalArray) l).data() : l.toArray();
    }
}
