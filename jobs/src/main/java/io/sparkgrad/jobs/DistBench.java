package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Logistic regression loss + gradient on distributed data generated on the executors and cached
 * first: seconds per gradient and Spark jobs, stages and tasks per gradient, with the rate at
 * which the gradient reads the cached blocks.
 */
public final class DistBench {
    private DistBench() {}

    /** Runs the benchmark; {@code rows} x {@code cols} data, {@code iterations} timed gradients. */
    public static void run(PrintStream out, int rows, int cols, int iterations) {
        SpillReport.attach();
        var spark = Dist.session();
        out.printf("sparkgrad distributed benchmark: logistic regression loss + gradient%n");
        out.printf("master %s, %d rows x %d columns, float64, %d timed iterations%n",
            spark.sparkContext().master(), rows, cols, iterations);

        int blockRows = Dist.defaultBlockRows(cols);
        long t0 = System.nanoTime();
        NDArray x = Dist.cache(Dist.randomNormal(1, blockRows, rows, cols));
        NDArray trueW = Np.randomNormal(0, 1.0 / Math.sqrt(cols), cols);
        NDArray labels = Dist.cache(x.matmul(trueW).add(Dist.randomNormal(2, blockRows, rows)).gt(0));
        double cacheSeconds = (System.nanoTime() - t0) / 1e9;
        out.printf("data generated on the executors and cached in %.1f s (%d blocks of %d rows)%n",
            cacheSeconds, (rows + blockRows - 1) / blockRows, blockRows);

        NDArray w = Np.zeros(cols);
        w.attachGrad();
        for (int i = 0; i < 20; i++) {
            step(x, labels, w); // warm-up: the JIT compiles the vectorised kernels over the first dozen or so
        }
        double[] seconds = new double[iterations];
        Metrics.Snapshot before = Dist.metrics().snapshot();
        double loss = 0;
        for (int i = 0; i < iterations; i++) {
            long s = System.nanoTime();
            loss = step(x, labels, w);
            seconds[i] = (System.nanoTime() - s) / 1e9;
        }
        Metrics.Snapshot m = Dist.metrics().snapshot().minus(before);
        Arrays.sort(seconds);
        double median = seconds[iterations / 2];
        double gib = 8.0 * rows * (cols + 1) / (1L << 30);
        out.printf("%-34s %10.3f s   (min %.3f, max %.3f)%n", "seconds per loss + gradient (median)", median,
            seconds[0], seconds[iterations - 1]);
        out.printf("%-34s %10.2f     (%d forward, %d backward)%n", "Spark jobs per gradient",
            (double) m.jobs() / iterations, m.forwardJobs() / iterations, m.backwardJobs() / iterations);
        out.printf("%-34s %10.2f%n", "stages per gradient", (double) m.stages() / iterations);
        out.printf("%-34s %10.2f%n", "tasks per gradient", (double) m.tasks() / iterations);
        out.printf("%-34s %10.2f GiB/s (cached X and labels, %.2f GiB, read per gradient)%n", "data rate",
            gib / median, gib);
        out.printf("last loss %.6f%n", loss);
    }

    /** One loss + gradient, and a gradient step so that iterations differ. */
    private static double step(NDArray x, NDArray labels, NDArray w) {
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), labels);
        }
        loss.backward();
        w.assign(w.sub(w.grad().mul(0.5)));
        return loss.item();
    }
}
