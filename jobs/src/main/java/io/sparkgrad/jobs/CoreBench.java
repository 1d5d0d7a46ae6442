package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Micro- and macro-benchmarks of the local autograd engine, each printed beside a baseline that is
 * measured in the same run (same JVM, same machine state), so the ratios are meaningful even where
 * the absolute numbers are not:
 * <ol>
 *   <li><b>Tape overhead</b>: a chain of scalar (0-d) ops recorded and back-propagated, in ns per
 *       op, against the same chain computed without recording.</li>
 *   <li><b>Elementwise</b>: {@code (x*x + 1).sum()} forward and backward over a large vector,
 *       against hand-written Java loops doing the same arithmetic.</li>
 *   <li><b>matmul</b>: a square product through {@link NDArray#matmul}, in GFLOP/s, against a naive
 *       i-k-j triple loop.</li>
 *   <li><b>MLP</b>: one forward and backward step of a 784-512-512-10 ReLU network with softmax
 *       cross-entropy, against the bare matrix products the step needs.</li>
 * </ol>
 * Every measurement first runs untimed warm-up repetitions (a few, and for at least 2 s; 4 s for
 * the first section, while the JIT compiles and the young generation grows), then reports the
 * median of the timed repetitions ({@link System#nanoTime()}). The library and its baselines
 * alternate within each repetition, so that they see the same JIT, GC and machine state. Results
 * are folded into a checksum that is printed at the end, so that the JIT cannot discard the work.
 *
 * <p>Run with the flags of {@code jobs/target/classes/sparkgrad-jvm.flags} (they add
 * {@code jdk.incubator.vector}, which the BLAS kernel needs for speed) and a large heap. The
 * allocation-heavy rows (tape, elementwise) depend on whether the heap's pages were touched
 * before: the first touch of a page costs a page fault, so a heap that is still growing makes them
 * several times slower. {@code -Xms8g -Xmx8g -XX:+AlwaysPreTouch} gives steady numbers (through
 * {@code bin/sparkgrad}: {@code SPARKGRAD_JAVA_OPTS}). Pass {@code --quick} to divide every size by
 * 10 for a smoke run.
 */
public final class CoreBench {
    private CoreBench() {}

    // ------------------------------------------------------------------ sizes (full run)

    /** Number of scalar ops in the recorded chain (half mul, half add). */
    private static final int TAPE_OPS = 100_000;
    /** Elements of the vector in the elementwise benchmark. */
    private static final int ELEMENTWISE_N = 10_000_000;
    /** Side of the square matrices in the matmul benchmark. */
    private static final int MATMUL_N = 1000;
    /** MLP batch size and layer widths. */
    private static final int MLP_BATCH = 1024;
    private static final int[] MLP_LAYERS = {784, 512, 512, 10};

    // ------------------------------------------------------------------ targets

    private static final double TAPE_TARGET_NS = 1000;
    private static final double ELEMENTWISE_TARGET_RATIO = 2.0;
    private static final double MATMUL_TARGET_GFLOPS = 15.0;

    // ------------------------------------------------------------------ dead-code guards

    /** Folded results of every benchmarked computation; printed at the end. */
    private static double checksum;
    /** Holds the last array a hand-written loop produced, so that its stores are observable. */
    private static Object escape;
    /** Whether the current run is a quick one (shorter warm-up, fewer repetitions). */
    private static boolean quickRun;

    private static void consume(double v) {
        checksum += v;
    }

    // ------------------------------------------------------------------ entry points

    /** Runs the benchmark on standard output; {@code --quick} divides every size by 10. */
    public static void main(String[] args) {
        boolean quick = false;
        for (String a : args) {
            if (a.equals("--quick") || a.equals("-q") || a.equals("quick")) {
                quick = true;
            } else {
                System.err.println("usage: CoreBench [--quick]");
                System.exit(2);
            }
        }
        run(System.out, quick);
    }

    /**
     * Runs every benchmark and prints the environment, one line per measurement as it finishes,
     * a summary table and a markdown copy of it.
     *
     * @param quick divide every size by 10 (a smoke run; the targets are meant for full sizes)
     */
    public static void run(PrintStream out, boolean quick) {
        checksum = 0;
        quickRun = quick;
        List<Row> rows = new ArrayList<>();
        printEnvironment(out, quick);

        int div = quick ? 10 : 1;
        tapeOverhead(out, rows, TAPE_OPS / div);
        elementwise(out, rows, ELEMENTWISE_N / div);
        Row mm = matmul(out, rows, MATMUL_N / div);
        int[] layers = new int[MLP_LAYERS.length];
        for (int i = 0; i < layers.length; i++) {
            // a softmax needs at least two classes, so the output layer keeps two in a quick run
            layers[i] = Math.max(i == layers.length - 1 ? 2 : 1, MLP_LAYERS[i] / div);
        }
        mlp(out, rows, Math.max(1, MLP_BATCH / div), layers, mm);

        out.println();
        printTable(out, rows);
        out.println();
        printMarkdown(out, rows, quick);
        out.println();
        out.printf(Locale.ROOT, "checksum (guards against dead-code elimination): %.6e%n", checksum);
        out.flush();
    }

    // ------------------------------------------------------------------ 1. tape overhead

    /**
     * Records {@code x = x*1.0000001 + 1e-9} alternately ({@code ops} ops in all) from a 0-d
     * variable and back-propagates through the chain. Every op works on one element, so the time
     * is the per-op cost of the engine: dispatch, allocation, the tape node and its gradient rule.
     */
    private static void tapeOverhead(PrintStream out, List<Row> rows, int ops) {
        section(out, "1. Tape overhead: chain of " + ops + " scalar ops (0-d), x = x*1.0000001 + 1e-9");
        NDArray x0 = Np.scalar(1.0);
        x0.attachGrad();

        // Phase 0, the baseline: the chain with autograd not recording (no nodes are created).
        // Phase 1: the chain while recording; phase 2: backward through it. The phases alternate
        // within each repetition, so that baseline and library see the same JIT and heap state.
        Timing t = measure(new Warmup(5, quickRun ? 200 : 4000), reps(15), 3, laps -> {
            NDArray p = chain(x0, ops);
            laps.lap(0);
            NDArray y;
            try (Autograd.Scope r = Autograd.record()) {
                y = chain(x0, ops);
            }
            laps.lap(1);
            y.backward();
            laps.lap(2);
            consume(p.item() + y.item() + x0.grad().item());
        });

        double base = t.median(0) / ops;
        double fwd = t.median(1) / ops;
        double bwd = t.median(2) / ops;
        double tot = t.median(1, 2) / ops;
        String baseName = "fwd, not recording";
        add(out, rows, new Row("tape: forward, recording", fwd, "ns/op", baseName, base, null, null));
        add(out, rows, new Row("tape: backward", bwd, "ns/op", baseName, base, null, null));
        add(out, rows, new Row("tape: record + backward", tot, "ns/op", baseName, base,
            "< " + fmt(TAPE_TARGET_NS) + " ns/op (PyTorch 1.13 eager here: ~9 us/op)", tot < TAPE_TARGET_NS));
    }

    /** {@code ops} alternating scalar ops starting from {@code x}. */
    private static NDArray chain(NDArray x, int ops) {
        for (int i = 0; i < ops; i++) {
            x = (i & 1) == 0 ? x.mul(1.0000001) : x.add(1e-9);
        }
        return x;
    }

    // ------------------------------------------------------------------ 2. elementwise

    /**
     * {@code s = (x*x + 1).sum()} and {@code ds/dx} over {@code n} elements, against two hand-written
     * baselines: one loop per intermediate with a new array for each (what an unfused array library
     * must at least do: {@code x*x}, {@code +1}, the gradient {@code 2x}), and fused loops that
     * allocate nothing (the floor for this arithmetic in Java).
     */
    private static void elementwise(PrintStream out, List<Row> rows, int n) {
        section(out, "2. Elementwise: (x*x + 1).sum() forward + backward, n = " + n);
        Np.seed(1);
        NDArray x = Np.randomNormal(0, 1, n);
        x.attachGrad();
        double[] xs = x.toArray();
        double[] gPre = new double[n]; // the preallocated gradient of the no-allocation baseline

        // Phases 0-1: library forward, backward; 2-3: hand loops allocating an array per step;
        // 4-5: fused hand loops without allocation. All three alternate within each repetition.
        Timing t = measure(warmup(3), reps(15), 6, laps -> {
            NDArray s;
            try (Autograd.Scope r = Autograd.record()) {
                s = x.mul(x).add(1.0).sum();
            }
            laps.lap(0);
            s.backward();
            laps.lap(1);
            consume(s.item() + element(x.grad(), n / 2));
            consume(handLoopAllocating(xs, laps, 2));
            consume(handLoopNoAlloc(xs, gPre, laps, 4) + gPre[n / 2]);
        });

        // One-off check (not timed) that the library and the hand loop agree.
        NDArray s;
        try (Autograd.Scope r = Autograd.record()) {
            s = x.mul(x).add(1.0).sum();
        }
        s.backward();
        double sHand = handLoopAllocating(xs, new Laps(2), 0);
        double[] g = x.grad().toArray();
        double gErr = 0;
        for (int i = 0; i < n; i++) {
            gErr = Math.max(gErr, Math.abs(g[i] - 2 * xs[i]));
        }
        out.printf(Locale.ROOT, "  check: library sum %.10e, hand-loop sum %.10e, max |grad - 2x| = %.1e%n",
            s.item(), sHand, gErr);
        out.printf(Locale.ROOT, "  split (ms)        forward  backward%n");
        out.printf(Locale.ROOT, "    library        %8.2f  %8.2f%n", t.median(0) / 1e6, t.median(1) / 1e6);
        out.printf(Locale.ROOT, "    hand, alloc    %8.2f  %8.2f%n", t.median(2) / 1e6, t.median(3) / 1e6);
        out.printf(Locale.ROOT, "    hand, no alloc %8.2f  %8.2f%n", t.median(4) / 1e6, t.median(5) / 1e6);

        double libMs = t.median(0, 1) / 1e6;
        double allocMs = t.median(2, 3) / 1e6;
        double fusedMs = t.median(4, 5) / 1e6;
        add(out, rows, new Row("elementwise fwd+bwd vs hand loop", libMs, "ms", "hand loop, new array per step",
            allocMs, "<= " + fmt(ELEMENTWISE_TARGET_RATIO) + "x hand loop", libMs / allocMs <= ELEMENTWISE_TARGET_RATIO));
        add(out, rows, new Row("elementwise fwd+bwd vs fused loop", libMs, "ms", "hand loop, fused, no alloc",
            fusedMs, null, null));
    }

    /**
     * Forward {@code y = x*x + 1; s = sum(y)} and backward {@code g = 2x} with a new array for every
     * intermediate, one loop per step, as an unfused array library computes them.
     */
    private static double handLoopAllocating(double[] x, Laps laps, int phase) {
        int n = x.length;
        double[] sq = new double[n];
        for (int i = 0; i < n; i++) {
            sq[i] = x[i] * x[i];
        }
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = sq[i] + 1.0;
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += y[i];
        }
        laps.lap(phase);
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = 2.0 * x[i];
        }
        laps.lap(phase + 1);
        escape = g; // the gradient escapes, so its stores cannot be dropped
        return s;
    }

    /** The same arithmetic in one fused loop per pass, writing the gradient into {@code g}. */
    private static double handLoopNoAlloc(double[] x, double[] g, Laps laps, int phase) {
        int n = x.length;
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = x[i];
            s += v * v + 1.0;
        }
        laps.lap(phase);
        for (int i = 0; i < n; i++) {
            g[i] = 2.0 * x[i];
        }
        laps.lap(phase + 1);
        return s; // g is the caller's array, so its stores are observable
    }

    // ------------------------------------------------------------------ 3. matmul

    /** {@code A B} for random normal n x n matrices, in GFLOP/s (2 n^3 flops), against i-k-j loops. */
    private static Row matmul(PrintStream out, List<Row> rows, int n) {
        section(out, "3. matmul " + n + "x" + n + " (float64, random normal)");
        Np.seed(2);
        NDArray a = Np.randomNormal(0, 1, n, n);
        NDArray b = Np.randomNormal(0, 1, n, n);
        double flops = 2.0 * n * n * (double) n;

        double[] ad = a.toArray();
        double[] bd = b.toArray();
        // Phase 0: the library; phase 1: the naive loops.
        Timing t = measure(warmup(2), reps(7), 2, laps -> {
            NDArray c = a.matmul(b);
            laps.lap(0);
            double[] c2 = naiveMatmul(ad, bd, n);
            laps.lap(1);
            escape = c2;
            consume(element(c, n * n / 2) + c2[n * n / 3]);
        });

        // One-off check (not timed): the two products agree.
        double[] c1 = a.matmul(b).toArray();
        double[] c2 = naiveMatmul(ad, bd, n);
        double err = 0;
        for (int i = 0; i < c1.length; i++) {
            err = Math.max(err, Math.abs(c1[i] - c2[i]));
        }
        out.printf(Locale.ROOT, "  check: max |library - naive| = %.1e; library %.2f ms, naive %.2f ms%n",
            err, t.median(0) / 1e6, t.median(1) / 1e6);

        double libGf = flops / t.median(0);
        double naiveGf = flops / t.median(1);
        Row row = new Row("matmul " + n + "x" + n, libGf, "GFLOP/s", "naive i-k-j Java loop", naiveGf,
            ">= " + fmt(MATMUL_TARGET_GFLOPS) + " GFLOP/s", libGf >= MATMUL_TARGET_GFLOPS);
        add(out, rows, row);
        return row;
    }

    /** c = a b for row-major n x n matrices, i-k-j order so the inner loop runs along rows. */
    private static double[] naiveMatmul(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++) {
            int ci = i * n;
            for (int k = 0; k < n; k++) {
                double aik = a[ci + k];
                int bk = k * n;
                for (int j = 0; j < n; j++) {
                    c[ci + j] += aik * b[bk + j];
                }
            }
        }
        return c;
    }

    // ------------------------------------------------------------------ 4. MLP

    /**
     * One forward and backward step (no parameter update) of an MLP with ReLU hidden layers, biases
     * and {@link Np#softmaxCrossEntropy} against one-hot labels. The baseline is the time of the
     * bare matrix products the step performs, on pre-transposed operands and without the tape: the
     * rest is what the engine adds (transposes, bias, ReLU, softmax, gradient sums, bookkeeping).
     */
    private static void mlp(PrintStream out, List<Row> rows, int batch, int[] layers, Row matmul) {
        section(out, "4. MLP forward + backward: batch " + batch + ", " + join(layers)
            + ", ReLU, softmax cross-entropy, float64");
        Np.seed(3);
        int depth = layers.length - 1;
        NDArray x = Np.randomNormal(0, 1, batch, layers[0]);
        NDArray oneHot = oneHot(batch, layers[depth]);
        NDArray[] w = new NDArray[depth];
        NDArray[] bias = new NDArray[depth];
        for (int l = 0; l < depth; l++) {
            w[l] = Np.randomNormal(0, Math.sqrt(2.0 / layers[l]), layers[l], layers[l + 1]); // He init
            bias[l] = Np.zeros(layers[l + 1]);
            w[l].attachGrad();
            bias[l].attachGrad();
        }

        // Baseline: the matrix products of one step, operands prepared (and transposed) up front.
        // Forward: h_l = h_{l-1} W_l. Backward per layer: dW_l = h_{l-1}^T g_l and, except for the
        // first layer (the input needs no gradient), dh_{l-1} = g_l W_l^T.
        NDArray[] acts = new NDArray[depth]; // the input of each layer
        NDArray[] actsT = new NDArray[depth];
        NDArray[] grads = new NDArray[depth]; // a stand-in gradient of each layer's output
        NDArray[] wT = new NDArray[depth];
        NDArray h = x;
        for (int l = 0; l < depth; l++) {
            acts[l] = h;
            actsT[l] = h.T();
            wT[l] = w[l].T();
            h = h.matmul(w[l]).relu();
            grads[l] = Np.randomNormal(0, 1, batch, layers[l + 1]);
        }
        // Phases 0-1: the library step, forward and backward; phase 2: the bare matmuls.
        Timing t = measure(warmup(3), reps(9), 3, laps -> {
            NDArray loss;
            try (Autograd.Scope r = Autograd.record()) {
                NDArray z = x;
                for (int l = 0; l < depth; l++) {
                    z = z.matmul(w[l]).add(bias[l]);
                    if (l < depth - 1) {
                        z = z.relu();
                    }
                }
                loss = Np.softmaxCrossEntropy(z, oneHot);
            }
            laps.lap(0);
            loss.backward();
            laps.lap(1);
            consume(loss.item() + element(w[0].grad(), 0));

            double sum = 0;
            for (int l = 0; l < depth; l++) {
                sum += element(acts[l].matmul(w[l]), 0);
            }
            for (int l = depth - 1; l >= 0; l--) {
                sum += element(actsT[l].matmul(grads[l]), 0);
                if (l > 0) {
                    sum += element(grads[l].matmul(wT[l]), 0);
                }
            }
            laps.lap(2);
            consume(sum);
        });

        // Flops as specified: three times the forward matmul flops (forward + 2 backward products
        // per layer). The first layer computes no input gradient, so this overstates the work done.
        double fwdFlops = 0;
        for (int l = 0; l < depth; l++) {
            fwdFlops += 2.0 * batch * layers[l] * (double) layers[l + 1];
        }
        double effFlops = 3 * fwdFlops;
        double doneFlops = effFlops - 2.0 * batch * layers[0] * (double) layers[1];
        double stepNs = t.median(0, 1);
        double stepMs = stepNs / 1e6;
        double bareMs = t.median(2) / 1e6;
        out.printf(Locale.ROOT, "  split (ms): forward %.2f, backward %.2f; bare matmuls %.2f ms "
                + "(%.2f GFLOP/s on the %.3f GFLOP actually multiplied)%n",
            t.median(0) / 1e6, t.median(1) / 1e6, bareMs, doneFlops / t.median(2), doneFlops / 1e9);
        add(out, rows, new Row("MLP step (fwd+bwd)", stepMs, "ms/step", "its matmuls alone", bareMs, null, null));
        add(out, rows, new Row("MLP effective (3x fwd flops)", effFlops / stepNs, "GFLOP/s",
            matmul.name + " (section 3)", matmul.value, null, null));
    }

    /** {@code rows} one-hot rows of {@code classes} columns, with classes drawn from a fixed seed. */
    private static NDArray oneHot(int rows, int classes) {
        double[] d = new double[rows * classes];
        java.util.Random rnd = new java.util.Random(4);
        for (int r = 0; r < rows; r++) {
            d[r * classes + rnd.nextInt(classes)] = 1.0;
        }
        return Np.array(new int[] {rows, classes}, d);
    }

    // ------------------------------------------------------------------ timing

    /** A per-repetition lap timer: {@code lap(k)} records the time since the previous lap as phase k. */
    private static final class Laps {
        final long[][] ns;
        int rep = -1; // negative during warm-up: laps are not recorded
        long last;

        Laps(int phases) {
            ns = new long[phases][];
        }

        void lap(int phase) {
            long now = System.nanoTime();
            if (rep >= 0) {
                ns[phase][rep] = now - last;
            }
            last = now;
        }
    }

    /** The recorded lap times of every timed repetition, by phase. */
    private static final class Timing {
        final long[][] ns;

        Timing(long[][] ns) {
            this.ns = ns;
        }

        /** The median over repetitions of the summed time of {@code phases}, in ns. */
        double median(int... phases) {
            long[] sum = new long[ns[0].length];
            for (int p : phases) {
                for (int r = 0; r < sum.length; r++) {
                    sum[r] += ns[p][r];
                }
            }
            return CoreBench.median(sum);
        }
    }

    /**
     * Runs {@code body} untimed until it has run {@code warmup.runs} times and for at least
     * {@code warmup.millis} (so the JIT has compiled the hot paths and the young generation has
     * reached its working size), then {@code reps} times timed. The body calls {@code laps.lap(k)}
     * at the end of each of its {@code phases} phases.
     */
    private static Timing measure(Warmup warmup, int reps, int phases, Consumer<Laps> body) {
        Laps laps = new Laps(phases);
        for (int p = 0; p < phases; p++) {
            laps.ns[p] = new long[reps];
        }
        laps.rep = -1;
        long until = System.nanoTime() + warmup.millis * 1_000_000L;
        for (int i = 0; i < warmup.runs || System.nanoTime() < until; i++) {
            laps.last = System.nanoTime();
            body.accept(laps);
        }
        for (int r = 0; r < reps; r++) {
            laps.rep = r;
            laps.last = System.nanoTime();
            body.accept(laps);
        }
        return new Timing(laps.ns);
    }

    /** At least {@code runs} warm-up runs lasting at least {@code millis} in all. */
    private record Warmup(int runs, long millis) {}

    /** The warm-up of a full run: {@code runs} runs and at least two seconds (a quick run: 0.2 s). */
    private static Warmup warmup(int runs) {
        return new Warmup(runs, quickRun ? 200 : 2000);
    }

    /** The number of timed repetitions (fewer in a quick run). */
    private static int reps(int full) {
        return quickRun ? Math.max(3, full / 2) : full;
    }

    private static double median(long[] xs) {
        long[] s = xs.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2.0;
    }

    /** Reads one element without copying a large array. */
    private static double element(NDArray a, int i) {
        return a instanceof LocalArray ? ((LocalArray) a).data()[i] : a.toArray()[i];
    }

    // ------------------------------------------------------------------ reporting

    /**
     * One result: {@code ratio} is always value / baseline (for times lower is better, for
     * GFLOP/s higher is better). A null target means the row is informational.
     */
    private record Row(String name, double value, String unit, String baselineName, double baseline,
                       String target, Boolean met) {
        double ratio() {
            return value / baseline;
        }

        String status() {
            if (met == null) {
                return "";
            }
            return quickRun ? "(quick)" : met ? "PASS" : "MISS"; // the targets are for full sizes
        }
    }

    private static void add(PrintStream out, List<Row> rows, Row row) {
        rows.add(row);
        out.printf(Locale.ROOT, "  %-36s %10s %-8s | baseline %10s (%s) | ratio %7sx | target %s %s%n",
            row.name, fmt(row.value), row.unit, fmt(row.baseline), row.baselineName, fmt(row.ratio()),
            row.target == null ? "-" : row.target, row.status());
        out.flush();
    }

    private static void section(PrintStream out, String title) {
        out.println();
        out.println(title);
        out.flush();
    }

    private static void printEnvironment(PrintStream out, boolean quick) {
        Runtime rt = Runtime.getRuntime();
        out.println("sparkgrad CoreBench" + (quick ? " (quick: sizes / 10)" : ""));
        out.printf(Locale.ROOT, "  JVM: %s %s (%s), java.version %s%n", System.getProperty("java.vm.name"),
            Runtime.version(), System.getProperty("java.vm.vendor"), System.getProperty("java.version"));
        out.printf(Locale.ROOT, "  OS: %s %s %s; availableProcessors: %d; max heap: %d MiB%n",
            System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("os.arch"),
            rt.availableProcessors(), rt.maxMemory() >> 20);
        out.printf(Locale.ROOT, "  jdk.incubator.vector present: %s; BLAS bound by LocalBackend: %s%n",
            ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), blasName());
        List<String> gcs = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.add(gc.getName());
        }
        List<String> memArgs = new ArrayList<>();
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-Xm") || arg.contains("PreTouch") || arg.contains("GC")) {
                memArgs.add(arg);
            }
        }
        out.printf(Locale.ROOT, "  GC: %s; heap flags: %s%n", String.join(", ", gcs),
            memArgs.isEmpty() ? "(none)" : String.join(" ", memArgs));
        if (!memArgs.contains("-XX:+AlwaysPreTouch")) {
            // Measured: the first use of each page of a growing young generation costs a page fault,
            // which tripled the per-op times of the scalar chain until the heap had settled.
            out.println("  note: heap not pre-touched; for steady numbers add -Xms8g -Xmx8g -XX:+AlwaysPreTouch");
            out.println("        (bin/sparkgrad: SPARKGRAD_JAVA_OPTS=\"-Xms8g -Xmx8g -XX:+AlwaysPreTouch\")");
        }
        out.println("  method: warm-up, then median of timed repetitions (System.nanoTime); ratio = value / baseline");
        out.flush();
    }

    /**
     * Names the BLAS implementation {@link LocalBackend} bound (VectorBLAS when the vector module is
     * present). Read reflectively for display only, because the backend does not expose it.
     */
    private static String blasName() {
        try {
            Field f = LocalBackend.class.getDeclaredField("BLAS_IMPL");
            f.setAccessible(true);
            return f.get(null).getClass().getName();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
    }

    private static void printTable(PrintStream out, List<Row> rows) {
        String head = String.format(Locale.ROOT, "%-36s %10s %-8s %10s  %-32s %8s  %-6s %s",
            "benchmark", "value", "unit", "baseline", "(baseline is)", "ratio", "status", "target");
        out.println(head);
        out.println("-".repeat(head.length() + 20));
        for (Row r : rows) {
            out.printf(Locale.ROOT, "%-36s %10s %-8s %10s  %-32s %7sx  %-6s %s%n", r.name, fmt(r.value), r.unit,
                fmt(r.baseline), r.baselineName, fmt(r.ratio()), r.status(), r.target == null ? "-" : r.target);
        }
    }

    private static void printMarkdown(PrintStream out, List<Row> rows, boolean quick) {
        out.println("Markdown" + (quick ? " (quick run: sizes / 10, targets apply to full sizes)" : "") + ":");
        out.println();
        out.println("| Benchmark | Value | Baseline | Ratio | Target | |");
        out.println("|---|---:|---|---:|---|---|");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "| %s | %s %s | %s %s (%s) | %sx | %s | %s |%n", r.name, fmt(r.value), r.unit,
                fmt(r.baseline), r.unit, r.baselineName, fmt(r.ratio()), r.target == null ? "-" : r.target,
                r.status());
        }
    }

    /** Three significant digits or so, without exponent notation for everyday magnitudes. */
    private static String fmt(double v) {
        double a = Math.abs(v);
        if (a >= 1000) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String join(int[] layers) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < layers.length; i++) {
            b.append(i == 0 ? "" : "-").append(layers[i]);
        }
        return b.toString();
    }
}
