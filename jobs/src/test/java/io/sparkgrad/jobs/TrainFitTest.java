package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.np.NDArray;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train}'s fitting loop on cached distributed rows: one Spark job per evaluation of the loss
 * and its gradients (after the two that measure the columns), for every model; and the
 * standardised parametrisation gives the weights of training on standardised rows directly.
 */
class TrainFitTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    void everyModelCostsOneJobPerEvaluation() {
        for (String kind : List.of("linear", "logistic", "softmax", "mlp")) {
            TrainingData data = TrainingData.synthetic(kind, 4_000, 5, 3, 7);
            int classes = kind.equals("linear") ? 0 : kind.equals("logistic") ? 2 : 3;
            Model model = Model.of(kind, 5, classes, List.of(8));
            Metrics.Snapshot before = Dist.metrics().snapshot();
            Train.fit(model, data, new Train.Setup("sgd", 0.1, 4, 0.01, 1, 1, true), QUIET);
            Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
            assertEquals(2 + 4, d.jobs(), kind + ": the column mean and spread, then one job per evaluation");
        }
    }

    @Test
    void theStandardisedParametrisationEqualsTrainingOnStandardisedRows() {
        TrainingData data = TrainingData.synthetic("logistic", 3_000, 4, 2, 3);
        Model model = Model.of("logistic", 4, 2, List.of());
        Train.Setup setup = new Train.Setup("lbfgs", 0.1, 8, 0, 1, 1, true);
        List<NDArray> weights = Train.fit(model, data, setup, QUIET).weights();

        // the same fit written out by hand on rows standardised up front
        NDArray x = data.x.toLocal();
        NDArray mean = x.mean(0);
        NDArray std = x.sub(mean).square().mean(0).sqrt();
        NDArray xs = x.sub(mean).div(std);
        TrainingData standardised = TrainingData.of(Dist.cache(Dist.fromLocal(xs, 2)),
            Dist.cache(Dist.fromLocal(data.y.toLocal(), 2)), data.features, data.label);
        List<NDArray> v = Train.fit(model, standardised, new Train.Setup("lbfgs", 0.1, 8, 0, 1, 1, false), QUIET)
            .weights();
        // back to the original features: w = v / std, b = c - (mean / std) . v
        NDArray w = v.get(0).div(std);
        NDArray b = v.get(1).sub(mean.div(std).matmul(v.get(0)));
        assertArrayEquals(w.toArray(), weights.get(0).toArray(), 1e-6);
        assertEquals(b.item(), weights.get(1).item(), 1e-6);
        assertTrue(weights.get(0).abs().min().item() > 0, "the fit moved every weight");
    }
}
