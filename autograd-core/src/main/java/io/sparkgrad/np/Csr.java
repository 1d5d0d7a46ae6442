package io.sparkgrad.np;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * A matrix in compressed sparse rows: row {@code i} holds the values {@code values[p]} at columns
 * {@code colIdx[p]} for {@code p} in {@code [rowPtr[i], rowPtr[i + 1])}, columns strictly
 * ascending within a row; every other entry is zero. Memory is proportional to the non-zeros.
 * A value class: its arrays are never written after construction.
 *
 * <p>The kernels below run on the non-zeros and visit them in storage order (row by row, columns
 * ascending), so their results are deterministic. They equal the dense kernels' up to the order
 * of the additions (BLAS adds in its own order), that is to about 1e-15 relative per sum.
 *
 * <pre>{@code
 * Csr x = Csr.fromDense(2, 3, new double[] {0, 2, 0, 1, 0, 0});
 * x.nnz();                               // 2
 * x.times(0, 2, new double[] {1, 1, 1}, 1); // [2, 1]
 * }</pre>
 */
public final class Csr implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int rows;
    private final int cols;
    private final int[] rowPtr;
    private final int[] colIdx;
    private final double[] values;

    /** Wraps the arrays (not copied) after checking that they describe a {@code rows x cols} CSR matrix. */
    public Csr(int rows, int cols, int[] rowPtr, int[] colIdx, double[] values) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("csr: shape (" + rows + ", " + cols + ") has a negative dimension");
        }
        if (rowPtr.length != rows + 1 || rowPtr[0] != 0) {
            throw new IllegalArgumentException("csr: rowPtr has " + rowPtr.length + " entries starting at "
                + (rowPtr.length == 0 ? "nothing" : rowPtr[0]) + " for " + rows + " rows; it needs rows + 1 starting at 0");
        }
        int nnz = rowPtr[rows];
        if (colIdx.length != nnz || values.length != nnz) {
            throw new IllegalArgumentException("csr: rowPtr ends at " + nnz + " but there are " + colIdx.length
                + " column indices and " + values.length + " values");
        }
        for (int i = 0; i < rows; i++) {
            int p0 = rowPtr[i];
            int p1 = rowPtr[i + 1];
            if (p1 < p0) {
                throw new IllegalArgumentException("csr: rowPtr decreases at row " + i + " (" + p0 + " then " + p1 + ")");
            }
            for (int p = p0; p < p1; p++) {
                int c = colIdx[p];
                if (c < 0 || c >= cols || (p > p0 && c <= colIdx[p - 1])) {
                    throw new IllegalArgumentException("csr: row " + i + " has column " + c + " after "
                        + (p > p0 ? "column " + colIdx[p - 1] : "none") + "; columns must be in [0, " + cols
                        + ") and strictly ascending");
                }
            }
        }
        this.rows = rows;
        this.cols = cols;
        this.rowPtr = rowPtr;
        this.colIdx = colIdx;
        this.values = values;
    }

    /** Returns an all-zero {@code rows x cols} matrix. */
    public static Csr empty(int rows, int cols) {
        return new Csr(rows, cols, new int[rows + 1], new int[0], new double[0]);
    }

    /** Returns the non-zeros of a row-major {@code rows x cols} array. */
    public static Csr fromDense(int rows, int cols, double[] dense) {
        if ((long) rows * cols != dense.length) {
            throw new IllegalArgumentException("csr: " + dense.length + " values for shape (" + rows + ", " + cols + ")");
        }
        int nnz = 0;
        for (double v : dense) {
            if (v != 0) {
                nnz++;
            }
        }
        int[] ptr = new int[rows + 1];
        int[] idx = new int[nnz];
        double[] val = new double[nnz];
        int p = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0, o = i * cols; j < cols; j++, o++) {
                if (dense[o] != 0) {
                    idx[p] = j;
                    val[p++] = dense[o];
                }
            }
            ptr[i + 1] = p;
        }
        return new Csr(rows, cols, ptr, idx, val);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Returns the number of stored entries. */
    public int nnz() {
        return rowPtr[rows];
    }

    /** Returns the stored entries over all entries (0 for an empty shape). */
    public double density() {
        long all = (long) rows * cols;
        return all == 0 ? 0 : (double) nnz() / all;
    }

    /** The arrays (not copies; do not modify). */
    public int[] rowPtrRef() {
        return rowPtr;
    }

    public int[] colIdxRef() {
        return colIdx;
    }

    public double[] valuesRef() {
        return values;
    }

    /** Returns the bytes the arrays take (what a cached block of it costs, apart from headers). */
    public long bytes() {
        return 4L * rowPtr.length + 12L * nnz();
    }

    /** Returns the dense row-major form. */
    public double[] toDense() {
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("csr: the dense form of a sparse block of shape (" + rows + ", " + cols
                + ") holds " + n + " values, more than a local array holds; an op without a sparse kernel read it "
                + "(X.matmul(W), X.T().matmul(G), scaling and zero-preserving ops run on the non-zeros; slice the rows "
                + "into smaller blocks for the others)");
        }
        return denseRows(0, rows, new double[(int) n]);
    }

    /** Writes rows {@code [r0, r1)} densely into {@code out} (which it first zeroes) and returns it. */
    public double[] denseRows(int r0, int r1, double[] out) {
        Arrays.fill(out, 0, (r1 - r0) * cols, 0.0);
        for (int i = r0; i < r1; i++) {
            int o = (i - r0) * cols;
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                out[o + colIdx[p]] = values[p];
            }
        }
        return out;
    }

    /** Returns rows {@code [r0, r1)} (a copy of their entries). */
    public Csr rows(int r0, int r1) {
        if (r0 < 0 || r1 > rows || r0 > r1) {
            throw new IllegalArgumentException("csr: rows [" + r0 + ", " + r1 + ") of " + rows);
        }
        if (r0 == 0 && r1 == rows) {
            return this;
        }
        int base = rowPtr[r0];
        int[] ptr = new int[r1 - r0 + 1];
        for (int i = r0; i <= r1; i++) {
            ptr[i - r0] = rowPtr[i] - base;
        }
        return new Csr(r1 - r0, cols, ptr, Arrays.copyOfRange(colIdx, base, rowPtr[r1]),
            Arrays.copyOfRange(values, base, rowPtr[r1]));
    }

    /** Returns columns {@code [c0, c1)}, renumbered from 0. */
    public Csr columns(int c0, int c1) {
        if (c0 < 0 || c1 > cols || c0 > c1) {
            throw new IllegalArgumentException("csr: columns [" + c0 + ", " + c1 + ") of " + cols);
        }
        int[] ptr = new int[rows + 1];
        int n = 0;
        for (int i = 0; i < rows; i++) {
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                if (colIdx[p] >= c0 && colIdx[p] < c1) {
                    n++;
                }
            }
            ptr[i + 1] = n;
        }
        int[] idx = new int[n];
        double[] val = new double[n];
        int q = 0;
        for (int p = 0; p < nnz(); p++) {
            if (colIdx[p] >= c0 && colIdx[p] < c1) {
                idx[q] = colIdx[p] - c0;
                val[q++] = values[p];
            }
        }
        return new Csr(rows, c1 - c0, ptr, idx, val);
    }

    /** Returns the rows of {@code parts} (all with the same columns) one after the other. */
    public static Csr concatRows(List<Csr> parts, int cols) {
        int rows = 0;
        long nnz = 0;
        for (Csr c : parts) {
            if (c.cols != cols) {
                throw new IllegalArgumentException("csr: joining rows of " + c.cols + " and " + cols + " columns");
            }
            rows += c.rows;
            nnz += c.nnz();
        }
        if (nnz > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("csr: " + nnz + " non-zeros are more than a block holds");
        }
        int[] ptr = new int[rows + 1];
        int[] idx = new int[(int) nnz];
        double[] val = new double[(int) nnz];
        int r = 0;
        int p = 0;
        for (Csr c : parts) {
            for (int i = 0; i < c.rows; i++) {
                ptr[r + i + 1] = p + c.rowPtr[i + 1];
            }
            System.arraycopy(c.colIdx, 0, idx, p, c.nnz());
            System.arraycopy(c.values, 0, val, p, c.nnz());
            r += c.rows;
            p += c.nnz();
        }
        return new Csr(rows, cols, ptr, idx, val);
    }

    /** Returns {@code f} applied to the stored entries; {@code f(0)} must be 0, so the zeros stay zeros. */
    public Csr map(DoubleUnaryOperator f) {
        double[] val = new double[nnz()];
        for (int p = 0; p < val.length; p++) {
            val[p] = f.applyAsDouble(values[p]);
        }
        return new Csr(rows, cols, rowPtr, colIdx, val);
    }

    /**
     * Returns rows {@code [r0, r1)} times the row-major {@code cols x m} matrix {@code w}: a dense
     * {@code (r1 - r0) x m} row-major result, each entry summed over the row's entries in column order.
     */
    public double[] times(int r0, int r1, double[] w, int m) {
        double[] o = new double[(r1 - r0) * m];
        if (m == 1) {
            for (int i = r0; i < r1; i++) {
                double s = 0;
                for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                    s += values[p] * w[colIdx[p]];
                }
                o[i - r0] = s;
            }
            return o;
        }
        for (int i = r0; i < r1; i++) {
            int oi = (i - r0) * m;
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                double v = values[p];
                int wk = colIdx[p] * m;
                for (int j = 0; j < m; j++) {
                    o[oi + j] += v * w[wk + j];
                }
            }
        }
        return o;
    }

    /**
     * Adds rows {@code [r0, r1)} transposed times the row-major {@code (r1 - r0) x m} matrix
     * {@code g} into the row-major {@code cols x m} {@code acc}, row after row: the contraction
     * {@code X^T G} over the rows, on the non-zeros only.
     */
    public void addTransposeTimes(int r0, int r1, double[] g, int m, double[] acc) {
        if (m == 1) { // X^T g of a vector (a linear model's gradient): one multiply-add a non-zero
            for (int i = r0; i < r1; i++) {
                double gi = g[i - r0];
                for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                    acc[colIdx[p]] += values[p] * gi;
                }
            }
            return;
        }
        for (int i = r0; i < r1; i++) {
            int gi = (i - r0) * m;
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++) {
                double v = values[p];
                int ak = colIdx[p] * m;
                for (int j = 0; j < m; j++) {
                    acc[ak + j] += v * g[gi + j];
                }
            }
        }
    }

    @Override
    public String toString() {
        return "Csr(" + rows + " x " + cols + ", " + nnz() + " non-zeros)";
    }
}
