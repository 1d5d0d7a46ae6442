package io.sparkgrad.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgrad.dist.Dist;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logistic regression with L2 on the Wisconsin breast-cancer data (569 rows, committed under
 * {@code data/}): {@code train} finds the coefficients Spark MLlib's LogisticRegression finds for
 * the same objective (no standardisation in the objective, intercept not penalised).
 *
 * <p>Five of the 30 features are used: the full set is nearly collinear (radius, perimeter and
 * area), which leaves the optimum so badly conditioned that neither L-BFGS reaches it to 1e-4 in
 * a test's time; on these five both converge, and to the value Newton's method gives.
 */
class RealDataTest {
    static final String DATA = "../data/breast_cancer.csv";
    static final String[] FEATURES = {"mean_radius", "mean_texture", "mean_smoothness", "mean_symmetry",
        "worst_concave_points"};
    static final double L2 = 0.01;

    @Test
    void logisticRegressionMatchesSparkMllib(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"train", "--data", DATA, "--features", String.join(",", FEATURES),
            "--model", "logistic", "--l2", String.valueOf(L2), "--iterations", "40", "--out", out.toString()},
            new PrintStream(log), System.err);
        assertEquals(0, code, log.toString());
        JsonNode model = new ObjectMapper().readTree(out.resolve("model.json").toFile());
        int d = FEATURES.length;
        double[] w = new double[d];
        for (int i = 0; i < d; i++) {
            w[i] = model.path("params").get(0).path("values").get(i).asDouble();
        }
        double b = model.path("params").get(1).path("values").get(0).asDouble();

        Dataset<Row> df = Dist.session().read().option("header", "true").option("inferSchema", "true").csv(DATA);
        Dataset<Row> assembled = new VectorAssembler().setInputCols(FEATURES).setOutputCol("features").transform(df);
        LogisticRegressionModel mllib = new LogisticRegression().setRegParam(L2).setElasticNetParam(0)
            .setStandardization(false).setFitIntercept(true).setMaxIter(2000).setTol(1e-12).fit(assembled);
        double[] expected = mllib.coefficients().toArray();
        for (int i = 0; i < d; i++) {
            assertTrue(Math.abs(w[i] - expected[i]) <= 1e-4 * Math.max(1, Math.abs(expected[i])),
                "coefficient " + i + " (" + FEATURES[i] + "): sparkgrad " + w[i] + ", MLlib " + expected[i]);
        }
        // and both equal the optimum Newton's method finds (numpy, float64, gradient norm < 1e-13)
        assertEquals(-0.98868212, w[0], 1e-6);
        assertEquals(18.88193802, b, 1e-5);
        assertTrue(Math.abs(b - mllib.intercept()) <= 1e-4 * Math.max(1, Math.abs(mllib.intercept())),
            "intercept: sparkgrad " + b + ", MLlib " + mllib.intercept());
    }
}
