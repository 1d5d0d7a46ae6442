package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Activity;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgrad.dist.Dist;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bin/sparkgrad train} and {@code gradcheck} as a user runs them, on the embedded session. */
class TrainCommandTest {

    /** What one run printed and returned. */
    record Run(int code, String out, String err) {
        List<Double> losses() {
            List<Double> l = new ArrayList<>();
            for (String line : out.split("\n")) {
                if (line.startsWith("iteration")) {
                    l.add(Double.parseDouble(line.replaceAll(".*loss (\\S+).*", "$1")));
                }
            }
            return l;
        }
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out), new PrintStream(err));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void trainingWritesTheModelHistoryAndPicture(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        Run r = run("train", "--rows", "3000", "--cols", "4", "--iterations", "6", "--seed", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        List<Double> losses = r.losses();
        assertEquals(6, losses.size(), r.out());
        assertTrue(losses.get(5) < 0.8 * losses.get(0), "loss falls: " + losses);
        assertEquals(Math.log(2), losses.get(0), 1e-8, "logistic loss at zero weights (printed to 8 decimals)");

        JsonNode model = new ObjectMapper().readTree(out.resolve("model.json").toFile());
        assertEquals("logistic", model.path("model").asText());
        assertEquals(4, model.path("params").get(0).path("values").size());
        assertEquals(List.of("iteration,loss,gradient_norm,seconds"), Files.readAllLines(out.resolve("history.csv")).subList(0, 1));
        assertEquals(7, Files.readAllLines(out.resolve("history.csv")).size());
        assertTrue(Files.size(out.resolve("loss.png")) > 1000);
        Dataset<Row> weights = Dist.session().read().parquet(out.resolve("weights.parquet").toString());
        assertEquals(5, weights.count());
        assertFalse(Files.list(tmp).anyMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary folder left");
    }

    @Test
    void tolStopsOnceTheGradientNormIsSmallAndTheWeightsTableHoldsTheSavedValues(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        Run r = run("train", "--model", "softmax", "--rows", "2000", "--cols", "3", "--l2", "0.01", "--iterations", "200",
            "--tol", "1e-6", "--seed", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        int n = r.losses().size();
        assertTrue(n > 2 && n < 200, "stopped early after " + n + " iterations:\n" + r.out());
        String last = r.out().lines().filter(l -> l.startsWith("iteration")).reduce((a, b) -> b).orElseThrow();
        double norm = Double.parseDouble(last.replaceAll(".*gradient norm (\\S+).*", "$1"));
        assertTrue(norm <= 1e-6, last);
        assertTrue(r.out().contains("train: converged at iteration " + n + ": gradient norm "), r.out());
        assertEquals(n + 1, Files.readAllLines(out.resolve("history.csv")).size());

        JsonNode params = new ObjectMapper().readTree(out.resolve("model.json").toFile()).path("params");
        Dataset<Row> weights = Dist.session().read().parquet(out.resolve("weights.parquet").toString());
        assertEquals(3 * 3 + 3, weights.count());
        for (Row w : weights.collectAsList()) {
            int p = w.getString(0).equals("w") ? 0 : 1;
            assertEquals(params.get(p).path("values").get(w.getInt(1)).asDouble(), w.getDouble(2), 0.0, w.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"linear", "softmax", "mlp"})
    void everyModelKindLearnsSyntheticData(String kind) {
        Run r = run("train", "--model", kind, "--rows", "2000", "--cols", "3", "--hidden", "6", "--iterations", "8",
            "--seed", "5");
        assertEquals(0, r.code(), r.err());
        List<Double> l = r.losses();
        assertTrue(l.get(l.size() - 1) < 0.7 * l.get(0), kind + " loss falls: " + l);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgd", "momentum", "adam", "lbfgs"})
    void everyOptimizerLowersTheLoss(String optimizer) {
        Run r = run("train", "--optimizer", optimizer, "--lr", "0.5", "--rows", "2000", "--cols", "3", "--iterations", "8");
        assertEquals(0, r.code(), r.err());
        List<Double> l = r.losses();
        assertTrue(l.get(l.size() - 1) < l.get(0), optimizer + ": " + l);
    }

    @Test
    void float32RowsTrainToTheFloat64LossesWithinFloatRounding() {
        String[] args = {"train", "--rows", "3000", "--cols", "4", "--iterations", "6", "--seed", "2", "--dtype"};
        Run f32 = run(java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("float32"))
            .toArray(String[]::new));
        Run f64 = run(java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("float64"))
            .toArray(String[]::new));
        assertEquals(0, f32.code(), f32.err());
        assertTrue(f32.out().contains("float32 rows"), f32.out());
        List<Double> a = f32.losses();
        List<Double> b = f64.losses();
        assertEquals(6, a.size(), f32.out());
        for (int i = 0; i < 6; i++) {
            // the rows rounded to float move the losses by about float's precision, no more
            assertEquals(b.get(i), a.get(i), 1e-5, "iteration " + (i + 1) + ": " + a + " vs " + b);
        }
        assertUserError(run("train", "--dtype", "float16"), "--dtype", "float16");
    }

    @Test
    void rowSamplingTrainsOnAFractionPerIteration() {
        Run r = run("train", "--batch-fraction", "0.3", "--optimizer", "sgd", "--lr", "1", "--rows", "3000", "--cols", "3",
            "--iterations", "10");
        assertEquals(0, r.code(), r.err());
        List<Double> l = r.losses();
        assertTrue(l.get(9) < l.get(0), l.toString());
    }

    @Test
    void predictGivesTheSigmoidOfTheSavedModelsScoresForEveryRowInOrder(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m");
        assertEquals(0, run("train", "--data", RealDataTest.DATA, "--iterations", "10", "--out", model.toString()).code());
        Path preds = tmp.resolve("p");
        Run r = run("train", "--predict", model.toString(), "--data", RealDataTest.DATA, "--out", preds.toString());
        assertEquals(0, r.code(), r.err());

        // the reference: sigmoid(x . w + b) per CSV row, in plain Java, from model.json's values
        JsonNode m = new ObjectMapper().readTree(model.resolve("model.json").toFile());
        List<String> features = new ArrayList<>();
        m.path("features").forEach(f -> features.add(f.asText()));
        double[] w = new double[features.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = m.path("params").get(0).path("values").get(i).asDouble();
        }
        double b = m.path("params").get(1).path("values").get(0).asDouble();
        List<String> lines = Files.readAllLines(Path.of(RealDataTest.DATA));
        List<String> header = Arrays.asList(lines.get(0).split(","));
        List<Double> expected = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            double z = b;
            for (int i = 0; i < w.length; i++) {
                z += w[i] * Double.parseDouble(f[header.indexOf(features.get(i))]);
            }
            expected.add(1 / (1 + Math.exp(-z)));
        }
        assertEquals(569, expected.size());

        // the predictions, part file by part file in name order (each part keeps its rows' order)
        List<Double> got = new ArrayList<>();
        try (var parts = Files.list(preds)) {
            for (Path part : parts.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                for (Row row : Dist.session().read().parquet(part.toString()).collectAsList()) {
                    got.add(row.getDouble(0));
                }
            }
        }
        assertEquals(expected.size(), got.size());
        double lo = 1;
        double hi = 0;
        for (int i = 0; i < expected.size(); i++) {
            // a dot product of 30 terms summed in another order: a few ulps of the score
            assertEquals(expected.get(i), got.get(i), 1e-12, "row " + (i + 1));
            lo = Math.min(lo, got.get(i));
            hi = Math.max(hi, got.get(i));
        }
        assertTrue(lo < 0.1 && hi > 0.9, "the model separates the classes: predictions from " + lo + " to " + hi);
    }

    @Test
    void libsvmTextTrainsLikeAnyOtherSource(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("points.libsvm");
        StringBuilder b = new StringBuilder("# label index:value\n");
        java.util.Random rnd = new java.util.Random(4);
        for (int i = 0; i < 300; i++) {
            double x1 = rnd.nextGaussian();
            double x3 = rnd.nextGaussian();
            b.append(x1 - x3 > 0 ? 1 : 0).append(" 1:").append(x1).append(" 3:").append(x3).append('\n');
        }
        Files.writeString(file, b);
        Run r = run("train", "--data", file.toString(), "--iterations", "10");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("300 rows x 3 features"), r.out());
        List<Double> l = r.losses();
        assertTrue(l.get(9) < 0.5 * l.get(0), l.toString());
    }

    @Test
    void sparseLibsvmTrainsEndToEndWithTheDenseReadingsLosses(@TempDir Path tmp) throws Exception {
        // 1000 rows of 2000 features, 8 non-zeros a row: read into sparse blocks (0.4% dense)
        Path file = tmp.resolve("sparse.libsvm");
        StringBuilder b = new StringBuilder();
        java.util.Random rnd = new java.util.Random(5);
        for (int i = 0; i < 1000; i++) {
            java.util.TreeMap<Integer, Double> row = new java.util.TreeMap<>();
            if (i == 0) {
                row.put(2000, 1.0); // the largest index: 2000 features
            }
            while (row.size() < 8) {
                row.put(1 + rnd.nextInt(2000), Math.round(rnd.nextGaussian() * 100) / 100.0 + 0.5);
            }
            double margin = 0;
            for (var e : row.entrySet()) {
                margin += (e.getKey() % 7 - 3) * e.getValue();
            }
            b.append(margin + rnd.nextGaussian() > 0 ? 1 : 0);
            row.forEach((k, v) -> b.append(' ').append(k).append(':').append(v));
            b.append('\n');
        }
        Files.writeString(file, b);
        { // standardised (the default): the column statistics of sparse blocks come from the non-zeros
            String[] args = {"train", "--data", file.toString(), "--iterations", "8"};
            Run sparse = run(args);
            assertEquals(0, sparse.code(), sparse.err());
            assertTrue(sparse.out().contains("1000 rows x 2000 features"), sparse.out());
            io.sparkgrad.dist.Dist.setSparseThreshold(0);
            Run dense;
            try {
                dense = run(args);
            } finally {
                io.sparkgrad.dist.Dist.setSparseThreshold(0.25);
            }
            assertEquals(0, dense.code(), dense.err());
            List<Double> ls = sparse.losses();
            List<Double> ld = dense.losses();
            assertEquals(ld.size(), ls.size());
            for (int i = 0; i < ld.size(); i++) {
                assertEquals(ld.get(i), ls.get(i), 1e-7, "iteration " + (i + 1));
            }
            assertTrue(ls.get(ls.size() - 1) < 0.9 * ls.get(0), ls.toString());
        }
    }

    @Test
    void gradcheckPassesForEveryModel() {
        for (String kind : new String[] {"linear", "logistic", "softmax", "mlp"}) {
            Run r = run("gradcheck", "--model", kind, "--rows", "200", "--cols", "3", "--hidden", "4", "--sample", "20");
            assertEquals(0, r.code(), kind + ": " + r.out() + r.err());
            assertTrue(r.out().contains("gradcheck: passed"), r.out());
        }
    }

    private static void assertUserError(Run r, String... mentions) {
        assertEquals(2, r.code(), r.out() + r.err());
        String first = r.err().lines().findFirst().orElse("");
        for (String m : mentions) {
            assertTrue(first.contains(m), "'" + m + "' in: " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    @Test
    void badInputIsOneLineNamingTheFileColumnOrRow(@TempDir Path tmp) throws Exception {
        assertUserError(run("train", "--data", "/no/such/points.csv"), "/no/such/points.csv");
        assertUserError(run("train", "--data", RealDataTest.DATA, "--features", "mean_radius,no_such_column"),
            "no_such_column");
        assertUserError(run("train", "--data", RealDataTest.DATA, "--label", "mean_radius"), "breast_cancer.csv line 2",
            "column 'mean_radius'", "labels 0 or 1");
        assertUserError(run("train", "--iterations", "zero"), "--iterations");
        assertUserError(run("train", "--model", "forest"), "--model", "forest");
        assertUserError(run("train", "--wat"), "--wat");

        Path text = tmp.resolve("text.csv");
        Files.writeString(text, "a,b,label\n1,2,0\n3,oops,1\n");
        assertUserError(run("train", "--data", text.toString()), "text.csv line 3", "'b'", "oops");

        Path nulls = tmp.resolve("nulls.parquet");
        List<Row> rows = Arrays.asList(RowFactory.create(1.0, 0.0), RowFactory.create(null, 1.0), RowFactory.create(2.0, 1.0));
        Dist.session().createDataFrame(rows, DataTypes.createStructType(List.of(
            DataTypes.createStructField("x", DataTypes.DoubleType, true),
            DataTypes.createStructField("label", DataTypes.DoubleType, true)))).coalesce(1).write().parquet(nulls.toString());
        assertUserError(run("train", "--data", nulls.toString()), "'x'", "row group 1 of 1, row 2");

        Path empty = tmp.resolve("empty.csv");
        Files.writeString(empty, "x,label\n");
        assertUserError(run("train", "--data", empty.toString()), "no rows");

        Path model = tmp.resolve("m");
        Files.createDirectories(model);
        assertUserError(run("train", "--rows", "100", "--cols", "2", "--iterations", "1", "--out", model.toString()),
            "already exists");
        assertUserError(run("train", "--predict", model.toString(), "--data", RealDataTest.DATA, "--out",
            tmp.resolve("p").toString()), "model.json");
    }

    @Test
    void verboseAddsTheStackTraceBelowTheSameOneLine() {
        Run quiet = run("train", "--data", "/no/such/points.csv");
        Run loud = run("train", "--data", "/no/such/points.csv", "--verbose");
        assertEquals(2, loud.code(), loud.err());
        String line = quiet.err().lines().findFirst().orElseThrow();
        assertEquals(line, loud.err().lines().findFirst().orElseThrow(), "the same one line first");
        assertFalse(quiet.err().contains("\tat "), quiet.err());
        assertTrue(loud.err().lines().skip(1).anyMatch(l -> l.startsWith("\tat io.sparkgrad.jobs.")),
            "the trace follows: " + loud.err());

        // a bug: the line no longer points to --verbose, the trace of the bug follows it
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (RunLog log = RunLog.open("train")) {
            assertEquals(1, Main.failure("train", new NullPointerException("x is null"), true, log, new PrintStream(err)));
        }
        List<String> lines = err.toString().lines().toList();
        assertTrue(lines.get(0).startsWith("sparkgrad train: internal error") && !lines.get(0).contains("--verbose prints"),
            lines.get(0));
        assertEquals("java.lang.NullPointerException: x is null", lines.get(1));
        assertTrue(lines.get(2).startsWith("\tat io.sparkgrad.jobs.TrainCommandTest"), lines.get(2));
    }

    @Test
    void predictRefusesDataWithoutTheModelsFeatures(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m");
        assertEquals(0, run("train", "--rows", "500", "--cols", "3", "--iterations", "2", "--out", model.toString()).code());
        assertUserError(run("train", "--predict", model.toString(), "--data", RealDataTest.DATA, "--out",
            tmp.resolve("p").toString()), "f0");
    }

    @Test
    void aFailedRunLeavesNoModelBehind(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("model");
        io.sparkgrad.worker.FaultInjector.failAttempts(Activity.Phase.BACKWARD, null, 0, 100);
        try {
            Run r = run("train", "--rows", "500", "--cols", "3", "--iterations", "3", "--out", out.toString());
            assertEquals(1, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("the Spark job failed"), r.err());
        } finally {
            io.sparkgrad.worker.FaultInjector.clear();
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList(), "neither the model nor a temporary folder");
        }
    }

    @Test
    void helpListsTheOptions() {
        Run r = run("train", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("--batch-fraction") && r.out().contains("--predict"), r.out());
        assertEquals(0, run("help").code());
        assertEquals(2, run("no-such-command").code());
    }
}
