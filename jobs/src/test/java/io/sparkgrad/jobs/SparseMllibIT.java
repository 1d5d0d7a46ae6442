package io.sparkgrad.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logistic and softmax regression on a LIBSVM file of 2^20 hashed features, 40 non-zeros a row:
 * {@code train} in a JVM of its own with a 2 GB heap ({@code spark-submit} of the application jar
 * on {@code local[2]}, the rows in sparse blocks end to end) finds the coefficients Spark MLlib's
 * {@code LogisticRegression} finds in this JVM for the same objective: the mean loss plus
 * {@code l2/2 ||w||^2} on the original features (MLlib's {@code standardization=false}), an
 * intercept that is not penalised. Both converge tightly (MLlib's tolerance 1e-12, sparkgrad's
 * {@code --tol} on the gradient norm), so the comparison at 1e-4 is of the optimum, not of where two
 * optimizers stopped.
 *
 * <p>The rows draw their columns from 2,000 columns spread over the 2^20 (the last one among them,
 * so that the file's largest index is 2^20), so every column that occurs does so about 400 times
 * and its coefficient is well determined; the other 1,046,576 are zero in both fits.
 */
class SparseMllibIT {
    static final int FEATURES = 1 << 20;
    static final int ROWS = 20_000;
    static final int PER_ROW = 40;
    static final int POOL = 2_000;
    static final double L2 = 0.01;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    static SparkProcesses processes;
    static SparkSession spark;
    static int[] pool;

    @BeforeAll
    static void setUp() {
        processes = new SparkProcesses(tmp);
        spark = SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").getOrCreate();
        pool = pool(new Random(11));
    }

    @AfterAll
    static void tearDown() {
        if (processes != null) {
            processes.close();
        }
        if (spark != null) {
            spark.stop();
        }
        SparkSession.clearDefaultSession();
        SparkSession.clearActiveSession();
    }

    @Test
    void logisticRegressionMatchesMllibAt2To20Features() throws Exception {
        Path data = write("logistic.libsvm", 2, 5);
        double[][] fit = train(data, "logistic", 2);
        LogisticRegressionModel mllib = mllib(data).fit(libsvm(data));
        double[] w = mllib.coefficients().toArray();
        compare("logistic", fit[0], w, 1);
        assertClose("intercept", fit[1][0], mllib.intercept());
    }

    @Test
    void softmaxRegressionMatchesMllibAt2To20Features() throws Exception {
        int k = 3;
        Path data = write("softmax.libsvm", k, 6);
        double[][] fit = train(data, "softmax", k);
        LogisticRegressionModel mllib = mllib(data).setFamily("multinomial").fit(libsvm(data));
        // MLlib's coefficient matrix is classes x features, whose column-major values are
        // sparkgrad's w (features x classes) in row-major order
        double[] expected = mllib.coefficientMatrix().toArray();
        compare("softmax", fit[0], expected, k);
        // the intercepts are not penalised: they are determined up to a constant added to every
        // class, so both are compared centred (MLlib centres its own)
        double[] b = centred(fit[1]);
        double[] mb = centred(mllib.interceptVector().toArray());
        for (int c = 0; c < k; c++) {
            assertClose("intercept of class " + c, b[c], mb[c]);
        }
    }

    /** Runs {@code train} with a 2 GB heap and returns the saved weights and biases. */
    private static double[][] train(Path data, String model, int classes) throws Exception {
        Path out = tmp.resolve(model + "-model");
        long start = System.nanoTime();
        SparkProcesses.Result r = processes.run("train-" + model, SparkProcesses.sparkSubmit("2g",
            List.of("--master", "local[2]", "--conf", "spark.kryo.registrationRequired=true"),
            "train", "--data", data.toString(), "--model", model, "--l2", String.valueOf(L2), "--iterations", "400",
            "--tol", "1e-7", "--out", out.toString()), 600);
        assertEquals(0, r.exitCode(), () -> "train failed\n" + processes.logs());
        assertTrue(r.stdout().contains("train: converged at iteration"), () -> "no convergence in\n" + r.stdout());
        assertTrue(r.stdout().contains("1048576 features"), r::stdout);
        System.out.printf("SparseMllibIT: %s train in %.1f s: %s%n", model, (System.nanoTime() - start) / 1e9,
            r.stdoutLines().stream().filter(l -> l.startsWith("train: converged")).findFirst().orElse(""));
        JsonNode params = new ObjectMapper().readTree(out.resolve("model.json").toFile()).path("params");
        double[][] p = new double[2][];
        for (int i = 0; i < 2; i++) {
            JsonNode values = params.get(i).path("values");
            p[i] = new double[values.size()];
            for (int j = 0; j < p[i].length; j++) {
                p[i][j] = values.get(j).asDouble();
            }
        }
        assertEquals(FEATURES * (classes > 2 ? classes : 1), p[0].length);
        return p;
    }

    private static LogisticRegression mllib(Path data) {
        return new LogisticRegression().setRegParam(L2).setElasticNetParam(0).setStandardization(false)
            .setFitIntercept(true).setMaxIter(1000).setTol(1e-12);
    }

    private static Dataset<Row> libsvm(Path data) {
        return spark.read().format("libsvm").option("numFeatures", FEATURES).load(data.toString()).cache();
    }

    /** Every coefficient of a column in the pool agrees; the columns that never occur are zero in both. */
    private static void compare(String what, double[] w, double[] expected, int k) {
        boolean[] used = new boolean[FEATURES];
        for (int j : pool) {
            used[j] = true;
        }
        double largest = 0;
        double worst = 0;
        for (int j = 0; j < FEATURES; j++) {
            for (int c = 0; c < k; c++) {
                int at = j * k + c;
                if (used[j]) {
                    assertClose(what + " coefficient of feature " + (j + 1) + (k > 1 ? ", class " + c : ""), w[at],
                        expected[at]);
                    largest = Math.max(largest, Math.abs(expected[at]));
                    worst = Math.max(worst, Math.abs(w[at] - expected[at]));
                } else if (w[at] != 0 || expected[at] != 0) {
                    throw new AssertionError(what + ": feature " + (j + 1) + " never occurs, yet sparkgrad's coefficient is "
                        + w[at] + " and MLlib's " + expected[at]);
                }
            }
        }
        assertTrue(largest > 0.1, what + ": the fit is not trivial (largest coefficient " + largest + ")");
        System.out.printf("SparseMllibIT: %s: %d coefficients compared, largest %.4f, largest difference from MLlib's %.2e%n",
            what, pool.length * k, largest, worst);
    }

    private static void assertClose(String what, double actual, double expected) {
        assertTrue(Math.abs(actual - expected) <= 1e-4 * Math.max(1, Math.abs(expected)),
            what + ": sparkgrad " + actual + ", MLlib " + expected);
    }

    private static double[] centred(double[] v) {
        double mean = Arrays.stream(v).average().orElse(0);
        return Arrays.stream(v).map(x -> x - mean).toArray();
    }

    /** {@link #POOL} distinct columns of the 2^20, ascending, the last column among them. */
    private static int[] pool(Random r) {
        java.util.TreeSet<Integer> s = new java.util.TreeSet<>();
        s.add(FEATURES - 1);
        while (s.size() < POOL) {
            s.add(r.nextInt(FEATURES));
        }
        return s.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Writes {@link #ROWS} LIBSVM rows of {@link #PER_ROW} distinct pool columns with normal values,
     * labelled by a known linear model of {@code classes} classes (2: labels 0/1 by a logistic model;
     * more: the class drawn from the softmax of its scores), from {@code seed}.
     */
    private static Path write(String name, int classes, long seed) throws IOException {
        Random r = new Random(seed);
        int k = classes == 2 ? 1 : classes;
        double[][] truth = new double[POOL][k];
        for (double[] t : truth) {
            for (int c = 0; c < k; c++) {
                t[c] = r.nextGaussian() * 2 / Math.sqrt(PER_ROW);
            }
        }
        Path file = tmp.resolve(name);
        try (BufferedWriter out = Files.newBufferedWriter(file)) {
            for (int i = 0; i < ROWS; i++) {
                int[] at = r.ints(0, POOL).distinct().limit(PER_ROW).sorted().toArray();
                double[] score = new double[k];
                StringBuilder line = new StringBuilder();
                for (int p : at) {
                    double v = Math.round(r.nextGaussian() * 1e6) / 1e6; // what the text holds is what both read
                    for (int c = 0; c < k; c++) {
                        score[c] += v * truth[p][c];
                    }
                    line.append(' ').append(pool[p] + 1).append(':').append(v);
                }
                double label;
                if (classes == 2) {
                    label = r.nextDouble() < 1 / (1 + Math.exp(-score[0])) ? 1 : 0;
                } else {
                    double max = Arrays.stream(score).max().orElse(0);
                    double[] e = Arrays.stream(score).map(s -> Math.exp(s - max)).toArray();
                    double u = r.nextDouble() * Arrays.stream(e).sum();
                    int c = 0;
                    while (c < classes - 1 && (u -= e[c]) > 0) {
                        c++;
                    }
                    label = c;
                }
                out.write((int) label + line.toString());
                out.newLine();
            }
        }
        return file;
    }
}
