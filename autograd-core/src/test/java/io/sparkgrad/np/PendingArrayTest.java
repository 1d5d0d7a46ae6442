package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pending local arrays: values computed on first access, exactly once; ops over them stay pending,
 * with the shapes and values of the same ops computed at once, and shape errors at the call.
 */
class PendingArrayTest {
    private static final NDArray A = Np.array(new double[] {1, -2, 3, 0.5, 4, -1}).reshape(2, 3);
    private static final NDArray V = Np.array(0.5, -1, 2);

    /** A pending copy of {@code a} that counts how often its values are computed. */
    private static LocalArray pending(NDArray a, AtomicInteger computed) {
        return LocalArray.pending(a.shape(), () -> {
            computed.incrementAndGet();
            return a.toArray();
        });
    }

    private static boolean isPending(NDArray a) {
        return a instanceof LocalArray && ((LocalArray) a).isPending();
    }

    @Test
    void everyOpOverAPendingArrayStaysPendingAndEqualsTheEagerResult() {
        java.util.List<UnaryOperator<NDArray>> ops = java.util.List.of(
            a -> a.exp(), a -> a.add(V), a -> V.mul(a), a -> a.sum(), a -> a.sum(0, true), a -> a.max(1),
            a -> Np.linalg().norm(a), a -> a.clip(-1, 1), a -> a.broadcastTo(4, 2, 3), a -> a.reshape(3, 2),
            a -> a.T(), a -> a.matmul(A.T()), a -> A.T().matmul(a), a -> a.slice(1, 1, 3), a -> a.pad(0, 1, 2),
            a -> Np.concat(java.util.List.of(a, A), 1), a -> Np.where(a.gt(0), a, V), a -> a.logSoftmax(1), a -> a.mean().sqrt());
        for (int k = 0; k < ops.size(); k++) {
            AtomicInteger computed = new AtomicInteger();
            NDArray out = ops.get(k).apply(pending(A, computed));
            NDArray expected = ops.get(k).apply(A);
            assertTrue(isPending(out), "op " + k + " ran before its values were needed");
            assertEquals(0, computed.get(), "op " + k);
            assertArrayEquals(expected.shape(), out.shape(), "op " + k);
            assertArrayEquals(expected.toArray(), out.toArray(), 0.0, "op " + k);
            assertEquals(1, computed.get(), "op " + k + ": the pending input was computed once");
        }
    }

    @Test
    void valuesAreComputedOnceWhateverReadsThem() {
        AtomicInteger computed = new AtomicInteger();
        LocalArray p = pending(A, computed);
        NDArray twice = p.mul(2);
        NDArray view = p.reshape(-1);
        assertEquals("array([[ 2., -4.,  6.],\n       [ 1.,  8., -2.]])", twice.toString());
        assertEquals(-2.0, view.toArray()[1]);
        assertEquals(5.5, p.sum().item());
        assertFalse(p.isPending());
        assertEquals(1, computed.get());
    }

    @Test
    void aShapeMistakeFailsWhereItIsWrittenNotWhenTheValuesRun() {
        AtomicInteger computed = new AtomicInteger();
        LocalArray p = pending(A, computed);
        var e = assertThrows(IllegalArgumentException.class, () -> p.add(Np.ones(4)));
        assertTrue(e.getMessage().contains("(2, 3)") && e.getMessage().contains("(4,)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.matmul(Np.ones(2, 2)));
        assertEquals(0, computed.get());
    }

    @Test
    void aPendingLossIsDifferentiatedWithoutComputingItsValue() {
        AtomicInteger computed = new AtomicInteger();
        NDArray w = Np.array(1, 2, 3);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            // a pending constant (the result of remote work) scales a local loss
            loss = w.square().sum().mul(pending(Np.scalar(0.5), computed));
        }
        assertTrue(isPending(loss));
        loss.backward();
        assertArrayEquals(new double[] {1, 2, 3}, w.grad().toArray(), 0.0);
        assertEquals(7.0, loss.item());
        assertEquals(1, computed.get());
    }

    @Test
    void detachSharesThePendingValues() {
        AtomicInteger computed = new AtomicInteger();
        LocalArray p = pending(V, computed);
        NDArray d = p.detach();
        assertTrue(isPending(d));
        assertArrayEquals(V.toArray(), d.toArray(), 0.0);
        assertTrue(((LocalArray) d).data() == p.data(), "the same values, as MXNet's detach");
        assertEquals(1, computed.get());
    }

    @Test
    void threadsReadingAtOnceSeeTheValuesComputedOnce() throws Exception {
        for (int round = 0; round < 50; round++) {
            AtomicInteger computed = new AtomicInteger();
            LocalArray p = pending(A, computed);
            NDArray twice = p.mul(2);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                java.util.List<java.util.concurrent.Future<double[]>> reads = new java.util.ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    boolean direct = t % 2 == 0;
                    reads.add(pool.submit(() -> direct ? p.toArray() : twice.div(2).toArray()));
                }
                for (var r : reads) {
                    assertArrayEquals(A.toArray(), r.get(), 0.0);
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(1, computed.get(), "round " + round);
        }
    }

    @Test
    void aSupplierOfTheWrongSizeIsAnInternalErrorNamingTheShape() {
        LocalArray p = LocalArray.pending(new int[] {2, 2}, () -> new double[3]);
        var e = assertThrows(IllegalStateException.class, p::toArray);
        assertTrue(e.getMessage().contains("(2, 2)"), e.getMessage());
    }
}
