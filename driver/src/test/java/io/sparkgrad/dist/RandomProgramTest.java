package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.GradCheck;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Randomised differential testing of the distributed engine against the local one: a seeded
 * generator builds small programs (expression DAGs over 1-3 distributed matrices of the same rows
 * and 0-2 local parameters), each is run once on local arrays and once with every distributed
 * input split by {@link Dist#fromLocal} into 1..rows+2 blocks (so sometimes empty ones), and the
 * value and every input's gradient must agree to a relative 1e-10. Every
 * {@value #GRADCHECK_EVERY}th program's local gradients are also checked against central finite
 * differences ({@link GradCheck}), unless an input holds integers: about one input in ten does,
 * so that max, min, maximum, minimum and comparison masks meet ties, where the two engines must
 * share the gradient the same way but finite differences do not apply.
 *
 * <p>The generator only builds programs the distributed backend accepts by design (the row axis
 * stays distributed, local operands broadcast along the rows, {@code X.T()} in a contraction
 * {@code X.T().matmul(Y)} or in the column-block ops of {@code transposed()}, concat of
 * distributed parts along axis 1, reshape within rows), so an
 * exception in the distributed run is a finding. It evaluates each step locally while building
 * and rejects steps whose values leave [-1e3, 1e3] or are not finite, so the programs stay
 * well-conditioned enough for finite differences.
 *
 * <p><b>Debugging one program.</b> A failure prints the seed and the program as text, e.g.
 * <pre>
 * # 7 rows; distributed inputs in 3 blocks
 * x0 = input(7x3)                        # (7, 3) dist
 * x1 = param(3x2)                        # (3, 2) local
 * x2 = exp(clip(x0, -3, 3))              # (7, 3) dist
 * x3 = matmul(x2, x1)                    # (7, 2) dist
 * out = sum(x3)                          # () local
 * </pre>
 * To replay it, set {@link #REPLAY_SEED} to the printed seed (or pass
 * {@code -DrandomPrograms.replay=SEED}) and run
 * {@code mvn -q -o -pl driver -am test -Dtest=RandomProgramTest#theReplaySeedsProgramPassesEveryCheckAndFiniteDifferences
 * -Dsurefire.failIfNoSpecifiedTests=false}: {@link #theReplaySeedsProgramPassesEveryCheckAndFiniteDifferences()} prints the program, runs
 * the same checks plus finite differences, and on a mismatch names the first node whose
 * distributed value differs from the local one (or says that every forward value agrees, so the
 * difference is in the backward pass).
 *
 * <p><b>Hunting for bugs.</b> System properties widen the run without editing the file:
 * {@code -DrandomPrograms.count=3000} (programs), {@code -DrandomPrograms.base=N} (other seeds),
 * {@code -DrandomPrograms.maxSteps=16} (longer programs), {@code -DrandomPrograms.gradcheckEvery=1}
 * (finite differences on every program) and {@code -DrandomPrograms.verbose=true} (Spark jobs,
 * tasks and time per program).
 */
class RandomProgramTest {

    /**
     * How many programs {@link #randomPrograms()} runs; {@code -DrandomPrograms.count=N} runs more
     * (or fewer) when hunting for bugs.
     */
    static final int PROGRAMS = Integer.getInteger("randomPrograms.count", 300);
    /**
     * The seed of program {@code i} is {@code mix(BASE_SEED + i)}; {@code -DrandomPrograms.base=B}
     * explores other programs.
     */
    static final long BASE_SEED = Long.getLong("randomPrograms.base", 0x5ba2c9a4d0e1L);
    /** Each program has 3..MAX_STEPS steps (and then its output); {@code -DrandomPrograms.maxSteps=N} for longer ones. */
    static final int MAX_STEPS = Math.max(3, Integer.getInteger("randomPrograms.maxSteps", 8));
    /** Every this many programs, the local gradients are also checked with finite differences. */
    static final int GRADCHECK_EVERY = Math.max(1, Integer.getInteger("randomPrograms.gradcheckEvery", 10));
    /** Every this many programs also run with their local parameters assigned between ops. */
    static final int MUTATE_EVERY = 2;
    /** |local - distributed| <= RTOL * max(1, |local|, |distributed|), element by element. */
    static final double RTOL = 1e-10;
    /** Values a step may produce while generating; steps outside are rejected. */
    static final double LIMIT = 1e3;

    /**
     * The seed {@link #theReplaySeedsProgramPassesEveryCheckAndFiniteDifferences()} replays: paste a failing program's seed here to debug it, or
     * pass it as {@code -DrandomPrograms.replay=SEED}.
     */
    static final long REPLAY_SEED = Long.getLong("randomPrograms.replay", mix(BASE_SEED + 7));

    /**
     * Seeds left out of {@link #randomPrograms()} because they hit a known library bug; each entry
     * says which. (// KNOWN: comments next to each entry give the details.)
     */
    static final Map<Long, String> KNOWN = Map.of();

    @BeforeAll
    static void spark() {
        SparkTests.session();
        startNanos = System.nanoTime();
    }

    private static final boolean VERBOSE = Boolean.getBoolean("randomPrograms.verbose");
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final AtomicInteger GRADCHECKED = new AtomicInteger();
    private static final AtomicInteger SKIPPED = new AtomicInteger();
    private static final AtomicInteger MUTATED = new AtomicInteger();
    private static final AtomicInteger MUTATED_REFUSED = new AtomicInteger();
    private static final java.util.concurrent.atomic.AtomicLong COMPARED = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong INEXACT = new java.util.concurrent.atomic.AtomicLong();
    private static double worstRel;
    private static long startNanos;

    @AfterAll
    static void summary() {
        if (RUN.get() > 0) {
            System.out.printf("RandomProgramTest: %d programs run (%d also finite-difference checked, %d also with "
                + "in-place changes, whose backward %d refused, %d known and skipped) in %.1f s; %d values and gradient "
                + "elements compared, %d not bit-identical (largest difference %.2g of max(1, |value|))%n", RUN.get(),
                GRADCHECKED.get(), MUTATED.get(), MUTATED_REFUSED.get(), SKIPPED.get(),
                (System.nanoTime() - startNanos) / 1e9, COMPARED.get(), INEXACT.get(), worstRel);
        }
    }

    // ------------------------------------------------------------------ the tests

    @TestFactory
    Stream<DynamicTest> randomPrograms() {
        return IntStream.range(0, PROGRAMS).mapToObj(i -> {
            long seed = mix(BASE_SEED + i);
            return DynamicTest.dynamicTest("program " + i + " (seed " + seed + "L)", () -> {
                if (KNOWN.containsKey(seed)) {
                    SKIPPED.incrementAndGet();
                    return;
                }
                check(seed, i % GRADCHECK_EVERY == 0, false);
                if (i % MUTATE_EVERY == 1) {
                    checkUnderInPlaceChanges(seed);
                }
            });
        });
    }

    /**
     * Replays the one program of {@link #REPLAY_SEED}, printing it first, with finite differences:
     * the way to debug a program that {@link #randomPrograms()} reported.
     */
    @Test
    void theReplaySeedsProgramPassesEveryCheckAndFiniteDifferences() {
        check(REPLAY_SEED, true, true);
    }

    @Test
    void theGeneratorIsDeterministicAndCoversEveryOpKind() {
        Program once = Program.generate(12345L);
        Program again = Program.generate(12345L);
        assertEquals(once.toString(), again.toString());
        assertTrue(Arrays.deepEquals(once.data.toArray(), again.data.toArray()), "the inputs' values differ");
        java.util.Set<String> seen = new java.util.TreeSet<>();
        for (int i = 0; i < PROGRAMS; i++) {
            for (Node n : Program.generate(mix(BASE_SEED + i)).nodes) {
                seen.add(n.kind);
            }
        }
        List<String> want = List.of("input", "param", "unary", "binary", "matmul", "xty", "reduce", "softmax",
            "reshape", "slice", "concat", "transposed", "where", "out");
        assertTrue(seen.containsAll(want), "op kinds generated: " + seen + ", want all of " + want);
    }

    /** splitmix64: consecutive base seeds give unrelated generator seeds. */
    static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Generates the program of {@code seed}, runs it locally and distributed, and compares. */
    static void check(long seed, boolean gradcheck, boolean print) {
        Program p = Program.generate(seed);
        if (print) {
            System.out.println("seed " + seed + "L:\n" + p);
        }
        RUN.incrementAndGet();
        Result local;
        try {
            local = run(p, 0);
        } catch (RuntimeException e) {
            throw new AssertionError(header(p) + "the local run threw " + e, e);
        }
        Result dist;
        long t0 = System.nanoTime();
        Metrics.Snapshot m0 = VERBOSE ? Dist.metrics().snapshot() : null;
        try {
            dist = run(p, p.numBlocks);
        } catch (RuntimeException e) {
            throw new AssertionError(header(p) + "the distributed run threw " + e
                + " (the local run gave " + local.value + ")", e);
        }
        if (VERBOSE) {
            Metrics.Snapshot d = Dist.metrics().snapshot().minus(m0);
            System.out.printf("PROG seed=%d nodes=%d rows=%d blocks=%d jobs=%d fwd=%d bwd=%d other=%d tasks=%d ms=%.0f%n",
                seed, p.nodes.size(), p.rows, p.numBlocks, d.jobs(), d.forwardJobs(), d.backwardJobs(), d.otherJobs(),
                d.tasks(), (System.nanoTime() - t0) / 1e6);
        }
        if (dist.placementError != null) {
            throw new AssertionError(header(p) + dist.placementError);
        }
        compare(p, "value", new double[] {local.value}, new double[] {dist.value});
        for (int i = 0; i < p.inputs.size(); i++) {
            Node in = p.nodes.get(p.inputs.get(i));
            String what = "gradient of " + in.name + " (" + Shape.str(in.shape) + (in.dist ? ", dist)" : ", local)");
            if (dist.gradDist[i] != in.dist) {
                throw new AssertionError(header(p) + what + " is " + (dist.gradDist[i] ? "distributed" : "local")
                    + " in the distributed run");
            }
            compare(p, what, local.grads[i], dist.grads[i]);
        }
        if (gradcheck && !p.ties) {
            GRADCHECKED.incrementAndGet();
            NDArray[] data = p.localInputs();
            // Each probe of f rounds like its final sum, to a few ulps of the sum of the magnitudes of
            // its terms: the absolute tolerance adds that error divided by the step.
            NDArray[] vals = p.eval(p.localInputs());
            double terms = 0;
            for (int k : p.nodes.get(p.nodes.size() - 1).args) {
                for (double v : vals[k].toArray()) {
                    terms += Math.abs(v);
                }
            }
            double atol = GradCheck.ATOL + 1e-15 * terms / GradCheck.EPS;
            try {
                GradCheck.check(xs -> p.eval(xs)[p.nodes.size() - 1], GradCheck.EPS, GradCheck.RTOL, atol, data);
            } catch (AssertionError e) {
                throw new AssertionError(header(p) + "finite differences disagree with the local engine: "
                    + e.getMessage(), e);
            }
        }
    }

    /**
     * Runs {@code p} with its local parameters as constants that are overwritten in place
     * ({@code assign}) at random points between its ops, locally and distributed: each op must see
     * the values of the moment it was written, so the program's value agrees; its backward pass
     * either gives the same gradients, or fails in both runs with the same error (a rule that
     * needs a value changed since it was recorded).
     */
    static void checkUnderInPlaceChanges(long seed) {
        Program p = Program.generate(seed);
        List<double[][]> plan = p.mutations(new Random(seed ^ 0x6d75746174654cL));
        if (plan.stream().allMatch(java.util.Objects::isNull)) {
            return; // no local parameter to change
        }
        MUTATED.incrementAndGet();
        Mutated local = runMutated(p, 0, plan);
        Mutated dist = runMutated(p, p.numBlocks, plan);
        String what = "under in-place changes of the parameters at " + p.describe(plan);
        compare(p, "value " + what, new double[] {local.value}, new double[] {dist.value});
        if (!java.util.Objects.equals(local.error, dist.error)) {
            throw new AssertionError(header(p) + "backward " + what + ": locally "
                + (local.error == null ? "no error" : local.error) + ", distributed "
                + (dist.error == null ? "no error" : dist.error));
        }
        if (local.error != null) {
            MUTATED_REFUSED.incrementAndGet();
        } else {
            for (int i = 0; i < local.grads.length; i++) {
                if (local.grads[i] != null) {
                    compare(p, "gradient of input " + i + " " + what, local.grads[i], dist.grads[i]);
                }
            }
        }
    }

    /** The value, the distributed inputs' gradients, and the backward error without node ids. */
    record Mutated(double value, double[][] grads, String error) {}

    static Mutated runMutated(Program p, int numBlocks, List<double[][]> plan) {
        NDArray[] xs = p.localInputs();
        for (int i = 0; i < xs.length; i++) {
            if (p.nodes.get(p.inputs.get(i)).dist) {
                if (numBlocks > 0) {
                    xs[i] = Dist.fromLocal(xs[i], numBlocks);
                }
                xs[i].attachGrad();
            }
        }
        NDArray[] vals;
        try (var r = Autograd.record()) {
            vals = p.eval(xs, k -> {
                double[][] m = plan.get(k);
                if (m != null) {
                    int in = (int) m[0][0];
                    xs[in].assign(Np.array(xs[in].shape(), m[1]));
                }
            });
        }
        NDArray y = vals[vals.length - 1];
        double value = y.item();
        double[][] grads = new double[xs.length][];
        String error = null;
        if (y.requiresGrad()) {
            try {
                y.backward();
                for (int i = 0; i < xs.length; i++) {
                    if (p.nodes.get(p.inputs.get(i)).dist) {
                        grads[i] = xs[i].grad().toArray();
                    }
                }
            } catch (IllegalStateException e) {
                error = e.getMessage().replaceAll("#\\d+", "#");
            }
        }
        return new Mutated(value, grads, error);
    }

    static String header(Program p) {
        return "random program, seed " + p.seed + "L (replay: RandomProgramTest.REPLAY_SEED = " + p.seed + "L)\n"
            + p + "\n";
    }

    /** |a - b| <= RTOL * max(1, |a|, |b|) per element; NaN matches NaN only, infinities themselves. */
    static void compare(Program p, String what, double[] local, double[] dist) {
        if (local.length != dist.length) {
            throw new AssertionError(header(p) + what + ": " + local.length + " elements locally, " + dist.length
                + " distributed");
        }
        for (int i = 0; i < local.length; i++) {
            double a = local[i];
            double b = dist[i];
            COMPARED.incrementAndGet();
            if (a == b || (Double.isNaN(a) && Double.isNaN(b))) {
                continue;
            }
            double scale = Math.max(1.0, Math.max(Math.abs(a), Math.abs(b)));
            INEXACT.incrementAndGet();
            synchronized (INEXACT) {
                worstRel = Math.max(worstRel, Math.abs(a - b) / scale);
            }
            if (!(Math.abs(a - b) <= RTOL * scale)) {
                throw new AssertionError(header(p) + what + ": element " + i + " is " + b + " distributed but " + a
                    + " locally\n  local:       " + Arrays.toString(local) + "\n  distributed: "
                    + Arrays.toString(dist) + "\n" + firstDifference(p));
            }
        }
    }

    // ------------------------------------------------------------------ running a program

    /** The program's value, each input's gradient, and where the gradients live. */
    record Result(double value, double[][] grads, boolean[] gradDist, String placementError) {}

    /**
     * Runs {@code p} with gradients attached to every input: on local arrays when
     * {@code numBlocks} is 0, otherwise with the distributed inputs split into that many blocks.
     */
    static Result run(Program p, int numBlocks) {
        NDArray[] xs = p.localInputs();
        for (int i = 0; i < xs.length; i++) {
            if (numBlocks > 0 && p.nodes.get(p.inputs.get(i)).dist) {
                xs[i] = Dist.fromLocal(xs[i], numBlocks);
            }
            xs[i].attachGrad();
        }
        NDArray[] vals;
        try (var r = Autograd.record()) {
            vals = p.eval(xs);
        }
        String placementError = null;
        for (int k = 0; k < vals.length && numBlocks > 0; k++) {
            Node n = p.nodes.get(k);
            if (vals[k].isDistributed() != n.dist || !Arrays.equals(vals[k].shape(), Shape.of(n.shape))) {
                placementError = n.name + " = " + n.expr + " is " + Shape.str(vals[k].shape())
                    + (vals[k].isDistributed() ? " distributed" : " local") + " in the distributed run, expected "
                    + Shape.str(n.shape) + (n.dist ? " distributed" : " local");
                break;
            }
        }
        NDArray y = vals[vals.length - 1];
        double value = y.item();
        double[][] grads = new double[xs.length][];
        boolean[] gradDist = new boolean[xs.length];
        if (y.requiresGrad()) {
            y.backward();
        }
        // The distributed gradients share the inputs' row blocks: they are collected side by side
        // in one Spark job (concat along axis 1), as a job costs more than the rest of a program.
        List<NDArray> distGrads = new ArrayList<>();
        for (int i = 0; i < xs.length; i++) {
            NDArray g = xs[i].grad();
            gradDist[i] = g.isDistributed();
            if (g.isDistributed() && g.ndim() == 2 && g.shape()[0] == p.rows) {
                distGrads.add(g);
            } else {
                grads[i] = g.toArray();
            }
        }
        if (!distGrads.isEmpty()) {
            double[] all = Np.concat(distGrads, 1).toArray();
            int width = all.length / p.rows;
            int col = 0;
            for (int i = 0; i < xs.length; i++) {
                if (grads[i] == null) {
                    int c = (int) xs[i].dim(1);
                    grads[i] = new double[p.rows * c];
                    for (int row = 0; row < p.rows; row++) {
                        System.arraycopy(all, row * width + col, grads[i], row * c, c);
                    }
                    col += c;
                }
            }
        }
        return new Result(value, grads, gradDist, placementError);
    }

    /** Evaluates every node locally and distributed, without autograd, and names the first that differs. */
    static String firstDifference(Program p) {
        try {
            NDArray[] local = p.eval(p.localInputs());
            NDArray[] xs = p.localInputs();
            for (int i = 0; i < xs.length; i++) {
                if (p.nodes.get(p.inputs.get(i)).dist) {
                    xs[i] = Dist.fromLocal(xs[i], p.numBlocks);
                }
            }
            NDArray[] dist = p.eval(xs);
            for (int k = 0; k < local.length; k++) {
                double[] a = local[k].toArray();
                double[] b = dist[k].toArray();
                for (int e = 0; e < a.length; e++) {
                    double scale = Math.max(1.0, Math.max(Math.abs(a[e]), Math.abs(b[e])));
                    if (!(a[e] == b[e] || Math.abs(a[e] - b[e]) <= RTOL * scale)) {
                        Node n = p.nodes.get(k);
                        return "first differing forward value: " + n.name + " = " + n.expr + ", element " + e + ": "
                            + b[e] + " distributed vs " + a[e] + " locally";
                    }
                }
            }
            return "every forward value agrees: the difference is in the backward pass";
        } catch (RuntimeException e) {
            return "(re-running the nodes one by one threw " + e + ")";
        }
    }

    // ------------------------------------------------------------------ programs

    /** Computes a node's value from its arguments' values. */
    @FunctionalInterface
    interface Fn {
        NDArray apply(NDArray[] args);
    }

    /**
     * One node of a program: {@code name = expr}, its shape, whether it is distributed in the
     * distributed run, its arguments (earlier node indices) and how to compute it. Inputs have no
     * function.
     */
    record Node(String kind, String name, String expr, int[] shape, boolean dist, int[] args, Fn fn) {}

    /** A generated program: the nodes in order (inputs among them), the inputs' data, and the layout. */
    static final class Program {
        final long seed;
        final int rows;
        final int numBlocks;
        final List<Node> nodes = new ArrayList<>();
        final List<Integer> inputs = new ArrayList<>(); // node index of each input
        final List<double[]> data = new ArrayList<>(); // each input's values
        boolean ties; // an input holds integers: ties, where finite differences do not apply

        Program(long seed, int rows, int numBlocks) {
            this.seed = seed;
            this.rows = rows;
            this.numBlocks = numBlocks;
        }

        static Program generate(long seed) {
            return new Gen(seed).build();
        }

        /** Fresh local copies of the inputs. */
        NDArray[] localInputs() {
            NDArray[] xs = new NDArray[inputs.size()];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = Np.array(nodes.get(inputs.get(i)).shape, data.get(i));
            }
            return xs;
        }

        /** The values of every node, given the inputs' values. */
        NDArray[] eval(NDArray[] xs) {
            return eval(xs, k -> { });
        }

        /**
         * A plan of in-place changes: entry {@code k} (for the node before the output) is null, or
         * {@code {{input index}, new values}}: that local parameter is assigned those values right
         * after node {@code k} is computed. About one node in three changes one.
         */
        List<double[][]> mutations(Random r) {
            List<Integer> params = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                if (!nodes.get(inputs.get(i)).dist) {
                    params.add(i);
                }
            }
            List<double[][]> plan = new ArrayList<>();
            for (int k = 0; k < nodes.size(); k++) {
                if (params.isEmpty() || k == nodes.size() - 1 || r.nextInt(3) != 0) {
                    plan.add(null);
                    continue;
                }
                int in = params.get(r.nextInt(params.size()));
                double[] v = new double[data.get(in).length];
                for (int e = 0; e < v.length; e++) {
                    v[e] = 0.8 * r.nextGaussian();
                }
                plan.add(new double[][] {{in}, v});
            }
            return plan;
        }

        /** Names where a plan of {@link #mutations} changes which input. */
        String describe(List<double[][]> plan) {
            List<String> at = new ArrayList<>();
            for (int k = 0; k < plan.size(); k++) {
                if (plan.get(k) != null) {
                    at.add(nodes.get(inputs.get((int) plan.get(k)[0][0])).name + " after " + nodes.get(k).name);
                }
            }
            return String.join(", ", at);
        }

        /** The values of every node, calling {@code afterNode} with each node's index once it is computed. */
        NDArray[] eval(NDArray[] xs, java.util.function.IntConsumer afterNode) {
            NDArray[] vals = new NDArray[nodes.size()];
            int in = 0;
            for (int k = 0; k < vals.length; k++) {
                Node n = nodes.get(k);
                if (n.fn == null) {
                    vals[k] = xs[in++];
                } else {
                    NDArray[] args = new NDArray[n.args.length];
                    for (int j = 0; j < args.length; j++) {
                        args[j] = vals[n.args[j]];
                    }
                    vals[k] = n.fn.apply(args);
                }
                afterNode.accept(k);
            }
            return vals;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append("# ").append(rows).append(" rows; distributed inputs in ").append(numBlocks).append(" blocks\n");
            for (Node n : nodes) {
                String line = n.name + " = " + n.expr;
                sb.append(String.format("%-46s # %s %s%n", line, Shape.str(n.shape), n.dist ? "dist" : "local"));
            }
            return sb.toString();
        }
    }

    /** The generator: one seeded {@link Random} decides everything. */
    static final class Gen {
        final Random r;
        final Program p;
        final int maxParams;
        int params;
        final List<NDArray> vals = new ArrayList<>(); // local values, to reject steps that blow up
        final List<Integer> uses = new ArrayList<>();

        Gen(long seed) {
            r = new Random(seed);
            int rows = 6 + r.nextInt(8); // 6..13
            p = new Program(seed, rows, 1 + r.nextInt(rows + 2)); // 1..rows+2: sometimes empty blocks
            maxParams = r.nextInt(3);
        }

        Program build() {
            int nInputs = 1 + r.nextInt(3);
            for (int i = 0; i < nInputs; i++) {
                input("input", new int[] {p.rows, 1 + r.nextInt(4)}, true, r.nextInt(10) == 0);
            }
            int steps = 3 + r.nextInt(MAX_STEPS - 2);
            for (int s = 0; s < steps; s++) {
                boolean ok = false;
                for (int attempt = 0; attempt < 100 && !ok; attempt++) {
                    ok = step();
                }
                if (!ok) {
                    throw new IllegalStateException("generator: no valid step after 100 attempts\n" + p);
                }
            }
            finish();
            return p;
        }

        // ---------------------------------------------------------- nodes

        Node node(int k) {
            return p.nodes.get(k);
        }

        int size() {
            return p.nodes.size();
        }

        int input(String kind, int[] shape, boolean dist) {
            return input(kind, shape, dist, false);
        }

        /** Adds an input; {@code ints}: integers in [-2, 2], so that max, min, maximum and masks see ties. */
        int input(String kind, int[] shape, boolean dist, boolean ints) {
            double[] d = new double[Shape.size(shape)];
            for (int i = 0; i < d.length; i++) {
                // not rounded: a value on a short decimal grid could tie with a constant of the
                // program (a mask threshold, a clip bound), where finite differences jump
                d[i] = ints ? r.nextInt(5) - 2 : (dist ? 1.5 : 0.8) * r.nextGaussian();
            }
            p.ties |= ints;
            int k = size();
            String name = "x" + k;
            String expr = (dist ? "input(" : "param(") + dims(shape) + (ints ? ", integers" : "") + ")";
            p.nodes.add(new Node(kind, name, expr, shape, dist, new int[0], null));
            p.inputs.add(k);
            p.data.add(d);
            vals.add(Np.array(shape, d));
            uses.add(0);
            if (!dist) {
                params++;
            }
            return k;
        }

        static String dims(int[] shape) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < shape.length; i++) {
                sb.append(i > 0 ? "x" : "").append(shape[i]);
            }
            return shape.length == 0 ? "scalar" : sb.toString();
        }

        /**
         * Adds {@code name = expr} if its local value has the predicted shape, is finite and stays
         * within {@link #LIMIT}; returns whether it was added.
         */
        boolean add(String kind, String expr, int[] shape, boolean dist, Fn fn, int... args) {
            NDArray[] a = new NDArray[args.length];
            for (int j = 0; j < args.length; j++) {
                a[j] = vals.get(args[j]);
            }
            NDArray v = fn.apply(a);
            if (!Arrays.equals(v.shape(), Shape.of(shape))) {
                throw new IllegalStateException("generator: " + expr + " has shape " + Shape.str(v.shape())
                    + " but the generator predicted " + Shape.str(shape) + "\n" + p);
            }
            double limit = kind.equals("out") ? LIMIT * LIMIT : LIMIT;
            for (double x : v.toArray()) {
                if (!(Math.abs(x) <= limit)) {
                    return false;
                }
            }
            int k = size();
            p.nodes.add(new Node(kind, kind.equals("out") ? "out" : "x" + k, expr, shape, dist, args, fn));
            vals.add(v);
            uses.add(0);
            for (int j : args) {
                uses.set(j, uses.get(j) + 1);
            }
            return true;
        }

        /**
         * Picks a node that satisfies {@code ok}: often the latest, sometimes one nothing uses yet,
         * otherwise any (fan-out); null when none does.
         */
        Integer pick(IntPredicate ok) {
            List<Integer> c = new ArrayList<>();
            for (int k = 0; k < size(); k++) {
                if (!node(k).kind.equals("out") && ok.test(k)) {
                    c.add(k);
                }
            }
            if (c.isEmpty()) {
                return null;
            }
            double u = r.nextDouble();
            if (u < 0.4) {
                return c.get(c.size() - 1);
            }
            if (u < 0.7) {
                List<Integer> unused = new ArrayList<>();
                for (int k : c) {
                    if (uses.get(k) == 0) {
                        unused.add(k);
                    }
                }
                if (!unused.isEmpty()) {
                    return unused.get(r.nextInt(unused.size()));
                }
            }
            return c.get(r.nextInt(c.size()));
        }

        /**
         * Picks a second operand for {@code first}: usually another node, sometimes {@code first}
         * itself (fan-out into both operands).
         */
        Integer pickOther(int first, IntPredicate ok) {
            if (r.nextInt(6) > 0) {
                Integer other = pick(k -> k != first && ok.test(k));
                if (other != null) {
                    return other;
                }
            }
            return pick(ok);
        }

        /** {@link #pick(IntPredicate)} with a predicate over the node. */
        Integer pickN(Predicate<Node> ok) {
            return pick(k -> ok.test(node(k)));
        }

        String n(int k) {
            return node(k).name;
        }

        /** A short constant, printed exactly as it is used. */
        double constant() {
            return Math.round(r.nextGaussian() * 100) / 100.0;
        }

        // ---------------------------------------------------------- shape rules

        /** numpy broadcasting of two shapes, or null when they do not broadcast. */
        static int[] broadcast(int[] a, int[] b) {
            int n = Math.max(a.length, b.length);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                int x = i - (n - a.length) >= 0 ? a[i - (n - a.length)] : 1;
                int y = i - (n - b.length) >= 0 ? b[i - (n - b.length)] : 1;
                if (x != y && x != 1 && y != 1) {
                    return null;
                }
                out[i] = x == 1 ? y : x;
            }
            return out;
        }

        /**
         * The result shape of an elementwise op over operands of these shapes and placements, or
         * null when the distributed backend refuses it by design: with a distributed operand, every
         * distributed operand has the result's rank and every local one broadcasts along the rows
         * (fewer dimensions, or a leading 1).
         */
        static int[] elementwise(int[][] shapes, boolean[] dist) {
            int[] out = new int[0];
            boolean anyDist = false;
            for (int i = 0; i < shapes.length; i++) {
                out = broadcast(out, shapes[i]);
                if (out == null) {
                    return null;
                }
                anyDist |= dist[i];
            }
            if (anyDist) {
                for (int i = 0; i < shapes.length; i++) {
                    int[] s = shapes[i];
                    boolean ok = dist[i] ? s.length == out.length : s.length < out.length || s[0] == 1;
                    if (!ok) {
                        return null;
                    }
                }
            }
            return out;
        }

        int[] elementwise(int... nodes) {
            int[][] shapes = new int[nodes.length][];
            boolean[] dist = new boolean[nodes.length];
            for (int i = 0; i < nodes.length; i++) {
                shapes[i] = node(nodes[i]).shape;
                dist[i] = node(nodes[i]).dist;
            }
            return elementwise(shapes, dist);
        }

        static boolean anyDist(Node... ns) {
            for (Node n : ns) {
                if (n.dist) {
                    return true;
                }
            }
            return false;
        }

        // ---------------------------------------------------------- steps

        boolean step() {
            int w = r.nextInt(100);
            if (w < 20) {
                return unary();
            }
            if (w < 42) {
                return binary();
            }
            if (w < 50) {
                return matmul();
            }
            if (w < 56) {
                return xty();
            }
            if (w < 68) {
                return reduce();
            }
            if (w < 74) {
                return softmax();
            }
            if (w < 79) {
                return reshape();
            }
            if (w < 85) {
                return slice();
            }
            if (w < 91) {
                return concat();
            }
            if (w < 96) {
                return transposed();
            }
            return where();
        }

        /**
         * Ops on the transpose of a distributed matrix, which is split into column blocks: an
         * elementwise op or a product by a local matrix, then transposed back; a reduction over its
         * blocked axis (local) or across it (a distributed vector); a slice of its rows.
         */
        boolean transposed() {
            Integer a = pickN(x -> x.dist && x.shape.length == 2);
            if (a == null) {
                return false;
            }
            int[] s = node(a).shape;
            String t = "T(" + n(a) + ")";
            switch (r.nextInt(6)) {
                case 0: return add("transposed", "T(tanh(" + t + "))", s, true, v -> v[0].T().tanh().T(), a);
                case 1: {
                    Integer c = params < maxParams ? input("param", new int[] {s[1], 1}, false) : null;
                    if (c == null) {
                        return add("transposed", "T(mul(" + t + ", 1.5))", s, true, v -> v[0].T().mul(1.5).T(), a);
                    }
                    return add("transposed", "T(mul(" + t + ", " + n(c) + "))", s, true, v -> v[0].T().mul(v[1]).T(), a, c);
                }
                case 2: return add("transposed", "sum(" + t + ", axis=1)", new int[] {s[1]}, false, v -> v[0].T().sum(1), a);
                case 3: return add("transposed", "sum(" + t + ", axis=0)", new int[] {s[0]}, true, v -> v[0].T().sum(0), a);
                case 4: {
                    int start = r.nextInt(s[1]);
                    int stop = start + 1 + r.nextInt(s[1] - start);
                    return add("transposed", "T(slice(" + t + ", axis=0, " + start + ":" + stop + "))",
                        new int[] {s[0], stop - start}, true, v -> v[0].T().slice(0, start, stop).T(), a);
                }
                default: {
                    if (params >= maxParams) {
                        return false;
                    }
                    int p = 1 + r.nextInt(3);
                    int l = input("param", new int[] {p, s[1]}, false);
                    return add("transposed", "T(matmul(" + n(l) + ", " + t + "))", new int[] {s[0], p}, true,
                        v -> v[1].matmul(v[0].T()).T(), a, l);
                }
            }
        }

        boolean unary() {
            Integer a = pickN(x -> true);
            switch (r.nextInt(13)) {
                case 0: return add("unary", "exp(clip(" + n(a) + ", -3, 3))", node(a).shape, node(a).dist,
                    v -> v[0].clip(-3, 3).exp(), a);
                case 1: return add("unary", "log(softplus(" + n(a) + "))", node(a).shape, node(a).dist,
                    v -> v[0].softplus().log(), a);
                case 2: return add("unary", "log(square(" + n(a) + ") + 1)", node(a).shape, node(a).dist,
                    v -> v[0].square().add(1.0).log(), a);
                case 3: return add("unary", "sqrt(softplus(" + n(a) + "))", node(a).shape, node(a).dist,
                    v -> v[0].softplus().sqrt(), a);
                case 4: return add("unary", "sqrt(square(" + n(a) + ") + 1)", node(a).shape, node(a).dist,
                    v -> v[0].square().add(1.0).sqrt(), a);
                case 5: return add("unary", "tanh(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].tanh(), a);
                case 6: return add("unary", "sigmoid(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].sigmoid(), a);
                case 7: return add("unary", "relu(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].relu(), a);
                case 8: return add("unary", "abs(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].abs(), a);
                case 9: return add("unary", "square(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].square(), a);
                case 10: return add("unary", "sin(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].sin(), a);
                case 11: return add("unary", "neg(" + n(a) + ")", node(a).shape, node(a).dist, v -> v[0].neg(), a);
                default: return add("unary", "mul(" + n(a) + ", 0.5)", node(a).shape, node(a).dist, v -> v[0].mul(0.5), a);
            }
        }

        /** A local parameter shaped to broadcast along the rows of a distributed node of shape {@code s}. */
        Integer rowParam(int[] s) {
            if (params >= maxParams) {
                return null;
            }
            int[] rowShape = Arrays.copyOfRange(s, 1, s.length);
            int[] shape;
            switch (r.nextInt(3)) {
                case 0: { // the trailing dimension: (d,)
                    shape = rowShape.length == 0 ? new int[] {1} : new int[] {rowShape[rowShape.length - 1]};
                    break;
                }
                case 1: { // (1, ...) with the node's rank
                    shape = new int[s.length];
                    shape[0] = 1;
                    System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
                    break;
                }
                default: { // the row shape itself
                    shape = rowShape.length == 0 ? new int[0] : rowShape;
                }
            }
            return input("param", shape, false);
        }

        boolean binary() {
            Integer a = pickN(x -> true);
            Node na = node(a);
            String[] ops = {"add", "sub", "mul", "div", "maximum", "minimum", "pow"};
            String op = ops[r.nextInt(ops.length)];
            double u = r.nextDouble();
            if (u < 0.15) { // with a constant
                double c = constant();
                double pos = Math.abs(c) + 0.5;
                switch (op) {
                    case "add": return add("binary", "add(" + n(a) + ", " + c + ")", na.shape, na.dist, v -> v[0].add(c), a);
                    case "sub": return add("binary", "sub(" + c + ", " + n(a) + ")", na.shape, na.dist, v -> v[0].rsub(c), a);
                    case "mul": return add("binary", "mul(" + n(a) + ", " + c + ")", na.shape, na.dist, v -> v[0].mul(c), a);
                    case "div": return add("binary", "div(" + n(a) + ", " + pos + ")", na.shape, na.dist, v -> v[0].div(pos), a);
                    case "maximum": return add("binary", "maximum(" + n(a) + ", " + c + ")", na.shape, na.dist,
                        v -> v[0].maximum(c), a);
                    case "minimum": return add("binary", "minimum(" + n(a) + ", " + c + ")", na.shape, na.dist,
                        v -> v[0].minimum(c), a);
                    default: return add("binary", "pow(sigmoid(" + n(a) + ") + 0.5, " + c + ")", na.shape, na.dist,
                        v -> v[0].sigmoid().add(0.5).pow(c), a);
                }
            }
            final int a0 = a;
            Integer b = u < 0.3 && na.dist ? rowParam(na.shape) : null;
            if (b == null) {
                b = pickOther(a0, k -> elementwise(a0, k) != null);
            }
            if (b == null) {
                return false;
            }
            int[] out = elementwise(a, b);
            if (out == null) {
                throw new IllegalStateException("generator: parameter " + n(b) + " does not broadcast against " + n(a));
            }
            boolean dist = anyDist(na, node(b));
            if (r.nextBoolean()) { // either order
                int t = a;
                a = b;
                b = t;
            }
            String x = n(a);
            String y = n(b);
            switch (op) {
                case "add": return add("binary", "add(" + x + ", " + y + ")", out, dist, v -> v[0].add(v[1]), a, b);
                case "sub": return add("binary", "sub(" + x + ", " + y + ")", out, dist, v -> v[0].sub(v[1]), a, b);
                case "mul": return add("binary", "mul(" + x + ", " + y + ")", out, dist, v -> v[0].mul(v[1]), a, b);
                case "div":
                    if (r.nextBoolean()) {
                        return add("binary", "div(" + x + ", square(" + y + ") + 1)", out, dist,
                            v -> v[0].div(v[1].square().add(1.0)), a, b);
                    }
                    return add("binary", "div(" + x + ", softplus(" + y + ") + 0.5)", out, dist,
                        v -> v[0].div(v[1].softplus().add(0.5)), a, b);
                case "maximum": return add("binary", "maximum(" + x + ", " + y + ")", out, dist,
                    v -> v[0].maximum(v[1]), a, b);
                case "minimum": return add("binary", "minimum(" + x + ", " + y + ")", out, dist,
                    v -> v[0].minimum(v[1]), a, b);
                default: return add("binary", "pow(sigmoid(" + x + ") + 0.5, clip(" + y + ", -3, 3))", out, dist,
                    v -> v[0].sigmoid().add(0.5).pow(v[1].clip(-3, 3)), a, b);
            }
        }

        boolean matmul() {
            Integer a = pickN(x -> x.shape.length == 2 || (x.dist && x.shape.length == 1) || (!x.dist && x.shape.length == 1));
            if (a == null) {
                return false;
            }
            Node na = node(a);
            int[] s = na.shape;
            if (na.dist && s.length == 1) { // two distributed vectors: a dot product over the rows
                Integer b = pickOther(a, k -> node(k).dist && node(k).shape.length == 1);
                return add("matmul", "matmul(" + n(a) + ", " + n(b) + ")", new int[0], false,
                    v -> v[0].matmul(v[1]), a, b);
            }
            int inner = s[s.length - 1];
            Integer b = null;
            if (na.dist && params < maxParams && r.nextDouble() < 0.7) {
                b = r.nextDouble() < 0.8 ? input("param", new int[] {inner, 1 + r.nextInt(3)}, false)
                    : input("param", new int[] {inner}, false);
            }
            if (b == null) {
                b = pickN(x -> !x.dist && (x.shape.length == 1 || x.shape.length == 2) && x.shape[0] == inner);
            }
            if (b == null) {
                return false;
            }
            int[] sb = node(b).shape;
            List<Integer> out = new ArrayList<>();
            if (s.length == 2) {
                out.add(s[0]);
            }
            if (sb.length == 2) {
                out.add(sb[1]);
            }
            return add("matmul", "matmul(" + n(a) + ", " + n(b) + ")", out.stream().mapToInt(Integer::intValue).toArray(),
                na.dist, v -> v[0].matmul(v[1]), a, b);
        }

        /** {@code X.T().matmul(Y)}: a contraction over the rows, with a local result. */
        boolean xty() {
            Integer a = pickN(x -> x.dist && x.shape.length == 2);
            if (a == null) {
                return false;
            }
            final int a0 = a;
            Integer b = pickOther(a0, k -> node(k).dist && (node(k).shape.length == 1 || node(k).shape.length == 2));
            int[] sb = node(b).shape;
            int[] out = sb.length == 2 ? new int[] {node(a).shape[1], sb[1]} : new int[] {node(a).shape[1]};
            if (r.nextInt(4) == 0) {
                // one X.T() in two contractions: backward adds the two gradients of the view
                final int b0 = b;
                Integer c = pickOther(b0, k -> node(k).dist && Arrays.equals(node(k).shape, sb));
                return add("xty", "add(matmul(t, " + n(b) + "), matmul(t, " + n(c) + ")) with t = T(" + n(a) + ")", out,
                    false, v -> {
                        NDArray t = v[0].T();
                        return t.matmul(v[1]).add(t.matmul(v[2]));
                    }, a, b, c);
            }
            return add("xty", "matmul(T(" + n(a) + "), " + n(b) + ")", out, false, v -> v[0].T().matmul(v[1]), a, b);
        }

        boolean reduce() {
            Integer a = pickN(x -> x.shape.length >= 1);
            if (a == null) {
                return false;
            }
            Node na = node(a);
            String[] fns = {"sum", "mean", "max", "min", "norm"};
            String f = fns[r.nextInt(fns.length)];
            int rank = na.shape.length;
            boolean all = r.nextInt(4) == 0;
            int axis = all ? 0 : r.nextInt(rank);
            boolean negative = !all && axis == rank - 1 && r.nextInt(3) == 0;
            int axisArg = negative ? -1 : axis;
            boolean keep = r.nextBoolean();
            if (all) {
                return add("reduce", f + "(" + n(a) + ")", new int[0], false, v -> reduce(f, v[0], null, false), a);
            }
            int[] out = Shape.reduced(na.shape, axis, keep);
            boolean dist = na.dist && axis != 0;
            return add("reduce", f + "(" + n(a) + ", axis=" + axisArg + ", keepdims=" + keep + ")", out, dist,
                v -> reduce(f, v[0], axisArg, keep), a);
        }

        static NDArray reduce(String f, NDArray x, Integer axis, boolean keep) {
            if (axis == null) {
                switch (f) {
                    case "sum": return x.sum();
                    case "mean": return x.mean();
                    case "max": return x.max();
                    case "min": return x.min();
                    default: return x.norm();
                }
            }
            switch (f) {
                case "sum": return x.sum(axis, keep);
                case "mean": return x.mean(axis, keep);
                case "max": return x.max(axis, keep);
                case "min": return x.min(axis, keep);
                default: return x.norm(axis, keep);
            }
        }

        boolean softmax() {
            Integer a = pickN(x -> x.shape.length >= 2);
            if (a == null) {
                return false;
            }
            Node na = node(a);
            switch (r.nextInt(3)) {
                case 0: return add("softmax", "softmax(" + n(a) + ", axis=1)", na.shape, na.dist, v -> v[0].softmax(1), a);
                case 1: return add("softmax", "logSoftmax(" + n(a) + ", axis=1)", na.shape, na.dist,
                    v -> v[0].logSoftmax(1), a);
                default: {
                    boolean keep = r.nextBoolean();
                    return add("softmax", "logSumExp(" + n(a) + ", axis=1, keepdims=" + keep + ")",
                        Shape.reduced(na.shape, 1, keep), na.dist, v -> v[0].logSumExp(1, keep), a);
                }
            }
        }

        boolean reshape() {
            Integer a = pickN(x -> x.shape.length >= 1 || !x.dist);
            Node na = node(a);
            int[] s = na.shape;
            int[] to;
            if (na.dist) {
                int rowSize = Shape.size(Arrays.copyOfRange(s, 1, s.length));
                if (s.length == 1) {
                    to = new int[] {s[0], 1};
                } else if (s.length == 3 || (rowSize == 1 && r.nextBoolean())) {
                    to = rowSize == 1 && r.nextBoolean() ? new int[] {s[0]} : new int[] {s[0], rowSize};
                } else { // (n, d) -> (n, f, d / f)
                    List<Integer> divisors = new ArrayList<>();
                    for (int f = 1; f <= rowSize; f++) {
                        if (rowSize % f == 0) {
                            divisors.add(f);
                        }
                    }
                    int f = divisors.get(r.nextInt(divisors.size()));
                    to = new int[] {s[0], f, rowSize / f};
                }
            } else {
                int size = Shape.size(s);
                switch (r.nextInt(3)) {
                    case 0: to = new int[] {size}; break;
                    case 1: to = new int[] {1, size}; break;
                    default: to = new int[] {size, 1};
                }
            }
            int[] target = to;
            return add("reshape", "reshape(" + n(a) + ", " + Arrays.toString(target).replaceAll("[\\[\\]]", "") + ")",
                target, na.dist, v -> v[0].reshape(target), a);
        }

        boolean slice() {
            Integer a = pickN(x -> (x.shape.length >= 2 && x.shape[1] >= 2) || (!x.dist && x.shape.length == 1 && x.shape[0] >= 2));
            if (a == null) {
                return false;
            }
            Node na = node(a);
            int axis = na.shape.length == 1 ? 0 : 1;
            int len = na.shape[axis];
            int start = r.nextInt(len);
            int stop = start + 1 + r.nextInt(len - start);
            int[] out = na.shape.clone();
            out[axis] = stop - start;
            return add("slice", "slice(" + n(a) + ", axis=" + axis + ", " + start + ":" + stop + ")", out, na.dist,
                v -> v[0].slice(axis, start, stop), a);
        }

        boolean concat() {
            Integer a = pickN(x -> x.shape.length >= 2);
            if (a == null) {
                return false;
            }
            Node na = node(a);
            final int a0 = a;
            Integer b = pickOther(a0, k -> node(k).dist == na.dist && node(k).shape.length == na.shape.length
                && sameExceptAxis1(node(k).shape, na.shape));
            int[] out = na.shape.clone();
            out[1] += node(b).shape[1];
            int x = a;
            int y = b;
            return add("concat", "concat([" + n(x) + ", " + n(y) + "], axis=1)", out, na.dist,
                v -> Np.concat(List.of(v[0], v[1]), 1), x, y);
        }

        static boolean sameExceptAxis1(int[] s, int[] t) {
            for (int i = 0; i < s.length; i++) {
                if (i != 1 && s[i] != t[i]) {
                    return false;
                }
            }
            return true;
        }

        /** {@code where(cmp(m, c), a, b)}: a mask from a comparison, then either branch (or a constant). */
        boolean where() {
            final int a = pickN(x -> true);
            final int m = pickOther(a, k -> elementwise(k, a) != null);
            // the mask compares m with a constant, or with another node q
            final Integer q = r.nextInt(3) == 0 ? pickOther(m, k -> elementwise(m, k, a) != null) : null;
            final Integer b = r.nextInt(4) == 0 ? null
                : pickOther(a, k -> elementwise(q == null ? new int[] {m, a, k} : new int[] {m, q, a, k}) != null);
            double c = constant();
            double other = constant();
            boolean gt = r.nextBoolean();
            String maskText = (gt ? "gt(" : "lt(") + n(m) + ", " + (q == null ? String.valueOf(c) : n(q)) + ")";
            List<Integer> args = new ArrayList<>(List.of(m));
            if (q != null) {
                args.add(q);
            }
            args.add(a);
            if (b != null) {
                args.add(b);
            }
            int[] ids = args.stream().mapToInt(Integer::intValue).toArray();
            int[] out = elementwise(ids);
            boolean dist = false;
            for (int k : ids) {
                dist |= node(k).dist;
            }
            int ia = q == null ? 1 : 2;
            String text = "where(" + maskText + ", " + n(a) + ", " + (b == null ? String.valueOf(other) : n(b)) + ")";
            return add("where", text, out, dist, v -> {
                NDArray rhs = q == null ? Np.scalar(c) : v[1];
                NDArray mask = gt ? v[0].gt(rhs) : v[0].lt(rhs);
                return Np.where(mask, v[ia], b == null ? Np.scalar(other) : v[ia + 1]);
            }, ids);
        }

        /** The scalar the program differentiates: the sum of the last node, or a weighted sum of two. */
        void finish() {
            int last = size() - 1;
            while (node(last).kind.equals("param")) {
                last--;
            }
            int l = last;
            Integer o = null;
            if (r.nextDouble() < 0.6) {
                // prefer a node nothing uses yet, so that less of the program is dead
                List<Integer> dangling = new ArrayList<>();
                for (int k = 0; k < size(); k++) {
                    if (k != l && uses.get(k) == 0) {
                        dangling.add(k);
                    }
                }
                o = !dangling.isEmpty() ? dangling.get(r.nextInt(dangling.size())) : r.nextInt(size());
                if (o == l) {
                    o = null;
                }
            }
            boolean ok;
            if (o == null) {
                ok = add("out", "sum(" + n(l) + ")", new int[0], false, v -> v[0].sum(), l);
            } else {
                double c1 = constant();
                double c2 = constant();
                int k = o;
                if (elementwise(l, k) != null && r.nextBoolean()) {
                    ok = add("out", "sum(add(mul(" + n(l) + ", " + c1 + "), mul(" + n(k) + ", " + c2 + ")))", new int[0],
                        false, v -> v[0].mul(c1).add(v[1].mul(c2)).sum(), l, k);
                } else {
                    ok = add("out", "add(mul(sum(" + n(l) + "), " + c1 + "), mul(sum(" + n(k) + "), " + c2 + "))", new int[0],
                        false, v -> v[0].sum().mul(c1).add(v[1].sum().mul(c2)), l, k);
                }
            }
            if (!ok) { // the sum of a large node can leave the limit; the program's value may be large
                throw new IllegalStateException("generator: the output left the limit");
            }
        }
    }
}
