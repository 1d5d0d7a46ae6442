package io.sparkgrad.dist;

import io.sparkgrad.np.Csr;
import io.sparkgrad.worker.Block;

import java.util.Arrays;

/**
 * The rows of one partition of sparse data (LIBSVM lines, {@code SparseVector}s), gathered as
 * compressed sparse rows on the executors, then made into a block: sparse below the session's
 * {@link Settings#sparseThreshold()} (which the reader passes in), dense at or above it. A row's
 * entries may come in any order; a column given twice keeps its last value (as a dense row
 * written in order would), and zeros are not stored.
 */
final class CsrBuilder {
    private static final int MAX = Integer.MAX_VALUE - 16;
    private final int partition;
    private int[] rowPtr = new int[65];
    private int[] colIdx = new int[1024];
    private double[] values = new double[1024];
    private int rows;
    private int size;
    private int rowStart;
    private boolean ordered = true; // the current row's columns ascend so far

    CsrBuilder(int partition) {
        this.partition = partition;
    }

    /** Adds the entry at column {@code col} of the current row. */
    void add(int col, double v) {
        if (size == colIdx.length) {
            if (size >= MAX) {
                throw new IllegalStateException("partition " + partition + " holds more than " + MAX + " non-zeros, more "
                    + "than a block holds; repartition the data into more partitions");
            }
            int n = (int) Math.min(MAX, 2L * size);
            colIdx = Arrays.copyOf(colIdx, n);
            values = Arrays.copyOf(values, n);
        }
        if (size > rowStart && col <= colIdx[size - 1]) {
            ordered = false;
        }
        colIdx[size] = col;
        values[size++] = v;
    }

    /** Ends the current row: sorts its entries when needed, keeps a repeated column's last value, drops zeros. */
    void endRow() {
        if (!ordered) {
            sortRow();
        }
        int w = rowStart;
        for (int p = rowStart; p < size; p++) {
            if (values[p] != 0) {
                colIdx[w] = colIdx[p];
                values[w++] = values[p];
            }
        }
        size = w;
        if (rows + 1 == rowPtr.length) {
            rowPtr = Arrays.copyOf(rowPtr, 2 * rowPtr.length);
        }
        rowPtr[++rows] = size;
        rowStart = size;
        ordered = true;
    }

    /** Drops the current row's entries (a row refused). */
    void dropRow() {
        size = rowStart;
        ordered = true;
    }

    int rows() {
        return rows;
    }

    /** A stable sort of the row's entries by column, then the last of each repeated column. */
    private void sortRow() {
        int n = size - rowStart;
        Integer[] order = new Integer[n];
        for (int k = 0; k < n; k++) {
            order[k] = rowStart + k;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(colIdx[a], colIdx[b])); // stable: equal columns keep their order
        int[] c = new int[n];
        double[] v = new double[n];
        int m = 0;
        for (int k = 0; k < n; k++) {
            int p = order[k];
            if (m > 0 && c[m - 1] == colIdx[p]) {
                v[m - 1] = values[p]; // the later value wins
            } else {
                c[m] = colIdx[p];
                v[m++] = values[p];
            }
        }
        System.arraycopy(c, 0, colIdx, rowStart, m);
        System.arraycopy(v, 0, values, rowStart, m);
        size = rowStart + m;
    }

    /**
     * Block {@code partition} of the rows, {@code cols} wide: sparse when its density is below
     * {@code threshold}, or when its dense form would not fit in one array; dense otherwise.
     */
    Block toBlock(int cols, double threshold) {
        Csr csr = new Csr(rows, cols, Arrays.copyOf(rowPtr, rows + 1), Arrays.copyOf(colIdx, size), Arrays.copyOf(values, size));
        long all = (long) rows * cols;
        if (csr.density() < threshold || all > MAX) {
            return new Block(partition, 0, csr);
        }
        return new Block(partition, 0, new int[] {rows, cols}, csr.toDense());
    }
}
