package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.ml.classification.LogisticRegression;
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
 * between them, so its fixed costs cancel. Prints a table and writes {@code bench.csv}.
 */
final class Bench {
    private Bench() {}

    private record Row2(String name, double sparkgrad, double baseline, double jobsPerGradient, String target) {}

    static Options options() {
        return new Options("bench")
            .option("rows", "1000000", "rows of the regression benchmarks")
            .option("cols", "50", "columns")
            .option("out", "bench.csv", "where to write the table as CSV")
            .flag("quick", "every size at a tenth, for a smoke test");
    }

    static int run(Options o, PrintStream out) {
        int rows = o.positiveInt("rows") / (o.flag("quick") ? 10 : 1);
        int cols = o.positiveInt("cols");
        SpillReport.attach();
        var spark = Dist.session();
        out.printf("sparkgrad bench: %d x %d, master %s, %d cores%n", rows, cols, spark.sparkContext().master(),
            Runtime.getRuntime().availableProcessors());
        List<Row2> table = new ArrayList<>();

        Data d = Data.make(rows, cols, 1, true);
        Mllib lrMllib = mllibPerIteration(it -> new LogisticRegression().setMaxIter(it).setTol(0).setRegParam(0)
            .setStandardization(false).fit(d.frame).summary().totalIterations(), out, "LogisticRegression");
        double[] lr = perGradient(d, true);
        printCounts(out, "logistic regression", lr);
        table.add(new Row2("logistic regression, s per gradient", lr[0], lrMllib.perIteration(), lr[1], "ratio <= 0.7, 1 job"));

        Mllib lsMllib = mllibPerIteration(it -> new LinearRegression().setSolver("l-bfgs").setMaxIter(it).setTol(0)
            .setRegParam(0).setStandardization(false).setLabelCol("real").fit(d.frame).summary().totalIterations(), out,
            "LinearRegression");
        double[] ls = perGradient(d, false);
        printCounts(out, "least squares", ls);
        table.add(new Row2("least squares, s per gradient", ls[0], lsMllib.perIteration(), ls[1], "ratio <= 0.7"));
        table.add(new Row2("logistic, s per gradient vs MLlib's aggregation job", lr[0], lrMllib.jobSeconds(), lr[1],
            "report (MLlib's job alone)"));
        table.add(new Row2("least squares, s per gradient vs MLlib's aggregation job", ls[0], lsMllib.jobSeconds(), ls[1],
            "report (MLlib's job alone)"));

        long t0 = System.nanoTime();
        new LogisticRegression().setMaxIter(20).setTol(0).setStandardization(false).fit(d.frame);
        double mllibFit = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        train(d, 20);
        double ours = (System.nanoTime() - t0) / 1e9;
        table.add(new Row2("end to end, 20 iterations (s)", ours, mllibFit, Double.NaN, "ratio <= 0.5"));
        d.release();

        double[] sizes = {rows / 4.0, rows, rows * 4.0};
        double[] seconds = new double[3];
        for (int i = 0; i < 3; i++) {
            Data s = Data.make((int) sizes[i], cols, 2 + i, false); // sparkgrad only: no MLlib copy to share memory with
            seconds[i] = perGradient(s, true)[0];
            if (i < 2) {
                s.release();
            } else {
                double bytes = 8.0 * (long) sizes[i] * (cols + 1);
                double bw = memoryBandwidth();
                table.add(new Row2("bytes per s of the gradient vs memory (GB/s)", bytes / seconds[i] / 1e9, bw / 1e9,
                    Double.NaN, "report the fraction"));
                s.release();
            }
        }
        table.add(new Row2("scaling: s per gradient, 4x rows (" + (int) sizes[0] + " -> " + rows + ")", seconds[1],
            seconds[0], Double.NaN, "ratio <= 4.4"));
        table.add(new Row2("scaling: s per gradient, 4x rows (" + rows + " -> " + (int) sizes[2] + ")", seconds[2],
            seconds[1], Double.NaN, "ratio <= 4.4"));

        out.printf("%n%-58s %12s %12s %8s %8s  %s%n", "benchmark", "sparkgrad", "baseline", "ratio", "jobs", "target");
        StringBuilder csv = new StringBuilder("benchmark,sparkgrad_s,baseline_s,ratio,jobs_per_gradient\n");
        for (Row2 r : table) {
            double ratio = r.sparkgrad() / r.baseline();
            out.printf("%-58s %12.4f %12.4f %8.3f %8s  %s%n", r.name(), r.sparkgrad(), r.baseline(), ratio,
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

    /**
     * The same rows, cached, as sparkgrad arrays and, with {@code forMllib}, as an MLlib DataFrame
     * (label, real label, features).
     */
    private static final class Data {
        final NDArray x;
        final NDArray y;
        final NDArray yReal;
        final Dataset<Row> frame;

        private Data(NDArray x, NDArray y, NDArray yReal, Dataset<Row> frame) {
            this.x = x;
            this.y = y;
            this.yReal = yReal;
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
                return new Data(x, y, yReal, null);
            }
            // the same rows for MLlib: (label, real label, dense features)
            var rowsRdd = ((DistArray) x).rdd().zip(((DistArray) y).rdd()).zip(((DistArray) yReal).rdd())
                .flatMap(t -> {
                    double[] xs = t._1()._1().dataRef();
                    double[] ys = t._1()._2().dataRef();
                    double[] rs = t._2().dataRef();
                    List<Row> out = new ArrayList<>(ys.length);
                    for (int i = 0; i < ys.length; i++) {
                        out.add(RowFactory.create(ys[i], rs[i],
                            Vectors.dense(Arrays.copyOfRange(xs, i * cols, (i + 1) * cols))));
                    }
                    return out.iterator();
                });
            Dataset<Row> frame = Dist.session().createDataFrame(rowsRdd, DataTypes.createStructType(List.of(
                DataTypes.createStructField("label", DataTypes.DoubleType, false),
                DataTypes.createStructField("real", DataTypes.DoubleType, false),
                DataTypes.createStructField("features", SQLDataTypes.VectorType(), false))))
                .persist(StorageLevel.MEMORY_AND_DISK());
            frame.count();
            return new Data(x, y, yReal, frame);
        }

        void release() {
            if (frame != null) {
                frame.unpersist();
            }
            for (NDArray a : List.of(x, y, yReal)) {
                ((DistArray) a).rdd().unpersist(false);
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
        w.attachGrad();
        double[] s = new double[WARM_UPS + TIMED];
        Metrics.Snapshot before = null;
        for (int i = 0; i < s.length; i++) {
            if (i == WARM_UPS) {
                before = Dist.metrics().snapshot();
            }
            long t = System.nanoTime();
            NDArray loss;
            try (var r = Autograd.record()) {
                NDArray z = d.x.matmul(w);
                loss = logistic ? Np.binaryCrossEntropyWithLogits(z, d.y) : z.sub(d.yReal).square().mean().mul(0.5);
            }
            loss.backward();
            loss.item();
            s[i] = (System.nanoTime() - t) / 1e9;
            w.assign(w.sub(w.grad().mul(0.1)));
        }
        Metrics.Snapshot m = Dist.metrics().snapshot().minus(before);
        double[] timed = Arrays.copyOfRange(s, WARM_UPS, s.length);
        Arrays.sort(timed);
        return new double[] {timed[TIMED / 2], (double) m.jobs() / TIMED, (double) m.stages() / TIMED,
            (double) m.tasks() / TIMED};
    }

    /** {@code train --model logistic --iterations 20} (L-BFGS, standardised) on the cached rows. */
    private static void train(Data d, int iterations) {
        int cols = (int) d.x.dim(1);
        List<String> names = new ArrayList<>();
        for (int j = 0; j < cols; j++) {
            names.add("c" + j);
        }
        TrainingData data = TrainingData.of(d.x, d.y, names, "label");
        Train.fit(Model.of("logistic", cols, 2, List.of()), data,
            new Train.Setup("lbfgs", 0.1, iterations, 0, 1, 1, true), new PrintStream(OutputStream.nullOutputStream()));
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
