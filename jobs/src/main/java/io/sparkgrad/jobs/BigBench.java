package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.dist.Metrics;
import io.sparkgrad.dist.Settings;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.mllib.linalg.DenseMatrix;
import org.apache.spark.mllib.linalg.Matrix;
import org.apache.spark.mllib.linalg.distributed.BlockMatrix;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark rows of data too big for one JVM on either side: a product of two big matrices
 * against MLlib's {@code BlockMatrix.multiply} on the same tiles, and the gradient of a parameter
 * of 2^22 entries summed on the executors against summed in the driver.
 */
final class BigBench {
    private BigBench() {}

    /**
     * {@code A B} for two {@code size x size} matrices in blocks of {@code tile} rows, made tile by
     * tile in one shuffle (the tiled product with the default tile size, chosen here whatever the
     * sizes), against MLlib's
     * {@code BlockMatrix.multiply} on the same values in {@code tile x tile} blocks. Both sum their
     * result and its squares, which must agree; one warm-up at half the size, then one timed run each.
     */
    static void product(int size, int tile, PrintStream out, List<Bench.Row2> table) {
        Settings s = Dist.settings();
        long broadcast = s.productBroadcastBytes();
        try {
            s.setProductBroadcastBytes(0);
            productRun(Math.max(tile, size / 2), tile, null, table); // warm-up
            productRun(size, tile, out, table);
        } finally {
            s.setProductBroadcastBytes(broadcast);
        }
    }

    private static void productRun(int size, int tile, PrintStream out, List<Bench.Row2> table) {
        DistArray a = (DistArray) Dist.cache(Dist.randomNormal(21, tile, size, size));
        DistArray b = (DistArray) Dist.cache(Dist.randomNormal(22, tile, size, size));
        BlockMatrix ma = blockMatrix(a, tile, size);
        BlockMatrix mb = blockMatrix(b, tile, size);

        long t0 = System.nanoTime();
        Metrics.Snapshot before = Dist.metrics().snapshot();
        NDArray p = a.matmul(b);
        NDArray sum = p.sum();
        NDArray squares = p.square().sum();
        double ours = sum.item();
        double oursSquares = squares.item();
        double oursSeconds = (System.nanoTime() - t0) / 1e9;
        Metrics.Snapshot used = Dist.metrics().snapshot().minus(before);

        t0 = System.nanoTime();
        BlockMatrix mp = ma.multiply(mb);
        double[] theirs = mp.blocks().toJavaRDD().map(t -> {
            double sv = 0;
            double sq = 0;
            for (double v : t._2().toArray()) {
                sv += v;
                sq += v * v;
            }
            return new double[] {sv, sq};
        }).reduce((x, y) -> new double[] {x[0] + y[0], x[1] + y[1]});
        double mllibSeconds = (System.nanoTime() - t0) / 1e9;

        double err = Math.max(Math.abs(ours - theirs[0]) / Math.max(1, Math.abs(theirs[0])),
            Math.abs(oursSquares - theirs[1]) / theirs[1]);
        a.rdd().unpersist(false);
        b.rdd().unpersist(false);
        ma.blocks().unpersist(false);
        mb.blocks().unpersist(false);
        if (err > 1e-9) {
            throw new JobError("bench: the tiled product and MLlib's BlockMatrix.multiply disagree: sums " + ours + " and "
                + theirs[0] + ", sums of squares " + oursSquares + " and " + theirs[1]);
        }
        if (out != null) {
            out.printf("product %d x %d x %d in %d-row blocks: sparkgrad %.2f s (%d job, %d stages, %d tasks), "
                + "BlockMatrix.multiply of %d x %d tiles %.2f s, same values (relative difference of the sums %.1e)%n",
                size, size, size, tile, oursSeconds, used.jobs(), used.stages(), used.tasks(), tile, tile, mllibSeconds, err);
            table.add(new Bench.Row2("product " + size + "^3, blocks of " + tile + " vs MLlib BlockMatrix.multiply (s)",
                oursSeconds, mllibSeconds, used.jobs(), "ratio <= 1.0"));
        }
    }

    /** The same values as MLlib blocks of {@code tile x tile} (column-major), cached. */
    private static BlockMatrix blockMatrix(DistArray x, int tile, int size) {
        JavaRDD<Tuple2<Tuple2<Object, Object>, Matrix>> blocks = x.rdd().flatMap(blk -> {
            List<Tuple2<Tuple2<Object, Object>, Matrix>> tiles = new ArrayList<>();
            int rows = blk.rows();
            double[] v = blk.array().data();
            int i = (int) (blk.rowStart() / tile);
            for (int c0 = 0, j = 0; c0 < size; c0 += tile, j++) {
                int cols = Math.min(tile, size - c0);
                double[] colMajor = new double[rows * cols];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        colMajor[c * rows + r] = v[r * size + c0 + c];
                    }
                }
                tiles.add(new Tuple2<>(new Tuple2<>(i, j), new DenseMatrix(rows, cols, colMajor)));
            }
            return tiles.iterator();
        });
        BlockMatrix m = new BlockMatrix(blocks.rdd(), tile, tile, size, size);
        m.blocks().persist(StorageLevel.MEMORY_ONLY());
        m.blocks().count();
        return m;
    }

    /**
     * The gradient of a logistic regression whose weight vector has 2^22 entries, gathered by the
     * feature indices of each row: with the weights distributed (the gradient summed by key into the
     * weights' blocks, on the executors) against the weights local (each block's dense partial
     * gradient summed in the driver, today's path for a local parameter). Seconds per loss and
     * gradient, and the peak heap of this JVM for each (the sum of the heap pools' peaks: the driver
     * and, in local mode, the executors).
     */
    static void aggregation(int rows, PrintStream out, List<Bench.Row2> table) {
        int features = 1 << 22;
        int nnz = 40;
        int blockRows = Math.max(1, rows / 4);
        NDArray idx = Dist.cache(Dist.randomUniform(7, blockRows, rows, nnz).mul(features).floor());
        NDArray val = Dist.cache(Dist.randomNormal(8, blockRows, rows, nnz));
        NDArray label = Dist.cache(val.sum(1).gt(0));
        NDArray wDist = Dist.full(0, 1 << 20, features);
        NDArray wLocal = Np.zeros(features);
        double[] dist = timed(wDist, idx, val, label);
        double[] local = timed(wLocal, idx, val, label);
        out.printf("gradient of 2^22 weights from %d rows: summed on the executors %.3f s (peak heap %d MiB), "
            + "in the driver %.3f s (peak heap %d MiB)%n", rows, dist[0], (long) dist[1] >> 20, local[0], (long) local[1] >> 20);
        table.add(new Bench.Row2("gradient of 2^22 weights summed on the executors vs in the driver (s)", dist[0], local[0],
            Double.NaN, "reported: the driver's path needs the weights in every task"));
        table.add(new Bench.Row2("  the same, peak heap (MiB)", dist[1] / (1 << 20), local[1] / (1 << 20), Double.NaN,
            "driver's heap below the local path's"));
    }

    /** The median seconds of a logistic step with weights {@code w} over 5 steps after 2, and the peak heap in them. */
    private static double[] timed(NDArray w, NDArray idx, NDArray val, NDArray label) {
        w.attachGrad();
        double[] s = new double[7];
        System.gc();
        ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
        for (int i = 0; i < s.length; i++) {
            long t = System.nanoTime();
            NDArray loss;
            try (var r = Autograd.record()) {
                NDArray z = w.take(idx).mul(val).sum(1);
                loss = z.softplus().sub(label.mul(z)).mean();
            }
            loss.backward();
            loss.item();
            w.assign(w.sub(w.grad().mul(0.5))); // distributed: computed and cached in place, on the executors
            s[i] = (System.nanoTime() - t) / 1e9;
        }
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        double[] timedPart = java.util.Arrays.copyOfRange(s, 2, s.length);
        java.util.Arrays.sort(timedPart);
        return new double[] {timedPart[timedPart.length / 2], peak};
    }
}
