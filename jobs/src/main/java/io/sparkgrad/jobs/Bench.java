package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * {@code bin/sparkgrad bench}: sparkgrad's loss + gradient against Spark MLlib's hand-written
 * aggregators, side by side in one run on the same cached data, after a warm-up. MLlib's seconds
 * per iteration are the difference of a 20- and a 10-iteration fit divided by the iterations
 * between them, so its fixed costs cancel; one of its aggregation jobs (timed with a listener) is
 * one evaluation of its loss and gradient. Groups of rows ({@code --only}): logistic regression
 * and least squares, scaling, softmax regression (10 classes), the MLP 50-64-32-3 against MLlib's
 * {@code MultilayerPerceptronClassifier}. Prints a table, the BLAS each side uses, and with
 * {@code --profile} the per-step times of an MLP gradient's tasks; writes {@code bench.csv}.
 */
final class Bench {
    private Bench() {}

    record Row2(String name, double sparkgrad, double baseline, double jobsPerGradient, String target) {}

    static Options options() {
        return new Options("bench")
            .option("rows", "1000000", "rows of the regression benchmarks")
            .option("cols", "50", "columns")
            .option("out", "bench.csv", "where to write the table as CSV")
            .option("only", "all", "the groups of rows to run, comma-separated: logistic (logistic regression and "
                + "least squares), scaling, softmax, mlp, sparse (logistic regression on 2^20 hashed features, 40 "
                + "non-zeros a row, --sparse-rows rows), product (two big matrices), aggregation (a gradient of 2^22 "
                + "weights), float32 (logistic regression on float32 blocks vs float64 blocks); all: every group")
            .option("sparse-rows", "1000000", "rows of the sparse group")
            .option("product-size", "4096", "the size n of the n x n x n product of the product group")
            .option("product-tile", "1024", "its tiles' rows and columns")
            .flag("profile", "also print where an MLP gradient's time goes inside the tasks (the block program's steps)")
            .flag("quick", "every size at a tenth, for a smoke test");
    }

    private static final List<String> GROUPS = List.of("logistic", "scaling", "softmax", "mlp", "sparse", "product",
        "aggregation", "float32");
    private static final int[] MLP_LAYERS = {64, 32};

    static int run(Options o, PrintStream out) {
        int rows = o.positiveInt("rows") / (o.flag("quick") ? 10 : 1);
        int cols = o.positiveInt("cols");
        List<String> only = o.string("only").equals("all") ? GROUPS : o.list("only");
        for (String g : only) {
            if (!GROUPS.contains(g)) {
                throw new JobError("bench: --only takes " + String.join(", ", GROUPS) + " or all, got '" + g + "'");
            }
        }
        SpillReport.attach();
        var spark = Dist.session();
        out.printf("sparkgrad bench: %d x %d, master %s, %d cores, %s %s, %s%n", rows, cols, spark.sparkContext().master(),
            Runtime.getRuntime().availableProcessors(), System.getProperty("os.arch"), cpuName(),
            "Java " + System.getProperty("java.version"));
        out.printf("BLAS: sparkgrad %s; MLlib %s%n", io.sparkgrad.np.LocalBackend.blasName(), mllibBlasName());
        List<Row2> table = new ArrayList<>();

        if (only.contains("logistic") || only.contains("softmax") || only.contains("mlp")) {
            Data d = Data.make(rows, cols, 1, true);
            if (only.contains("logistic")) {
                logisticRows(d, out, table);
            }
            if (only.contains("softmax")) {
                softmaxRows(d, out, table);
            }
            if (only.contains("mlp")) {
                mlpRows(d, cols, out, table, o.flag("profile"));
            }
            d.release();
        }
        if (only.contains("sparse")) {
            sparseRows(o.positiveInt("sparse-rows") / (o.flag("quick") ? 10 : 1), out, table);
        }
        if (only.contains("scaling")) {
            scalingRows(rows, cols, table);
        }
        if (only.contains("product")) {
            int size = o.positiveInt("product-size") / (o.flag("quick") ? 4 : 1);
            BigBench.product(size, Math.min(size, o.positiveInt("product-tile")), out, table);
        }
        if (only.contains("aggregation")) {
            BigBench.aggregation(rows, out, table);
        }
        if (only.contains("float32")) {
            float32Rows(rows, cols, out, table, o.flag("profile"));
        }

        out.printf("%n%-70s %12s %12s %8s %8s  %s%n", "benchmark", "sparkgrad", "baseline", "ratio", "jobs", "target");
        StringBuilder csv = new StringBuilder("benchmark,sparkgrad_s,baseline_s,ratio,jobs_per_gradient\n");
        for (Row2 r : table) {
            double ratio = r.sparkgrad() / r.baseline();
            out.printf("%-70s %12.4f %12.4f %8.3f %8s  %s%n", r.name(), r.sparkgrad(), r.baseline(), ratio,
                Double.isNaN(r.jobsPerGradient()) ? "-" : String.format("%.1f", r.jobsPerGradient()), r.target());
            csv.append('"').append(r.name()).append("\",").append(r.sparkgrad()).append(',').append(r.baseline())
                .append(',').append(ratio).append(',').append(Double.isNaN(r.jobsPerGradient()) ? "" : r.jobsPerGradient())
                .append('\n');
        }
        try {
            Files.writeString(Path.of(o.string("out")), csv);
        } catch (IOException e) {
            throw new JobError("bench: cannot write " + o.string("out") + ": " + e.getMessage(), e);
        }
        out.println("bench: wrote " + o.string("out"));
        return 0;
    }

    /** Logistic regression and least squares against MLlib's per-iteration time and aggregation jobs; end to end. */
    private static void logisticRows(Data d, PrintStream out, List<Row2> table) {
        Mllib lrMllib = mllibPerIteration(it -> new LogisticRegression().setMaxIter(it).setTol(0).setRegParam(0)
            .setStandardization(false).fit(d.frame).summary().totalIterations(), out, "LogisticRegression");
        double[] lr = perGradient(d, true);
        printCounts(out, "logistic regression", lr);
        table.add(new Row2("logistic regression, s per gradient vs MLlib per iteration", lr[0], lrMllib.perIteration(),
            lr[1], "ratio <= 0.5, 1 job"));

        Mllib lsMllib = mllibPerIteration(it -> new LinearRegression().setSolver("l-bfgs").setMaxIter(it).setTol(0)
            .setRegParam(0).setStandardization(false).setLabelCol("real").fit(d.frame).summary().totalIterations(), out,
            "LinearRegression");
        double[] ls = perGradient(d, false);
        printCounts(out, "least squares", ls);
        table.add(new Row2("least squares, s per gradient vs MLlib per iteration", ls[0], lsMllib.perIteration(), ls[1],
            "ratio <= 0.5"));
        table.add(new Row2("logistic regression, s per gradient vs MLlib's aggregation job", lr[0], lrMllib.jobSeconds(),
            lr[1], "ratio <= 0.5"));
        table.add(new Row2("least squares, s per gradient vs MLlib's aggregation job", ls[0], lsMllib.jobSeconds(), ls[1],
            "ratio <= 0.5"));

        long t0 = System.nanoTime();
        new LogisticRegression().setMaxIter(20).setTol(0).setStandardization(false).fit(d.frame);
        double mllibFit = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        train(d, "logistic", d.y, 2, 20, true);
        double ours = (System.nanoTime() - t0) / 1e9;
        table.add(new Row2("logistic regression end to end, 20 iterations (s) vs MLlib's fit", ours, mllibFit, Double.NaN,
            "ratio <= 0.5"));
    }

    /**
     * Sparse logistic regression, {@code rows} x 2^20 hashed features with 40 non-zeros a row: one
     * loss + gradient (weights and intercept) against one of MLlib's aggregation jobs over the same
     * cached rows (a DataFrame of {@code SparseVector}s, from which sparkgrad reads its sparse
     * blocks, in the same partitions), and the cached size of each.
     */
    private static void sparseRows(int rows, PrintStream out, List<Row2> table) {
        int features = 1 << 20;
        int partitions = Math.max(2, Dist.session().sparkContext().defaultParallelism());
        SparseBench.Data s = SparseBench.make(rows, features, 40, 7, partitions);
        out.printf("sparse data: %d x %d, 40 non-zeros a row, %d partitions; cached: sparkgrad %.1f MB, "
            + "MLlib's DataFrame %.1f MB%n", rows, features, partitions, s.arrayBytes() / 1e6, s.frameBytes() / 1e6);
        AggregateJobs jobs = timeJobs(() -> new LogisticRegression().setMaxIter(10).setTol(0).setRegParam(0)
            .setStandardization(false).fit(s.frame()));
        double mllibJob = jobs.medianSeconds();
        out.printf("MLlib LogisticRegression on sparse rows: %d aggregation jobs in 10 iterations, median %.3f s%n",
            jobs.millis.size(), mllibJob);
        NDArray w = Np.zeros(features);
        NDArray b = Np.zeros(1);
        double[] g = perGradient(List.of(w, b), 0.1, () -> Np.binaryCrossEntropyWithLogits(s.x().matmul(w).add(b), s.y()));
        printCounts(out, "sparse logistic regression", g);
        table.add(new Row2("sparse logistic 2^20 features, s per gradient vs MLlib's aggregation job", g[0], mllibJob, g[1],
            "ratio <= 0.5"));
        table.add(new Row2("sparse logistic 2^20 features, cached MB vs MLlib's cached DataFrame", s.arrayBytes() / 1e6,
            s.frameBytes() / 1e6, Double.NaN, "ratio <= 1"));
        s.release();
    }

    /** Softmax regression of 10 classes: s per gradient against MLlib's multinomial aggregation job. */
    private static void softmaxRows(Data d, PrintStream out, List<Row2> table) {
        AggregateJobs jobs = timeJobs(() -> new LogisticRegression().setFamily("multinomial").setLabelCol("class10")
            .setMaxIter(10).setTol(0).setRegParam(0).setStandardization(false).fit(d.frame));
        double mllibJob = jobs.medianSeconds();
        out.printf("MLlib multinomial LogisticRegression (10 classes): %d aggregation jobs in 10 iterations, median %.3f s%n",
            jobs.millis.size(), mllibJob);
        int cols = (int) d.x.dim(1);
        double[] sm = perGradient(Model.of("softmax", cols, 10, List.of()), d.x, d.class10);
        printCounts(out, "softmax regression (10 classes)", sm);
        table.add(new Row2("softmax regression (10 classes), s per gradient vs MLlib's aggregation job", sm[0], mllibJob,
            sm[1], "ratio <= 0.5"));
    }

    /**
     * The MLP 50-64-32-3 (ReLU hidden layers, softmax cross-entropy) against MLlib's
     * MultilayerPerceptronClassifier with the same layers (sigmoid hidden layers, softmax output):
     * one loss + gradient against one of MLlib's aggregation jobs, 20 L-BFGS iterations against
     * MLlib's 20, and the gradient's arithmetic rate against a matrix product on every core.
     */
    private static void mlpRows(Data d, int cols, PrintStream out, List<Row2> table, boolean profile) {
        String layers = cols + "-" + MLP_LAYERS[0] + "-" + MLP_LAYERS[1] + "-3";
        int[] mllibLayers = {cols, MLP_LAYERS[0], MLP_LAYERS[1], 3};
        Function<Integer, MultilayerPerceptronClassifier> mlpc = it -> new MultilayerPerceptronClassifier()
            .setLayers(mllibLayers).setMaxIter(it).setTol(0).setSeed(1).setLabelCol("class3");
        mlpc.apply(2).fit(d.frame); // warm-up
        System.gc();
        long t0 = System.nanoTime();
        int[] mllibIterations = {0};
        AggregateJobs jobs = timeJobs(() -> mllibIterations[0] = mlpc.apply(20).fit(d.frame).summary().totalIterations());
        double mllibFit = (System.nanoTime() - t0) / 1e9;
        double mllibJob = jobs.medianSeconds();
        out.printf("MLlib MultilayerPerceptronClassifier %s: %d iterations in %.3f s, %d aggregation jobs, median %.3f s%n",
            layers, mllibIterations[0], mllibFit, jobs.millis.size(), mllibJob);

        Model mlp = Model.of("mlp", cols, 3, List.of(MLP_LAYERS[0], MLP_LAYERS[1]));
        double[] g = perGradient(mlp, d.x, d.class3);
        printCounts(out, "mlp " + layers, g);
        table.add(new Row2("mlp " + layers + ", s per loss + gradient vs MLlib's aggregation job", g[0], mllibJob, g[1],
            "ratio <= 0.5"));

        System.gc();
        Metrics.Snapshot before = Dist.metrics().snapshot();
        t0 = System.nanoTime();
        train(d, "mlp", d.class3, 3, 20, false);
        double ours = (System.nanoTime() - t0) / 1e9;
        Metrics.Snapshot m = Dist.metrics().snapshot().minus(before);
        out.printf("sparkgrad mlp %s: 20 L-BFGS iterations in %.3f s, %d jobs%n", layers, ours, m.jobs());
        table.add(new Row2("mlp " + layers + ", s per iteration (20 of L-BFGS) vs MLlib per iteration", ours / 20,
            mllibFit / mllibIterations[0], Double.NaN, "ratio <= 0.5"));

        double flops = mlpFlops(d.x.dim(0), cols, MLP_LAYERS, 3);
        double peak = matmulPeak();
        out.printf("mlp gradient: %.1f GFLOP (forward, weight gradients, hidden layers' gradients), %.1f GFLOP/s; "
            + "matmul 1000^3 on %d threads: %.1f GFLOP/s%n", flops / 1e9, flops / g[0] / 1e9,
            Runtime.getRuntime().availableProcessors(), peak / 1e9);
        table.add(new Row2("mlp " + layers + ", gradient's GFLOP/s vs matmul peak (all cores)", flops / g[0] / 1e9,
            peak / 1e9, Double.NaN, "ratio >= 0.5"));
        if (profile) {
            profile(mlp, d.x, d.class3, g[0], out);
        }
    }

    /** The flops of an MLP's loss and gradient: the products of the forward pass, of the weights' and hidden layers' gradients. */
    static double mlpFlops(long rows, int cols, int[] hidden, int classes) {
        int[] w = new int[hidden.length + 2];
        w[0] = cols;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = classes;
        double perRow = 0;
        for (int l = 1; l < w.length; l++) {
            double product = 2.0 * w[l - 1] * w[l];
            perRow += product * (l == 1 ? 2 : 3); // the first layer's input needs no gradient
        }
        return perRow * rows;
    }

    /** Prints where a loss + gradient's time goes inside the tasks: the block program's steps, over 3 gradients. */
    private static void profile(Model model, NDArray x, NDArray y, double secondsPerGradient, PrintStream out) {
        List<NDArray> params = model.init(7);
        params.forEach(NDArray::attachGrad);
        int runs = 3;
        io.sparkgrad.worker.StepTimes.start();
        long t0 = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            NDArray loss;
            try (var r = Autograd.record()) {
                loss = model.rowLoss(x, y, params).mean();
            }
            loss.backward();
            loss.item();
        }
        double wall = (System.nanoTime() - t0) / 1e9 / runs;
        List<io.sparkgrad.worker.StepTimes.Entry> table = io.sparkgrad.worker.StepTimes.stop();
        double total = 0;
        for (var e : table) {
            total += e.nanos();
        }
        out.printf("%nwhere an MLP gradient's time goes inside its tasks (%d gradients; %.3f s each with the timers, "
            + "%.3f s without; task time summed over the cores, ms per gradient):%n", runs, wall, secondsPerGradient);
        out.printf("%10s %6s %9s  %s%n", "ms", "share", "calls", "step (kind, kernel, chunk shape <- arguments)");
        for (var e : table) {
            out.printf("%10.1f %5.1f%% %9d  %s%n", e.nanos() / 1e6 / runs, 100.0 * e.nanos() / total, e.calls() / runs,
                e.what());
        }
        out.printf("%10.1f %5.1f%%            total%n", total / 1e6 / runs, 100.0);
    }

    /** Floating-point operations per second of a 1000 x 1000 product on every core at once (each its own), best of 3. */
    private static double matmulPeak() {
        int n = 1000;
        int threads = Runtime.getRuntime().availableProcessors();
        NDArray a = Np.randomNormal(0, 1, n, n);
        NDArray b = Np.randomNormal(0, 1, n, n);
        a.matmul(b); // warm-up
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            List<Thread> ts = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> a.matmul(b).toArray());
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                try {
                    th.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new JobError("bench: interrupted");
                }
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return threads * 2.0 * n * n * n / best;
    }

    /** Scaling of the logistic gradient with the rows, and its read rate against a plain loop over memory. */
    private static void scalingRows(int rows, int cols, List<Row2> table) {
        double[] sizes = {rows / 4.0, rows, rows * 4.0};
        double[] seconds = new double[3];
        for (int i = 0; i < 3; i++) {
            Data s = Data.make((int) sizes[i], cols, 2 + i, false); // sparkgrad only: no MLlib copy to share memory with
            seconds[i] = perGradient(s, true)[0];
            if (i == 2) {
                double bytes = 8.0 * (long) sizes[i] * (cols + 1);
                double bw = memoryBandwidth();
                table.add(new Row2("logistic regression, gradient's read rate (GB/s) vs memory", bytes / seconds[i] / 1e9,
                    bw / 1e9, Double.NaN, "ratio >= 0.6"));
            }
            s.release();
        }
        table.add(new Row2("logistic regression scaling: s per gradient, 4x rows (" + (int) sizes[0] + " -> " + rows
            + ")", seconds[1], seconds[0], Double.NaN, "ratio <= 4.4"));
        table.add(new Row2("logistic regression scaling: s per gradient, 4x rows (" + rows + " -> " + (int) sizes[2]
            + ")", seconds[2], seconds[1], Double.NaN, "ratio <= 4.4"));
    }

    /**
     * Logistic regression's loss + gradient over the same cached rows as float32 blocks and as
     * float64 blocks, each timed twice, interleaved, the faster median of each kept (the machine's
     * load drifts between them); prints the cached bytes of each.
     */
    private static void float32Rows(int rows, int cols, PrintStream out, List<Row2> table, boolean profile) {
        Data d = Data.make(rows, cols, 6, false);
        NDArray x32 = Dist.cache(d.x.astype(DType.FLOAT32));
        NDArray y32 = Dist.cache(d.y.astype(DType.FLOAT32));
        out.printf("float32 blocks: X cached in %.1f MB, float64 blocks %.1f MB%n", cachedBytes(x32) / 1e6,
            cachedBytes(d.x) / 1e6);
        double[] s64 = null;
        double[] s32 = null;
        for (int round = 0; round < 2; round++) {
            double[] a = logisticPerGradient(d.x, d.y, DType.FLOAT64);
            double[] b = logisticPerGradient(x32, y32, DType.FLOAT32);
            s64 = s64 == null || a[0] < s64[0] ? a : s64;
            s32 = s32 == null || b[0] < s32[0] ? b : s32;
        }
        printCounts(out, "logistic regression on float32 blocks", s32);
        if (profile) {
            for (boolean f32 : new boolean[] {false, true}) {
                NDArray x = f32 ? x32 : d.x;
                NDArray y = f32 ? y32 : d.y;
                NDArray w = Np.zeros(new int[] {cols}, f32 ? DType.FLOAT32 : DType.FLOAT64);
                w.attachGrad();
                io.sparkgrad.worker.StepTimes.start();
                for (int i = 0; i < 3; i++) {
                    NDArray loss;
                    try (var r = Autograd.record()) {
                        loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), y);
                    }
                    loss.backward();
                    loss.item();
                }
                out.printf("%nwhere a logistic gradient's task time goes, %s blocks (ms per gradient):%n",
                    f32 ? "float32" : "float64");
                for (var e : io.sparkgrad.worker.StepTimes.stop()) {
                    out.printf("%10.1f %9d  %s%n", e.nanos() / 1e6 / 3, e.calls() / 3, e.what());
                }
            }
        }
        table.add(new Row2("logistic float32, s per loss + gradient vs float64 blocks", s32[0], s64[0], s32[1],
            "ratio <= 0.6"));
        ((DistArray) x32).rdd().unpersist(false);
        ((DistArray) y32).rdd().unpersist(false);
        d.release();
    }

    /** {@link #perGradient(Data, boolean)}'s logistic loss over {@code x} and {@code y}, weights of {@code dtype}. */
    private static double[] logisticPerGradient(NDArray x, NDArray y, DType dtype) {
        NDArray w = Np.zeros(new int[] {(int) x.dim(1)}, dtype);
        return perGradient(List.of(w), 0.1, () -> Np.binaryCrossEntropyWithLogits(x.matmul(w), y));
    }

    /** The bytes Spark's storage holds of a cached distributed array's blocks (memory and disk). */
    private static long cachedBytes(NDArray a) {
        int id = ((DistArray) a).rdd().id();
        for (org.apache.spark.storage.RDDInfo info : Dist.session().sparkContext().getRDDStorageInfo()) {
            if (info.id() == id) {
                return info.memSize() + info.diskSize();
            }
        }
        return 0;
    }

    /** The BLAS MLlib's products run through: netlib's native one where the machine has it, else its Java one. */
    private static String mllibBlasName() {
        try {
            return dev.ludovic.netlib.blas.NativeBLAS.getInstance().getClass().getSimpleName();
        } catch (Throwable e) {
            return dev.ludovic.netlib.blas.JavaBLAS.getInstance().getClass().getSimpleName() + " (no native BLAS here)";
        }
    }

    private static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture alone
        }
        return "";
    }

    /**
     * The same rows, cached, as sparkgrad arrays and, with {@code forMllib}, as an MLlib DataFrame
     * (label, real label, features).
     */
    private static final class Data {
        final NDArray x;
        final NDArray y;
        final NDArray yReal;
        final NDArray class3;
        final NDArray class10;
        final Dataset<Row> frame;

        private Data(NDArray x, NDArray y, NDArray yReal, NDArray class3, NDArray class10, Dataset<Row> frame) {
            this.x = x;
            this.y = y;
            this.yReal = yReal;
            this.class3 = class3;
            this.class10 = class10;
            this.frame = frame;
        }

        static Data make(int rows, int cols, long seed, boolean forMllib) {
            int blockRows = Dist.defaultBlockRows(cols);
            // Correlated features: independent components of scales 1 down to 1e-3, mixed by a
            // random matrix. Standardising columns does not undo that, so neither L-BFGS converges
            // within 20 iterations and every fit runs the iterations it is asked for.
            Np.seed(seed);
            double[] scales = new double[cols];
            for (int j = 0; j < cols; j++) {
                scales[j] = Math.pow(10, -3.0 * j / Math.max(1, cols - 1));
            }
            NDArray mix = Np.array(scales).reshape(-1, 1).mul(Np.randomNormal(0, 1.0 / Math.sqrt(cols), cols, cols));
            NDArray x = Dist.cache(Dist.randomNormal(seed, blockRows, rows, cols).matmul(mix));
            NDArray score = x.matmul(Np.randomNormal(0, 1.0 / Math.sqrt(cols), cols));
            NDArray y = Dist.cache(score.add(Dist.randomNormal(seed + 100, blockRows, rows)).gt(0));
            NDArray yReal = Dist.cache(score.add(Dist.randomNormal(seed + 200, blockRows, rows).mul(0.1)));
            if (!forMllib) {
                return new Data(x, y, yReal, null, null, null);
            }
            // class labels: the noisy score cut at thresholds that spread it over 3 and 10 classes
            NDArray noisy = Dist.cache(score.add(Dist.randomNormal(seed + 300, blockRows, rows).mul(0.3)));
            double sd = noisy.square().mean().sqrt().item();
            NDArray class3 = Dist.cache(noisy.gt(-0.4 * sd).add(noisy.gt(0.4 * sd)));
            NDArray class10 = null;
            for (int c = 1; c < 10; c++) {
                NDArray above = noisy.gt(sd * (c - 5) / 3.0);
                class10 = class10 == null ? above : class10.add(above);
            }
            class10 = Dist.cache(class10);
            ((DistArray) noisy).rdd().unpersist(false);
            // the same rows for MLlib: (label, real label, 3 classes, 10 classes, dense features)
            var rowsRdd = ((DistArray) x).rdd().zip(((DistArray) y).rdd()).zip(((DistArray) yReal).rdd())
                .zip(((DistArray) class3).rdd()).zip(((DistArray) class10).rdd())
                .flatMap(t -> {
                    double[] xs = t._1()._1()._1()._1().dataRef();
                    double[] ys = t._1()._1()._1()._2().dataRef();
                    double[] rs = t._1()._1()._2().dataRef();
                    double[] c3 = t._1()._2().dataRef();
                    double[] c10 = t._2().dataRef();
                    List<Row> out = new ArrayList<>(ys.length);
                    for (int i = 0; i < ys.length; i++) {
                        out.add(RowFactory.create(ys[i], rs[i], c3[i], c10[i],
                            Vectors.dense(Arrays.copyOfRange(xs, i * cols, (i + 1) * cols))));
                    }
                    return out.iterator();
                });
            Dataset<Row> frame = Dist.session().createDataFrame(rowsRdd, DataTypes.createStructType(List.of(
                DataTypes.createStructField("label", DataTypes.DoubleType, false),
                DataTypes.createStructField("real", DataTypes.DoubleType, false),
                DataTypes.createStructField("class3", DataTypes.DoubleType, false),
                DataTypes.createStructField("class10", DataTypes.DoubleType, false),
                DataTypes.createStructField("features", SQLDataTypes.VectorType(), false))))
                .persist(StorageLevel.MEMORY_AND_DISK());
            frame.count();
            return new Data(x, y, yReal, class3, class10, frame);
        }

        void release() {
            if (frame != null) {
                frame.unpersist();
            }
            for (NDArray a : new NDArray[] {x, y, yReal, class3, class10}) {
                if (a != null) {
                    ((DistArray) a).rdd().unpersist(false);
                }
            }
        }
    }

    private static void printCounts(PrintStream out, String what, double[] r) {
        out.printf("sparkgrad %s: %.3f s per loss + gradient; per gradient %.1f jobs, %.1f stages, %.1f tasks%n", what,
            r[0], r[1], r[2], r[3]);
    }

    private static final int WARM_UPS = 5;
    private static final int TIMED = 12;

    /**
     * Median seconds per loss + gradient over {@link #TIMED} iterations after {@link #WARM_UPS}
     * (the JIT compiles the vectorised kernels over the first few); jobs, stages and tasks per
     * gradient.
     */
    private static double[] perGradient(Data d, boolean logistic) {
        NDArray w = Np.zeros(d.x.shape()[1]);
        return perGradient(List.of(w), 0.1, () -> {
            NDArray z = d.x.matmul(w);
            return logistic ? Np.binaryCrossEntropyWithLogits(z, d.y) : z.sub(d.yReal).square().mean().mul(0.5);
        });
    }

    /**
     * Median seconds per loss + gradient of {@code model} (its mean row loss) over {@link #TIMED}
     * evaluations after {@link #WARM_UPS}, with a small gradient step between them; jobs, stages
     * and tasks per gradient.
     */
    private static double[] perGradient(Model model, NDArray x, NDArray y) {
        List<NDArray> params = model.init(1);
        return perGradient(params, 0.01, () -> model.rowLoss(x, y, params).mean());
    }

    /**
     * Median seconds per loss (recorded by {@code loss}) and gradient of {@code params} over
     * {@link #TIMED} evaluations after {@link #WARM_UPS}, a gradient step of {@code step} between
     * them; jobs, stages and tasks per gradient.
     */
    private static double[] perGradient(List<NDArray> params, double step, java.util.function.Supplier<NDArray> loss) {
        params.forEach(NDArray::attachGrad);
        double[] s = new double[WARM_UPS + TIMED];
        Metrics.Snapshot before = null;
        for (int i = 0; i < s.length; i++) {
            if (i == WARM_UPS) {
                before = Dist.metrics().snapshot();
            }
            long t = System.nanoTime();
            NDArray l;
            try (var r = Autograd.record()) {
                l = loss.get();
            }
            l.backward();
            l.item();
            s[i] = (System.nanoTime() - t) / 1e9;
            for (NDArray p : params) {
                p.assign(p.sub(p.grad().mul(step)));
            }
        }
        Metrics.Snapshot m = Dist.metrics().snapshot().minus(before);
        double[] timed = Arrays.copyOfRange(s, WARM_UPS, s.length);
        Arrays.sort(timed);
        return new double[] {timed[TIMED / 2], (double) m.jobs() / TIMED, (double) m.stages() / TIMED,
            (double) m.tasks() / TIMED};
    }

    /** {@code train --model kind --iterations n} (L-BFGS) on the cached rows with labels {@code y}. */
    private static void train(Data d, String kind, NDArray y, int classes, int iterations, boolean standardize) {
        int cols = (int) d.x.dim(1);
        List<String> names = new ArrayList<>();
        for (int j = 0; j < cols; j++) {
            names.add("c" + j);
        }
        TrainingData data = TrainingData.of(d.x, y, names, "label");
        Train.fit(Model.of(kind, cols, classes, kind.equals("mlp") ? List.of(MLP_LAYERS[0], MLP_LAYERS[1]) : List.of()),
            data, new Train.Setup("lbfgs", 0.1, iterations, 0, 1, 1, standardize),
            new PrintStream(OutputStream.nullOutputStream()));
    }

    /** MLlib's seconds per iteration by the method, and the median duration of its aggregation jobs. */
    private record Mllib(double perIteration, double jobSeconds, double jobsPerIteration, double stagesPerJob) {}

    /**
     * Times the Spark jobs whose call site is an MLlib {@code treeAggregate} (one per evaluation of
     * MLlib's loss and gradient), with the stages each ran.
     */
    private static final class AggregateJobs extends org.apache.spark.scheduler.SparkListener {
        private final java.util.Map<Integer, Long> started = new java.util.concurrent.ConcurrentHashMap<>();
        final List<Long> millis = java.util.Collections.synchronizedList(new ArrayList<>());
        final java.util.concurrent.atomic.AtomicInteger stages = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
            // a stage is named after the call site of the action that made it
            boolean aggregate = scala.jdk.javaapi.CollectionConverters.asJava(e.stageInfos()).stream()
                .anyMatch(st -> st.name().startsWith("treeAggregate"));
            if (aggregate) {
                started.put(e.jobId(), e.time());
                stages.addAndGet(e.stageIds().size());
            }
        }

        @Override
        public void onJobEnd(org.apache.spark.scheduler.SparkListenerJobEnd e) {
            Long t = started.remove(e.jobId());
            if (t != null) {
                millis.add(e.time() - t);
            }
        }

        /** The median duration of the jobs seen, in seconds (NaN if none). */
        double medianSeconds() {
            long[] ms = millis.stream().mapToLong(Long::longValue).sorted().toArray();
            return ms.length == 0 ? Double.NaN : ms[ms.length / 2] / 1e3;
        }
    }

    /** Runs {@code fit} with a listener that times MLlib's aggregation jobs. */
    private static AggregateJobs timeJobs(Runnable fit) {
        AggregateJobs jobs = new AggregateJobs();
        var sc = Dist.session().sparkContext();
        sc.addSparkListener(jobs);
        try {
            fit.run();
            Dist.metrics().snapshot(); // waits for the listener bus to deliver the fit's events
        } finally {
            sc.removeSparkListener(jobs);
        }
        return jobs;
    }

    private static final int PAIRS = 5;

    /**
     * MLlib's seconds per iteration: a 10- and a 20-iteration fit, {@link #PAIRS} times in adjacent pairs,
     * the median of the pairs' differences divided by the difference of the iterations they ran
     * (as MLlib's training summary reports them, so that a fit that stops early is not counted as
     * 10 iterations). The difference of two fits of ~10 s each is noisy on a shared machine, so
     * the median duration of MLlib's aggregation jobs during the 20-iteration fits is also
     * reported: what one evaluation of its loss and gradient costs, without its driver's work.
     */
    private static Mllib mllibPerIteration(Function<Integer, Integer> fit, PrintStream out, String name) {
        fit.apply(5); // warm-up
        double[] perIteration = new double[PAIRS];
        double[] ten = new double[PAIRS];
        double[] twenty = new double[PAIRS];
        int itTen = 0;
        int itTwenty = 0;
        AggregateJobs jobs = new AggregateJobs();
        var sc = Dist.session().sparkContext();
        for (int rep = 0; rep < PAIRS; rep++) {
            System.gc(); // each fit starts from a collected heap: a collection of the last fit's data is not timed
            long t0 = System.nanoTime();
            itTen = fit.apply(10);
            ten[rep] = (System.nanoTime() - t0) / 1e9;
            sc.addSparkListener(jobs);
            System.gc();
            t0 = System.nanoTime();
            itTwenty = fit.apply(20);
            twenty[rep] = (System.nanoTime() - t0) / 1e9;
            Dist.metrics().snapshot(); // waits for the listener bus to deliver the fit's events
            sc.removeSparkListener(jobs);
            if (itTwenty - itTen < 5) {
                throw new JobError("bench: MLlib's " + name + " stopped after " + itTwenty + " iterations; the data "
                    + "converge too fast to measure 10 iterations");
            }
            perIteration[rep] = (twenty[rep] - ten[rep]) / (itTwenty - itTen);
        }
        double[] sorted = perIteration.clone();
        Arrays.sort(sorted);
        double median = sorted[PAIRS / 2];
        long[] ms = jobs.millis.stream().mapToLong(Long::longValue).sorted().toArray();
        double jobSeconds = ms.length == 0 ? Double.NaN : ms[ms.length / 2] / 1e3;
        Mllib m = new Mllib(median, jobSeconds, ms.length / ((double) PAIRS * itTwenty), ms.length == 0 ? 0 : (double) jobs.stages.get() / ms.length);
        out.printf("MLlib %s: %d and %d iterations in %s and %s s; %.3f s per iteration (median of %s)%n", name, itTen,
            itTwenty, fmt(ten), fmt(twenty), m.perIteration(), fmt(perIteration));
        out.printf("MLlib %s: %.1f aggregation jobs per iteration, %.1f stages each, median %.3f s per job%n", name,
            m.jobsPerIteration(), m.stagesPerJob(), m.jobSeconds());
        return m;
    }

    private static String fmt(double[] v) {
        StringBuilder sb = new StringBuilder();
        for (double x : v) {
            sb.append(sb.length() == 0 ? "" : ", ").append(String.format("%.3f", x));
        }
        return sb.toString();
    }

    /** Bytes per second of a plain loop summing a 512 MiB array, best of 5. */
    private static double memoryBandwidth() {
        double[] a = new double[64 << 20];
        Arrays.fill(a, 1.0);
        double best = Double.MAX_VALUE;
        double sink = 0;
        for (int r = 0; r < 5; r++) {
            long t = System.nanoTime();
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            for (int i = 0; i < a.length; i += 4) {
                s0 += a[i];
                s1 += a[i + 1];
                s2 += a[i + 2];
                s3 += a[i + 3];
            }
            sink += s0 + s1 + s2 + s3;
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        if (sink == 42) {
            System.out.print("");
        }
        return 8.0 * a.length / best;
    }
}
