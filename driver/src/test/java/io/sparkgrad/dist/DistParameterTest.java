package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model parameters that are distributed arrays: looked up by distributed indices from the data,
 * their gradients summed where their blocks live, updated there by an optimizer step written in
 * tensor ops, and never held by the driver. The local engine on the same data is the reference.
 */
class DistParameterTest {
    @BeforeAll
    static void session() {
        SparkTests.session();
    }

    /** One step of a factorization model: the loss, then both factors' gradient step. */
    private static double step(NDArray users, NDArray items, NDArray u, NDArray i, NDArray rating, double lr) {
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray predicted = users.take(u).mul(items.take(i)).sum(1);
            NDArray fit = predicted.sub(rating).square().mean();
            loss = fit.add(users.square().sum().add(items.square().sum()).mul(1e-3));
        }
        loss.backward();
        users.assign(users.sub(users.grad().mul(lr)));
        items.assign(items.sub(items.grad().mul(lr)));
        return loss.item(); // read after the step, as MXNet's examples do: the loss of the old factors
    }

    @Test
    void aFactorizationModelTrainsOnTheExecutorsAsTheLocalEngineDoes() {
        int nUsers = 120;
        int nItems = 90;
        int k = 3;
        int n = 4_000;
        // ratings generated on the executors from hidden factors
        NDArray u = Dist.randomUniform(1, 2_000, n).mul(nUsers).floor();
        NDArray i = Dist.randomUniform(2, 2_000, n).mul(nItems).floor();
        NDArray trueUsers = Dist.randomNormal(3, 60, nUsers, k);
        NDArray trueItems = Dist.randomNormal(4, 60, nItems, k);
        NDArray rating = Dist.cache(trueUsers.take(u).mul(trueItems.take(i)).sum(1));
        NDArray users = Dist.cache(Dist.randomNormal(5, 60, nUsers, k).mul(0.5));
        NDArray items = Dist.cache(Dist.randomNormal(6, 60, nItems, k).mul(0.5));
        // the same data and starting point, in this JVM, for the reference run
        NDArray uL = u.toLocal();
        NDArray iL = i.toLocal();
        NDArray ratingL = rating.toLocal();
        NDArray usersL = users.toLocal();
        NDArray itemsL = items.toLocal();
        users.attachGrad();
        items.attachGrad();
        usersL.attachGrad();
        itemsL.attachGrad();

        List<Double> local = new ArrayList<>();
        List<Double> dist = new ArrayList<>();
        long limit = Dist.maxLocalBytes();
        Metrics.Snapshot before = Dist.metrics().snapshot();
        try {
            Dist.setMaxLocalBytes(8L * nItems * k - 1); // the driver cannot hold either factor matrix
            for (int s = 0; s < 20; s++) {
                local.add(step(usersL, itemsL, uL, iL, ratingL, 20.0));
                dist.add(step(users, items, u, i, rating, 20.0));
            }
            assertThrows(IllegalStateException.class, users::toLocal, "the limit holds");
        } finally {
            Dist.setMaxLocalBytes(limit);
        }
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        System.out.printf("factorization: 20 steps, %d Spark jobs, losses %.4f -> %.4f%n", d.jobs(), dist.get(0),
            dist.get(19));
        for (int s = 0; s < 20; s++) {
            assertEquals(local.get(s), dist.get(s), 1e-9 * local.get(s), "loss of step " + s);
        }
        for (int s = 1; s < 20; s++) {
            assertTrue(dist.get(s) < dist.get(s - 1), "the loss decreases: " + dist);
        }
        assertTrue(dist.get(19) < 0.6 * dist.get(0), "the loss decreases: " + dist);
        assertTrue(users.isDistributed() && items.isDistributed());
        assertEquals(2, ((DistArray) users).numBlocks(), "the factors keep their blocks");
        assertArrayEquals(usersL.toArray(), users.toArray(), 1e-9);
        assertArrayEquals(itemsL.toArray(), items.toArray(), 1e-9);
    }

    @Test
    void aLogisticRegressionWithADistributedWeightVectorOfFourMillionEntries() {
        int features = 1 << 22;
        int n = 1_000;
        int nnz = 40;
        // sparse-looking data: per row, 40 feature indices and their values
        NDArray idx = Dist.cache(Dist.randomUniform(7, 500, n, nnz).mul(features).floor());
        NDArray val = Dist.cache(Dist.randomNormal(8, 500, n, nnz));
        NDArray hidden = Dist.randomNormal(9, 1 << 20, features);
        NDArray label = Dist.cache(hidden.take(idx).mul(val).sum(1).gt(0));
        NDArray w = Dist.full(0, 1 << 20, features); // 4 blocks of 2^20 weights
        NDArray idxL = idx.toLocal();
        NDArray valL = val.toLocal();
        NDArray labelL = label.toLocal();
        NDArray wL = Np.zeros(features);
        w.attachGrad();
        wL.attachGrad();
        long limit = Dist.maxLocalBytes();
        double[] lossL = new double[2];
        double[] lossD = new double[2];
        try {
            Dist.setMaxLocalBytes(8L * features / 2); // the driver cannot hold the weights
            for (int s = 0; s < 2; s++) {
                lossL[s] = logisticStep(wL, idxL, valL, labelL);
                lossD[s] = logisticStep(w, idx, val, label);
            }
        } finally {
            Dist.setMaxLocalBytes(limit);
        }
        assertArrayEquals(lossL, lossD, 1e-12);
        assertTrue(lossD[1] < lossD[0], "the loss decreases");
        assertTrue(w.grad().isDistributed(), "the gradient is summed in the weights' blocks");
        assertEquals(4, ((DistArray) w.grad()).numBlocks());
        assertArrayEquals(wL.toArray(), w.toArray(), 1e-12);
    }

    private static double logisticStep(NDArray w, NDArray idx, NDArray val, NDArray label) {
        NDArray loss;
        try (var r = Autograd.record()) {
            NDArray z = w.take(idx).mul(val).sum(1);
            loss = z.softplus().sub(label.mul(z)).mean();
        }
        loss.backward();
        double value = loss.item();
        w.assign(w.sub(w.grad().mul(50.0)));
        return value;
    }
}
