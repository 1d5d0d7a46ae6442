package io.sparkgrad.dist;

import io.sparkgrad.autograd.Activity;
import io.sparkgrad.autograd.AutogradMeta;
import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.Node;
import io.sparkgrad.autograd.Op;
import io.sparkgrad.dist.AnyPlacementTest.Step;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Ops;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.FaultInjector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Random programs over every op of the rule table, with their distributed inputs from every source
 * of distributed data, run under every execution setting, and checked with finite differences
 * wherever the function is smooth at the point.
 *
 * <ul>
 *   <li><b>Programs.</b> {@link AnyPlacementTest}'s steps (any op, any placement), interleaved with
 *       {@value #EXTRA_STEPS} steps per program taken in turn from {@link #EXTRA}, which names every
 *       op of {@link Ops#all()} and the composites built on them (the losses, {@code leakyRelu},
 *       {@code elu}, ...): program {@code i} takes entries {@code 4i} to {@code 4i+3} of it, so a few
 *       dozen programs cover the table, and {@link #everyOpOfTheRuleTableIsRecorded} checks that
 *       the recorded graphs did.</li>
 *   <li><b>Sources.</b> Each distributed input comes, at random, from {@link Dist#fromLocal}, from
 *       blocks computed and then cached ({@link Dist#cache}), from blocks generated on the
 *       executors ({@link Dist#randomNormal}, {@link Dist#randomUniform}, whose values the local
 *       run gets by {@code toLocal()}), from {@link Dist#fromDataFrame} of a DataFrame of its
 *       values, or from {@link Dist#readParquet} of that DataFrame written as Parquet.</li>
 *   <li><b>Settings.</b> Each program runs with block programs on and off, each with fusion on
 *       and off, and once more under one of those four with a task failing once in every forward
 *       and every backward job ({@link FaultInjector#failAttempts}, whose hook sits in the block
 *       kernels and in the collect of cached blocks), retried by Spark. Fusion only
 *       decides which reductions share a job, not how any is summed, and a retried task
 *       recomputes the same blocks: so fusion on and off give the same bits, and so does the
 *       retried run, and the test asserts exact equality there, except for fusion with block programs
 *       in chunks smaller than a block: a job's chunks follow its widest array, so fusing changes
 *       them and the rounding of the partials (a known bug, {@link FusedChunkingTest}). Block
 *       programs run in chunks of the default size (each block of these programs one chunk) or of
 *       a row or a few, and sum a block's partials chunk by chunk, whole blocks at once otherwise
 *       (other roundings): those are compared with the local engine at a relative 1e-9, as every
 *       run is.</li>
 *   <li><b>Finite differences</b> on every program smooth at the point: none of its
 *       non-smooth ops has an input within {@value #KINK_DISTANCE} of a kink (relu, abs, sign,
 *       floor, ceil, round, clip, maximum, minimum, comparisons, max, min, norm at 0, hypot and
 *       arctan2 at the origin, roots, logarithms and reciprocals at their singularities; an exact
 *       hit is structural, as {@code abs(x - x)}, and moves with the inputs), and the central
 *       differences at steps {@value #H1} and {@value #H2} agree. The local engine's gradient is
 *       then compared with them; the distributed runs agree with the local engine.</li>
 * </ul>
 * One line at the end reports the counts. {@code -Dsparkgrad.programs=N} runs N programs (a long
 * hunt; {@code -Dsparkgrad.programs.minutes=M} stops it after M minutes, {@code
 * -Dsparkgrad.programs.times=true} prints each program's jobs and times and each failure at once),
 * {@code -Dsparkgrad.programs.base=B} others.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EverySettingProgramTest {
    static final int PROGRAMS = Integer.getInteger("sparkgrad.programs", 16);
    static final long BASE_SEED = Long.getLong("sparkgrad.programs.base", 0x5e77195L);
    /** |local - distributed| <= RTOL * max(1, |local|). */
    static final double RTOL = 1e-9;
    static final int EXTRA_STEPS = 4;
    static final double KINK_DISTANCE = 1e-3;
    static final double H1 = 1e-6;
    static final double H2 = 1e-5;
    /** A long hunt stops starting programs after this many minutes ({@code -Dsparkgrad.programs.minutes}; 0: never). */
    static final long MINUTES = Long.getLong("sparkgrad.programs.minutes", 0);
    /** The first program's index ({@code -Dsparkgrad.programs.from=F}): to go on with a hunt. */
    static final int FROM = Integer.getInteger("sparkgrad.programs.from", 0);

    /** Where a distributed input comes from. */
    enum Source { FROM_LOCAL, CACHED, GENERATED, DATA_FRAME, PARQUET }

    /** An execution setting of the distributed engine. */
    record Setting(boolean blockPrograms, boolean fusion) {
        @Override
        public String toString() {
            return (blockPrograms ? "block programs" : "whole blocks") + (fusion ? ", fusion" : ", no fusion");
        }
    }

    static final List<Setting> SETTINGS = List.of(new Setting(true, true), new Setting(true, false),
        new Setting(false, true), new Setting(false, false));

    private static final AtomicInteger RUN = new AtomicInteger();
    private static final AtomicInteger RUNS = new AtomicInteger();
    private static final AtomicInteger FD_CHECKED = new AtomicInteger();
    private static final AtomicInteger FD_NEAR_KINK = new AtomicInteger();
    private static final AtomicInteger FD_STEPS_DISAGREE = new AtomicInteger();
    private static final AtomicInteger FD_CONSTANT = new AtomicInteger();
    private static final AtomicInteger BLOCK_PROGRAMS_SAME_BITS = new AtomicInteger();
    private static final AtomicInteger SMALL_CHUNKS = new AtomicInteger();
    private static final AtomicInteger FUSION_CHANGED_CHUNKS = new AtomicInteger();
    private static final AtomicInteger SMALL_CHUNKS_SAME_BITS = new AtomicInteger();
    /** The largest |block programs - whole blocks| / max(1, |whole blocks|) seen. */
    private static double worstBlockPrograms;
    private static final AtomicInteger RETRIED = new AtomicInteger();
    private static final AtomicInteger NOT_REACHED = new AtomicInteger();
    private static final Map<Source, Integer> SOURCES = new EnumMap<>(Source.class);
    private static final Set<String> RECORDED = new ConcurrentSkipListSet<>();

    private static Metrics.Snapshot start;
    private static long startNanos;
    private static Path parquetDir;
    private static long programChunkBytes;

    @BeforeAll
    static void spark() throws IOException {
        SparkTests.session();
        start = Dist.metrics().snapshot();
        startNanos = System.nanoTime();
        parquetDir = Files.createTempDirectory("sparkgrad-programs");
        programChunkBytes = Dist.programChunkBytes();
    }

    @AfterAll
    static void summary() throws IOException {
        FaultInjector.clear();
        Dist.setFusion(true);
        Dist.setBlockPrograms(true);
        Dist.setProgramChunkBytes(programChunkBytes);
        try (Stream<Path> files = Files.walk(parquetDir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
        if (RUN.get() > 0) {
            Metrics.Snapshot d = Dist.metrics().snapshot().minus(start);
            System.out.printf("EverySettingProgramTest: %d programs, %d runs (%d settings and one with a failed task, "
                + "%d retried, %d not reached), distributed inputs by source %s, %d Spark jobs, %d failed task attempts; finite "
                + "differences on %d (skipped: %d near a kink, %d where the steps disagree, %d constant); block "
                + "programs on and off gave the same bits in %d of %d with one chunk a block, %d of %d with small "
                + "chunks (largest difference %.2g of max(1, |value|)); with small chunks, fusion on and off differed in the "
                + "last bits in %d (FusedChunkingTest); %d ops recorded, in %.1f s%n", RUN.get(), RUNS.get(),
                SETTINGS.size(), RETRIED.get(), NOT_REACHED.get(), SOURCES, d.jobs(), d.failedTasks(), FD_CHECKED.get(), FD_NEAR_KINK.get(),
                FD_STEPS_DISAGREE.get(), FD_CONSTANT.get(), BLOCK_PROGRAMS_SAME_BITS.get(), RUN.get() - SMALL_CHUNKS.get(),
                SMALL_CHUNKS_SAME_BITS.get(), SMALL_CHUNKS.get(), worstBlockPrograms, FUSION_CHANGED_CHUNKS.get(),
                RECORDED.size(),
                (System.nanoTime() - startNanos) / 1e9);
        }
    }

    // ------------------------------------------------------------------ the tests

    @TestFactory
    @Order(1)
    Stream<DynamicTest> programsGiveTheLocalValuesFromEverySourceUnderEverySetting() {
        return IntStream.range(FROM, FROM + PROGRAMS).mapToObj(i -> DynamicTest.dynamicTest("program " + i, () -> {
            assumeTrue(MINUTES == 0 || System.nanoTime() - startNanos < MINUTES * 60_000_000_000L,
                "the hunt's time is spent");
            try {
                check(i);
            } catch (AssertionError | RuntimeException e) {
                if (TIMES) { // a long hunt: say so at once
                    System.out.println("FAILED program " + i + ": " + e.getMessage());
                }
                throw e;
            }
        }));
    }

    @Test
    @Order(2)
    void everyOpOfTheRuleTableIsRecorded() {
        if (RECORDED.isEmpty()) { // run alone: the programs' local runs give the ops
            for (int i = FROM; i < FROM + PROGRAMS; i++) {
                Program p = generate(i);
                NDArray[] xs = p.localInputs();
                try (var r = Autograd.record()) {
                    for (NDArray x : xs) {
                        x.attachGrad();
                    }
                    NDArray[] v = p.eval(xs);
                    walk(v[v.length - 1], n -> RECORDED.add(n.op().name()));
                }
            }
        }
        Set<String> missing = new TreeSet<>();
        for (Op<?> op : Ops.all()) {
            missing.add(op.name());
        }
        missing.removeAll(RECORDED);
        assertEquals(Set.of(), missing, "ops of the rule table that no program recorded");
    }

    @Test
    @Order(3)
    void everyFaultyRunHadATaskFailAndRetried() {
        // every forward and backward job runs the injector's hook: a kernel's or the collect's
        assertEquals(0, NOT_REACHED.get(), NOT_REACHED.get() + " of " + RUN.get()
            + " programs ran forward or backward jobs with no task failing, " + RETRIED.get() + " had one fail");
    }

    @Test
    @Order(6)
    void theGeneratorIsDeterministic() {
        Program once = generate(3);
        Program again = generate(3);
        assertEquals(once.toString(), again.toString());
        for (int k = 0; k < once.inputs().size(); k++) {
            assertTrue(Arrays.equals(once.inputs().get(k).value().toArray(), again.inputs().get(k).value().toArray()),
                "input " + k + " differs");
        }
    }

    /** {@code x^2} whose backward is wrong ({@code 3x} instead of {@code 2x}): finite differences must catch it. */
    static final class WrongSquare extends io.sparkgrad.autograd.Function {
        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[0]);
            return x[0].square();
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0].mul(3.0))};
        }
    }

    /** A local program of one input and the given steps (the last a scalar). */
    static Program program(NDArray x, Step... steps) {
        return new Program(-1, 0, List.of(new Input(x, null, 0, 0, false)), List.of(steps), true, 0);
    }

    @Test
    @Order(4)
    void finiteDifferencesCatchAWrongGradient() {
        Program right = program(Np.array(0.5, -1.25, 2.0), new Step("sum(square(v0))", a -> a[0].square().sum(),
            new int[] {0}));
        finiteDifferences(right, runLocal(right)); // passes
        Program wrong = program(Np.array(0.5, -1.25, 2.0), new Step("sum(wrongSquare(v0))",
            a -> new WrongSquare().apply(a[0]).sum(), new int[] {0}));
        AssertionError e = assertThrows(AssertionError.class,
            () -> finiteDifferences(wrong, runLocal(wrong)));
        assertTrue(e.getMessage().contains("disagrees with finite differences at 3 elements: v0[0]: engine 1.5, "),
            e.getMessage());
    }

    @Test
    @Order(5)
    void inputsNearAKinkAreFoundAndExactHitsAreNot() {
        Step relu = new Step("sum(relu(v0))", a -> a[0].relu().sum(), new int[] {0});
        assertEquals(null, runLocal(program(Np.array(0.5, -1.25, 2.0), relu)).kink());
        String near = runLocal(program(Np.array(0.5, 1e-5, 2.0), relu)).kink();
        assertTrue(near != null && near.startsWith("relu#"), near);
        // relu(x - x) meets its kink exactly wherever x is: constant, so smooth
        assertEquals(null, runLocal(program(Np.array(0.5, 1e-5, 2.0),
            new Step("sum(relu(v0 - v0))", a -> a[0].sub(a[0]).relu().sum(), new int[] {0}))).kink());
        Step clip = new Step("sum(clip(v0, -1, 1))", a -> a[0].clip(-1, 1).sum(), new int[] {0});
        assertTrue(runLocal(program(Np.array(0.5, 1.0004), clip)).kink().startsWith("clip#"));
        Step max = new Step("max(v0)", a -> a[0].max(), new int[] {0}); // a runner-up close to the maximum
        assertTrue(runLocal(program(Np.array(0.5, 0.4999), max)).kink().startsWith("max#"));
        assertEquals(null, runLocal(program(Np.array(0.5, 0.4), max)).kink());
    }

    // ------------------------------------------------------------------ one program

    static final boolean TIMES = Boolean.getBoolean("sparkgrad.programs.times");

    static void check(int i) {
        long t0 = System.nanoTime();
        Program p = generate(i);
        RUN.incrementAndGet();
        Result local = runLocal(p);
        List<Result> runs = new ArrayList<>();
        NDArray[] xs = p.distributedInputs();
        for (Setting s : SETTINGS) {
            runs.add(runDistributed(p, xs, s, false));
        }
        Setting faulty = SETTINGS.get(i % SETTINGS.size());
        long t1 = System.nanoTime();
        Result retried = runDistributed(p, xs, faulty, true);
        long t2 = System.nanoTime();
        for (int k = 0; k < SETTINGS.size(); k++) {
            compareToLocal(local, runs.get(k), SETTINGS.get(k).toString(), p);
        }
        compareToLocal(local, retried, faulty + " with a failed task", p);
        if (p.chunkBytes() == 0) { // every block of these programs is one chunk
            assertSameBits(runs.get(0), runs.get(1), "fusion on and off (block programs)", p);
        } else if (!sameBits(runs.get(0), runs.get(1))) {
            FUSION_CHANGED_CHUNKS.incrementAndGet(); // chunks this small are set by the byte cap: by each job's widest array
        }
        assertSameBits(runs.get(2), runs.get(3), "fusion on and off (whole blocks)", p);
        assertSameBits(runs.get(i % SETTINGS.size()), retried, faulty + ": without and with a failed task", p);
        // block programs on and off: compared with the local engine above; how far apart they are
        boolean same = sameBits(runs.get(0), runs.get(2));
        synchronized (EverySettingProgramTest.class) {
            worstBlockPrograms = Math.max(worstBlockPrograms, largestDifference(runs.get(0), runs.get(2)));
        }
        if (p.chunkBytes() > 0) {
            SMALL_CHUNKS.incrementAndGet();
            SMALL_CHUNKS_SAME_BITS.addAndGet(same ? 1 : 0);
        } else {
            BLOCK_PROGRAMS_SAME_BITS.addAndGet(same ? 1 : 0);
        }
        long t3 = System.nanoTime();
        finiteDifferences(p, local);
        if (TIMES) {
            System.out.printf("program %d: generate+local+settings %.0f ms, fault %.0f ms, fd %.0f ms%n", i,
                (t1 - t0) / 1e6, (t2 - t1) / 1e6, (System.nanoTime() - t3) / 1e6);
        }
    }

    /** The program's value and each input's gradient, and the kink found near the point (or null). */
    record Result(double[][] values, String kink) {}

    static Result runLocal(Program p) {
        NDArray[] xs = p.localInputs();
        for (NDArray x : xs) {
            x.attachGrad();
        }
        NDArray y;
        String[] kink = new String[1];
        try (var rec = Autograd.record()) {
            NDArray[] v = p.eval(xs);
            y = v[v.length - 1];
        }
        walk(y, n -> {
            RECORDED.add(n.op().name());
            if (kink[0] == null) {
                kink[0] = kinkOf(n);
            }
        });
        return new Result(finish(p, xs, y), kink[0]);
    }

    static Result runDistributed(Program p, NDArray[] xs, Setting s, boolean fault) {
        RUNS.incrementAndGet();
        Dist.setBlockPrograms(s.blockPrograms());
        Dist.setFusion(s.fusion());
        if (p.chunkBytes() > 0) {
            Dist.setProgramChunkBytes(p.chunkBytes());
        }
        Metrics.Snapshot before = Dist.metrics().snapshot();
        try {
            if (fault) {
                FaultInjector.failAttempts(Activity.Phase.FORWARD, null, 0, 1);
                FaultInjector.failAttempts(Activity.Phase.BACKWARD, null, 0, 1);
            }
            for (NDArray x : xs) {
                x.attachGrad();
            }
            NDArray y;
            try (var rec = Autograd.record()) {
                NDArray[] v = p.eval(xs);
                y = v[v.length - 1];
            }
            double[][] out = finish(p, xs, y);
            if (TIMES) {
                Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
                System.out.printf("  %s%s: %d jobs (%d forward, %d backward, %d other), %d tasks%n", s,
                    fault ? " with a failed task" : "", d.jobs(), d.forwardJobs(), d.backwardJobs(), d.otherJobs(), d.tasks());
            }
            if (fault) {
                Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
                if (d.failedTasks() > 0) {
                    RETRIED.incrementAndGet();
                } else if (d.forwardJobs() + d.backwardJobs() > 0) {
                    // jobs whose tasks run no code the injector sits in: everyFaultyRunHadATaskFailAndRetried
                    NOT_REACHED.incrementAndGet();
                }
            }
            return new Result(out, null);
        } catch (RuntimeException e) {
            throw new AssertionError(s + (fault ? " with a failed task" : "") + ": the distributed run threw " + e + "\n"
                + p, e);
        } finally {
            FaultInjector.clear();
            Dist.setBlockPrograms(true);
            Dist.setFusion(true);
            Dist.setProgramChunkBytes(programChunkBytes);
            }
    }

    /**
     * Back-propagates and reads the value (before backward or after it, as the program says: after,
     * with fusion, the value comes in the backward job), then the gradients.
     */
    static double[][] finish(Program p, NDArray[] xs, NDArray y) {
        double[][] out = new double[xs.length + 1][];
        if (p.valueFirst()) {
            out[0] = new double[] {y.item()};
        }
        if (y.requiresGrad()) {
            y.backward();
        }
        if (!p.valueFirst()) {
            out[0] = new double[] {y.item()};
        }
        for (int k = 0; k < xs.length; k++) {
            out[k + 1] = xs[k].grad().toArray();
        }
        return out;
    }

    static void compareToLocal(Result local, Result dist, String setting, Program p) {
        for (int k = 0; k < local.values().length; k++) {
            double[] l = local.values()[k];
            double[] d = dist.values()[k];
            if (l.length != d.length) {
                throw new AssertionError(setting + ": " + what(k) + " has " + d.length + " elements, locally " + l.length
                    + "\n" + p);
            }
            for (int e = 0; e < l.length; e++) {
                boolean nan = Double.isNaN(l[e]) && Double.isNaN(d[e]);
                if (!nan && !(Math.abs(l[e] - d[e]) <= RTOL * Math.max(1, Math.abs(l[e])))) {
                    throw new AssertionError(setting + ": " + what(k) + ", element " + e + ": " + d[e] + " distributed, "
                        + l[e] + " locally\n" + p);
                }
            }
        }
    }

    static boolean sameBits(Result a, Result b) {
        for (int k = 0; k < a.values().length; k++) {
            if (!Arrays.equals(a.values()[k], b.values()[k])) { // bit for bit (NaN equals NaN)
                return false;
            }
        }
        return true;
    }

    static double largestDifference(Result a, Result b) {
        double worst = 0;
        for (int k = 0; k < a.values().length; k++) {
            for (int e = 0; e < a.values()[k].length; e++) {
                double x = a.values()[k][e];
                double y = b.values()[k][e];
                if (x != y && !(Double.isNaN(x) && Double.isNaN(y))) {
                    worst = Math.max(worst, Math.abs(x - y) / Math.max(1, Math.abs(y)));
                }
            }
        }
        return worst;
    }

    static void assertSameBits(Result a, Result b, String what, Program p) {
        for (int k = 0; k < a.values().length; k++) {
            double[] x = a.values()[k];
            double[] y = b.values()[k];
            for (int e = 0; e < x.length; e++) {
                if (Double.doubleToLongBits(x[e]) != Double.doubleToLongBits(y[e])) {
                    throw new AssertionError(what + " differ in " + what(k) + ", element " + e + ": " + x[e] + " vs "
                        + y[e] + "\n" + p);
                }
            }
        }
    }

    static String what(int k) {
        return k == 0 ? "the value" : "the gradient of v" + (k - 1);
    }

    // ------------------------------------------------------------------ finite differences

    /**
     * Central differences of the local program at two steps; compared with the local engine's
     * gradient where the program is smooth at the point (no kink near, the two steps agree).
     */
    static void finiteDifferences(Program p, Result local) {
        boolean counted = p.index() >= 0; // not the hand-made programs of the tests below the factory
        if (local.kink() != null) {
            FD_NEAR_KINK.addAndGet(counted ? 1 : 0);
            return;
        }
        NDArray[] at = p.localInputs();
        double scale = 0; // the magnitudes the evaluation rounds: its error over a step is noise
        for (NDArray v : p.eval(at)) {
            for (double x : v.toArray()) {
                scale += Math.abs(x);
            }
        }
        boolean varies = false;
        List<String> disagreements = new ArrayList<>();
        for (int k = 0; k < at.length; k++) {
            double[] x = at[k].toArray();
            for (int e = 0; e < x.length; e++) {
                double n1 = central(p, at, k, e, H1);
                double n2 = central(p, at, k, e, H2);
                double analytic = local.values()[k + 1][e];
                double tol = 1e-6 + 1e-15 * scale / H1 + 1e-5 * Math.abs(n1);
                varies |= n1 != 0 || n2 != 0;
                if (!(Math.abs(n1 - n2) <= tol)) {
                    FD_STEPS_DISAGREE.addAndGet(counted ? 1 : 0);
                    return; // not smooth enough at the point for finite differences
                }
                if (!(Math.abs(analytic - n1) <= tol)) {
                    disagreements.add("v" + k + "[" + e + "]: engine " + analytic + ", finite differences " + n1
                        + " (step " + H1 + ") and " + n2 + " (step " + H2 + ")");
                }
            }
        }
        if (!varies && disagreements.isEmpty()) {
            FD_CONSTANT.addAndGet(counted ? 1 : 0);
            return;
        }
        if (!disagreements.isEmpty()) {
            throw new AssertionError("the local engine's gradient disagrees with finite differences at "
                + disagreements.size() + " elements: " + String.join("; ", disagreements.subList(0,
                Math.min(4, disagreements.size()))) + "\n" + p);
        }
        FD_CHECKED.addAndGet(counted ? 1 : 0);
    }

    static double central(Program p, NDArray[] at, int k, int e, double h) {
        return (probe(p, at, k, e, h) - probe(p, at, k, e, -h)) / (2 * h);
    }

    static double probe(Program p, NDArray[] at, int k, int e, double h) {
        NDArray[] xs = at.clone();
        double[] d = at[k].toArray();
        d[e] += h;
        xs[k] = Np.array(at[k].shape(), d);
        NDArray[] v = p.eval(xs);
        return v[v.length - 1].item();
    }

    /** Calls {@code visit} once for each node of the graph that recorded {@code out}. */
    static void walk(NDArray out, java.util.function.Consumer<Node<?>> visit) {
        Deque<NDArray> todo = new ArrayDeque<>(List.of(out));
        Set<Long> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            AutogradMeta m = todo.pop().autogradMetaOrNull();
            Node<?> n = m == null ? null : m.creator();
            if (n != null && seen.add(n.id())) {
                visit.accept(n);
                todo.addAll(List.of(n.inputs()));
            }
        }
    }

    /**
     * Names the op whose input lies within {@link #KINK_DISTANCE} (but not exactly at) a place
     * where it is not smooth, or null: there, a step of the finite differences may cross it.
     */
    static String kinkOf(Node<?> n) {
        NDArray[] in = n.inputs();
        double d;
        switch (n.op().name()) {
            case "abs", "relu", "sign", "sqrt", "cbrt", "rcbrt", "rsqrt", "reciprocal", "log", "log2", "log10" ->
                d = nearest(in[0], 0);
            case "log1p" -> d = nearest(in[0], -1);
            case "arcsin", "arccos", "arctanh" -> d = Math.min(nearest(in[0], 1), nearest(in[0], -1));
            case "arccosh" -> d = nearest(in[0], 1);
            case "floor", "ceil" -> d = nearest(in[0].sub(in[0].round()), 0);
            case "round" -> d = nearest(in[0].sub(in[0].floor()), 0.5);
            case "clip" -> {
                Ops.Bounds b = (Ops.Bounds) n.params();
                d = Math.min(nearest(in[0], b.lo()), nearest(in[0], b.hi()));
            }
            case "maximum", "minimum", "gt", "lt", "ge", "le", "eq" -> d = nearest(in[0].sub(in[1]), 0);
            case "hypot", "arctan2" -> d = nearest(in[0].hypot(in[1]), 0);
            case "div" -> d = nearest(in[1], 0);
            case "pow" -> d = nearest(in[0], 0);
            case "norm" -> d = nearest(n.out(), 0);
            case "max", "min" -> {
                Ops.Axis a = (Ops.Axis) n.params();
                long[] kept = in[0].shape().clone();
                if (a.axis() == Integer.MIN_VALUE) {
                    Arrays.fill(kept, 1);
                } else {
                    kept[a.axis()] = 1;
                }
                d = nearest(in[0].sub(n.out().reshape(kept)), 0); // the runners-up
            }
            default -> d = Double.POSITIVE_INFINITY;
        }
        return d < KINK_DISTANCE ? n + ": an input " + d + " from a kink" : null;
    }

    /** The smallest nonzero distance of an element of {@code x} from {@code c}. */
    static double nearest(NDArray x, double c) {
        double best = Double.POSITIVE_INFINITY;
        for (double v : x.toArray()) {
            double d = Math.abs(v - c);
            if (d > 0 && d < best) {
                best = d;
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ programs

    /** A distributed input's source, and its layout: blocks (fromLocal, cached), rows per block or partitions. */
    record Input(NDArray value, Source source, int split, long seed, boolean uniform) {}

    /** A program: its inputs (null source: local), steps as in {@link AnyPlacementTest}, the last a scalar. */
    record Program(int index, long seed, List<Input> inputs, List<Step> steps, boolean valueFirst, long chunkBytes) {
        NDArray[] localInputs() {
            NDArray[] xs = new NDArray[inputs.size()];
            for (int i = 0; i < xs.length; i++) {
                NDArray v = inputs.get(i).value();
                xs[i] = Np.array(v.shape(), v.toArray());
            }
            return xs;
        }

        /** The inputs, each distributed one made afresh from its source. */
        NDArray[] distributedInputs() {
            NDArray[] xs = localInputs();
            for (int i = 0; i < xs.length; i++) {
                Input in = inputs.get(i);
                if (in.source() != null) {
                    xs[i] = make(in, "p" + index + "_" + i);
                }
            }
            return xs;
        }

        NDArray[] eval(NDArray[] xs) {
            return AnyPlacementTest.evaluate(steps, xs);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("program " + index + " (seed " + seed + "L), value read "
                + (valueFirst ? "before" : "after") + " backward, block programs in chunks of "
                + (chunkBytes == 0 ? "the default size" : chunkBytes + " bytes") + "\n");
            for (int i = 0; i < inputs.size(); i++) {
                Input in = inputs.get(i);
                b.append("v").append(i).append(" = input").append(Shape.str(in.value().shape())).append(' ')
                    .append(in.source() == null ? "local" : in.source() + " (split " + in.split() + ")").append('\n');
            }
            for (int k = 0; k < steps.size(); k++) {
                b.append("v").append(inputs.size() + k).append(" = ").append(steps.get(k).text()).append('\n');
            }
            return b.toString();
        }
    }

    /** The distributed array of {@code in}'s values from its source. */
    static NDArray make(Input in, String name) {
        NDArray v = in.value();
        long[] shape = v.shape();
        switch (in.source()) {
            case FROM_LOCAL:
                return Dist.fromLocal(Np.array(shape, v.toArray()), in.split());
            case CACHED: // blocks computed from others (exactly: a sign flip), then cached
                return Dist.cache(Dist.fromLocal(v.neg(), in.split()).neg());
            case GENERATED:
                return in.uniform() ? Dist.randomUniform(in.seed(), in.split(), shape)
                    : Dist.randomNormal(in.seed(), in.split(), shape);
            case DATA_FRAME: {
                boolean ownBlocks = (in.seed() & 1) == 0;
                NDArray d = Dist.fromDataFrame(dataFrame(v, in.split()),
                    ownBlocks ? Dist.Blocking.SOURCE_PARTITIONS : Dist.Blocking.TARGET_SIZE);
                return shape.length == 1 ? d.reshape(-1) : d;
            }
            default: {
                Path dir = parquetDir.resolve(name);
                if (!Files.exists(dir)) {
                    dataFrame(v, in.split()).write().parquet(dir.toString());
                }
                NDArray d = Dist.readParquet(dir.toString());
                return shape.length == 1 ? d.reshape(-1) : d;
            }
        }
    }

    /**
     * A DataFrame of {@code v}'s rows (one double column per element of a row) in {@code partitions}
     * partitions, in row order: {@code spark.range} split so, each column picking its values by the
     * row's id from a literal array (a DataFrame of Java rows would ship them through Kryo, which the
     * tests' session wants registered).
     */
    static Dataset<Row> dataFrame(NDArray v, int partitions) {
        long[] s = v.shape();
        int cols = s.length == 1 ? 1 : (int) s[1];
        double[] d = v.toArray();
        Column[] columns = new Column[cols];
        for (int c = 0; c < cols; c++) {
            Column[] values = new Column[(int) s[0]];
            for (int r = 0; r < s[0]; r++) {
                values[r] = functions.lit(d[r * cols + c]);
            }
            columns[c] = functions.element_at(functions.array(values), functions.col("id").plus(1).cast("int")).as("c" + c);
        }
        return SparkTests.session().range(0, s[0], 1, partitions).select(columns);
    }

    static long seedOf(int i) {
        return RandomProgramTest.mix(BASE_SEED + i);
    }

    /** Builds program {@code i} by trial, as {@link AnyPlacementTest#generate} does, with its share of {@link #EXTRA}. */
    static Program generate(int i) {
        long seed = seedOf(i);
        Random r = new Random(seed);
        int n = 5 + r.nextInt(8);
        int d = 1 + r.nextInt(4);
        int k = 1 + r.nextInt(3);
        int[][] shapes = {{n, d}, {n}, {d}, {d, k}, {n, k}, {1, d}, {n, 1}, {}, {k, n}};
        int nInputs = 2 + r.nextInt(3);
        List<Input> inputs = new ArrayList<>();
        for (int j = 0; j < nInputs; j++) {
            int[] shape = shapes[j == 0 ? 0 : r.nextInt(shapes.length)];
            Source src = shape.length > 0 && (j == 0 || r.nextBoolean()) ? Source.values()[r.nextInt(Source.values().length)]
                : null;
            int rows = shape.length == 0 ? 0 : shape[0];
            int split = src == Source.GENERATED ? 1 + r.nextInt(rows) : 1 + r.nextInt(rows + 2);
            long inSeed = r.nextLong();
            boolean uniform = r.nextInt(3) == 0;
            NDArray value;
            if (src == Source.GENERATED) {
                NDArray g = uniform ? Dist.randomUniform(inSeed, split, Shape.of(shape))
                    : Dist.randomNormal(inSeed, split, Shape.of(shape));
                value = g.toLocal();
            } else {
                double[] v = new double[Shape.size(shape)];
                for (int e = 0; e < v.length; e++) {
                    v[e] = r.nextGaussian();
                }
                value = Np.array(shape, v);
            }
            if (src != null) {
                synchronized (SOURCES) {
                    SOURCES.merge(src, 1, Integer::sum);
                }
            }
            inputs.add(new Input(value, src, split, inSeed, uniform));
        }
        List<NDArray> vals = new ArrayList<>();
        for (Input in : inputs) {
            vals.add(in.value());
        }
        List<Step> steps = new ArrayList<>();
        int plain = 2 + r.nextInt(5);
        int extra = 0;
        int next = (i * EXTRA_STEPS) % EXTRA.size();
        for (int tries = 0; steps.size() < plain + EXTRA_STEPS && tries < 600; tries++) {
            boolean wantExtra = extra < EXTRA_STEPS && (steps.size() - extra >= plain || r.nextBoolean());
            Step s = wantExtra ? EXTRA.get(next).apply(r, vals) : AnyPlacementTest.randomStep(r, vals);
            if (s != null && AnyPlacementTest.accept(s, vals)) {
                steps.add(s);
                if (wantExtra) {
                    extra++;
                    next = (next + 1) % EXTRA.size();
                }
            } else if (wantExtra && tries % 40 == 39) {
                next = (next + 1) % EXTRA.size(); // this op found no operands it takes: the next one
            }
        }
        // the output: a weighted sum of every value no step reads (so that no step is dead), and of
        // the squares of one more
        boolean[] read = new boolean[vals.size()];
        for (Step s : steps) {
            for (int a : s.args()) {
                read[a] = true;
            }
        }
        List<Integer> outs = new ArrayList<>();
        for (int j = inputs.size(); j < vals.size(); j++) {
            if (!read[j]) {
                outs.add(j);
            }
        }
        int other = r.nextInt(vals.size());
        outs.add(other);
        double[] w = new double[outs.size()];
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < w.length; j++) {
            w[j] = Math.round((0.5 + r.nextDouble()) * 100) / 100.0 * (r.nextBoolean() ? 1 : -1);
            text.append(j == 0 ? "" : " + ").append(w[j]).append(j == w.length - 1 ? " * sum(square(v" : " * sum(v")
                .append(outs.get(j)).append(j == w.length - 1 ? "))" : ")");
        }
        steps.add(new Step(text.toString(), x -> {
            NDArray y = x[x.length - 1].square().sum().mul(w[x.length - 1]);
            for (int j = x.length - 2; j >= 0; j--) {
                y = x[j].sum().mul(w[j]).add(y);
            }
            return y;
        }, outs.stream().mapToInt(Integer::intValue).toArray()));
        // block programs in chunks of the default size (a block of these programs is one chunk), or of
        // a row or a few: partials summed chunk by chunk, whose rounding whole blocks do not share
        long chunkBytes = r.nextBoolean() ? 0 : 8L * (1 + r.nextInt(24));
        return new Program(i, seed, inputs, steps, r.nextBoolean(), chunkBytes);
    }

    // ------------------------------------------------------------------ the extra steps: every op of the table

    private static Step unary(Random r, List<NDArray> vals, String text, AnyPlacementTest.Fn f) {
        int a = r.nextInt(vals.size());
        return new Step(text.replace("{a}", "v" + a), f, new int[] {a});
    }

    private static Step binary(Random r, List<NDArray> vals, String text, AnyPlacementTest.Fn f) {
        int a = r.nextInt(vals.size());
        int b = r.nextInt(vals.size());
        return new Step(text.replace("{a}", "v" + a).replace("{b}", "v" + b), f, new int[] {a, b});
    }

    /** Indices into the rows of {@code vals[a]}, negative ones too. */
    private static double[] indices(Random r, NDArray table, int count) {
        long len = table.ndim() == 0 ? 1 : Math.max(1, table.dim(0));
        double[] idx = new double[count];
        for (int k = 0; k < idx.length; k++) {
            idx[k] = r.nextInt((int) len) - (r.nextBoolean() ? len : 0);
        }
        return idx;
    }

    /**
     * Steps taken in turn, program by program; together (and with {@link AnyPlacementTest}'s) they
     * record every op of {@link Ops#all()}. Inputs are mapped into each op's domain and away from
     * its singularities.
     */
    static final List<BiFunction<Random, List<NDArray>, Step>> EXTRA = List.of(
        (r, v) -> unary(r, v, "neg({a})", a -> a[0].neg()),
        (r, v) -> unary(r, v, "exp(tanh({a}))", a -> a[0].tanh().exp()),
        (r, v) -> unary(r, v, "log(softplus({a}) + 0.1)", a -> a[0].softplus().add(0.1).log()),
        (r, v) -> unary(r, v, "sqrt(square({a}) + 0.5)", a -> a[0].square().add(0.5).sqrt()),
        (r, v) -> unary(r, v, "abs({a})", a -> a[0].abs()),
        (r, v) -> unary(r, v, "sin({a})", a -> a[0].sin()),
        (r, v) -> unary(r, v, "cos({a})", a -> a[0].cos()),
        (r, v) -> unary(r, v, "sigmoid({a})", a -> a[0].sigmoid()),
        (r, v) -> unary(r, v, "relu({a})", a -> a[0].relu()),
        (r, v) -> unary(r, v, "softplus({a})", a -> a[0].softplus()),
        (r, v) -> binary(r, v, "mul(sign({a}), {b})", a -> a[0].sign().mul(a[1])),
        (r, v) -> unary(r, v, "tan(tanh({a}))", a -> a[0].tanh().tan()),
        (r, v) -> unary(r, v, "sinh({a})", a -> a[0].sinh()),
        (r, v) -> unary(r, v, "cosh({a})", a -> a[0].cosh()),
        (r, v) -> unary(r, v, "arcsin(0.9 tanh({a}))", a -> a[0].tanh().mul(0.9).arcsin()),
        (r, v) -> unary(r, v, "arccos(0.9 tanh({a}))", a -> a[0].tanh().mul(0.9).arccos()),
        (r, v) -> unary(r, v, "arctan({a})", a -> a[0].arctan()),
        (r, v) -> unary(r, v, "arcsinh({a})", a -> a[0].arcsinh()),
        (r, v) -> unary(r, v, "arccosh(square({a}) + 1.5)", a -> a[0].square().add(1.5).arccosh()),
        (r, v) -> unary(r, v, "arctanh(0.9 tanh({a}))", a -> a[0].tanh().mul(0.9).arctanh()),
        (r, v) -> unary(r, v, "log2(softplus({a}) + 0.5)", a -> a[0].softplus().add(0.5).log2()),
        (r, v) -> unary(r, v, "log10(square({a}) + 0.5)", a -> a[0].square().add(0.5).log10()),
        (r, v) -> unary(r, v, "expm1(tanh({a}))", a -> a[0].tanh().expm1()),
        (r, v) -> unary(r, v, "log1p(softplus({a}))", a -> a[0].softplus().log1p()),
        (r, v) -> unary(r, v, "reciprocal(square({a}) + 0.5)", a -> a[0].square().add(0.5).reciprocal()),
        (r, v) -> unary(r, v, "cbrt({a})", a -> a[0].cbrt()),
        (r, v) -> unary(r, v, "rsqrt(softplus({a}) + 0.5)", a -> a[0].softplus().add(0.5).rsqrt()),
        (r, v) -> unary(r, v, "rcbrt(square({a}) + 0.5)", a -> a[0].square().add(0.5).rcbrt()),
        (r, v) -> unary(r, v, "add(floor(mul({a}, 2)), {a})", a -> a[0].mul(2).floor().add(a[0])),
        (r, v) -> binary(r, v, "mul(ceil({a}), {b})", a -> a[0].ceil().mul(a[1])),
        (r, v) -> unary(r, v, "sub({a}, round({a}))", a -> a[0].sub(a[0].round())),
        (r, v) -> unary(r, v, "erf({a})", a -> a[0].erf()),
        (r, v) -> unary(r, v, "gelu({a})", a -> a[0].gelu()),
        (r, v) -> unary(r, v, "logSigmoid({a})", a -> a[0].logSigmoid()),
        (r, v) -> {
            double lo = Math.round(r.nextGaussian() * 100) / 100.0;
            double hi = lo + 0.5 + Math.round(r.nextDouble() * 100) / 100.0;
            return unary(r, v, "clip({a}, " + lo + ", " + hi + ")", a -> a[0].clip(lo, hi));
        },
        (r, v) -> binary(r, v, "div({a}, softplus({b}) + 0.5)", a -> a[0].div(a[1].softplus().add(0.5))),
        (r, v) -> binary(r, v, "pow(softplus({a}) + 0.5, tanh({b}))", a -> a[0].softplus().add(0.5).pow(a[1].tanh())),
        (r, v) -> binary(r, v, "minimum({a}, {b})", a -> a[0].minimum(a[1])),
        (r, v) -> binary(r, v, "arctan2({a}, add({b}, 2))", a -> Np.arctan2(a[0], a[1].add(2))),
        (r, v) -> binary(r, v, "hypot({a}, {b})", a -> a[0].hypot(a[1])),
        (r, v) -> binary(r, v, "where(ge({a}, {b}), {a}, {b})", a -> Np.where(a[0].ge(a[1]), a[0], a[1])),
        (r, v) -> binary(r, v, "where(le({a}, 0.3), {b}, 0.5)", a -> Np.where(a[0].le(0.3), a[1], 0.5)),
        (r, v) -> binary(r, v, "where(eq({a}, maximum({a}, {b})), {b}, {a})",
            a -> Np.where(a[0].eq(a[0].maximum(a[1])), a[1], a[0])),
        (r, v) -> binary(r, v, "where(lt({a}, {b}), {a}, tanh({b}))", a -> Np.where(a[0].lt(a[1]), a[0], a[1].tanh())),
        (r, v) -> {
            int axis = r.nextInt(2);
            boolean keep = r.nextBoolean();
            return unary(r, v, "min({a}, " + axis + ", " + keep + ")", a -> a[0].min(axis, keep));
        },
        (r, v) -> unary(r, v, "min({a})", a -> a[0].min()),
        (r, v) -> {
            int axis = r.nextInt(2);
            boolean keep = r.nextBoolean();
            return unary(r, v, "norm({a}, " + axis + ", " + keep + ")", a -> a[0].norm(axis, keep));
        },
        (r, v) -> unary(r, v, "norm({a})", a -> a[0].norm()),
        (r, v) -> binary(r, v, "broadcastLike({a}, {b})", a -> a[0].broadcastLike(a[1])),
        (r, v) -> {
            int[][] perms = {{1, 0, 2}, {2, 1, 0}, {0, 2, 1}, {1, 2, 0}, {2, 0, 1}};
            int[] perm = perms[r.nextInt(perms.length)];
            return unary(r, v, "transpose(reshape({a}, rows, -1, 1), " + Arrays.toString(perm) + ")",
                a -> a[0].reshape(a[0].ndim() == 0 ? 1 : a[0].dim(0), -1, 1).transpose(perm));
        },
        (r, v) -> unary(r, v, "transpose({a})", a -> a[0].transpose()),
        (r, v) -> unary(r, v, "astype({a}, float64)", a -> a[0].astype(io.sparkgrad.np.DType.FLOAT64)),
        (r, v) -> {
            int a0 = r.nextInt(v.size());
            double[] idx = indices(r, v.get(a0), 1 + r.nextInt(5));
            double[] into = indices(r, v.get(a0), idx.length);
            boolean spread = r.nextBoolean();
            return new Step("scatterAdd(v" + a0 + ", " + Arrays.toString(into) + ", take(v" + a0 + ", "
                + Arrays.toString(idx) + ") * 1.5" + (spread ? ", distributed indices when v" + a0 + " is" : "") + ")",
                a -> {
                    boolean d = spread && a[0].isDistributed();
                    NDArray i1 = d ? Dist.fromLocal(Np.array(idx), 2) : Np.array(idx);
                    NDArray i2 = d ? Dist.fromLocal(Np.array(into), 2) : Np.array(into);
                    return Np.scatterAdd(a[0], i2, a[0].take(i1).mul(1.5));
                }, new int[] {a0});
        },
        (r, v) -> binary(r, v, "dot({a}, {b})", a -> a[0].dot(a[1])),
        (r, v) -> binary(r, v, "mse({a}, {b})", a -> Np.mse(a[0], a[1])),
        (r, v) -> binary(r, v, "binaryCrossEntropyWithLogits({a}, sigmoid({b}))",
            a -> Np.binaryCrossEntropyWithLogits(a[0], a[1].sigmoid())),
        (r, v) -> binary(r, v, "softmaxCrossEntropy({a}, softmax({b}))", a -> Np.softmaxCrossEntropy(a[0], a[1].softmax())),
        (r, v) -> unary(r, v, "leakyRelu({a}, 0.1)", a -> a[0].leakyRelu(0.1)),
        (r, v) -> unary(r, v, "elu({a})", a -> a[0].elu()),
        (r, v) -> {
            int axis = r.nextInt(2);
            return unary(r, v, "logSoftmax({a}, " + axis + ")", a -> a[0].logSoftmax(axis));
        },
        (r, v) -> {
            int axis = r.nextInt(2);
            boolean keep = r.nextBoolean();
            return unary(r, v, "mean({a}, " + axis + ", " + keep + ")", a -> a[0].mean(axis, keep));
        },
        (r, v) -> unary(r, v, "logSumExp({a})", a -> a[0].logSumExp()),
        (r, v) -> unary(r, v, "square({a})", a -> a[0].square()),
        (r, v) -> unary(r, v, "degrees(radians({a}))", a -> a[0].radians().degrees()));
}
