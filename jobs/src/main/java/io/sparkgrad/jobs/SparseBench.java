package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.NDArray;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.RDDInfo;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The data of the sparse logistic-regression bench row: hashed-feature rows ({@code features}
 * columns, {@code perRow} non-zeros a row at distinct random columns, normal values) with 0/1
 * labels of a known logistic model, generated on the executors from a seed (the same rows every
 * run), cached once as an MLlib DataFrame of {@code SparseVector}s and once as sparkgrad's sparse
 * blocks read from it, in the same partitions.
 */
final class SparseBench {
    private SparseBench() {}

    /** The cached DataFrame (label, features) and sparkgrad's cached features and labels read from it. */
    record Data(Dataset<Row> frame, NDArray x, NDArray y, long frameBytes, long arrayBytes, List<DistArray> read) {
        void release() {
            frame.unpersist();
            for (DistArray a : read) {
                a.rdd().unpersist(false); // the blocks a read kept cached go with the arrays (Spark's ContextCleaner)
            }
        }
    }

    static Data make(int rows, int features, int perRow, long seed, int partitions) {
        var spark = Dist.session();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> parts = IntStream.range(0, partitions).boxed().collect(Collectors.toList());
        var rowsRdd = jsc.parallelize(parts, partitions).flatMap(p -> {
            long first = (long) rows * p / partitions;
            long end = (long) rows * (p + 1) / partitions;
            Random r = new Random(seed * 1_000_003L + p);
            List<Row> out = new ArrayList<>((int) (end - first));
            for (long i = first; i < end; i++) {
                int[] idx = distinctColumns(r, features, perRow);
                double[] v = new double[idx.length];
                double margin = 0;
                for (int k = 0; k < idx.length; k++) {
                    v[k] = r.nextGaussian();
                    margin += v[k] * trueWeight(idx[k]);
                }
                double label = r.nextDouble() < 1 / (1 + Math.exp(-margin)) ? 1 : 0;
                out.add(RowFactory.create(label, Vectors.sparse(features, idx, v)));
            }
            return out.iterator();
        });
        Set<Integer> before = cachedIds();
        Dataset<Row> frame = spark.createDataFrame(rowsRdd, DataTypes.createStructType(List.of(
            DataTypes.createStructField("label", DataTypes.DoubleType, false),
            DataTypes.createStructField("features", SQLDataTypes.VectorType(), false))))
            .persist(StorageLevel.MEMORY_AND_DISK());
        frame.count();
        long frameBytes = cachedBytes(before);
        // the same partitions, so that both sides run one task per partition; a read keeps its blocks cached
        before = cachedIds();
        DistArray x = Dist.fromDataFrame(frame, Dist.Blocking.SOURCE_PARTITIONS, "features");
        DistArray y = Dist.fromDataFrame(frame, Dist.Blocking.SOURCE_PARTITIONS, "label");
        long arrayBytes = cachedBytes(before);
        return new Data(frame, x, y.reshape(-1), frameBytes, arrayBytes, List.of(x, y));
    }

    /** {@code n} distinct columns of {@code [0, features)}, ascending. */
    private static int[] distinctColumns(Random r, int features, int n) {
        int[] idx = new int[n];
        int k = 0;
        while (k < n) {
            idx[k++] = r.nextInt(features);
            if (k == n) {
                Arrays.sort(idx);
                int m = 1;
                for (int i = 1; i < n; i++) {
                    if (idx[i] != idx[m - 1]) {
                        idx[m++] = idx[i];
                    }
                }
                k = m; // draw again for the repeats
            }
        }
        return idx;
    }

    /** The known model's weight of column {@code j}: a hash of it, in [-1, 1]. */
    private static double trueWeight(int j) {
        long h = (j + 1) * 0x9E3779B97F4A7C15L;
        return ((h >>> 40) % 2001 - 1000) / 1000.0;
    }

    private static Set<Integer> cachedIds() {
        Set<Integer> ids = new HashSet<>();
        for (RDDInfo i : Dist.session().sparkContext().getRDDStorageInfo()) {
            ids.add(i.id());
        }
        return ids;
    }

    /** The bytes (memory and disk) of the RDDs cached since {@code before} was taken. */
    private static long cachedBytes(Set<Integer> before) {
        long b = 0;
        for (RDDInfo i : Dist.session().sparkContext().getRDDStorageInfo()) {
            if (!before.contains(i.id())) {
                b += i.memSize() + i.diskSize();
            }
        }
        return b;
    }
}
