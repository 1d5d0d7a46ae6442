package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Compressed sparse rows: built from a dense array or checked arrays (every malformed case
 * refused with its own message), cut by rows and columns, joined, mapped, and multiplied from
 * either side, each checked against the dense form computed by hand.
 */
class CsrTest {

    /**
     * <pre>
     * [ 0  2  0 -1 ]
     * [ 0  0  0  0 ]
     * [ 4  0  0.5 0 ]
     * </pre>
     */
    static final double[] D = {0, 2, 0, -1, 0, 0, 0, 0, 4, 0, 0.5, 0};
    static final Csr X = Csr.fromDense(3, 4, D);

    static String refusal(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void theDenseFormGoesInAndComesOutTheSame() {
        Csr x = Csr.fromDense(3, 4, D); // made here, not only in the class's initialiser
        assertArrayEquals(new int[] {0, 2, 2, 4}, x.rowPtrRef());
        assertArrayEquals(new int[] {1, 3, 0, 2}, x.colIdxRef());
        assertArrayEquals(D, x.toDense());
        assertEquals(3, X.rows());
        assertEquals(4, X.cols());
        assertEquals(4, X.nnz());
        assertArrayEquals(new int[] {0, 2, 2, 4}, X.rowPtrRef());
        assertArrayEquals(new int[] {1, 3, 0, 2}, X.colIdxRef());
        assertArrayEquals(new double[] {2, -1, 4, 0.5}, X.valuesRef());
        assertArrayEquals(D, X.toDense());
        assertEquals(4.0 / 12, X.density());
        assertEquals(0.0, Csr.empty(0, 3).density());
        assertEquals(0.0, Csr.empty(2, 3).density());
        assertEquals(4L * 4 + 12L * 4, X.bytes());
        assertEquals(0, Csr.fromDense(2, 2, new double[] {0, -0.0, 0, 0}).nnz(), "-0.0 is a zero");
        assertEquals(1, Csr.fromDense(1, 1, new double[] {Double.NaN}).nnz(), "NaN is not");
        assertEquals("csr: 5 values for shape (2, 3)", refusal(() -> Csr.fromDense(2, 3, new double[5])));
    }

    @Test
    void malformedArraysAreRefusedEachWithItsReason() {
        assertEquals("csr: shape (-1, 3) has a negative dimension",
            refusal(() -> new Csr(-1, 3, new int[0], new int[0], new double[0])));
        assertEquals("csr: shape (1, -3) has a negative dimension",
            refusal(() -> new Csr(1, -3, new int[] {0, 0}, new int[0], new double[0])));
        assertEquals("csr: rowPtr has 0 entries starting at nothing for 0 rows; it needs rows + 1 starting at 0",
            refusal(() -> new Csr(0, 3, new int[0], new int[0], new double[0])));
        assertEquals("csr: rowPtr has 2 entries starting at 1 for 1 rows; it needs rows + 1 starting at 0",
            refusal(() -> new Csr(1, 3, new int[] {1, 1}, new int[0], new double[0])));
        assertEquals("csr: rowPtr ends at 2 but there are 1 column indices and 2 values",
            refusal(() -> new Csr(1, 3, new int[] {0, 2}, new int[] {0}, new double[2])));
        assertEquals("csr: rowPtr ends at 2 but there are 2 column indices and 1 values",
            refusal(() -> new Csr(1, 3, new int[] {0, 2}, new int[] {0, 1}, new double[1])));
        assertEquals("csr: rowPtr decreases at row 0 (0 then -1)",
            refusal(() -> new Csr(2, 3, new int[] {0, -1, 0}, new int[0], new double[0])));
        assertEquals("csr: row 0 has column -1 after none; columns must be in [0, 3) and strictly ascending",
            refusal(() -> new Csr(1, 3, new int[] {0, 1}, new int[] {-1}, new double[1])));
        assertEquals("csr: row 1 has column 1 after column 1; columns must be in [0, 3) and strictly ascending",
            refusal(() -> new Csr(2, 3, new int[] {0, 1, 3}, new int[] {2, 1, 1}, new double[3])));
        assertEquals("csr: row 0 has column 3 after none; columns must be in [0, 3) and strictly ascending",
            refusal(() -> new Csr(1, 3, new int[] {0, 1}, new int[] {3}, new double[1])));
        assertEquals(3, new Csr(2, 3, new int[] {0, 1, 3}, new int[] {2, 0, 2}, new double[3]).nnz(),
            "a row's columns restart after the previous row's");
        assertEquals(2, new Csr(1, 3, new int[] {0, 2}, new int[] {0, 2}, new double[2]).nnz(), "column 0 and the last");
    }

    @Test
    void rowsAndColumnsAreCutAndRenumbered() {
        assertSame(X, X.rows(0, 3), "all the rows: the same matrix");
        Csr last = X.rows(1, 3);
        assertArrayEquals(new int[] {0, 0, 2}, last.rowPtrRef());
        assertArrayEquals(new double[] {0, 0, 0, 0, 4, 0, 0.5, 0}, last.toDense());
        assertArrayEquals(new double[] {0, 2, 0, -1}, X.rows(0, 1).toDense());
        assertEquals(0, X.rows(2, 2).rows());
        assertEquals("csr: rows [-1, 2) of 3", refusal(() -> X.rows(-1, 2)));
        assertEquals("csr: rows [0, 4) of 3", refusal(() -> X.rows(0, 4)));
        assertEquals("csr: rows [2, 1) of 3", refusal(() -> X.rows(2, 1)));
        Csr mid = X.columns(1, 3);
        assertEquals(2, mid.cols());
        assertArrayEquals(new int[] {0, 1, 1, 2}, mid.rowPtrRef());
        assertArrayEquals(new int[] {0, 1}, mid.colIdxRef());
        assertArrayEquals(new double[] {2, 0, 0, 0, 0, 0.5}, mid.toDense());
        assertArrayEquals(new double[] {0, -1, 0, 0, 0.5, 0}, X.columns(2, 4).toDense());
        assertArrayEquals(new double[] {0, 0, 4}, X.columns(0, 1).toDense());
        assertEquals(0, X.columns(2, 2).cols());
        assertEquals("csr: columns [-1, 2) of 4", refusal(() -> X.columns(-1, 2)));
        assertEquals("csr: columns [0, 5) of 4", refusal(() -> X.columns(0, 5)));
        assertEquals("csr: columns [3, 2) of 4", refusal(() -> X.columns(3, 2)));
    }

    @Test
    void aDenseFormTooBigForAnArrayIsRefusedNamingTheShape() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Csr.empty(100_000, 100_000).toDense());
        assertEquals("csr: the dense form of a sparse block of shape (100000, 100000) holds 10000000000 values, more than "
            + "a local array holds; an op without a sparse kernel read it (X.matmul(W), X.T().matmul(G), scaling and "
            + "zero-preserving ops run on the non-zeros; slice the rows into smaller blocks for the others)", e.getMessage());
    }

    @Test
    void denseRowsZeroTheirOutputFirst() {
        double[] out = new double[12];
        java.util.Arrays.fill(out, 9);
        X.denseRows(1, 3, out);
        assertArrayEquals(new double[] {0, 0, 0, 0, 4, 0, 0.5, 0, 9, 9, 9, 9}, out, "rows 1 and 2, the rest untouched");
    }

    @Test
    void rowsJoinOneAfterTheOther() {
        Csr joined = Csr.concatRows(List.of(X.rows(0, 1), X.rows(1, 1), X.rows(1, 3)), 4);
        assertArrayEquals(X.rowPtrRef(), joined.rowPtrRef());
        assertArrayEquals(X.colIdxRef(), joined.colIdxRef());
        assertArrayEquals(D, joined.toDense());
        Csr twice = Csr.concatRows(List.of(X, X), 4);
        assertArrayEquals(new int[] {0, 2, 2, 4, 6, 6, 8}, twice.rowPtrRef());
        assertEquals(0, Csr.concatRows(List.of(), 4).rows());
        assertEquals("csr: joining rows of 2 and 4 columns", refusal(() -> Csr.concatRows(List.of(X, X.columns(0, 2)), 4)));
    }

    @Test
    void mapRunsOnTheStoredValuesOnly() {
        Csr sq = X.map(v -> v * v + 1);
        assertArrayEquals(new double[] {5, 2, 17, 1.25}, sq.valuesRef());
        assertSame(X.rowPtrRef(), sq.rowPtrRef());
        assertArrayEquals(new double[] {2, -1, 4, 0.5}, X.valuesRef(), "the matrix is not changed");
    }

    @Test
    void productsFromEitherSideAreTheDenseProducts() {
        // X w for a vector w and for a 4 x 2 W, from every first row
        double[] w = {1, 2, 3, 4};
        assertArrayEquals(new double[] {0, 0, 5.5}, X.times(0, 3, w, 1));
        assertArrayEquals(new double[] {0, 5.5}, X.times(1, 3, w, 1));
        double[] w2 = {1, -1, 2, 0, 3, 1, 4, 2};
        assertArrayEquals(new double[] {0, -2, 0, 0, 5.5, -3.5}, X.times(0, 3, w2, 2));
        assertArrayEquals(new double[] {5.5, -3.5}, X.times(2, 3, w2, 2));
        // X^T g, added into what acc holds
        double[] acc = {10, 0, 0, 0};
        X.addTransposeTimes(0, 3, new double[] {1, 7, -2}, 1, acc);
        assertArrayEquals(new double[] {10 - 8, 2, -1, -1}, acc);
        double[] acc1 = new double[4];
        X.addTransposeTimes(2, 3, new double[] {3}, 1, acc1);
        assertArrayEquals(new double[] {12, 0, 1.5, 0}, acc1, "rows from r0 read g from its first row");
        double[] acc2 = new double[8];
        acc2[7] = 1;
        X.addTransposeTimes(0, 3, new double[] {1, 2, 0, 5, 3, -1}, 2, acc2);
        assertArrayEquals(new double[] {12, -4, 2, 4, 1.5, -0.5, -1, -1}, acc2);
        double[] acc3 = new double[8];
        X.addTransposeTimes(2, 3, new double[] {3, -1}, 2, acc3);
        assertArrayEquals(new double[] {12, -4, 0, 0, 1.5, -0.5, 0, 0}, acc3);
    }
}
