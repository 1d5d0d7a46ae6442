package io.sparkgrad.dist;

import io.sparkgrad.np.DType;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.Generators;
import io.sparkgrad.worker.Registrator;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Option;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Distributed tensors: the Spark session sparkgrad uses, and the ways to make a distributed
 * {@link NDArray} whose rows live on the executors.
 *
 * <pre>{@code
 * NDArray x = Dist.fromLocal(Np.arange(4.0), 2);     // 2 blocks of 2 rows
 * x.attachGrad();
 * NDArray y;
 * try (var r = Autograd.record()) {
 *     y = Np.dot(x, x).mul(2);                         // one Spark job; y is local
 * }
 * y.backward();                                        // x.grad() is distributed like x
 * }</pre>
 */
public final class Dist {
    private Dist() {}

    private static volatile SparkSession session;
    private static final Metrics METRICS = new Metrics();
    private static final Map<SparkContext, Boolean> LISTENING = Collections.synchronizedMap(new WeakHashMap<>());
    // the settings of each session, and those a new session starts from
    private static final Map<SparkSession, Settings> SETTINGS = Collections.synchronizedMap(new WeakHashMap<>());
    private static final Settings DEFAULTS = new Settings();

    // ------------------------------------------------------------------ session

    /**
     * Returns the session sparkgrad runs on: the one given to {@link #use}, else the active or
     * default session, else a new session configured for sparkgrad (Kryo with sparkgrad's
     * registrator, logs at WARN) on the master that {@code spark-submit} or the system property
     * {@code spark.master} gives, by default an embedded {@code local[*]} bound to 127.0.0.1.
     */
    public static synchronized SparkSession session() {
        if (session != null && !session.sparkContext().isStopped()) {
            return session;
        }
        Option<SparkSession> existing = SparkSession.getActiveSession();
        if (existing.isEmpty()) {
            existing = SparkSession.getDefaultSession();
        }
        if (existing.isDefined() && !existing.get().sparkContext().isStopped()) {
            install(existing.get());
            return session;
        }
        JvmFlags.check();
        SparkConf conf = configure(new SparkConf()); // also reads spark.* system properties (spark-submit's)
        conf.setIfMissing("spark.master", "local[*]").setIfMissing("spark.app.name", "sparkgrad");
        if (conf.get("spark.master").startsWith("local")) {
            // an embedded session talks to itself only: keep it on loopback
            conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        SparkSession s = SparkSession.builder().config(conf).getOrCreate();
        s.sparkContext().setLogLevel("WARN");
        install(s);
        return session;
    }

    /** Makes sparkgrad run on {@code s}; configure it with {@link #configure} before creating it. */
    public static synchronized void use(SparkSession s) {
        install(s);
    }

    private static void install(SparkSession s) {
        if (session != s) {
            JvmFlags.check(); // one line naming a missing flag, not a Kryo failure in the first job
            JvmFlags.warnAboutExecutors(s.sparkContext().getConf());
        }
        session = s;
        if (LISTENING.putIfAbsent(s.sparkContext(), Boolean.TRUE) == null) {
            s.sparkContext().addSparkListener(METRICS);
        }
    }

    /**
     * Adds what sparkgrad needs to a Spark configuration: the Kryo serializer and the registrator
     * of the classes sparkgrad ships between driver and executors.
     */
    public static SparkConf configure(SparkConf conf) {
        String ours = Registrator.class.getName();
        String registrators = conf.get("spark.kryo.registrator", "");
        if (!java.util.Arrays.asList(registrators.split(",")).contains(ours)) {
            registrators = registrators.isEmpty() ? ours : registrators + "," + ours; // keep the user's
        }
        return conf.set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
            .set("spark.kryo.registrator", registrators);
    }

    static JavaSparkContext jsc() {
        return JavaSparkContext.fromSparkContext(session().sparkContext());
    }

    /** Returns the job, stage and task counter registered on sparkgrad's session. */
    public static Metrics metrics() {
        return METRICS;
    }

    /** Returns how many broadcasts sparkgrad shipped that are not released yet. */
    public static int liveBroadcasts() {
        return Broadcasts.live();
    }

    static void waitForListeners() {
        if (session != null && !session.sparkContext().isStopped()) {
            try {
                session.sparkContext().listenerBus().waitUntilEmpty(10_000);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("metrics: Spark's listener bus did not drain in 10 s", e);
            }
        }
    }

    // ------------------------------------------------------------------ settings

    /**
     * Returns the settings of the session sparkgrad runs on ({@link #use}, {@link #session()}), or,
     * before there is one, the defaults that each new session starts from. The static setters below
     * change the same object.
     */
    public static Settings settings() {
        SparkSession s = session;
        if (s == null || s.sparkContext().isStopped()) {
            return DEFAULTS;
        }
        return settings(s);
    }

    /** Returns the settings of {@code s}: a copy of the defaults when sparkgrad first sees it. */
    public static Settings settings(SparkSession s) {
        synchronized (SETTINGS) {
            return SETTINGS.computeIfAbsent(s, k -> DEFAULTS.copy());
        }
    }

    /** {@link Settings#fusion()} of the current session. */
    public static boolean fusion() {
        return settings().fusion();
    }

    /** {@link Settings#setFusion} of the current session. */
    public static void setFusion(boolean on) {
        settings().setFusion(on);
    }

    /** {@link Settings#blockPrograms()} of the current session. */
    public static boolean blockPrograms() {
        return settings().blockPrograms();
    }

    /** {@link Settings#setBlockPrograms} of the current session. */
    public static void setBlockPrograms(boolean on) {
        settings().setBlockPrograms(on);
    }

    /** {@link Settings#programChunkBytes()} of the current session. */
    public static long programChunkBytes() {
        return settings().programChunkBytes();
    }

    /** {@link Settings#setProgramChunkBytes} of the current session. */
    public static void setProgramChunkBytes(long bytes) {
        settings().setProgramChunkBytes(bytes);
    }

    /** {@link Settings#programChunkRows()} of the current session. */
    public static int programChunkRows() {
        return settings().programChunkRows();
    }

    /** {@link Settings#setProgramChunkRows} of the current session. */
    public static void setProgramChunkRows(int rows) {
        settings().setProgramChunkRows(rows);
    }

    /** {@link Settings#aggregationFanIn()} of the current session. */
    public static int aggregationFanIn() {
        return settings().aggregationFanIn();
    }

    /** {@link Settings#setAggregationFanIn} of the current session. */
    public static void setAggregationFanIn(int fanIn) {
        settings().setAggregationFanIn(fanIn);
    }

    /** {@link Settings#treeAggregationBytes()} of the current session. */
    public static long treeAggregationBytes() {
        return settings().treeAggregationBytes();
    }

    /** {@link Settings#setTreeAggregationBytes} of the current session. */
    public static void setTreeAggregationBytes(long bytes) {
        settings().setTreeAggregationBytes(bytes);
    }

    /** {@link Settings#maxLocalBytes()} of the current session. */
    public static long maxLocalBytes() {
        return settings().maxLocalBytes();
    }

    /** {@link Settings#setMaxLocalBytes} of the current session. */
    public static void setMaxLocalBytes(long bytes) {
        settings().setMaxLocalBytes(bytes);
    }

    /** {@link Settings#broadcastThreshold()} of the current session. */
    public static long broadcastThreshold() {
        return settings().broadcastThreshold();
    }

    /** {@link Settings#setBroadcastThreshold} of the current session. */
    public static void setBroadcastThreshold(long bytes) {
        settings().setBroadcastThreshold(bytes);
    }

    /** {@link Settings#blockBytes()} of the current session. */
    public static long blockBytes() {
        return settings().blockBytes();
    }

    /** {@link Settings#setBlockBytes} of the current session. */
    public static void setBlockBytes(long bytes) {
        settings().setBlockBytes(bytes);
    }

    /** {@link Settings#defaultBlockRows} of the current session. */
    public static int defaultBlockRows(int... rowShape) {
        return settings().defaultBlockRows(rowShape);
    }

    /** {@link Settings#dropInvalidRows()} of the current session. */
    public static boolean dropInvalidRows() {
        return settings().dropInvalidRows();
    }

    /** {@link Settings#setDropInvalidRows} of the current session. */
    public static void setDropInvalidRows(boolean drop) {
        settings().setDropInvalidRows(drop);
    }

    /** {@link Settings#sparseThreshold()} of the current session. */
    public static double sparseThreshold() {
        return settings().sparseThreshold();
    }

    /** Sets {@link Settings#sparseThreshold()} of the current session. */
    public static void setSparseThreshold(double density) {
        settings().setSparseThreshold(density);
    }

    // ------------------------------------------------------------------ creation

    /** Splits a local array's rows into {@code numBlocks} blocks of nearly equal size. */
    public static DistArray fromLocal(NDArray local, int numBlocks) {
        int[] s = Shape.toInt("fromLocal", local.shape());
        if (s.length == 0) {
            throw new IllegalArgumentException("fromLocal: a 0-d array has no rows to distribute");
        }
        return fromLocal(local, Layout.even(s[0], numBlocks, java.util.Arrays.copyOfRange(s, 1, s.length)));
    }

    /**
     * Splits a local array's rows into the blocks of the distributed array {@code like}, which has
     * as many rows: the two can then be combined block by block, with no data moved.
     */
    public static DistArray fromLocal(NDArray local, NDArray like) {
        if (!(like instanceof DistArray)) {
            throw new IllegalArgumentException("fromLocal: the template must be a distributed array, got a local array of "
                + "shape " + Shape.str(like.shape()));
        }
        Layout layout = ((DistArray) like).layout();
        int[] s = Shape.toInt("fromLocal", local.shape());
        if (s.length != like.ndim() || s[layout.axis()] != layout.rows()) {
            throw new IllegalArgumentException("fromLocal: an array of shape " + Shape.str(s) + " cannot be split into the "
                + layout.rows() + (layout.axis() == 0 ? " rows" : " positions along axis " + layout.axis())
                + " of a distributed array of shape " + Shape.str(like.shape()));
        }
        int[] rowShape = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i != layout.axis()) {
                rowShape[j++] = s[i];
            }
        }
        return fromLocal(local, layout.along(layout.axis(), rowShape));
    }

    /** Splits a local array along the blocked axis as {@code layout} says. */
    static DistArray fromLocal(NDArray local, Layout layout) {
        if (!java.util.Arrays.equals(local.shape(), layout.shape())) {
            throw new IllegalArgumentException("fromLocal: array of shape " + Shape.str(local.shape())
                + " does not match layout " + layout);
        }
        // the values of this moment: the blocks are made when a job first needs them
        NDArray values = ((LocalArray) local.toLocal()).snapshot();
        int axis = layout.axis();
        List<Block> blocks = new ArrayList<>(layout.numBlocks());
        for (int i = 0; i < layout.numBlocks(); i++) {
            long start = layout.rowStart(i);
            blocks.add(Block.of(i, start, axis, values.slice(axis, start, start + layout.blockRows(i)).detach()));
        }
        // cached: the blocks are data that every later job reads; Spark's ContextCleaner drops
        // them once the array is unreachable
        JavaRDD<Block> rdd = jsc().parallelize(blocks, layout.numBlocks()).persist(StorageLevel.MEMORY_AND_DISK());
        return new DistArray(layout, rdd, local.dtype()); // a float32 array's blocks are float32 blocks
    }

    /**
     * Splits the rows of a local matrix into {@code numBlocks} sparse blocks (compressed sparse
     * rows: only the non-zeros are kept), whatever its density. Every op reads them as the matrix:
     * {@code X.matmul(W)}, {@code X.T().matmul(G)}, scaling and zero-preserving ops run on the
     * non-zeros, the others on the dense form (see the README's "Sparse data").
     *
     * <pre>{@code
     * NDArray x = Dist.sparse(Np.array(new double[][] {{0, 2}, {0, 0}, {1, 0}}), 2);
     * x.matmul(Np.array(new double[][] {{1}, {1}})).toLocal();  // [[2], [0], [1]]
     * }</pre>
     */
    public static DistArray sparse(NDArray local, int numBlocks) {
        int[] s = Shape.toInt("sparse", local.shape());
        if (s.length != 2) {
            throw new IllegalArgumentException("sparse: sparse blocks hold a matrix, got shape " + Shape.str(s));
        }
        double[] values = local.toArray();
        return sparse(Csr.fromDense(s[0], s[1], values), numBlocks);
    }

    /**
     * Splits a {@code rows x cols} matrix given in compressed sparse rows (row {@code i} holds
     * {@code values[p]} at column {@code colIdx[p]}, {@code p} from {@code rowPtr[i]} to
     * {@code rowPtr[i + 1]}, columns ascending in a row) into {@code numBlocks} sparse blocks of
     * nearly equal rows. The arrays are copied.
     */
    public static DistArray sparse(int rows, int cols, int[] rowPtr, int[] colIdx, double[] values, int numBlocks) {
        Csr csr;
        try {
            csr = new Csr(rows, cols, rowPtr.clone(), colIdx.clone(), values.clone());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sparse: " + e.getMessage(), e);
        }
        return sparse(csr, numBlocks);
    }

    private static DistArray sparse(Csr csr, int numBlocks) {
        Layout layout = Layout.ofSparseStarts(Layout.even(csr.rows(), numBlocks, new int[] {1}).rowStarts(),
            new int[] {csr.cols()});
        List<Block> blocks = new ArrayList<>(layout.numBlocks());
        for (int i = 0; i < layout.numBlocks(); i++) {
            long start = layout.rowStart(i);
            blocks.add(new Block(i, start, csr.rows((int) start, (int) (start + layout.blockRows(i)))));
        }
        JavaRDD<Block> rdd = jsc().parallelize(blocks, layout.numBlocks()).persist(StorageLevel.MEMORY_AND_DISK());
        return new DistArray(layout, rdd);
    }

    /**
     * Standard normal samples made on the executors, {@code blockRows} rows per block; the rows
     * may number more than 2^31 ({@code Dist.randomNormal(1, 1 << 20, 3_000_000_000L)}).
     */
    public static DistArray randomNormal(long seed, int blockRows, long... shape) {
        return DistBackend.generate(layoutFor("randomNormal", blockRows, shape), Generators.normal(0, 1, seed));
    }

    /** Samples uniform in [0, 1) made on the executors, {@code blockRows} rows per block (any number of rows). */
    public static DistArray randomUniform(long seed, int blockRows, long... shape) {
        return DistBackend.generate(layoutFor("randomUniform", blockRows, shape), Generators.uniform(0, 1, seed));
    }

    /**
     * {@code value} everywhere, made on the executors (chunk by chunk where a block program reads
     * it), {@code blockRows} rows per block (any number of rows).
     */
    public static DistArray full(double value, int blockRows, long... shape) {
        return DistBackend.generate(layoutFor("full", blockRows, shape), Generators.fill(value), new Object[0], true);
    }

    private static Layout layoutFor(String op, int blockRows, long[] shape) {
        long[] s = Shape.checkValid(op, shape);
        if (s.length == 0) {
            throw new IllegalArgumentException(op + ": a distributed array needs at least one dimension (its rows)");
        }
        int[] rowShape = Shape.toInt(op + ": the shape of one row", java.util.Arrays.copyOfRange(s, 1, s.length));
        return Layout.ofBlockRows(s[0], blockRows, rowShape);
    }

    /**
     * Computes a distributed array's blocks once and keeps them in executor memory (spilling to
     * disk), so later jobs read them instead of recomputing their lineage; returns the same array.
     * Spark's ContextCleaner drops them once the array is unreachable.
     */
    public static NDArray cache(NDArray x) {
        if (!(x instanceof DistArray)) {
            return x;
        }
        DistArray d = (DistArray) x;
        String moves = d.node().movements();
        if (d.rdd().getStorageLevel().equals(StorageLevel.NONE())) {
            d.rdd().persist(StorageLevel.MEMORY_AND_DISK());
        }
        Jobs.run("cache " + Shape.str(d.shape()), moves, d.rdd()::count);
        return x;
    }

    /** Returns zeros with {@code like}'s shape and layout. */
    public static NDArray zerosLike(NDArray like) {
        return like.zerosLike();
    }

    /** Returns ones with {@code like}'s shape and layout. */
    public static NDArray onesLike(NDArray like) {
        return like.onesLike();
    }

    /** Returns {@code value} everywhere, with {@code like}'s shape and layout. */
    public static NDArray fullLike(NDArray like, double value) {
        return like.fullLike(value);
    }

    // ------------------------------------------------------------------ data IO

    /** How data read into a distributed array is split into blocks. */
    public enum Blocking {
        /**
         * Blocks of about {@link #blockBytes()} each, in row order (the default): the source's
         * rows are moved into them, by one more job at read time, when its number of partitions
         * differs. A DataFrame of 200 small partitions then costs a few tasks per job, not 200.
         */
        TARGET_SIZE,
        /** One block per partition of the source, as it comes (no data moved). */
        SOURCE_PARTITIONS
    }

    /**
     * Makes a 2-D float64 array (rows x columns) of the given columns of {@code df} (none given:
     * all of its columns), in blocks of about {@link #blockBytes()} ({@link Blocking#TARGET_SIZE}).
     * The columns may have any numeric type (cast to double), and one of them may be a Spark ML
     * vector column (dense or sparse, all of one size), whose values take its place in each row. A missing or non-numeric column fails before any Spark
     * job; a null value fails naming its column and row. One Spark job reads {@code df} and caches
     * its partitions' rows, and one more moves them into blocks of the target size when the number
     * of partitions is not already right; the array does not read {@code df} again.
     */
    public static DistArray fromDataFrame(Dataset<Row> df,
                                          String... numericColumns) {
        return fromDataFrame(df, Blocking.TARGET_SIZE, numericColumns);
    }

    /** As {@link #fromDataFrame(Dataset, String...)}, the values as {@code dtype} (float32: float32 blocks). */
    public static DistArray fromDataFrame(Dataset<Row> df, DType dtype, String... numericColumns) {
        return DataReader.dataFrame(df).columns(numericColumns).dtype(dtype).read().array();
    }

    /** As {@link #fromDataFrame(Dataset, String...)}, split into blocks as {@code blocking} says. */
    public static DistArray fromDataFrame(Dataset<Row> df, Blocking blocking, String... numericColumns) {
        return DataReader.dataFrame(df).columns(numericColumns).blocking(blocking).read().array();
    }

    /**
     * Features and labels read together by {@link #fromDataFrame(Dataset, String[], String, String...)}:
     * the rows' features {@code x} (rows x features) and labels {@code y} (rows), in the same
     * blocks, and the key columns kept beside them ({@code null} when none were named).
     *
     * @param x    the features
     * @param y    the labels
     * @param keys the kept key columns, one row per row of {@code x}, or null
     */
    public record Labeled(NDArray x, NDArray y, Keys keys) {
        /** Features and labels without keys. */
        public Labeled(NDArray x, NDArray y) {
            this(x, y, null);
        }
    }

    /**
     * Reads features and a label of {@code df} in one pass, as {@link #fromDataFrame(Dataset, String...)}
     * reads columns: the features are one Spark ML vector column or numeric columns (a vector
     * column may also stand among numeric ones, its values in its place), the label a numeric
     * column. A bad value names its column and row. The columns {@code keep} (of any type: ids,
     * dates, the whole input row) are read in the same pass and kept beside the rows
     * ({@link Labeled#keys()}), so that results come back beside their rows' keys:
     *
     * <pre>{@code
     * Dist.Labeled data = Dist.fromDataFrame(df, new String[] {"features"}, "label", "id");
     * NDArray p = data.x().matmul(w).sigmoid();
     * Dataset<Row> predictions = Dist.toDataFrame(p, data.keys(), "probability"); // id, probability
     * }</pre>
     *
     * @param df       the rows
     * @param features the feature columns (at least one)
     * @param label    the label column
     * @param keep     the key columns to keep beside the rows (none: no keys)
     * @return the features, labels and keys, in the same row order
     */
    public static Labeled fromDataFrame(Dataset<Row> df, String[] features, String label, String... keep) {
        if (features == null || features.length == 0) {
            throw new IllegalArgumentException("fromDataFrame: name the feature columns (one vector column or numeric "
                + "columns) beside the label '" + label + "'");
        }
        String[] cols = java.util.Arrays.copyOf(features, features.length + 1);
        cols[features.length] = label;
        DataReader.Result r = DataReader.dataFrame(df).columns(cols).keep(keep).read();
        DistArray all = r.array();
        long width = all.dim(1);
        return new Labeled(all.slice(1, 0, width - 1), all.slice(1, width - 1, width).reshape(-1), r.keys());
    }

    /**
     * Returns a DataFrame of the key columns {@code keys} and the values of {@code values}, one row
     * per row read with the keys, in row order: see {@link Keys#toDataFrame(NDArray, String...)}.
     * {@code values} is the array read with the keys or one made from it row by row (a
     * prediction, a row loss); its columns are named {@code names} (none: {@code prediction} for
     * one column, else {@code c0, c1, ...}).
     *
     * @param values one row per key row (1-D or 2-D)
     * @param keys   the keys kept when the rows were read
     * @param names  the value columns' names
     * @return the keys, then the values, row by row
     */
    public static Dataset<Row> toDataFrame(NDArray values, Keys keys, String... names) {
        if (keys == null) {
            throw new IllegalArgumentException("toDataFrame: no keys given; name the key columns to keep when reading "
                + "(Dist.fromDataFrame(df, features, label, \"id\") or DataReader.keep)");
        }
        return keys.toDataFrame(values, names);
    }

    /**
     * Reads the given numeric columns (none given: all) of a Parquet file or directory as by
     * {@link #fromDataFrame}; the files of a directory are read in the order their writer numbered
     * them, so that what {@link DistArray#writeParquet} wrote comes back in row order. Page
     * checksums are verified where the writer stored them; a bad value names the file, row group
     * and row ({@link DataReader} has the other choices).
     */
    public static DistArray readParquet(String path, String... columns) {
        return readParquet(path, Blocking.TARGET_SIZE, columns);
    }

    /**
     * As {@link #readParquet(String, String...)}, the values as {@code dtype}: float32 keeps them
     * as float32 blocks, half the bytes ({@code Dist.readParquet(path, DType.FLOAT32)}).
     */
    public static DistArray readParquet(String path, DType dtype, String... columns) {
        return DataReader.parquet(path).columns(columns).dtype(dtype).read().array();
    }

    /** As {@link #readCsv(String, String...)}, the values as {@code dtype} (float32: float32 blocks). */
    public static DistArray readCsv(String path, DType dtype, String... columns) {
        return DataReader.csv(path).columns(columns).dtype(dtype).read().array();
    }

    /** As {@link #readParquet(String, String...)}, split into blocks as {@code blocking} says. */
    public static DistArray readParquet(String path, Blocking blocking, String... columns) {
        return DataReader.parquet(path).columns(columns).blocking(blocking).read().array();
    }

    /**
     * Reads the given columns (none given: all) of a CSV file or directory with a header line as by
     * {@link #fromDataFrame}; every line must have as many fields as the header, and a value that
     * is not a number fails naming the file, line and column ({@link DataReader} has the other
     * choices).
     */
    public static DistArray readCsv(String path, String... columns) {
        return readCsv(path, Blocking.TARGET_SIZE, columns);
    }

    /** As {@link #readCsv(String, String...)}, split into blocks as {@code blocking} says. */
    public static DistArray readCsv(String path, Blocking blocking, String... columns) {
        return DataReader.csv(path).columns(columns).blocking(blocking).read().array();
    }

    /**
     * Reads LIBSVM text ({@code label index:value ...}, indices from 1, strictly ascending) as
     * the columns {@code f1..fd, label}, d the largest index; missing indices are zeros.
     */
    public static DistArray readLibsvm(String path) {
        return DataReader.libsvm(path).read().array();
    }
}
