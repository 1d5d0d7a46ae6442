package io.sparkgrad.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application jar under {@code spark-submit} in a JVM of its own, as a user runs it:
 * {@code spark-submit --master local[2] --class io.sparkgrad.jobs.Main sparkgrad-app.jar train ...},
 * with only Spark's jars on the classpath. A run writes the model a run in this JVM writes, bit for
 * bit; bad input ends with exit code 2 and one line.
 */
class SparkSubmitIT {
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    static SparkProcesses processes;

    @BeforeAll
    static void setUp() {
        processes = new SparkProcesses(tmp);
    }

    @AfterAll
    static void tearDown() {
        if (processes != null) {
            processes.close();
        }
        // the in-process run started an embedded session in this JVM, which the other integration
        // tests share: stopped, so that their getOrCreate() makes their cluster's session
        scala.Option<org.apache.spark.sql.SparkSession> embedded = org.apache.spark.sql.SparkSession.getDefaultSession();
        if (embedded.isDefined()) {
            embedded.get().stop();
        }
        org.apache.spark.sql.SparkSession.clearDefaultSession();
        org.apache.spark.sql.SparkSession.clearActiveSession();
    }

    @Test
    void trainWritesAModel() throws Exception {
        Path out = tmp.resolve("model");
        SparkProcesses.Result r = processes.run("submit-train", SparkProcesses.sparkSubmit(
            List.of("--master", "local[2]", "--conf", "spark.kryo.registrationRequired=true"),
            "train", "--rows", "2000", "--cols", "5", "--iterations", "5", "--seed", "3", "--out", out.toString()), 300);
        assertEquals(0, r.exitCode(), () -> "spark-submit train failed\n" + processes.logs());
        assertTrue(r.stdout().contains("master local[2]"), () -> "no 'master local[2]' in\n" + r.stdout());
        for (int i = 1; i <= 5; i++) {
            int it = i;
            Pattern line = Pattern.compile(
                "iteration\\s+" + it + "\\s+loss \\d+\\.\\d+\\s+gradient norm \\S+\\s+\\d+\\.\\d+ s");
            assertTrue(r.stdoutLines().stream().anyMatch(l -> line.matcher(l).matches()),
                () -> "no progress line for iteration " + it + " in\n" + r.stdout());
        }
        JsonNode model = new ObjectMapper().readTree(out.resolve("model.json").toFile());
        JsonNode w = model.path("params").get(0);
        assertEquals("w", w.path("name").asText(), model::toString);
        assertEquals(5, w.path("values").size(), model::toString);

        // the same run in this JVM, on the embedded session: the data are generated block by block
        // from the seed in the same blocks (Dist.defaultBlockRows depends on the row width only),
        // and every partial is combined in block order, so the weights agree bit for bit
        Path local = tmp.resolve("model-in-process");
        TrainCommandTest.Run here = TrainCommandTest.run("train", "--rows", "2000", "--cols", "5", "--iterations", "5",
            "--seed", "3", "--out", local.toString());
        assertEquals(0, here.code(), here.err());
        JsonNode expected = new ObjectMapper().readTree(local.resolve("model.json").toFile()).path("params");
        assertEquals(2, expected.size());
        for (int p = 0; p < expected.size(); p++) {
            JsonNode want = expected.get(p).path("values");
            JsonNode got = model.path("params").get(p).path("values");
            assertEquals(want.size(), got.size(), "values of parameter " + p);
            for (int i = 0; i < want.size(); i++) {
                assertEquals(Double.doubleToRawLongBits(want.get(i).asDouble()), Double.doubleToRawLongBits(
                    got.get(i).asDouble()), "parameter " + p + " value " + i + ": in process " + want.get(i)
                    + ", spark-submit " + got.get(i));
            }
        }
        assertTrue(w.path("values").get(0).asDouble() != 0, "training moved the weights: " + model);
        assertTrue(Files.isDirectory(out.resolve("weights.parquet")) && Files.isRegularFile(out.resolve("history.csv")),
            () -> "missing outputs in " + out);
    }

    @Test
    void missingDataFileIsOneLineAndExitCode2() throws Exception {
        String missing = "/no/such/file.csv";
        SparkProcesses.Result r = processes.run("submit-missing-data", SparkProcesses.sparkSubmit(
            List.of("--master", "local[2]"), "train", "--data", missing, "--out", tmp.resolve("never").toString()), 120);
        assertEquals(2, r.exitCode(), () -> "exit code of a missing --data file\n" + processes.logs());
        List<String> naming = r.stderrLines().stream().filter(l -> l.contains(missing)).collect(Collectors.toList());
        assertEquals(List.of("sparkgrad train: no file or directory at " + missing), naming, r::stderr);
        assertTrue(r.stderrLines().stream().noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception")),
            () -> "a stack trace in\n" + r.stderr());
        assertTrue(r.stdout().isEmpty(), r::stdout);
        assertTrue(Files.notExists(tmp.resolve("never")));
    }

    @Test
    void blocksThatDoNotFitInMemorySpillWithOneLinePerJob() throws Exception {
        // 1,000,000 x 40 doubles (305 MiB) cached on a driver of 600 MiB (about 180 MiB for Spark's memory)
        SparkProcesses.Result r = processes.run("submit-spill", SparkProcesses.sparkSubmit("600m",
            List.of("--master", "local[2]"),
            "train", "--rows", "1000000", "--cols", "40", "--iterations", "2", "--optimizer", "sgd"), 300);
        assertEquals(0, r.exitCode(), () -> "spark-submit train failed\n" + processes.logs());
        Pattern spill = Pattern.compile("train: job \\d+ spilled \\d+ blocks?, \\d+\\.\\d GiB to disk: not enough memory to "
            + "cache them \\(sparkgrad .*\\)");
        List<String> spills = r.stderrLines().stream().filter(l -> l.contains("spilled")).collect(Collectors.toList());
        assertTrue(!spills.isEmpty() && spills.stream().allMatch(l -> spill.matcher(l).matches()), r::stderr);
        assertTrue(r.stderrLines().stream().noneMatch(l -> l.contains("MemoryStore") || l.contains("Not enough space")),
            r::stderr);
        assertTrue(r.stdout().contains("iteration    2"), r::stdout);
    }
}
