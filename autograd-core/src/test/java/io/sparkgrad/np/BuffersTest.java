package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Recycled kernel outputs: what a block program's kernels write into from chunk to chunk. */
class BuffersTest {
    private static final LocalBackend L = LocalBackend.INSTANCE;

    @Test
    void aScopeHandsOutTheSameArraysAfterEachRecycleAndNewOnesOutsideIt() {
        NDArray x = Np.array(1, 2, 3);
        try (Buffers.Scope scope = Buffers.open()) {
            double[] first = ((LocalArray) L.unary(UnaryFn.NEG, x)).data();
            double[] second = ((LocalArray) L.unary(UnaryFn.NEG, x)).data();
            assertNotSame(first, second, "both are in use until the recycle");
            scope.recycle();
            assertSame(first, ((LocalArray) L.unary(UnaryFn.NEG, x)).data());
            assertSame(second, ((LocalArray) L.unary(UnaryFn.NEG, x)).data());
            assertNotSame(first, ((LocalArray) L.unary(UnaryFn.NEG, Np.array(1, 2))).data(), "another length");
        }
        assertNotSame(((LocalArray) L.unary(UnaryFn.NEG, x)).data(), ((LocalArray) L.unary(UnaryFn.NEG, x)).data());
        try (Buffers.Scope scope = Buffers.open()) {
            assertThrows(IllegalStateException.class, Buffers::open, "one scope per thread");
        }
    }

    @Test
    void kernelsOverwriteEveryElementOfARecycledArray() {
        Np.seed(2);
        NDArray a = Np.randomNormal(0, 1, 6, 4);
        NDArray b = Np.randomNormal(0, 1, 4, 3);
        NDArray row = Np.randomNormal(0, 1, 4);
        NDArray[] expected = {a.exp(), a.softplus(), a.abs(), a.add(row), a.mul(2), Np.scalar(2).sub(a), a.matmul(b),
            a.matmul(b.slice(1, 0, 1)), Np.zeros(6, 3)};
        try (Buffers.Scope scope = Buffers.open()) {
            for (int round = 0; round < 3; round++) {
                // poison the free arrays: a kernel that skipped an element would show NaN
                for (int n : new int[] {24, 18, 6}) {
                    java.util.Arrays.fill(Buffers.output(n), Double.NaN);
                }
                scope.recycle();
                NDArray[] actual = {L.unary(UnaryFn.EXP, a), L.unary(UnaryFn.SOFTPLUS, a), L.unary(UnaryFn.ABS, a),
                    L.binary(BinaryFn.ADD, a, row), L.binary(BinaryFn.MUL, a, Np.scalar(2)),
                    L.binary(BinaryFn.SUB, Np.scalar(2), a), L.matmul(a, b), L.matmul(a, b.slice(1, 0, 1)),
                    L.matmulRows(Np.zeros(6, 0), 0, 6, Np.zeros(0, 3))};
                for (int i = 0; i < expected.length; i++) {
                    assertArrayEquals(expected[i].toArray(), actual[i].toArray(), 0.0, "kernel " + i + ", round " + round);
                }
                scope.recycle();
            }
        }
    }
}
