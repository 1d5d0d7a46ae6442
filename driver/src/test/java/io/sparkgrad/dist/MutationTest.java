package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Values are those of the moment an op was written: an in-place change made later (an optimizer's
 * {@code assign}, a gradient buffer overwritten by the next backward, a hook) never reaches work
 * that is still deferred, nor the lineage Spark recomputes lost blocks from. Each program runs on
 * the local engine (the reference, which computes eagerly) and with its data split into 1, 2 and 7
 * row blocks, and must read the same values.
 */
class MutationTest {
    private static final int N = 40;
    private static NDArray xl;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(3);
        xl = Np.randomNormal(0, 1, N, 3);
    }

    /** A program over the data {@code x}; returns every value it reads, in order. */
    private record Program(String name, Function<NDArray, List<NDArray>> body) {}

    private static List<Program> programs() {
        List<Program> p = new ArrayList<>();
        p.add(new Program("weights assigned after a pending matmul-sum", x -> {
            NDArray w = Np.ones(3);
            NDArray s = x.matmul(w).sum();
            w.assign(Np.zeros(3));
            return List.of(s);
        }));
        p.add(new Program("bias assigned after it was added", x -> {
            NDArray b = Np.array(1, 2, 3);
            NDArray y = x.add(b);
            NDArray s = y.sum();
            b.assign(b.neg());
            return List.of(s, y);
        }));
        p.add(new Program("gradient as a value read after an optimizer step", x -> {
            NDArray w = Np.array(0.5, -1, 2);
            w.attachGrad();
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = x.matmul(w).sigmoid().sum();
            }
            NDArray g = Autograd.grad(List.of(loss), List.of(w), null, false, false).get(0);
            w.assign(w.mul(0.5)); // a step that does not read g
            return List.of(g, loss);
        }));
        p.add(new Program("recorded loss read after the weights change", x -> {
            NDArray w = Np.array(0.5, -1, 2);
            w.attachGrad();
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = x.matmul(w).softplus().mean();
            }
            w.assign(Np.zeros(3));
            return List.of(loss);
        }));
        p.add(new Program("two pending means with the weights flipped between them", x -> {
            NDArray w = Np.array(1, 2, 3);
            NDArray m1 = x.matmul(w).mean();
            w.assign(w.neg());
            NDArray m2 = x.matmul(w).mean();
            return List.of(m1, m2);
        }));
        p.add(new Program("scale assigned after x.mul(c).max(0)", x -> {
            NDArray c = Np.array(1, -2, 3);
            NDArray y = x.mul(c).max(0);
            c.assign(Np.full(new int[] {3}, 100));
            return List.of(y);
        }));
        p.add(new Program("gradient buffer overwritten by the next backward", x -> {
            NDArray w = Np.array(0.5, -1, 2);
            w.attachGrad();
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = x.matmul(w).square().sum();
            }
            loss.backward();
            NDArray firstGrad = w.grad();
            NDArray a = x.matmul(firstGrad).sum(); // pending; reads the buffer as it is now
            try (var r = Autograd.record()) {
                loss = w.square().sum(); // local: its backward runs no Spark job
            }
            loss.backward(); // overwrites the buffer in place
            return List.of(a, w.grad());
        }));
        p.add(new Program("a hook that changes an operand in place during backward", x -> {
            NDArray w = Np.array(0.5, -1, 2);
            w.attachGrad();
            NDArray scale = Np.array(2, 3, 4);
            w.registerHook(g -> {
                scale.assign(Np.full(new int[] {3}, 100));
                return null;
            });
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = x.mul(scale).matmul(w).square().sum();
            }
            loss.backward();
            return List.of(loss, w.grad());
        }));
        p.add(new Program("a pending result assigned after a value was computed from it", x -> {
            NDArray s = x.sum(0);               // pending when x is distributed
            NDArray twice = s.mul(2);           // pending too
            NDArray view = s.reshape(1, 3);     // a view: it follows s
            s.assign(Np.zeros(3));
            return List.of(twice, s, view);
        }));
        p.add(new Program("the local source of a distributed array assigned after distributing it", x -> {
            NDArray src = xl.mul(1.0); // a fresh local copy
            NDArray d = x.isDistributed() ? Dist.fromLocal(src, ((DistArray) x).numBlocks()) : src.mul(1.0);
            src.assign(Np.zeros(N, 3));
            return List.of(d.sum(), d);
        }));
        p.add(new Program("a local value assigned into a distributed array, then changed", x -> {
            NDArray y = x.mul(1.0);
            NDArray row = Np.array(7, 8, 9);
            if (y.isDistributed()) {
                y = Dist.fromLocal(xl, ((DistArray) x).numBlocks());
            } else {
                y = xl.mul(1.0);
            }
            y.assign(row);
            row.assign(Np.zeros(3));
            return List.of(y.sum(0), y);
        }));
        return p;
    }

    private static List<double[]> run(Program p, NDArray x) {
        List<double[]> out = new ArrayList<>();
        for (NDArray v : p.body().apply(x)) {
            out.add(v.toArray());
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> laterInPlaceChangesNeverReachDeferredWork() {
        return programs().stream().flatMap(p -> Stream.of(1, 2, 7).map(blocks ->
            DynamicTest.dynamicTest(p.name() + ", " + blocks + " blocks", () -> {
                List<double[]> local = run(p, xl);
                List<double[]> dist = run(p, Dist.fromLocal(xl, blocks));
                assertEquals(local.size(), dist.size());
                for (int i = 0; i < local.size(); i++) {
                    double[] l = local.get(i);
                    double[] d = dist.get(i);
                    assertEquals(l.length, d.length, p.name() + ": value " + i);
                    for (int j = 0; j < l.length; j++) {
                        assertEquals(l[j], d[j], 1e-12 * Math.max(1, Math.abs(l[j])),
                            p.name() + ": value " + i + "[" + j + "], local vs " + blocks + " blocks");
                    }
                }
            })));
    }

    @Test
    void lostCachedBlocksAreRecomputedFromTheValuesOfTheirOwnTime() {
        NDArray data = Np.randomNormal(0, 1, 8_000, 4);
        NDArray b = Np.array(1, 2, 3, 4);
        DistArray y = (DistArray) Dist.cache(Dist.fromLocal(data, 2).add(b));
        double[] before = y.toArray();
        b.assign(Np.full(new int[] {4}, -50));
        y.rdd().unpersist(true); // as if the executors holding the blocks were lost
        assertArrayEquals(before, y.toArray(), 0.0, "recomputed blocks");
        assertArrayEquals(data.add(Np.array(1, 2, 3, 4)).toArray(), before, 0.0);
    }

    @TestFactory
    Stream<DynamicTest> anArraySavedForBackwardAndChangedInPlaceIsAnErrorNamingTheOp() {
        return Stream.of(0, 1, 2, 7).map(blocks -> DynamicTest.dynamicTest(blocks == 0 ? "local" : blocks + " blocks", () -> {
            NDArray x = blocks == 0 ? xl.mul(1.0) : Dist.fromLocal(xl, blocks);
            x.attachGrad();
            NDArray c = Np.array(1, 2, 3);
            NDArray y;
            try (var r = Autograd.record()) {
                y = x.mul(c).sum();
            }
            c.assign(Np.zeros(3));
            IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
            assertTrue(e.getMessage().matches("backward: input 1 of mul#\\d+ \\(shape \\(3,\\)\\) was changed in place "
                + "after the op was recorded.*"), e.getMessage());
        }));
    }

    @Test
    void anInPlaceChangeThroughAViewIsSeenByTheVersionCheck() {
        NDArray w = Np.array(1, 2, 3);
        w.attachGrad();
        NDArray c = Np.array(4, 5, 6);
        NDArray view = c.reshape(3, 1);
        NDArray y;
        try (var r = Autograd.record()) {
            y = w.mul(c).sum();
        }
        view.assign(Np.zeros(3, 1));
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void changingAVariableAfterItsGradientNoLongerNeedsItIsFine() {
        // d/dw sum((x w)^2) = 2 x^T (x w) reads the recorded x w, not w: the gradient is the one at
        // the recorded point, as PyTorch gives
        NDArray w = Np.array(0.5, -1, 2);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = xl.matmul(w).square().sum();
        }
        w.assign(Np.zeros(3));
        loss.backward();
        NDArray expected = xl.T().matmul(xl.matmul(Np.array(0.5, -1, 2))).mul(2);
        assertArrayEquals(expected.toArray(), w.grad().toArray(), 1e-12);
    }
}
