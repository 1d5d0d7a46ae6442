package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.FaultInjector;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * "Bit-identical whatever order tasks finish in", provoked: every task waits a random time
 * ({@link FaultInjector#delayTasks}, a new seed per run), so on {@code local[2]} the tasks of a
 * stage finish, and the blocks of a shuffle reach the combining tasks, in another order from run
 * to run (the test checks that the order changed). Five runs of one program must give the same
 * bits: forward values (a pending reduction and a distributed result), the gradients of a local
 * parameter and of two distributed inputs. (On a local master a shuffle's blocks are read in
 * map order whatever order the map tasks ended in, so a tree of combining tasks would not see
 * another order here: the sorting in {@code Partials.combineGroup} is tested in worker-ops'
 * PartialsTest.)
 */
class TaskOrderTest {

    static final int RUNS = 5;
    static final int N = 40;
    static final int BLOCKS = 12;

    /** The partition ids of the tasks in the order they ended, since the listener was last reset. */
    static final List<Integer> ENDED = java.util.Collections.synchronizedList(new ArrayList<>());

    static final SparkListener LISTENER = new SparkListener() {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            ENDED.add(end.taskInfo().partitionId());
        }
    };

    @BeforeAll
    static void spark() {
        SparkTests.session().sparkContext().addSparkListener(LISTENER);
    }

    @AfterEach
    void noDelay() {
        FaultInjector.clear();
    }

    @AfterAll
    static void removeListener() {
        SparkTests.session().sparkContext().removeSparkListener(LISTENER);
    }

    /** Values of mixed magnitudes, so that sums in another order give other last bits. */
    static double[] values(long seed, int n) {
        Random r = new Random(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextGaussian() * Math.pow(10, r.nextInt(-4, 5));
        }
        return d;
    }

    /** One run: the forward values, then w's, x's and g's gradients, and the order tasks ended in. */
    static double[][] run(long delaySeed) {
        FaultInjector.delayTasks(delaySeed, 10);
        NDArray x = Dist.fromLocal(Np.array(new int[] {N, 3}, values(1, N * 3)), BLOCKS);
        NDArray g = Dist.fromLocal(Np.array(new int[] {N, 3}, values(2, N * 3)), BLOCKS);
        NDArray w = Np.array(new double[][] {{0.3, -0.2, 0.1}, {0.5, 0.4, -0.7}, {-0.1, 0.2, 0.6}}).mul(1e-3);
        x.attachGrad();
        g.attachGrad();
        w.attachGrad();
        NDArray y;
        NDArray h;
        try (var r = Autograd.record()) {
            h = x.matmul(w).tanh();
            y = DistDifferentialTest.program(x, g, w);
        }
        double value = y.item();
        double[] hv = h.toArray();
        y.backward();
        double[][] out = {{value}, hv, w.grad().toArray(), x.grad().toArray(), g.grad().toArray()};
        assertTrue(x.grad().isDistributed() && g.grad().isDistributed() && !w.grad().isDistributed());
        return out;
    }

    static void runsAgreeBitForBit(String setting, int runs) throws Exception {
        SparkContext sc = SparkTests.session().sparkContext();
        double[][] first = null;
        Set<List<Integer>> orders = new HashSet<>();
        for (int k = 0; k < runs; k++) {
            sc.listenerBus().waitUntilEmpty();
            ENDED.clear();
            double[][] out = run(1000 + k);
            sc.listenerBus().waitUntilEmpty();
            orders.add(new ArrayList<>(ENDED));
            if (first == null) {
                first = out;
                continue;
            }
            String[] what = {"the loss", "tanh(X W), distributed", "w's gradient", "x's gradient (distributed)",
                "g's gradient (distributed)"};
            for (int i = 0; i < out.length; i++) {
                assertTrue(Arrays.equals(first[i], out[i]), setting + ": run " + (k + 1) + " differs from run 1 in "
                    + what[i]);
            }
        }
        assertTrue(orders.size() > 1, setting + ": the delays changed the order in which tasks ended");
    }

    @Test
    void fiveRunsWithTasksEndingInRandomOrdersGiveTheSameBits() throws Exception {
        // the driver combines the 12 blocks' partials itself; had it combined them in the order
        // they arrived in, run 2 would differ already (checked by making it do so)
        runsAgreeBitForBit("block programs, partials combined on the driver", RUNS);
    }
}
