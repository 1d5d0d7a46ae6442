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
    private volatile int programChunkRows = DEFAULT_PROGRAM_CHUNK_ROWS;
    private volatile long programChunkBytes = 16L << 20;
    private volatile int aggregationFanIn = 64;
    private volatile long productBroadcastBytes = 128L << 20;
    private volatile long productTileBytes = 128L << 20;
    private volatile int checkpointInterval = 10;
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
        s.programChunkRows = programChunkRows;
        s.programChunkBytes = programChunkBytes;
        s.aggregationFanIn = aggregationFanIn;
        s.productBroadcastBytes = productBroadcastBytes;
        s.productTileBytes = productTileBytes;
        s.checkpointInterval = checkpointInterval;
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
     * once. The values are the same either way, bit for bit (every block program cuts a block into
     * the same chunks, {@link #programChunkRows()}, unless an array passes {@link #programChunkBytes()}).
     */
    public Settings setFusion(boolean on) {
        fusion = on;
        return this;
    }

    /**
     * True (the default) when an aggregation job runs as one block program per task: the row-local
     * ops between the job's reductions and the cached blocks run a chunk of rows at a time
     * ({@link #programChunkRows()}), so each block is read once and no intermediate the size of a
     * block is made. Off, every op runs over whole blocks as its own RDD. The values agree within
     * rounding (partials are summed chunk by chunk).
     */
    public boolean blockPrograms() {
        return blockPrograms;
    }

    /** Sets {@link #blockPrograms()}; returns these settings. */
    public Settings setBlockPrograms(boolean on) {
        blockPrograms = on;
        return this;
    }

    /** The default of {@link #programChunkRows()}. */
    public static final int DEFAULT_PROGRAM_CHUNK_ROWS = Integer.getInteger("sparkgrad.programChunkRows", 1024);

    /**
     * The rows of one chunk of a block program (default {@link #DEFAULT_PROGRAM_CHUNK_ROWS}, 1024),
     * the same for every program: a reduction's partials are combined chunk by chunk, so a reduction
     * fused into a job with others gives the bits it gives alone (and with {@link #fusion()} off).
     * Enough rows that a matrix product of a chunk runs at the BLAS's speed, few enough that a
     * chunk's intermediates stay in a core's caches between the forward and backward steps that
     * read them (a chunk of 1024 rows of 50 columns is 400 KiB).
     */
    public int programChunkRows() {
        return programChunkRows;
    }

    /** Sets {@link #programChunkRows()} (positive); returns these settings. */
    public Settings setProgramChunkRows(int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("setProgramChunkRows: rows must be >= 1 but got " + rows);
        }
        programChunkRows = rows;
        return this;
    }

    /**
     * The most bytes of the widest array of one chunk of a block program (default 16 MiB): a
     * program whose widest array (a leaf, or a step's row) would hold more in
     * {@link #programChunkRows()} rows runs fewer rows per chunk, so the chunks of an array of more
     * than 2,048 columns (at the defaults) depend on it; its reductions then agree within rounding,
     * fused or not, rather than bit for bit.
     */
    public long programChunkBytes() {
        return programChunkBytes;
    }

    /** Sets {@link #programChunkBytes()} (positive); returns these settings. */
    public Settings setProgramChunkBytes(long bytes) {
        programChunkBytes = positive("setProgramChunkBytes", bytes);
        return this;
    }

    /**
     * How a product of two distributed matrices is made (default 128 MiB). When the smaller one
     * holds at most this many bytes (and at most {@link #maxLocalBytes()}), it is collected and sent
     * to every task, and the product is made block by block (broadcast-based); otherwise both
     * are cut into tiles that one shuffle brings together (tile-based, {@link #productTileBytes()}).
     * A contraction over the blocks ({@code X.T().matmul(Y)}) gives a local result up to this
     * size, and a distributed one above it, its partial products summed by tile on the executors.
     * The job description names the choice.
     */
    public long productBroadcastBytes() {
        return productBroadcastBytes;
    }

    /** Sets {@link #productBroadcastBytes()} (0 or more); returns these settings. */
    public Settings setProductBroadcastBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("setProductBroadcastBytes: bytes must be 0 or more, got " + bytes);
        }
        productBroadcastBytes = bytes;
        return this;
    }

    /**
     * The bytes of one tile of a tile-based product (default 128 MiB): the columns of an output tile
     * are chosen so that the tile of the right operand it needs holds about this much, which
     * bounds what one task holds; more tiles mean more copies of the left operand in the shuffle
     * (each is sent once per column of tiles, the right operand once per block of the left's rows).
     */
    public long productTileBytes() {
        return productTileBytes;
    }

    /** Sets {@link #productTileBytes()} (positive); returns these settings. */
    public Settings setProductTileBytes(long bytes) {
        productTileBytes = positive("setProductTileBytes", bytes);
        return this;
    }

    /**
     * Every how many {@code assign}s of a distributed array its new blocks are checkpointed
     * (default 10; 0: never), when the SparkContext has a checkpoint directory
     * ({@code sc.setCheckpointDir}, on a cluster a directory every executor reaches, such as HDFS).
     * A distributed parameter updated step after step, or a gradient accumulated with
     * {@code GradReq.ADD}, has blocks computed from the blocks they replace, so without a checkpoint
     * its lineage (and the broadcasts that lineage reads) grows with every step, as in MLlib's
     * iterative algorithms (whose {@code checkpointInterval} this follows). A checkpoint writes the
     * blocks once more, and a block lost later is read back instead of recomputed.
     */
    public int checkpointInterval() {
        return checkpointInterval;
    }

    /** Sets {@link #checkpointInterval()} (0: never); returns these settings. */
    public Settings setCheckpointInterval(int interval) {
        if (interval < 0) {
            throw new IllegalArgumentException("setCheckpointInterval: the interval must be 0 (never) or more, got "
                + interval);
        }
        checkpointInterval = interval;
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

    /** Sets {@link #aggregationFanIn()} (at least 2); returns these settings. */
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

    /** Sets {@link #treeAggregationBytes()} (0 or more); returns these settings. */
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

    /** Sets {@link #maxLocalBytes()} (positive); returns these settings. */
    public Settings setMaxLocalBytes(long bytes) {
        maxLocalBytes = positive("setMaxLocalBytes", bytes);
        return this;
    }

    /** Local operands above this size (default 256 KiB) travel as Spark broadcasts, smaller ones inside tasks. */
    public long broadcastThreshold() {
        return broadcastThreshold;
    }

    /** Sets {@link #broadcastThreshold()} (0 or more); returns these settings. */
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

    /** Sets {@link #blockBytes()}; returns these settings. */
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

    /** Sets {@link #dropInvalidRows()}; returns these settings. */
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
