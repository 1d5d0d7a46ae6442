package io.sparkgrad.worker;

import io.sparkgrad.autograd.Activity;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskContext$;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inside a task (a stand-in {@link TaskContext} with a stage, partition, attempt and the job's
 * properties), a rule fails exactly the attempts, partition, pass and op it names; a delay makes
 * each task wait once, for its drawn time; {@link FaultInjector#clear} removes both.
 */
class FaultInjectorTaskTest {

    @AfterEach
    void clear() {
        FaultInjector.clear();
        TaskContext$.MODULE$.unset();
    }

    /** Runs {@link FaultInjector#check} as attempt {@code attempt} of the task for {@code partition}. */
    static void check(String phase, String ops, int partition, int attempt, long taskId) {
        Properties p = new Properties();
        if (phase != null) {
            p.setProperty("sparkgrad.phase", phase);
        }
        if (ops != null) {
            p.setProperty("sparkgrad.ops", ops);
        }
        p.setProperty("spark.job.description", "backward of loss");
        TaskContext$.MODULE$.setTaskContext(new StandIn(5, partition, attempt, taskId, p));
        try {
            FaultInjector.check();
        } finally {
            TaskContext$.MODULE$.unset();
        }
    }

    static final String BACKWARD = Activity.Phase.BACKWARD.label();
    static final String FORWARD = Activity.Phase.FORWARD.label();

    @Test
    void aRuleFailsTheAttemptsItNamesOfItsPartitionPassAndOp() {
        FaultInjector.failAttempts(Activity.Phase.BACKWARD, "matmul", 2, 2);
        FaultInjector.InjectedFault e = assertThrows(FaultInjector.InjectedFault.class,
            () -> check(BACKWARD, "sum,matmul", 2, 0, 1));
        assertEquals("injected fault in 'backward of loss', partition 2, attempt 0", e.getMessage());
        e = assertThrows(FaultInjector.InjectedFault.class, () -> check(BACKWARD, "matmul", 2, 1, 2));
        assertEquals("injected fault in 'backward of loss', partition 2, attempt 1", e.getMessage());
        assertDoesNotThrow(() -> check(BACKWARD, "matmul", 2, 2, 3), "the third attempt succeeds");
        assertDoesNotThrow(() -> check(BACKWARD, "matmul", 1, 0, 4), "another partition");
        assertDoesNotThrow(() -> check(FORWARD, "matmul", 2, 0, 5), "another pass");
        assertDoesNotThrow(() -> check(BACKWARD, "sum,matmulx", 2, 0, 6), "another op (ops are matched whole)");
        assertDoesNotThrow(() -> check(BACKWARD, null, 2, 0, 7), "a job that names no op");
        assertDoesNotThrow(() -> check(null, "matmul", 2, 0, 8), "a job outside any pass");
    }

    @Test
    void aRuleWithoutAnOpFailsEveryJobOfItsPass() {
        FaultInjector.failAttempts(Activity.Phase.FORWARD, null, 0, 1);
        assertThrows(FaultInjector.InjectedFault.class, () -> check(FORWARD, null, 0, 0, 1));
        assertThrows(FaultInjector.InjectedFault.class, () -> check(FORWARD, "exp", 0, 0, 2));
        assertDoesNotThrow(() -> check(BACKWARD, "exp", 0, 0, 3));
        FaultInjector.clear();
        assertDoesNotThrow(() -> check(FORWARD, null, 0, 0, 4), "cleared");
    }

    /**
     * Every function the driver gives Spark checks the injector first, so a rule can fail any stage
     * (the tests of fault tolerance fail a gather, a shuffle's either side, a block program...).
     */
    @Test
    void everyTaskFunctionOfTheModuleIsAPointOfFailure() {
        long[] starts = {0, 2};
        Block b = Block.of(0, 0, io.sparkgrad.np.Np.ones(2, 2));
        Block idx = Block.of(0, 0, io.sparkgrad.np.Np.zeros(2));
        Block noIdx = Block.of(0, 0, io.sparkgrad.np.Np.zeros(0));
        long[] none = {0, 0};
        java.util.Map<String, org.junit.jupiter.api.function.Executable> fns = new java.util.LinkedHashMap<>();
        fns.put("PartitionFn", () -> new PartitionFn((i, a) -> a[0], new Object[0], 0, starts).call(
            java.util.List.<Block[]>of(new Block[] {b}).iterator()));
        fns.put("PartitionFn.ofOne", () -> PartitionFn.ofOne((i, a) -> a[0], new Object[0], 0, starts)
            .call(java.util.List.of(b).iterator()));
        fns.put("PartitionFn.ofTwo", () -> PartitionFn.ofTwo((i, a) -> a[0], new Object[0], 0, starts)
            .call(java.util.List.of(b).iterator(), java.util.List.of(b).iterator()));
        fns.put("BlockProgram", () -> new BlockProgram(new BlockProgram.Step[0], new int[0], 1, 1)
            .call(java.util.List.<Block[]>of(new Block[] {b}).iterator()));
        fns.put("Partials.combineGroup", () -> Partials.combineGroup(new io.sparkgrad.np.ReduceFn[0])
            .call(java.util.Collections.emptyIterator()));
        fns.put("Generators.generate", () -> Generators.generate(starts, new int[] {2}, 0, Generators.fill(1), new Object[0])
            .call(0));
        fns.put("Reblock.split", () -> Reblock.split(starts).call(java.util.Collections.emptyIterator()));
        fns.put("Reblock.join", () -> Reblock.join(none, new int[] {2}, 0).call(0, java.util.Collections.emptyIterator()));
        fns.put("Reblock.splitElements", () -> Reblock.splitElements(starts).call(java.util.Collections.emptyIterator()));
        fns.put("Reblock.joinElements", () -> Reblock.joinElements(none, new int[] {2})
            .call(0, java.util.Collections.emptyIterator()));
        fns.put("Gather.requests", () -> Gather.requests("take", starts).call(java.util.List.of(idx).iterator()));
        fns.put("Gather.answers", () -> Gather.answers(2).call(java.util.List.of(b).iterator(),
            java.util.Collections.emptyIterator()));
        fns.put("Gather.assemble", () -> Gather.assemble("take", 2, new int[] {2}).call(java.util.List.of(noIdx).iterator(),
            java.util.Collections.emptyIterator()));
        fns.put("Gather.pieces", () -> Gather.pieces("scatterAdd", starts, 2).call(java.util.List.of(idx).iterator(),
            java.util.List.of(b).iterator()));
        fns.put("Gather.sum", () -> Gather.sum(starts, new int[] {2}).call(0, java.util.Collections.emptyIterator()));
        fns.put("TileProduct.tiles", () -> TileProduct.tiles(true, starts, starts, 1, 1).call(java.util.List.of(b).iterator()));
        fns.put("TileProduct.multiply", () -> TileProduct.multiply(starts, starts, 1, true)
            .call(0, java.util.Collections.emptyIterator()));
        fns.put("TileProduct.partials", () -> TileProduct.partials(starts, starts).call(java.util.List.of(b).iterator(),
            java.util.List.of(b).iterator()));
        fns.put("TileProduct.sum", () -> TileProduct.sum(starts, starts, true).call(0, java.util.Collections.emptyIterator()));
        fns.put("TileProduct.assemble", () -> TileProduct.assemble(none, new long[] {0}, true)
            .call(0, java.util.Collections.emptyIterator()));
        FaultInjector.failAttempts(Activity.Phase.FORWARD, null, 0, 1);
        Properties p = new Properties();
        p.setProperty("sparkgrad.phase", FORWARD);
        for (java.util.Map.Entry<String, org.junit.jupiter.api.function.Executable> f : fns.entrySet()) {
            TaskContext$.MODULE$.setTaskContext(new StandIn(1, 0, 0, 1, p));
            try {
                assertThrows(FaultInjector.InjectedFault.class, f.getValue(), f.getKey() + " checks the injector");
            } finally {
                TaskContext$.MODULE$.unset();
            }
            assertDoesNotThrow(f.getValue(), f.getKey() + " outside a task");
        }
    }

    @Test
    void aDelayedTaskWaitsOnceForItsDrawnTime() {
        int partition = 0;
        while (FaultInjector.delayMillis(11, 1000, 5, partition, 0) < 600) {
            partition++;
        }
        long drawn = FaultInjector.delayMillis(11, 1000, 5, partition, 0);
        FaultInjector.delayTasks(11, 1000);
        long t0 = System.nanoTime();
        check(BACKWARD, null, partition, 0, 42);
        long waited = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(waited >= drawn, "waited " + waited + " ms of " + drawn);
        t0 = System.nanoTime();
        check(BACKWARD, null, partition, 0, 42);
        assertTrue((System.nanoTime() - t0) / 1_000_000 < drawn, "the same task does not wait twice");
        FaultInjector.clear();
        FaultInjector.delayTasks(11, 1000);
        t0 = System.nanoTime();
        check(BACKWARD, null, partition, 0, 42);
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= drawn, "clear() forgets the tasks it delayed");
        FaultInjector.delayTasks(11, 0);
        t0 = System.nanoTime();
        check(BACKWARD, null, partition, 0, 43);
        assertTrue((System.nanoTime() - t0) / 1_000_000 < drawn, "0 turns the delay off");
    }

    /** A task's context: only what the injector reads is real. */
    static final class StandIn extends TaskContext {
        private static final long serialVersionUID = 1L;
        private final int stage;
        private final int partition;
        private final int attempt;
        private final long taskId;
        private final Properties props;

        StandIn(int stage, int partition, int attempt, long taskId, Properties props) {
            this.stage = stage;
            this.partition = partition;
            this.attempt = attempt;
            this.taskId = taskId;
            this.props = props;
        }

        @Override public int stageId() { return stage; }
        @Override public int partitionId() { return partition; }
        @Override public int attemptNumber() { return attempt; }
        @Override public long taskAttemptId() { return taskId; }
        @Override public String getLocalProperty(String key) { return props.getProperty(key); }
        @Override public Properties getLocalProperties() { return props; }
        @Override public int stageAttemptNumber() { return 0; }
        @Override public int numPartitions() { return 10; }
        @Override public boolean isCompleted() { return false; }
        @Override public boolean isFailed() { return false; }
        @Override public boolean isInterrupted() { return false; }
        @Override public int cpus() { return 1; }
        @Override public boolean interruptible() { return false; }

        private static UnsupportedOperationException unused() {
            return new UnsupportedOperationException("not used by the fault injector");
        }

        @Override public TaskContext addTaskCompletionListener(org.apache.spark.util.TaskCompletionListener l) { throw unused(); }
        @Override public TaskContext addTaskFailureListener(org.apache.spark.util.TaskFailureListener l) { throw unused(); }
        @Override public TaskContext addTaskInterruptListener(org.apache.spark.util.TaskInterruptListener l) { throw unused(); }
        @Override public scala.collection.immutable.Map<String, org.apache.spark.resource.ResourceInformation> resources() { throw unused(); }
        @Override public java.util.Map<String, org.apache.spark.resource.ResourceInformation> resourcesJMap() { throw unused(); }
        @Override public org.apache.spark.executor.TaskMetrics taskMetrics() { throw unused(); }
        @Override public scala.collection.immutable.Seq<org.apache.spark.metrics.source.Source> getMetricsSources(String s) { throw unused(); }
        @Override public void killTaskIfInterrupted() {}
        @Override public scala.Option<String> getKillReason() { return scala.Option.empty(); }
        @Override public org.apache.spark.memory.TaskMemoryManager taskMemoryManager() { throw unused(); }
        @Override public void registerAccumulator(org.apache.spark.util.AccumulatorV2<?, ?> a) { throw unused(); }
        @Override public void setFetchFailed(org.apache.spark.shuffle.FetchFailedException f) { throw unused(); }
        @Override public void markInterrupted(String reason) { throw unused(); }
        @Override public void markTaskFailed(Throwable t) { throw unused(); }
        @Override public void markTaskCompleted(scala.Option<Throwable> t) { throw unused(); }
        @Override public scala.Option<org.apache.spark.shuffle.FetchFailedException> fetchFailed() { return scala.Option.empty(); }
        @Override public void pendingInterrupt(scala.Option<Thread> t, String reason) { throw unused(); }
        @Override public <T extends java.io.Closeable> T createResourceUninterruptibly(scala.Function0<T> f) { throw unused(); }
    }
}
