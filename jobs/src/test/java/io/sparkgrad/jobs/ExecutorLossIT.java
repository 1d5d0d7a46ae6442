package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.storage.RDDBlockId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An executor JVM dies in the middle of a backward pass on a real standalone cluster (a Master and
 * two Workers of one core each, separate JVMs on 127.0.0.1; this test JVM is the driver, and the
 * executors get sparkgrad's classes from sparkgrad-app.jar only). The executor that worker-1
 * started is SIGKILLed when the first task of the backward job starts on it: that task fails
 * (ExecutorLostFailure) and is retried, the blocks of x it cached (their only copy) are recomputed
 * from their lineage on an executor that is alive, and the loss and the gradient are bit-identical
 * to those of a run without the fault. The Worker may start a replacement executor meanwhile.
 *
 * <p>x is 32 blocks of 12,500 x 20 (64 MB), so each executor caches about 16 blocks and runs
 * about 16 backward tasks one after the other: the kill lands while the victim still has backward
 * work, and after it one executor's 512 MB still holds every block in memory.
 */
class ExecutorLossIT {
    static final long SEED = 11;
    static final int COLS = 20;
    static final int BLOCKS = 32;
    static final int BLOCK_ROWS = 12_500;
    static final int ROWS = BLOCKS * BLOCK_ROWS;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    static SparkProcesses processes;
    static SparkSession session;
    /** The Master, then the two Workers. */
    static final List<Process> daemons = new ArrayList<>();

    @BeforeAll
    static void cluster() throws Exception {
        processes = new SparkProcesses(tmp);
        int masterPort = SparkProcesses.freePort();
        int masterUiPort = SparkProcesses.freePort();
        String master = "spark://127.0.0.1:" + masterPort;
        daemons.add(processes.start("master", SparkProcesses.java(
            // no REST submission server (it would take the fixed port 6066)
            List.of("-Xmx512m", "-Dspark.master.rest.enabled=false"), "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", String.valueOf(masterPort),
            "--webui-port", String.valueOf(masterUiPort))));
        for (int i = 1; i <= 2; i++) {
            Path work = Files.createDirectories(tmp.resolve("worker-" + i));
            daemons.add(processes.start("worker-" + i, SparkProcesses.java(List.of("-Xmx512m"),
                "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                "--webui-port", String.valueOf(SparkProcesses.freePort()), "--work-dir", work.toString(), master)));
        }

        // before the driver starts: its first try to register with a Master that is not up yet
        // would cost the 20 s of Spark's registration retry
        processes.awaitWorkers(masterUiPort, 2, daemons, 120);

        SparkConf conf = Dist.configure(new SparkConf())
            .setMaster(master)
            .setAppName("ExecutorLossIT")
            .set("spark.jars", SparkProcesses.APP_JAR.toString())
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.ui.enabled", "false")
            .set("spark.executor.memory", "512m")
            .set("spark.task.maxFailures", "4")
            .set("spark.executor.extraJavaOptions", String.join(" ", SparkProcesses.jvmFlags()))
            .set("spark.kryo.registrationRequired", "true");
        session = SparkSession.builder().config(conf).getOrCreate();
        session.sparkContext().setLogLevel("WARN");
        Dist.use(session);
        awaitExecutors(session.sparkContext(), 2, 120);
    }

    @AfterAll
    static void tearDown() {
        try {
            if (session != null) {
                session.stop();
            }
        } finally {
            if (processes != null) {
                processes.close(); // the Workers first (their shutdown hooks end the executors), the Master last
            }
        }
    }

    @Test
    void killingAnExecutorDuringBackwardRecomputesItsBlocksAndGivesTheSameGradient() throws Exception {
        SparkContext sc = session.sparkContext();
        DistArray x = (DistArray) Dist.cache(Dist.randomNormal(SEED, BLOCK_ROWS, ROWS, COLS));
        double[] trueW = new double[COLS];
        double[] w0 = new double[COLS];
        for (int j = 0; j < COLS; j++) {
            trueW[j] = (j % 3 - 1) * (1 + j / 10.0);
            w0[j] = 0.01 * (j - COLS / 2);
        }
        NDArray labels = Dist.cache(x.matmul(Np.array(trueW)).gt(0));

        // the executor to kill: the one worker-1 started, identified by its command line
        ProcessHandle victim = SparkProcesses.awaitExecutor(daemons.get(1), 60);
        String victimId = SparkProcesses.executorId(victim);
        Map<Integer, Set<String>> before = blockLocations(x);
        Set<Integer> onVictim = before.entrySet().stream().filter(e -> e.getValue().contains(victimId))
            .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(BLOCKS, before.values().stream().filter(s -> !s.isEmpty()).count(),
            () -> "every block of x is cached: " + before);
        assertFalse(onVictim.isEmpty(), () -> "executor " + victimId + " caches no block of x: " + before);
        assertTrue(onVictim.size() < BLOCKS, () -> "executor " + victimId + " caches every block of x: " + before);

        // the reference: no fault
        Metrics.Snapshot m0 = Dist.metrics().snapshot();
        double[][] reference = lossAndGrad(x, labels, w0);
        Metrics.Snapshot clean = Dist.metrics().snapshot().minus(m0);
        assertEquals(0, clean.failedTasks(), () -> "the reference run had failed tasks\n" + processes.logs());

        // the same again, the victim killed once the backward job's first task starts on it
        Killer killer = new Killer(victim, victimId);
        sc.addSparkListener(killer);
        Metrics.Snapshot m1 = Dist.metrics().snapshot();
        double[][] faulty;
        try {
            faulty = lossAndGrad(x, labels, w0, killer);
        } finally {
            sc.removeSparkListener(killer);
        }
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(m1);

        assertTrue(killer.killed.get(), () -> "the victim was never killed\n" + processes.logs());
        victim.onExit().get(30, TimeUnit.SECONDS); // it is dead
        assertEquals(Double.doubleToRawLongBits(reference[0][0]), Double.doubleToRawLongBits(faulty[0][0]), "the loss");
        assertTrue(Arrays.equals(reference[1], faulty[1]), () -> "the gradient of w after the executor loss: "
            + Arrays.toString(faulty[1]) + ", without it: " + Arrays.toString(reference[1]));

        // the task running on the victim failed and was retried: the backward pass ran more tasks
        assertTrue(d.failedTasks() >= 1, () -> "no failed task attempt: " + d);
        assertTrue(d.backwardTasks() > clean.backwardTasks(), () -> "backward tasks " + d.backwardTasks()
            + " with the loss, " + clean.backwardTasks() + " without it");

        // the blocks of x cached on the victim that the backward job still needed were recomputed
        // from their lineage on an executor that is alive (the only copy was on the victim)
        Set<Integer> needed = new TreeSet<>(onVictim);
        needed.removeAll(killer.finishedOnVictim);
        assertFalse(needed.isEmpty(), () -> "every backward task on the victim finished before the kill; "
            + killer.finishedOnVictim);
        Map<Integer, Set<String>> after = blockLocations(x);
        for (int p : needed) {
            Set<String> where = after.get(p);
            assertFalse(where.isEmpty(), () -> "block " + p + " of x is not cached again: " + after);
            assertFalse(where.contains(victimId), () -> "block " + p + " still listed on the dead executor: " + after);
        }
        System.out.printf("ExecutorLossIT: killed executor %s (pid %d) holding blocks %s; recomputed %s; "
                + "backward tasks %d (clean %d), failed %d%n", victimId, victim.pid(), onVictim, needed,
            d.backwardTasks(), clean.backwardTasks(), d.failedTasks());
    }

    private static double[][] lossAndGrad(NDArray x, NDArray labels, double[] w0) {
        return lossAndGrad(x, labels, w0, null);
    }

    private static double[][] lossAndGrad(NDArray x, NDArray labels, double[] w0, Killer killer) {
        NDArray w = Np.array(w0);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), labels);
        }
        double value = loss.item();
        if (killer != null) {
            killer.armed.set(true);
        }
        loss.backward();
        return new double[][] {{value}, w.grad().toArray()};
    }

    /** For each block of x, the executors that hold it, as the driver's BlockManagerMaster knows them. */
    private static Map<Integer, Set<String>> blockLocations(DistArray x) {
        int rddId = x.rdd().id();
        Map<Integer, Set<String>> out = new TreeMap<>();
        for (int p = 0; p < x.numBlocks(); p++) {
            List<BlockManagerId> locs = CollectionConverters.asJava(
                SparkEnv.get().blockManager().master().getLocations(new RDDBlockId(rddId, p)));
            out.put(p, locs.stream().map(BlockManagerId::executorId).collect(Collectors.toCollection(TreeSet::new)));
        }
        return out;
    }

    /** SIGKILLs the victim's JVM when, once armed, a task of a backward job starts on it. */
    static final class Killer extends SparkListener {
        final ProcessHandle victim;
        final String victimId;
        final AtomicBoolean armed = new AtomicBoolean();
        final AtomicBoolean killed = new AtomicBoolean();
        final Set<Integer> backwardStages = ConcurrentHashMap.newKeySet();
        /** Partitions whose backward task succeeded on the victim (before it died). */
        final Set<Integer> finishedOnVictim = ConcurrentHashMap.newKeySet();

        Killer(ProcessHandle victim, String victimId) {
            this.victim = victim;
            this.victimId = victimId;
        }

        @Override
        public void onJobStart(SparkListenerJobStart e) {
            String d = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
            if (armed.get() && d != null && d.startsWith("sparkgrad backward")) {
                CollectionConverters.asJava(e.stageIds()).forEach(id -> backwardStages.add((Integer) id));
            }
        }

        @Override
        public void onTaskStart(SparkListenerTaskStart e) {
            if (backwardStages.contains(e.stageId()) && victimId.equals(e.taskInfo().executorId())
                && killed.compareAndSet(false, true)) {
                victim.destroyForcibly();
            }
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd e) {
            if (backwardStages.contains(e.stageId()) && victimId.equals(e.taskInfo().executorId())
                && e.taskInfo().successful()) {
                finishedOnVictim.add(e.taskInfo().index());
            }
        }
    }

    private static void checkDaemons() {
        for (Process p : daemons) {
            if (!p.isAlive()) {
                fail("a cluster daemon exited with code " + p.exitValue() + "\n" + processes.logs());
            }
        }
    }

    /** Waits until {@code n} executors (besides the driver) have registered with the driver. */
    private static void awaitExecutors(SparkContext sc, int n, int timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            checkDaemons();
            if (sc.getExecutorMemoryStatus().size() >= n + 1) {
                return;
            }
            Thread.sleep(200);
        }
        fail(n + " executors did not register in " + timeoutSeconds + " s\n" + processes.logs());
    }
}
