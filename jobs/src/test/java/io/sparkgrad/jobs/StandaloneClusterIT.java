package io.sparkgrad.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgrad.dist.Dist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code train} on a real multi-process Spark standalone cluster: a Master and two Workers (one
 * core each), each a JVM of its own on 127.0.0.1 with {@code target/spark-home} as SPARK_HOME,
 * and the application jar submitted to it in client mode; the Workers start an executor JVM each.
 * The model must be bit-identical to the one {@code --master local[2]} trains: the synthetic data
 * is generated on the executors block by block from the seed, with the block layout of
 * {@code Dist.defaultBlockRows} (which depends on the row width only, not on the master), and
 * sparkgrad combines every reduction's partials on the driver in block order.
 */
class StandaloneClusterIT {
    static final int COLS = 6;
    /** Two blocks of rows (see {@link #theClusterRunsRowsMakeTwoBlocksOneTaskPerExecutor}): one task per executor. */
    static final int ROWS = 2_000_000;
    static final String[] TRAIN = {"train", "--rows", String.valueOf(ROWS), "--cols", String.valueOf(COLS),
        "--iterations", "6", "--seed", "7"};

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
            processes.close(); // the Workers first (their shutdown hooks end the executors), the Master last
        }
    }

    @Test
    void theClusterRunsRowsMakeTwoBlocksOneTaskPerExecutor() {
        int blockRows = Dist.defaultBlockRows(COLS);
        assertTrue(blockRows < ROWS && 2 * blockRows >= ROWS,
            "the cluster run is meant to have two blocks of rows, but " + ROWS + " rows of " + COLS
                + " columns make blocks of " + blockRows + " rows");
    }

    @Test
    void trainOnStandaloneClusterIsBitIdenticalToLocal() throws Exception {
        int masterPort = SparkProcesses.freePort();
        int masterUiPort = SparkProcesses.freePort();
        String master = "spark://127.0.0.1:" + masterPort;
        List<Process> daemons = new ArrayList<>();
        daemons.add(processes.start("master", SparkProcesses.java(
            // no REST submission server (it would take the fixed port 6066)
            List.of("-Xmx512m", "-Dspark.master.rest.enabled=false"), "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort))));
        for (int i = 1; i <= 2; i++) {
            Path work = Files.createDirectories(tmp.resolve("worker-" + i));
            daemons.add(processes.start("worker-" + i, SparkProcesses.java(List.of("-Xmx512m"),
                "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                "--webui-port", String.valueOf(SparkProcesses.freePort()), "--work-dir", work.toString(), master)));
        }

        // the reference on local[2] while the cluster starts
        SparkProcesses.Result local = processes.run("submit-local", SparkProcesses.sparkSubmit(
            List.of("--master", "local[2]", "--conf", "spark.kryo.registrationRequired=true"),
            with(TRAIN, "--out", tmp.resolve("model-local").toString())), 300);
        assertEquals(0, local.exitCode(), () -> "train on local[2] failed\n" + processes.logs());

        processes.awaitWorkers(masterUiPort, 2, daemons, 120);
        SparkProcesses.Result cluster = processes.run("submit-cluster", SparkProcesses.sparkSubmit(List.of(
            "--master", master, "--deploy-mode", "client", "--executor-memory", "512m",
            // the driver advertises and binds 127.0.0.1 (Dist.session() does so itself for local masters only)
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
            // no job before both executors are there, so that each runs one of the two blocks
            "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
            "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s",
            "--conf", "spark.kryo.registrationRequired=true"),
            with(TRAIN, "--out", tmp.resolve("model-cluster").toString())), 300);
        assertEquals(0, cluster.exitCode(), () -> "train on the standalone cluster failed\n" + processes.logs());
        assertTrue(cluster.stdout().contains("master " + master), () -> cluster.stdout() + processes.logs());
        assertEquals(lossLines(local.stdout()), lossLines(cluster.stdout()), "the losses of the iterations");
        assertEquals(6, lossLines(cluster.stdout()).size(), cluster::stdout);

        double[] expected = weights(tmp.resolve("model-local"));
        double[] actual = weights(tmp.resolve("model-cluster"));
        assertEquals(COLS + 1, expected.length);
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(actual[i]),
                "parameter value " + i + ": local[2] " + expected[i] + ", standalone cluster " + actual[i]);
        }

        // the work really ran in the executor JVMs the two Workers started
        for (int i = 1; i <= 2; i++) {
            Path work = tmp.resolve("worker-" + i);
            assertTrue(executorRanTasks(work), () -> "no task ran in an executor of " + work + "\n" + processes.logs());
        }
    }

    private static String[] with(String[] args, String... more) {
        return Stream.concat(Stream.of(args), Stream.of(more)).toArray(String[]::new);
    }

    /** The "iteration N loss L gradient norm G" part of the progress lines, without the time. */
    private static List<String> lossLines(String stdout) {
        return stdout.lines().filter(l -> l.startsWith("iteration")).map(l -> l.replaceAll("\\s+\\S+ s$", ""))
            .collect(Collectors.toList());
    }

    /** Every parameter value in model.json, in order. */
    private static double[] weights(Path modelDir) throws IOException {
        JsonNode model = new ObjectMapper().readTree(modelDir.resolve("model.json").toFile());
        List<Double> values = new ArrayList<>();
        for (JsonNode p : model.path("params")) {
            p.path("values").forEach(v -> values.add(v.asDouble()));
        }
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static boolean executorRanTasks(Path workDir) throws IOException {
        try (Stream<Path> files = Files.walk(workDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).collect(Collectors.toList())) {
                if (Files.readString(f).contains("Running task")) {
                    return true;
                }
            }
        }
        return false;
    }

}
