package io.sparkgrad.dist;

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

    private static SparkSession session;
    private static final Metrics METRICS = new Metrics();
    private static final Map<SparkContext, Boolean> LISTENING = Collections.synchronizedMap(new WeakHashMap<>());

    private static volatile long maxLocalBytes = 1L << 30;
    private static volatile long broadcastThreshold = 256L << 10;
    private static volatile long blockBytes = 64L << 20;
    private static volatile boolean dropInvalidRows;
    private static volatile boolean fusion = true;
    private static volatile boolean blockPrograms = true;
    private static volatile long programChunkBytes = 256L << 10;
    private static volatile int aggregationFanIn = 64;
    private static volatile long treeAggregationBytes = 32L << 20;

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
     * True (the default) when reductions over distributed rows whose results are local are deferred
     * until a value is needed and then run together in one Spark job: a loss read after its
     * {@code backward()} and the gradients of its local parameters cost one pass over the data.
     */
    public static boolean fusion() {
        return fusion;
    }

    /**
     * Turns fusion on or off; off runs every reduction over distributed rows in its own job, at
     * once. The values are the same either way, bit for bit.
     */
    public static void setFusion(boolean on) {
        fusion = on;
    }

    /**
     * True (the default) when an aggregation job runs as one block program per task: the row-local
     * ops between the job's reductions and the cached blocks run a chunk of rows at a time
     * ({@link #programChunkBytes()}), so each block is read once and no intermediate the size of a
     * block is made. Off, every op runs over whole blocks as its own RDD. The values agree within
     * rounding (partials are summed chunk by chunk).
     */
    public static boolean blockPrograms() {
        return blockPrograms;
    }

    public static void setBlockPrograms(boolean on) {
        blockPrograms = on;
    }

    /**
     * The bytes of the widest array of one chunk of a block program (default 256 KiB), which sets
     * the rows per chunk: small enough that a chunk's intermediates stay in a core's cache.
     */
    public static long programChunkBytes() {
        return programChunkBytes;
    }

    public static void setProgramChunkBytes(long bytes) {
        programChunkBytes = positive("setProgramChunkBytes", bytes);
    }

    /**
     * The most per-block partials combined in one place when they are large (default 64): above
     * {@link #treeAggregationBytes()} in all, more partials than this go through a tree of combining
     * tasks as deep as needed, so that the driver never receives more than this many at once.
     */
    public static int aggregationFanIn() {
        return aggregationFanIn;
    }

    /**
     * The size of all the partials of one job (default 32 MiB) up to which the driver combines them
     * directly however many blocks there are: a tree's extra stage costs more than it saves for
     * small partials such as the gradient of a few hundred weights.
     */
    public static long treeAggregationBytes() {
        return treeAggregationBytes;
    }

    public static void setTreeAggregationBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("setTreeAggregationBytes: bytes must be 0 or more, got " + bytes);
        }
        treeAggregationBytes = bytes;
    }

    public static void setAggregationFanIn(int fanIn) {
        if (fanIn < 2) {
            throw new IllegalArgumentException("setAggregationFanIn: the fan-in must be at least 2, got " + fanIn);
        }
        aggregationFanIn = fanIn;
    }

    /** The largest distributed array, in bytes, that {@code toLocal()} collects (default 1 GiB). */
    public static long maxLocalBytes() {
        return maxLocalBytes;
    }

    public static void setMaxLocalBytes(long bytes) {
        maxLocalBytes = positive("setMaxLocalBytes", bytes);
    }

    /** Local operands above this size (default 256 KiB) travel as Spark broadcasts, smaller ones inside tasks. */
    public static long broadcastThreshold() {
        return broadcastThreshold;
    }

    public static void setBroadcastThreshold(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("setBroadcastThreshold: bytes must be >= 0 but got " + bytes);
        }
        broadcastThreshold = bytes;
    }

    /**
     * The target size of one block (default 64 MiB, half of Spark's default file split), from which
     * the default rows per block follow: large enough that Spark's per-task cost (a few ms) stays
     * small against the block's work. On 2 cores, before block programs, a logistic-regression
     * gradient over 1M x 50 rows took about 300 ms with 8 MiB blocks, 250 with 16, 175 with 32 and
     * 135 with 64.
     */
    public static long blockBytes() {
        return blockBytes;
    }

    public static void setBlockBytes(long bytes) {
        blockBytes = positive("setBlockBytes", bytes);
    }

    /** Returns the default rows per block for rows of {@code rowShape}: about {@link #blockBytes()} per block. */
    public static int defaultBlockRows(int... rowShape) {
        long rowBytes = 8L * Math.max(1, Shape.size(rowShape));
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, blockBytes / rowBytes));
    }

    /**
     * Whether reading data skips rows holding NaN or an infinity (default false: such a value is an
     * error naming its column and row).
     */
    public static boolean dropInvalidRows() {
        return dropInvalidRows;
    }

    public static void setDropInvalidRows(boolean drop) {
        dropInvalidRows = drop;
    }

    private static long positive(String what, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + ": value must be > 0 but got " + v);
        }
        return v;
    }

    // ------------------------------------------------------------------ creation

    /** Splits a local array's rows into {@code numBlocks} blocks of nearly equal size. */
    public static DistArray fromLocal(NDArray local, int numBlocks) {
        int[] s = local.shape();
        if (s.length == 0) {
            throw new IllegalArgumentException("fromLocal: a 0-d array has no rows to distribute");
        }
        return fromLocal(local, Layout.even(s[0], numBlocks, java.util.Arrays.copyOfRange(s, 1, s.length)));
    }

    /** Splits a local array's rows as {@code layout} says. */
    static DistArray fromLocal(NDArray local, Layout layout) {
        if (!java.util.Arrays.equals(local.shape(), layout.shape())) {
            throw new IllegalArgumentException("fromLocal: array of shape " + Shape.str(local.shape())
                + " does not match layout " + layout);
        }
        // the values of this moment: the blocks are made when a job first needs them
        NDArray values = ((LocalArray) local.toLocal()).snapshot();
        List<Block> blocks = new ArrayList<>(layout.numBlocks());
        for (int i = 0; i < layout.numBlocks(); i++) {
            int start = layout.rowStart(i);
            blocks.add(Block.of(i, start, values.slice(0, start, start + layout.blockRows(i)).detach()));
        }
        // cached: the blocks are data that every later job reads; Spark's ContextCleaner drops
        // them once the array is unreachable
        JavaRDD<Block> rdd = jsc().parallelize(blocks, layout.numBlocks()).persist(StorageLevel.MEMORY_AND_DISK());
        return new DistArray(layout, rdd);
    }

    /** Standard normal samples made on the executors, {@code blockRows} rows per block. */
    public static DistArray randomNormal(long seed, int blockRows, int... shape) {
        return DistBackend.generate(layoutFor("randomNormal", blockRows, shape), Generators.normal(0, 1, seed));
    }

    /** Samples uniform in [0, 1) made on the executors, {@code blockRows} rows per block. */
    public static DistArray randomUniform(long seed, int blockRows, int... shape) {
        return DistBackend.generate(layoutFor("randomUniform", blockRows, shape), Generators.uniform(0, 1, seed));
    }

    private static Layout layoutFor(String op, int blockRows, int[] shape) {
        int[] s = Shape.checkValid(op, shape);
        if (s.length == 0) {
            throw new IllegalArgumentException(op + ": a distributed array needs at least one dimension (its rows)");
        }
        return Layout.ofBlockRows(s[0], blockRows, java.util.Arrays.copyOfRange(s, 1, s.length));
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
        if (d.rdd().getStorageLevel().equals(StorageLevel.NONE())) {
            d.rdd().persist(StorageLevel.MEMORY_AND_DISK());
        }
        Jobs.run("cache " + Shape.str(d.shape()), d.rdd()::count);
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

    /**
     * Makes a 2-D float64 array (rows x columns) of the given columns of {@code df} (none given:
     * all of its columns), one block per partition of {@code df}. The columns may have any numeric
     * type (cast to double), or be one Spark ML vector column (dense or sparse, all of one size).
     * A missing or non-numeric column fails before any Spark job; a null value fails naming its
     * column and row. One Spark job reads {@code df} and caches the blocks; the array does not read
     * {@code df} again.
     */
    public static DistArray fromDataFrame(Dataset<Row> df,
                                          String... numericColumns) {
        return DataIO.fromDataFrame(df, numericColumns);
    }

    /**
     * Reads the given numeric columns (none given: all) of a Parquet file or directory as by
     * {@link #fromDataFrame}; the files of a directory are read in the order their writer numbered
     * them, so that what {@link DistArray#writeParquet} wrote comes back in row order.
     */
    public static DistArray readParquet(String path, String... columns) {
        return DataIO.readParquet(path, columns);
    }

    /**
     * Reads the given columns (none given: all) of a CSV file or directory with a header row as by
     * {@link #fromDataFrame}; a value that is not a number fails naming the file, column and row.
     */
    public static DistArray readCsv(String path, String... columns) {
        return DataIO.readCsv(path, columns);
    }
}
