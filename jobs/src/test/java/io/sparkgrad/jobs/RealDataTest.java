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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

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
        // and every coefficient and the intercept equal the optimum Newton's method finds (below, in
        // plain Java; numpy's gives the same: w0 = -0.98868212, b = 18.88193802)
        double[] newton = newton(FEATURES, L2);
        assertEquals(-0.98868212, newton[0], 1e-8);
        assertEquals(18.88193802, newton[d], 1e-8);
        for (int i = 0; i < d; i++) {
            assertEquals(newton[i], w[i], 1e-6 * Math.max(1, Math.abs(newton[i])), "coefficient " + i + " (" + FEATURES[i]
                + "): sparkgrad " + w[i] + ", Newton " + newton[i]);
        }
        assertEquals(newton[d], b, 1e-6 * Math.abs(newton[d]), "intercept: sparkgrad " + b + ", Newton " + newton[d]);
        assertTrue(Math.abs(b - mllib.intercept()) <= 1e-4 * Math.max(1, Math.abs(mllib.intercept())),
            "intercept: sparkgrad " + b + ", MLlib " + mllib.intercept());
    }

    /**
     * The minimum of {@code mean(log(1 + exp(-s z))) + l2/2 ||w||^2} (z = x.w + b, s = +-1, the
     * intercept not penalised) by Newton's method from zeros, until the gradient's norm is below
     * 1e-12: the weights of the features, then the intercept.
     */
    static double[] newton(String[] features, double l2) throws java.io.IOException {
        List<String> lines = Files.readAllLines(Path.of(DATA));
        List<String> header = Arrays.asList(lines.get(0).split(","));
        int d = features.length;
        int n = lines.size() - 1;
        double[][] x = new double[n][d + 1];
        double[] y = new double[n];
        for (int r = 0; r < n; r++) {
            String[] f = lines.get(r + 1).split(",");
            for (int j = 0; j < d; j++) {
                x[r][j] = Double.parseDouble(f[header.indexOf(features[j])]);
            }
            x[r][d] = 1;
            y[r] = Double.parseDouble(f[header.indexOf("label")]);
        }
        double[] w = new double[d + 1];
        for (int it = 0; it < 100; it++) {
            double[] g = new double[d + 1];
            double[][] h = new double[d + 1][d + 1];
            for (int r = 0; r < n; r++) {
                double z = 0;
                for (int j = 0; j <= d; j++) {
                    z += x[r][j] * w[j];
                }
                double p = 1 / (1 + Math.exp(-z));
                for (int j = 0; j <= d; j++) {
                    g[j] += (p - y[r]) * x[r][j] / n;
                    for (int k = 0; k <= d; k++) {
                        h[j][k] += p * (1 - p) * x[r][j] * x[r][k] / n;
                    }
                }
            }
            double norm = 0;
            for (int j = 0; j < d; j++) {
                g[j] += l2 * w[j];
                h[j][j] += l2;
            }
            for (double v : g) {
                norm += v * v;
            }
            if (Math.sqrt(norm) < 1e-12) {
                return Arrays.copyOf(w, d + 1);
            }
            double[] step = solve(h, g);
            for (int j = 0; j <= d; j++) {
                w[j] -= step[j];
            }
        }
        throw new AssertionError("Newton's method did not converge: " + Arrays.toString(w));
    }

    /** a^-1 b by Gaussian elimination with partial pivoting (a and b are overwritten). */
    private static double[] solve(double[][] a, double[] b) {
        int m = b.length;
        for (int c = 0; c < m; c++) {
            int pivot = c;
            for (int r = c + 1; r < m; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) {
                    pivot = r;
                }
            }
            double[] row = a[c];
            a[c] = a[pivot];
            a[pivot] = row;
            double t = b[c];
            b[c] = b[pivot];
            b[pivot] = t;
            for (int r = c + 1; r < m; r++) {
                double f = a[r][c] / a[c][c];
                for (int k = c; k < m; k++) {
                    a[r][k] -= f * a[c][k];
                }
                b[r] -= f * b[c];
            }
        }
        double[] out = new double[m];
        for (int r = m - 1; r >= 0; r--) {
            double v = b[r];
            for (int k = r + 1; k < m; k++) {
                v -= a[r][k] * out[k];
            }
            out[r] = v / a[r][r];
        }
        return out;
    }
}
