package io.sparkgrad.dist;

import io.sparkgrad.np.Shape;

/**
 * The settings of the distributed engine for one Spark session: {@link Dist#settings()} returns
 * those of the session sparkgrad runs on, so two sessions in one JVM (two
 * {@code SparkSession.newSession()}s sharing a SparkContext, say) keep their own. Settings changed
 * before any session exists are the defaults each new session starts from. {@code Dist}'s static
 * setters ({@link Dist#setBlockBytes}, ...) change the current session's.
 */
public final class Settings {
    private volatile long maxLocalBytes = 1L << 30;
    private volatile long broadcastThreshold = 256L << 10;
    private volatile long blockBytes = 64L << 20;
    private volatile boolean dropInvalidRows;
    private volatile boolean fusion = true;
    private volatile boolean blockPrograms = true;
    private volatile long programChunkBytes = 256L << 10;
    private volatile long productChunkBytes = DEFAULT_PRODUCT_CHUNK_BYTES;
    private volatile int aggregationFanIn = 64;
    private volatile long treeAggregationBytes = 32L << 20;
    private volatile double sparseThreshold = 0.25;

    Settings() {}

    /** Returns a copy: the settings a new session starts with. */
    Settings copy() {
        Settings s = new Settings();
        s.maxLocalBytes = maxLocalBytes;
        s.broadcastThreshold = broadcastThreshold;
        s.blockBytes = blockBytes;
        s.dropInvalidRows = dropInvalidRows;
        s.fusion = fusion;
        s.blockPrograms = blockPrograms;
        s.programChunkBytes = programChunkBytes;
        s.productChunkBytes = productChunkBytes;
        s.aggregationFanIn = aggregationFanIn;
        s.treeAggregationBytes = treeAggregationBytes;
        s.sparseThreshold = sparseThreshold;
        return s;
    }

    /**
     * True (the default) when reductions over distributed rows whose results are local are deferred
     * until a value is needed and then run together in one Spark job: a loss read after its
     * {@code backward()} and the gradients of its local parameters cost one pass over the data.
     */
    public boolean fusion() {
        return fusion;
    }

    /**
     * Turns fusion on or off; off runs every reduction over distributed rows in its own job, at
     * once. The values are the same either way, bit for bit.
     */
    public Settings setFusion(boolean on) {
        fusion = on;
        return this;
    }

    /**
     * True (the default) when an aggregation job runs as one block program per task: the row-local
     * ops between the job's reductions and the cached blocks run a chunk of rows at a time
     * ({@link #programChunkBytes()}), so each block is read once and no intermediate the size of a
     * block is made. Off, every op runs over whole blocks as its own RDD. The values agree within
     * rounding (partials are summed chunk by chunk).
     */
    public boolean blockPrograms() {
        return blockPrograms;
    }

    public Settings setBlockPrograms(boolean on) {
        blockPrograms = on;
        return this;
    }

    /** The default of {@link #productChunkBytes()}: 1 MiB. */
    public static final long DEFAULT_PRODUCT_CHUNK_BYTES = 1L << 20;

    /**
     * The bytes of the widest array of one chunk of a block program without products of matrices
     * (default 256 KiB), which sets the rows per chunk: small enough that a chunk's intermediates
     * stay in a core's cache, so that {@code X^T g} reads the chunk of {@code X} that {@code X w} read.
     */
    public long programChunkBytes() {
        return programChunkBytes;
    }

    /** Sets the chunk of every block program, with products of matrices or not (both settings). */
    public Settings setProgramChunkBytes(long bytes) {
        programChunkBytes = positive("setProgramChunkBytes", bytes);
        productChunkBytes = bytes;
        return this;
    }

    /**
     * The bytes of the widest array of one chunk of a block program that multiplies a chunk by a
     * matrix of more than one column ({@code X W}, {@code H^T G}: an MLP, a softmax regression;
     * default {@link #DEFAULT_PRODUCT_CHUNK_BYTES}, 2048 rows of 64 columns): a matrix product
     * wants thousands of rows, and its small operand stays in cache whatever the rows, while
     * the chunk's intermediates (a dozen for an MLP) should still fit the caches for the backward
     * steps that read them. The rows per chunk depend on the program and the setting alone, so a
     * result repeats bit for bit.
     */
    public long productChunkBytes() {
        return productChunkBytes;
    }

    public Settings setProductChunkBytes(long bytes) {
        productChunkBytes = positive("setProductChunkBytes", bytes);
        return this;
    }

    /**
     * The most per-block partials combined in one place when they are large (default 64): above
     * {@link #treeAggregationBytes()} in all, more partials than this go through a tree of combining
     * tasks as deep as needed, so that the driver never receives more than this many at once.
     */
    public int aggregationFanIn() {
        return aggregationFanIn;
    }

    public Settings setAggregationFanIn(int fanIn) {
        if (fanIn < 2) {
            throw new IllegalArgumentException("setAggregationFanIn: the fan-in must be at least 2, got " + fanIn);
        }
        aggregationFanIn = fanIn;
        return this;
    }

    /**
     * The size of all the partials of one job (default 32 MiB) up to which the driver combines them
     * directly however many blocks there are: a tree's extra stage costs more than it saves for
     * small partials such as the gradient of a few hundred weights.
     */
    public long treeAggregationBytes() {
        return treeAggregationBytes;
    }

    public Settings setTreeAggregationBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("setTreeAggregationBytes: bytes must be 0 or more, got " + bytes);
        }
        treeAggregationBytes = bytes;
        return this;
    }

    /** The largest distributed array, in bytes, that {@code toLocal()} collects (default 1 GiB). */
    public long maxLocalBytes() {
        return maxLocalBytes;
    }

    public Settings setMaxLocalBytes(long bytes) {
        maxLocalBytes = positive("setMaxLocalBytes", bytes);
        return this;
    }

    /** Local operands above this size (default 256 KiB) travel as Spark broadcasts, smaller ones inside tasks. */
    public long broadcastThreshold() {
        return broadcastThreshold;
    }

    public Settings setBroadcastThreshold(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("setBroadcastThreshold: bytes must be >= 0 but got " + bytes);
        }
        broadcastThreshold = bytes;
        return this;
    }

    /**
     * The target size of one block (default 64 MiB, half of Spark's default file split), from which
     * the default rows per block follow: large enough that Spark's per-task cost (a few ms) stays
     * small against the block's work. On 2 cores, before block programs, a logistic-regression
     * gradient over 1M x 50 rows took about 300 ms with 8 MiB blocks, 250 with 16, 175 with 32 and
     * 135 with 64.
     */
    public long blockBytes() {
        return blockBytes;
    }

    public Settings setBlockBytes(long bytes) {
        blockBytes = positive("setBlockBytes", bytes);
        return this;
    }

    /** Returns the default rows per block for rows of {@code rowShape}: about {@link #blockBytes()} per block. */
    public int defaultBlockRows(int... rowShape) {
        long rowBytes = 8L * Math.max(1, Shape.size(rowShape));
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, blockBytes / rowBytes));
    }

    /**
     * Whether reading data skips the rows that strict parsing refuses (a null, text that is not a
     * number, NaN, an infinity, a malformed CSV or LIBSVM line; see {@link DataReader#dropInvalid})
     * instead of failing (default false: such a row is an error naming its place and column).
     */
    public boolean dropInvalidRows() {
        return dropInvalidRows;
    }

    public Settings setDropInvalidRows(boolean drop) {
        dropInvalidRows = drop;
        return this;
    }

    /**
     * The density (non-zeros over all values) below which a block read from sparse data (LIBSVM,
     * a {@code SparseVector} column) is kept sparse, in compressed rows; at or above it the block
     * is dense. Default 0.25: a CSR entry costs 12 bytes against a dense value's 8, and the dense
     * kernels (BLAS) are faster per value, so sparse pays from about a quarter non-zeros down.
     * 0 makes every such block dense (as before sparse blocks existed), 1 keeps all but the full ones sparse.
     */
    public double sparseThreshold() {
        return sparseThreshold;
    }

    public Settings setSparseThreshold(double density) {
        if (!(density >= 0 && density <= 1)) {
            throw new IllegalArgumentException("setSparseThreshold: density must be in [0, 1] but got " + density);
        }
        sparseThreshold = density;
        return this;
    }

    private static long positive(String what, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + ": value must be > 0 but got " + v);
        }
        return v;
    }
}
