package io.sparkgrad.dist;

import io.sparkgrad.np.Csr;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;
import org.apache.spark.storage.StorageLevel;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Data IO of distributed tensors: Spark DataFrames and Parquet in (CSV and LIBSVM text: see
 * {@link TextData}); DataFrames and Parquet out.
 *
 * <p><b>In.</b> The selected columns are projected by Spark SQL (numeric columns cast to double)
 * and each partition of the query's output becomes one {@link Block} on the executors (an empty
 * partition is an empty block). One Spark job builds and persists the blocks (MEMORY_AND_DISK)
 * and returns each block's row count and width; the driver builds the {@link Layout} from the
 * counts and re-keys each block's first row to its global offset with a narrow map over the
 * persisted blocks. Unless the caller keeps the source's partitions
 * ({@link Dist.Blocking#SOURCE_PARTITIONS}), a second job then moves the rows into blocks of
 * about {@link Dist#blockBytes()} each (a shuffle by row range) when the source has another
 * number of partitions, and keeps those. The returned array never reads the source again.
 *
 * <p><b>Bad data.</b> A bad value (a null, text that is not a number, NaN, an infinity, a vector
 * of another size, a value a {@link DataReader#check} refuses) fails the job with a
 * {@link BadValue} naming the partition and the row within it, or is skipped and counted under
 * {@link DataReader#dropInvalid}. The driver then says where it was, counting from 1: for a
 * Parquet file, the row group and row (from the row's {@code _metadata.row_index} and the
 * file's footer); for a DataFrame, the row of the data set (a second job, on the error path
 * only, counts the rows of the partitions before the bad one). A Parquet file that cannot be
 * read (a truncated footer, a page whose CRC32 does not match: page checksums are verified
 * unless {@link DataReader#permissive}) is named with the row group the reader had reached.
 *
 * <p><b>Vectors.</b> A Spark ML vector column ({@code org.apache.spark.ml.linalg.VectorUDT}) is
 * recognised by its type name ({@code vector}) or class name together with its storage type,
 * {@code struct<type: tinyint, size: int, indices: array<int>, values: array<double>>} (type 0 is
 * sparse, 1 dense). Spark SQL stores a user-defined type's values in that storage form, so the
 * executors read the struct straight from the query's internal rows: no Spark ML classes are
 * needed on either side, no text round trip (as {@code to_json} would make) can touch the values,
 * and nothing depends on whether SQL field extraction or casts accept the user-defined type.
 *
 * <p><b>Files.</b> Spark orders the files of a directory by size when it packs them into
 * partitions, which would scramble the rows of a directory written by {@link #writeParquet}. A
 * directory of data files is therefore read file by file, in the order of the writer's part
 * numbers (then names), as a union whose partitions follow that order. A path with glob
 * characters or a directory with sub-directories (a partitioned table) is left to Spark, in
 * Spark's order.
 */
final class DataIO {
    private DataIO() {}

    /** A numeric column, cast to double by Spark SQL. */
    static final int NUMBER = 0;
    /** A string column (CSV), parsed on the executors. */
    static final int TEXT = 1;
    /** A Spark ML vector column, read in its storage form. */
    static final int VECTOR = 2;

    /** The storage type of Spark ML's VectorUDT. */
    static final StructType VECTOR_STORAGE = new StructType()
        .add("type", DataTypes.ByteType, false)
        .add("size", DataTypes.IntegerType, true)
        .add("indices", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
        .add("values", DataTypes.createArrayType(DataTypes.DoubleType, false), true);

    /** The file a Parquet row came from, and its row within that file (counted from 0). */
    private static final String FILE_PATH = "_metadata.file_path";
    private static final String ROW_INDEX = "_metadata.row_index";

    // ------------------------------------------------------------------ DataFrames in

    static DataReader.Result fromDataFrame(DataReader spec) {
        String op = "fromDataFrame";
        Dataset<Row> df = spec.frame;
        if (df == null) {
            throw new IllegalArgumentException(op + ": the DataFrame is null");
        }
        if (df.isStreaming()) {
            throw new IllegalArgumentException(op + ": a streaming DataFrame cannot become a distributed array");
        }
        boolean caseSensitive = caseSensitive(df.sparkSession());
        Selection sel = select(op, "the DataFrame", df.schema(), spec.columns, false, caseSensitive)
            .keeping(Keys.select(op, "the DataFrame", df.schema(), spec.keep, caseSensitive));
        Rules rules = Rules.of(op, spec, sel.names, caseSensitive);
        return loadRows(op, "the data set", df.select(sel.projection()), sel, false, rules, spec.blocking);
    }

    /** The columns chosen from a schema and how each becomes doubles. */
    static final class Selection {
        final String[] names;
        final int[] kinds;
        // the key columns kept beside the blocks (Keys), projected after the values and file columns
        final StructType keys;

        Selection(String[] names, int[] kinds) {
            this(names, kinds, null);
        }

        private Selection(String[] names, int[] kinds, StructType keys) {
            this.names = names;
            this.kinds = kinds;
            this.keys = keys;
        }

        /** This selection with the key columns {@code keys} (null or empty: none). */
        Selection keeping(StructType keys) {
            return new Selection(names, kinds, keys == null || keys.fields().length == 0 ? null : keys);
        }

        Column[] projection() {
            Column[] cols = new Column[names.length];
            for (int i = 0; i < names.length; i++) {
                Column c = functions.col(quote(names[i]));
                cols[i] = kinds[i] == NUMBER ? c.cast(DataTypes.DoubleType) : c;
            }
            return withKeys(cols);
        }

        private Column[] withKeys(Column[] cols) {
            if (keys == null) {
                return cols;
            }
            String[] k = keys.fieldNames();
            Column[] all = Arrays.copyOf(cols, cols.length + k.length);
            for (int i = 0; i < k.length; i++) {
                all[cols.length + i] = functions.col(quote(k[i]));
            }
            return all;
        }

        /** The index of the vector column, or -1 when there is none. */
        int vectorColumn() {
            for (int i = 0; i < kinds.length; i++) {
                if (kinds[i] == VECTOR) {
                    return i;
                }
            }
            return -1;
        }

        Column[] projectionWithFile() {
            Column[] p = new Selection(names, kinds).projection();
            Column[] cols = Arrays.copyOf(p, p.length + 2);
            cols[p.length] = functions.col(FILE_PATH);
            cols[p.length + 1] = functions.col(ROW_INDEX);
            return withKeys(cols);
        }
    }

    /**
     * Resolves the requested columns (none: all of them) against {@code schema}, before any job:
     * a missing or non-numeric column fails naming it, its type and the numeric columns there are.
     */
    static Selection select(String op, String where, StructType schema, String[] requested,
                                    boolean textAllowed, boolean caseSensitive) {
        String[] names = requested == null || requested.length == 0 ? schema.fieldNames() : requested;
        if (names.length == 0) {
            throw new IllegalArgumentException(op + ": " + where + " has no columns");
        }
        String[] resolved = new String[names.length];
        int[] kinds = new int[names.length];
        boolean vector = false;
        for (int i = 0; i < names.length; i++) {
            if (names[i] == null) {
                throw new IllegalArgumentException(op + ": column name " + i + " is null");
            }
            StructField f = field(schema, names[i], caseSensitive);
            if (f == null) {
                throw new IllegalArgumentException(op + ": " + where + " has no column '" + names[i] + "'; "
                    + available(schema, textAllowed));
            }
            DataType t = f.dataType();
            resolved[i] = f.name();
            if (t instanceof NumericType) {
                kinds[i] = NUMBER;
            } else if (textAllowed && t instanceof StringType) {
                kinds[i] = TEXT;
            } else if (isVectorType(t)) {
                DataType storage = ((UserDefinedType<?>) t).sqlType();
                if (!hasVectorStorage(storage)) {
                    throw new IllegalArgumentException(op + ": column '" + f.name() + "' has type " + t.typeName()
                        + " stored as " + storage.simpleString() + "; sparkgrad reads Spark ML vectors, stored as "
                        + VECTOR_STORAGE.simpleString());
                }
                kinds[i] = VECTOR;
                vector = true;
            } else {
                throw new IllegalArgumentException(op + ": column '" + f.name() + "' has type " + t.simpleString()
                    + ", not a number; " + available(schema, textAllowed));
            }
        }
        List<String> vectors = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            if (kinds[i] == VECTOR) {
                vectors.add(resolved[i]);
            }
        }
        if (vectors.size() > 1) {
            throw new IllegalArgumentException(op + ": at most one vector column can be selected (with numeric columns "
                + "beside it), but " + vectors.size() + " are vectors: " + String.join(", ", vectors));
        }
        return new Selection(resolved, kinds);
    }

    static StructField field(StructType schema, String name, boolean caseSensitive) {
        StructField match = null;
        for (StructField f : schema.fields()) {
            if (f.name().equals(name)) {
                return f;
            }
            if (!caseSensitive && f.name().equalsIgnoreCase(name)) {
                if (match != null) {
                    return null; // ambiguous; the message lists the columns
                }
                match = f;
            }
        }
        return match;
    }

    private static String available(StructType schema, boolean textAllowed) {
        List<String> cols = new ArrayList<>();
        for (StructField f : schema.fields()) {
            DataType t = f.dataType();
            if (t instanceof NumericType || (textAllowed && t instanceof StringType)
                || (isVectorType(t) && hasVectorStorage(((UserDefinedType<?>) t).sqlType()))) {
                cols.add(f.name() + " (" + t.simpleString() + ")");
            }
        }
        String what = textAllowed ? "columns" : "numeric columns";
        return cols.isEmpty() ? "there are no " + what : what + " available: " + String.join(", ", cols);
    }

    /** A Spark ML vector type: {@code VectorUDT} (its type name is {@code vector}), from ml or mllib. */
    static boolean isVectorType(DataType t) {
        if (!(t instanceof UserDefinedType)) {
            return false;
        }
        return "vector".equals(t.typeName()) || t.getClass().getName().endsWith(".VectorUDT");
    }

    static boolean hasVectorStorage(DataType storage) {
        if (!(storage instanceof StructType)) {
            return false;
        }
        StructField[] f = ((StructType) storage).fields();
        return f.length == 4
            && f[0].name().equals("type") && f[0].dataType() instanceof ByteType
            && f[1].name().equals("size") && f[1].dataType() instanceof IntegerType
            && f[2].name().equals("indices") && f[2].dataType() instanceof ArrayType
            && ((ArrayType) f[2].dataType()).elementType() instanceof IntegerType
            && f[3].name().equals("values") && f[3].dataType() instanceof ArrayType
            && ((ArrayType) f[3].dataType()).elementType() instanceof DoubleType;
    }

    static boolean caseSensitive(SparkSession s) {
        return Boolean.parseBoolean(s.conf().get("spark.sql.caseSensitive", "false"));
    }

    /** Quotes a column name for {@code functions.col}, so that dots and spaces are part of it. */
    static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /**
     * Turns the projected query (one column per name, then the file path when {@code withFile})

    // ------------------------------------------------------------------ loading and bad values

    /** Where a bad value was, in the user's terms: "data.csv line 3", "row 10 of the data set". */
    interface Locator {
        /** Returns the place of {@code bad} (may run a job that counts rows or lines). */
        String where(BadValue bad);
    }

    /**
     * Turns a Spark SQL query (one column per selected name, then the file and row index when
     * {@code withFile}) into a distributed array, see {@link #load}.
     */
    private static DataReader.Result loadRows(String op, String what, Dataset<Row> projected, Selection sel,
                                              boolean withFile, Rules rules, Dist.Blocking blocking) {
        RDD<InternalRow> rows = Jobs.run(op, () -> projected.queryExecution().toRdd());
        Drops drops = Drops.create(rules.drop);
        int keyStart = sel.keys == null ? -1 : sel.names.length + (withFile ? 2 : 0);
        ToBlock toBlock = new ToBlock(sel.names, sel.kinds, withFile ? sel.names.length : -1, rules, drops, keyStart,
            sel.keys, Dist.sparseThreshold());
        Locator rowsBefore = bad -> {
            if (bad.unreadable && bad.file != null) {
                return damagedRowGroup(bad.file);
            }
            if (bad.file != null && bad.fileRow >= 0) {
                return parquetPlace(bad.file, bad.fileRow);
            }
            long before = countBefore(op, rows.toJavaRDD(), 0, bad.partition);
            return before < 0 ? "row " + (bad.localIndex + 1) + " of partition " + (bad.partition + 1)
                : "row " + (before + bad.localIndex + 1) + " of " + what;
        };
        int vectorColumn = sel.vectorColumn();
        // with a vector column the width comes from the blocks (its size plus the numeric columns)
        List<String> widthFrom = vectorColumn >= 0 ? List.of(sel.names[vectorColumn]) : List.of(sel.names);
        if (sel.keys == null) {
            JavaRDD<Block> raw = rows.toJavaRDD().mapPartitionsWithIndex(toBlock, true);
            return load(op, what, raw, rowsBefore, vectorColumn >= 0, widthFrom, blocking, drops);
        }
        // Each partition's block and its kept rows' keys come out of the same pass over the rows
        // (the block first, then the keys) and are cached together, so that they cannot disagree;
        // the keys are split off and cached before that cache is dropped.
        JavaRDD<Object> both = rows.toJavaRDD().mapPartitionsWithIndex(toBlock::withKeys, true)
            .persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<Block> raw = both.mapPartitions(Keys::blockOf, true);
        JavaRDD<org.apache.spark.sql.catalyst.expressions.UnsafeRow> keys = both.mapPartitions(Keys::keysOf, true);
        return load(op, what, raw, both, keys, sel.keys, rowsBefore, vectorColumn >= 0, widthFrom, blocking, drops);
    }

    /**
     * Makes the array from {@code raw}, one block per partition (not yet persisted): one job
     * builds and persists the blocks and returns each block's row count and width; the driver
     * builds the {@link Layout} from the counts and re-keys each block's first row to its global
     * offset with a narrow map over the persisted blocks; unless {@code blocking} keeps the
     * source's partitions, a second job moves the rows into blocks of about
     * {@link Dist#blockBytes()} when their number differs. A {@link BadValue} from the executors
     * becomes the user's one-line error, placed by {@code locator}.
     */
    static DataReader.Result load(String op, String what, JavaRDD<Block> unpersisted, Locator locator, boolean vector,
                                  List<String> names, Dist.Blocking blocking, Drops drops) {
        JavaRDD<Block> raw = unpersisted.persist(StorageLevel.MEMORY_AND_DISK());
        return load(op, what, raw, raw, null, null, locator, vector, names, blocking, drops);
    }

    /**
     * As above, from {@code raw} blocks read from the cached {@code cache} (dropped when the array
     * no longer needs it), with the kept rows' {@code keys} (null: none) read from the same cache,
     * one partition per block of {@code raw}: they are cached on their own before {@code cache}
     * is dropped, and become the result's {@link Keys} laid out as the blocks were read.
     */
    private static DataReader.Result load(String op, String what, JavaRDD<Block> raw, JavaRDD<?> cache,
                                          JavaRDD<org.apache.spark.sql.catalyst.expressions.UnsafeRow> keys,
                                          StructType keySchema, Locator locator, boolean vector, List<String> names,
                                          Dist.Blocking blocking, Drops drops) {
        if (keys != null) {
            keys.persist(StorageLevel.MEMORY_AND_DISK());
        }
        Runnable dropAll = () -> {
            cache.unpersist(false);
            if (keys != null) {
                keys.unpersist(false);
            }
        };
        List<int[]> sizes;
        try {
            sizes = Jobs.run(op, () -> raw.map(b -> new int[] {b.rows(), b.shapeRef()[1], b.isSparse() ? b.csr().nnz() : -1})
                .collect());
            if (keys != null) {
                Jobs.run(op, keys::count); // from the cache the sizes' job filled
            }
        } catch (RuntimeException e) {
            dropAll.run();
            BadValue bad = find(e);
            if (bad != null) {
                throw new IllegalArgumentException(message(op, locator, bad), bad);
            }
            throw e;
        }
        int n = sizes.size();
        long[] rowsPerBlock = new long[n];
        int width = vector ? -1 : names.size();
        long rowsBefore = 0;
        for (int i = 0; i < n; i++) {
            int[] s = sizes.get(i);
            rowsPerBlock[i] = s[0];
            if (s[0] > 0) {
                if (width < 0) {
                    width = s[1];
                } else if (s[1] != width) {
                    dropAll.run();
                    throw new IllegalArgumentException(op + ": column '" + names.get(0) + "' holds vectors of size " + width
                        + " before row " + (rowsBefore + 1) + " but of size " + s[1] + " at row " + (rowsBefore + 1)
                        + " of " + what + "; all vectors must have the same size");
                }
            }
            rowsBefore += s[0];
        }
        long dropped = drops == null ? 0 : drops.count.value();
        String firstDropped = null;
        if (dropped > 0) {
            BadValue first = drops.first();
            firstDropped = first == null ? null : place(locator, first);
        }
        if (rowsBefore == 0) {
            dropAll.run();
            throw new IllegalArgumentException(op + ": " + what + " has no rows"
                + (dropped > 0 ? " once the " + dropped + " invalid rows are dropped (the first: " + firstDropped + ")" : ""));
        }
        boolean sparse = sizes.stream().anyMatch(s -> s[2] >= 0);
        Layout layout;
        try {
            layout = sparse ? Layout.ofSparseStarts(Layout.ofBlockSizes(rowsPerBlock, new int[] {1}).rowStarts(),
                new int[] {width}) : Layout.ofBlockSizes(rowsPerBlock, new int[] {width});
        } catch (IllegalArgumentException e) {
            dropAll.run();
            throw new IllegalArgumentException(op + ": " + e.getMessage(), e);
        }
        long[] starts = new long[n];
        for (int i = 0; i < n; i++) {
            starts[i] = layout.rowStart(i);
        }
        int w = width;
        JavaRDD<Block> blocks = raw.map(b -> !b.isSparse() ? new Block(b.index(), starts[b.index()], new int[] {b.rows(), w},
            b.dataRef()) : new Block(b.index(), starts[b.index()], b.rows() == 0 ? Csr.empty(0, w) : b.csr()));
        DistArray source = new DistArray(layout, blocks);
        List<String> columns = vector ? null : names;
        Keys kept = keys == null ? null : new Keys(keySchema, Layout.ofStarts(layout.rowStarts(), new int[0]), keys);
        Layout target = sparse ? Layout.ofSparseStarts(Layout.ofBlockRows(layout.rows(), blockRows(sizes, w),
            new int[] {1}).rowStarts(), new int[] {w}) : Layout.ofBlockRows(layout.rows(), blockRows(sizes, w), new int[] {w});
        if (blocking == Dist.Blocking.SOURCE_PARTITIONS || target.numBlocks() == layout.numBlocks()) {
            return new DataReader.Result(source, columns, dropped, firstDropped, kept);
        }
        // One more job moves the rows into blocks of the target size and keeps those instead.
        DistArray moved = DistBackend.reblock(source, target);
        String moves = moved.node().movements();
        JavaRDD<Block> rdd = moved.rdd().persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Jobs.run(op, moves, rdd::count);
        } finally {
            cache.unpersist(false);
        }
        return new DataReader.Result(new DistArray(target, rdd), columns, dropped, firstDropped, kept);
    }

    /**
     * The rows per block that make blocks of about {@link Dist#blockBytes()} of the data as it is
     * held: 8 bytes a value for dense blocks, 12 a non-zero (and 4 a row) for sparse ones; each
     * of {@code sizes} is a block's rows, width and non-zeros (-1 when dense).
     */
    static int blockRows(List<int[]> sizes, int width) {
        long rows = 0;
        double bytes = 0;
        boolean sparse = false;
        for (int[] s : sizes) {
            rows += s[0];
            sparse |= s[2] >= 0;
            bytes += s[2] >= 0 ? 4.0 * s[0] + 12.0 * s[2] : 8.0 * s[0] * width;
        }
        if (!sparse || rows == 0) {
            return Dist.defaultBlockRows(width);
        }
        double perRow = Math.max(1, bytes / rows);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Dist.blockBytes() / perRow));
    }

    /** The one line the user gets for {@code bad}: the op, the place, the column, what is wrong. */
    static String message(String op, Locator locator, BadValue bad) {
        if (bad.unreadable) {
            return op + ": cannot read " + place(locator, bad) + ": " + bad.detail;
        }
        return op + ": " + place(locator, bad) + ": " + bad.detail + (bad.droppable ? " (" + bad.hint + ")" : "");
    }

    private static String place(Locator locator, BadValue bad) {
        String where;
        try {
            where = locator.where(bad);
        } catch (RuntimeException e) {
            where = bad.file != null ? display(bad.file) : "partition " + (bad.partition + 1);
        }
        return where + (bad.column != null ? ", column '" + bad.column + "'" : "");
    }

    /**
     * Counts the rows of the partitions {@code from} to {@code to - 1} (a job, on the error path
     * only); -1 when that job fails too.
     */
    static <T> long countBefore(String op, JavaRDD<T> rows, int from, int to) {
        if (to <= from) {
            return 0;
        }
        try {
            List<Long> counts = Jobs.run(op + ": locate the bad row", () -> rows
                .mapPartitionsWithIndex((Integer i, Iterator<T> it) -> {
                    long c = 0;
                    if (i >= from && i < to) {
                        while (it.hasNext()) {
                            it.next();
                            c++;
                        }
                    }
                    return Collections.singletonList(c).iterator();
                }, true).collect());
            long before = 0;
            for (int i = from; i < to; i++) {
                before += counts.get(i);
            }
            return before;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /**
     * "FILE, row group 2 of 3, row 7 (row 1031 of the file)" for the row {@code fileRow} (from 0)
     * of a Parquet file; the row groups come from the file's footer, read on the driver.
     */
    static String parquetPlace(String file, long fileRow) {
        String where = display(file);
        try {
            org.apache.hadoop.conf.Configuration conf = Dist.session().sparkContext().hadoopConfiguration();
            try (org.apache.parquet.hadoop.ParquetFileReader r = org.apache.parquet.hadoop.ParquetFileReader.open(
                org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(new Path(file), conf))) {
                var groups = r.getRowGroups();
                long start = 0;
                for (int g = 0; g < groups.size(); g++) {
                    long count = groups.get(g).getRowCount();
                    if (fileRow < start + count) {
                        return where + ", row group " + (g + 1) + " of " + groups.size() + ", row " + (fileRow - start + 1)
                            + " (row " + (fileRow + 1) + " of the file)";
                    }
                    start += count;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the footer cannot be read either: name the row of the file alone
        }
        return where + ", row " + (fileRow + 1) + " of the file";
    }

    /**
     * "FILE, row group 2 of 6": the first row group of a Parquet file whose pages cannot be read
     * (checksums verified), read on the driver on the error path only; the file alone when its
     * footer cannot be read or every row group reads.
     */
    static String damagedRowGroup(String file) {
        org.apache.hadoop.conf.Configuration conf = Dist.session().sparkContext().hadoopConfiguration();
        org.apache.parquet.ParquetReadOptions options = org.apache.parquet.HadoopReadOptions.builder(conf)
            .usePageChecksumVerification(true).build();
        try (org.apache.parquet.hadoop.ParquetFileReader r = org.apache.parquet.hadoop.ParquetFileReader.open(
            org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(new Path(file), conf), options)) {
            int groups = r.getRowGroups().size();
            var columns = r.getFooter().getFileMetaData().getSchema().getColumns();
            for (int g = 0; g < groups; g++) {
                try {
                    org.apache.parquet.column.page.PageReadStore store = r.readNextRowGroup();
                    for (var c : columns) {
                        var pages = store.getPageReader(c);
                        while (pages.readPage() != null) {
                            // reading a page verifies its checksum
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    return display(file) + ", row group " + (g + 1) + " of " + groups;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the footer cannot be read: the file alone
        }
        return display(file);
    }

    /** A path as the user wrote it: local files without their {@code file:} scheme. */
    static String display(String path) {
        if (path.startsWith("file:///")) {
            return path.substring(7);
        }
        if (path.startsWith("file:/")) {
            return path.substring(5);
        }
        return path;
    }

    /** A failed job as an unchecked exception naming the op; Spark's own exception is its cause. */
    private static RuntimeException surface(String op, Exception e) {
        if (e instanceof RuntimeException) {
            return (RuntimeException) e;
        }
        return new SparkJobException(Jobs.describe(op) + ": the Spark job failed: " + rootCause(e), e);
    }

    /** The executor-side failure {@code e} carries, if bad data caused it. */
    static BadValue find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof BadValue) {
                return (BadValue) t;
            }
        }
        return null;
    }

    /**
     * Bad data found on the executors: the partition and the row or line within it (from 0), the
     * column (null: the whole row or line), what is wrong, and the file when known. The driver
     * turns it into the user's error with {@link #message}. No stack trace: it is data, not code.
     */
    static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final int partition;
        final long localIndex;
        final long fileRow;
        final String column;
        final String detail;
        final String file;
        final boolean droppable;
        final boolean unreadable;
        final String hint;

        private BadValue(int partition, long localIndex, long fileRow, String column, String detail, String file,
                         boolean droppable, boolean unreadable, String hint) {
            super((file != null ? display(file) + ": " : "") + (column != null ? "column '" + column + "' " : "") + detail
                + " at row or line " + (localIndex + 1) + " of partition " + (partition + 1), null, false, false);
            this.partition = partition;
            this.localIndex = localIndex;
            this.fileRow = fileRow;
            this.column = column;
            this.detail = detail;
            this.file = file;
            this.droppable = droppable;
            this.unreadable = unreadable;
            this.hint = hint;
        }

        /** A row or line that {@link DataReader#dropInvalid} could skip. */
        static BadValue invalid(int partition, long localIndex, long fileRow, String column, String detail, String file,
                                String hint) {
            return new BadValue(partition, localIndex, fileRow, column, detail, file, true, false, hint);
        }

        /** Bad data that no option skips (a header that differs, an index past the bound). */
        static BadValue fatal(int partition, long localIndex, long fileRow, String column, String detail, String file) {
            return new BadValue(partition, localIndex, fileRow, column, detail, file, false, false, null);
        }

        /** A file that cannot be read (damaged, truncated); {@code fileRow} the next row to read, -1 unknown. */
        static BadValue unreadable(int partition, long fileRow, String detail, String file) {
            return new BadValue(partition, -1, fileRow, null, detail, file, false, true, null);
        }
    }

    /** What makes a value acceptable: finite, and passing the column's check; whether to drop rows that fail. */
    static final class Rules implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        final boolean drop;
        final boolean strict;
        final String hint;
        private final DataReader.ValueCheck[] checks;
        private final String[] requirements;

        private Rules(boolean drop, boolean strict, String hint, DataReader.ValueCheck[] checks, String[] requirements) {
            this.drop = drop;
            this.strict = strict;
            this.hint = hint;
            this.checks = checks;
            this.requirements = requirements;
        }

        /** The rules of {@code spec} for the selected columns {@code names}: an unknown checked column fails. */
        static Rules of(String op, DataReader spec, String[] names, boolean caseSensitive) {
            DataReader.ValueCheck[] checks = new DataReader.ValueCheck[names.length];
            String[] requirements = new String[names.length];
            for (int c = 0; c < spec.checkColumns.size(); c++) {
                String col = spec.checkColumns.get(c);
                int k = -1;
                for (int i = 0; i < names.length; i++) {
                    if (names[i].equals(col) || (!caseSensitive && names[i].equalsIgnoreCase(col))) {
                        k = i;
                        break;
                    }
                }
                if (k < 0) {
                    throw new IllegalArgumentException(op + ": a check names the column '" + col + "', which is not read (the "
                        + "columns read: " + String.join(", ", names) + ")");
                }
                checks[k] = spec.checks.get(c);
                requirements[k] = spec.requirements.get(c);
            }
            return new Rules(spec.drop(), !spec.permissive, spec.hint(), checks, requirements);
        }

        /** Returns null when {@code v} is acceptable in the selected column {@code k}, else what is wrong with it. */
        String problem(int k, double v) {
            if (Double.isNaN(v)) {
                return "is NaN";
            }
            if (Double.isInfinite(v)) {
                return "is " + (v > 0 ? "+infinity" : "-infinity");
            }
            if (k < checks.length && checks[k] != null && !checks[k].test(v)) {
                return "is " + show(v) + "; " + requirements[k];
            }
            return null;
        }

        static String show(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
        }
    }

    /**
     * The rows skipped under {@link DataReader#dropInvalid}: how many, and the first of each
     * partition. Accumulators, read once after the job that builds the blocks (a failed task
     * attempt's updates are not counted).
     */
    static final class Drops implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        final org.apache.spark.util.LongAccumulator count;
        final org.apache.spark.util.CollectionAccumulator<BadValue> firsts;

        private Drops(org.apache.spark.util.LongAccumulator count, org.apache.spark.util.CollectionAccumulator<BadValue> firsts) {
            this.count = count;
            this.firsts = firsts;
        }

        /** Null when rows are not dropped. */
        static Drops create(boolean drop) {
            if (!drop) {
                return null;
            }
            SparkContext sc = Dist.session().sparkContext();
            return new Drops(sc.longAccumulator(), sc.collectionAccumulator());
        }

        /**
         * On the executors: the row {@code bad} names is dropped when {@code drop} says so and the
         * problem allows it (counted, and kept as the partition's first when {@code recorded} is
         * false), else {@code bad} is thrown. Returns true: the partition has recorded a drop.
         */
        static boolean dropOrThrow(Drops drops, boolean drop, BadValue bad, boolean recorded) {
            if (!drop || !bad.droppable) {
                throw bad;
            }
            drops.count.add(1);
            if (!recorded) {
                drops.firsts.add(bad);
            }
            return true;
        }

        /** The first dropped row of the data: the lowest partition's. */
        BadValue first() {
            BadValue first = null;
            for (BadValue b : firsts.value()) {
                if (first == null || b.partition < first.partition) {
                    first = b;
                }
            }
            return first;
        }
    }

    /**
     * Makes the one block of a partition from its rows of doubles, text or vectors (on the
     * executors). With the file columns (Parquet) a failure to read the file becomes a
     * {@link BadValue} naming it and the row the reader had reached.
     */
    static final class ToBlock implements Function2<Integer, Iterator<InternalRow>, Iterator<Block>> {
        private static final long serialVersionUID = 1L;

        private final String[] names;
        private final int[] kinds;
        private final int fileColumn;
        private final Rules rules;
        private final Drops drops;
        // where the key columns start in a row (-1: none kept), and their types
        private final int keyStart;
        private final StructType keySchema;

        private final double sparseThreshold;

        ToBlock(String[] names, int[] kinds, int fileColumn, Rules rules, Drops drops, double sparseThreshold) {
            this(names, kinds, fileColumn, rules, drops, -1, null, sparseThreshold);
        }

        ToBlock(String[] names, int[] kinds, int fileColumn, Rules rules, Drops drops, int keyStart,
                StructType keySchema, double sparseThreshold) {
            this.sparseThreshold = sparseThreshold;
            this.names = names;
            this.kinds = kinds;
            this.fileColumn = fileColumn;
            this.rules = rules;
            this.drops = drops;
            this.keyStart = keyStart;
            this.keySchema = keySchema;
        }

        @Override
        public Iterator<Block> call(Integer partition, Iterator<InternalRow> rows) {
            return Collections.singletonList(block(partition, rows, null)).iterator();
        }

        /** The partition's block, then the keys of the rows it kept, in their order ({@link Keys#blockOf}). */
        Iterator<Object> withKeys(Integer partition, Iterator<InternalRow> rows) {
            List<Object> out = new ArrayList<>();
            out.add(null);
            out.set(0, block(partition, rows, Keys.collector(keyStart, keySchema, out)));
            return out.iterator();
        }

        /** Reads the rows into one block; {@code keep} (null: none) gets each kept row, as it is kept. */
        private Block block(int partition, Iterator<InternalRow> rows, java.util.function.Consumer<InternalRow> keep) {
            int cols = kinds.length;
            int vectorColumn = -1;
            for (int c = 0; c < cols; c++) {
                if (kinds[c] == VECTOR) {
                    vectorColumn = c;
                }
            }
            boolean vector = vectorColumn >= 0;
            // a DataFrame whose first vector is sparse is gathered as compressed rows (a Parquet
            // file's rows are read as they are, so that errors name their place in the file);
            // key columns are collected from each row kept, as the dense block does
            if (vector && sparseThreshold > 0 && fileColumn < 0 && rows.hasNext()) {
                InternalRow head = rows.next().copy(); // Spark reuses the row object for the next row
                rows = prepend(head, rows);
                if (isSparseVector(head, vectorColumn)) {
                    return sparseRows(partition, rows, vectorColumn, keep).next();
                }
            }
            Doubles out = new Doubles(partition);
            int width = vector ? -1 : cols; // with a vector: the size of the first row's vector
            long row = 0;
            long kept = 0;
            String lastFile = null;
            boolean recorded = false;
            double[] values = new double[cols];
            while (true) {
                InternalRow r;
                try {
                    if (!rows.hasNext()) {
                        break;
                    }
                    r = rows.next();
                } catch (BadValue | org.apache.spark.TaskKilledException e) {
                    throw e;
                } catch (Exception e) {
                    if (fileColumn < 0) {
                        throw e instanceof RuntimeException ? (RuntimeException) e : new IllegalStateException(e);
                    }
                    throw unreadable(partition, lastFile, e);
                }
                if (fileColumn >= 0 && !r.isNullAt(fileColumn)) {
                    lastFile = r.getUTF8String(fileColumn).toString();
                }
                BadValue bad = null;
                double[] v = values;
                if (vector) {
                    try {
                        v = vector(partition, row, r, vectorColumn);
                    } catch (BadValue b) {
                        bad = b;
                    }
                    if (bad == null) {
                        if (width < 0) {
                            width = v.length;
                        } else if (v.length != width) {
                            bad = bad(partition, row, vectorColumn, r, "holds a vector of size " + v.length
                                + " but the rows before hold vectors of size " + width + "; all vectors must have the same size");
                        }
                    }
                    for (int k = 0; bad == null && k < v.length; k++) {
                        String p = rules.problem(Integer.MAX_VALUE, v[k]);
                        if (p != null) {
                            bad = bad(partition, row, vectorColumn, r, p + " at vector index " + k);
                        }
                    }
                    if (bad == null && cols > 1) {
                        bad = numbers(partition, row, r, values, vectorColumn);
                        if (bad == null) {
                            // the vector's values in its place among the numeric columns
                            double[] all = new double[v.length + cols - 1];
                            int pos = 0;
                            for (int c = 0; c < cols; c++) {
                                if (c == vectorColumn) {
                                    System.arraycopy(v, 0, all, pos, v.length);
                                    pos += v.length;
                                } else {
                                    all[pos++] = values[c];
                                }
                            }
                            v = all;
                        }
                    }
                } else {
                    bad = numbers(partition, row, r, values, -1);
                }
                if (bad != null) {
                    recorded = Drops.dropOrThrow(drops, rules.drop, bad, recorded);
                } else {
                    if (!out.fits(v.length)) {
                        throw BadValue.fatal(partition, row, -1, null, "this partition holds more than "
                            + Integer.MAX_VALUE + " values, more than a block holds; repartition the data into more partitions",
                            lastFile);
                    }
                    out.add(v);
                    if (keep != null) {
                        keep.accept(r);
                    }
                    kept++;
                }
                row++;
            }
            int w = width < 0 ? 0 : vector ? width + cols - 1 : width;
            return new Block(partition, 0, new int[] {(int) kept, w}, out.toArray());
        }

        private static boolean isSparseVector(InternalRow r, int c) {
            return !r.isNullAt(c) && !r.getStruct(c, 4).isNullAt(0) && r.getStruct(c, 4).getByte(0) == 0;
        }

        private static Iterator<InternalRow> prepend(InternalRow head, Iterator<InternalRow> rest) {
            return new Iterator<InternalRow>() {
                private boolean first = true;

                @Override
                public boolean hasNext() {
                    return first || rest.hasNext();
                }

                @Override
                public InternalRow next() {
                    if (first) {
                        first = false;
                        return head;
                    }
                    return rest.next();
                }
            };
        }

        /**
         * The partition's rows as compressed sparse rows: the vector's non-zeros (a dense vector's
         * too) and the numeric columns in their places; a block of them, sparse below the
         * threshold, dense at or above it ({@link CsrBuilder#toBlock}).
         */
        private Iterator<Block> sparseRows(int partition, Iterator<InternalRow> rows, int vectorColumn,
                                           java.util.function.Consumer<InternalRow> keep) {
            CsrBuilder out = new CsrBuilder(partition);
            int cols = kinds.length;
            double[] numbers = new double[cols];
            int width = -1;
            long row = 0;
            boolean recorded = false;
            while (rows.hasNext()) {
                InternalRow r = rows.next();
                BadValue bad = numbers(partition, row, r, numbers, vectorColumn);
                int size = -1;
                if (bad == null) {
                    try {
                        size = sparseVector(partition, row, r, vectorColumn, out, vectorColumn);
                    } catch (BadValue b) {
                        bad = b;
                    }
                }
                if (bad == null) {
                    if (width < 0) {
                        width = size;
                    } else if (size != width) {
                        bad = bad(partition, row, vectorColumn, r, "holds a vector of size " + size
                            + " but the rows before hold vectors of size " + width + "; all vectors must have the same size");
                    }
                }
                if (bad != null) {
                    out.dropRow();
                    recorded = Drops.dropOrThrow(drops, rules.drop, bad, recorded);
                } else {
                    // the numeric columns around the vector, in their places
                    for (int c = 0; c < cols; c++) {
                        if (c != vectorColumn) {
                            out.add(c < vectorColumn ? c : c - 1 + size, numbers[c]);
                        }
                    }
                    out.endRow();
                    if (keep != null) {
                        keep.accept(r);
                    }
                }
                row++;
            }
            int w = width < 0 ? 0 : width + cols - 1;
            return Collections.singletonList(out.toBlock(w, sparseThreshold)).iterator();
        }

        /**
         * Adds the non-zeros of the vector in column {@code c} of {@code r} to the current row of
         * {@code out}, from position {@code offset}; returns its size. A malformed vector or a bad
         * value throws a {@link BadValue}.
         */
        private int sparseVector(int partition, long row, InternalRow r, int c, CsrBuilder out, int offset) {
            VectorParts v = vectorParts(partition, row, r, c);
            for (int k = 0; k < v.values.length; k++) {
                int j = v.index(k);
                checkValue(partition, row, r, c, j, v.values[k]);
                out.add(offset + j, v.values[k]);
            }
            return v.size;
        }

        /**
         * An ML vector's storage form (see the class comment): its size, its values and, for a sparse
         * vector, their indices (null for a dense one).
         */
        private record VectorParts(int size, ArrayData indices, double[] values) {
            int index(int k) {
                return indices == null ? k : indices.getInt(k);
            }
        }

        /** The vector in column {@code c} of {@code r}, checked: a null, a malformed vector or a bad index throws a {@link BadValue}. */
        private VectorParts vectorParts(int partition, long row, InternalRow r, int c) {
            if (r.isNullAt(c)) {
                throw bad(partition, row, c, r, "is null");
            }
            InternalRow v = r.getStruct(c, 4);
            if (v.isNullAt(0) || v.isNullAt(3)) {
                throw bad(partition, row, c, r, "holds a malformed vector (no type or no values)");
            }
            byte type = v.getByte(0);
            double[] values = v.getArray(3).toDoubleArray();
            if (type == 1) {
                return new VectorParts(values.length, null, values);
            }
            if (type != 0 || v.isNullAt(1) || v.isNullAt(2)) {
                throw bad(partition, row, c, r, "holds a malformed vector (type " + type + ")");
            }
            int size = v.getInt(1);
            ArrayData idx = v.getArray(2);
            if (size < 0 || idx.numElements() != values.length) {
                throw bad(partition, row, c, r, "holds a malformed sparse vector (size " + size + ", "
                    + idx.numElements() + " indices, " + values.length + " values)");
            }
            for (int k = 0; k < values.length; k++) {
                int j = idx.getInt(k);
                if (j < 0 || j >= size) {
                    throw bad(partition, row, c, r, "holds a sparse vector of size " + size + " with index " + j);
                }
            }
            return new VectorParts(size, idx, values);
        }

        private void checkValue(int partition, long row, InternalRow r, int c, int index, double value) {
            String p = rules.problem(Integer.MAX_VALUE, value);
            if (p != null) {
                throw bad(partition, row, c, r, p + " at vector index " + index);
            }
        }

        /**
         * Reads the numeric and text columns of {@code r} (all but {@code skip}) into {@code values};
         * returns the first bad value, or null.
         */
        private BadValue numbers(int partition, long row, InternalRow r, double[] values, int skip) {
            for (int c = 0; c < kinds.length; c++) {
                if (c == skip) {
                    continue;
                }
                if (r.isNullAt(c)) {
                    return bad(partition, row, c, r, "is null");
                }
                if (kinds[c] == NUMBER) {
                    values[c] = r.getDouble(c);
                } else {
                    String s = r.getUTF8String(c).toString();
                    values[c] = parseNumber(s);
                    if (Double.isNaN(values[c]) && !isNaNText(s)) {
                        return bad(partition, row, c, r, "'" + shorten(s) + "' is not a number");
                    }
                }
                String p = rules.problem(c, values[c]);
                if (p != null) {
                    return bad(partition, row, c, r, p);
                }
            }
            return null;
        }

        /** The reader failed on the file it was reading: name it (the driver finds the row group) and the root cause. */
        private static BadValue unreadable(int partition, String lastFile, Exception e) {
            String current = org.apache.spark.rdd.InputFileBlockHolder.getInputFilePath().toString();
            return BadValue.unreadable(partition, -1, rootCause(e), current.isEmpty() ? lastFile : current);
        }

        private double[] vector(int partition, long row, InternalRow r, int c) {
            VectorParts v = vectorParts(partition, row, r, c);
            if (v.indices == null) {
                return v.values;
            }
            double[] dense = new double[v.size];
            for (int k = 0; k < v.values.length; k++) {
                dense[v.index(k)] = v.values[k];
            }
            return dense;
        }

        private BadValue bad(int partition, long row, int c, InternalRow r, String detail) {
            String file = null;
            long fileRow = -1;
            if (fileColumn >= 0) {
                file = r.isNullAt(fileColumn) ? null : r.getUTF8String(fileColumn).toString();
                fileRow = r.isNullAt(fileColumn + 1) ? -1 : r.getLong(fileColumn + 1);
            }
            return BadValue.invalid(partition, row, fileRow, names[c], detail, file, rules.hint);
        }
    }

    /** A value as an error message shows it: at most 40 characters. */
    static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** The innermost cause's class and message, in one line. */
    static String rootCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        // one line, and local paths as the user wrote them
        String m = String.valueOf(root.getMessage()).replaceAll("\\s*\\R\\s*", " ").replaceAll("\\bfile:(?=/)", "");
        return root.getClass().getSimpleName() + ": " + m;
    }

    /**
     * Parses a number as written in a CSV file: a decimal number, {@code NaN}, {@code Inf},
     * {@code Infinity} (signed); returns NaN for anything else ({@link #isNaNText} tells them apart).
     * Unlike {@link Double#parseDouble} it refuses Java's hexadecimal and {@code d}/{@code f} forms.
     */
    static double parseNumber(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            return Double.NaN;
        }
        String u = t.startsWith("+") || t.startsWith("-") ? t.substring(1) : t;
        boolean negative = t.startsWith("-");
        if (u.equalsIgnoreCase("inf") || u.equalsIgnoreCase("infinity")) {
            return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (u.equalsIgnoreCase("nan")) {
            return Double.NaN;
        }
        for (int i = 0; i < u.length(); i++) {
            char ch = u.charAt(i);
            if (!(ch >= '0' && ch <= '9') && ch != '.' && ch != 'e' && ch != 'E' && ch != '+' && ch != '-') {
                return Double.NaN;
            }
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    static boolean isNaNText(String text) {
        String t = text.trim();
        String u = t.startsWith("+") || t.startsWith("-") ? t.substring(1) : t;
        return u.equalsIgnoreCase("nan");
    }

    /** A growable array of doubles for one partition. */
    static final class Doubles {
        private static final int MAX = Integer.MAX_VALUE - 16;
        private final int partition;
        private double[] data = new double[1024];
        private int size;

        Doubles(int partition) {
            this.partition = partition;
        }

        /** True when {@code n} more values fit in one block. */
        boolean fits(long n) {
            return size + n <= MAX;
        }

        void add(double v) {
            if (size == data.length) {
                grow(size + 1);
            }
            data[size++] = v;
        }

        void add(double[] v) {
            if (size + (long) v.length > data.length) {
                grow(size + (long) v.length);
            }
            System.arraycopy(v, 0, data, size, v.length);
            size += v.length;
        }

        private void grow(long needed) {
            if (needed > MAX) {
                throw new IllegalStateException("partition " + partition + " holds more than " + MAX + " values, more "
                    + "than a block holds; repartition the DataFrame into more partitions");
            }
            data = Arrays.copyOf(data, (int) Math.min(MAX, Math.max(needed, 2L * data.length)));
        }

        double[] toArray() {
            return size == data.length ? data : Arrays.copyOf(data, size);
        }
    }


    // ------------------------------------------------------------------ Parquet in

    /** Spark passes a reader's options to Parquet's Hadoop configuration: verify the pages' CRC32. */
    static final String VERIFY_CHECKSUMS = "parquet.page.verify-checksum.enabled";

    static DataReader.Result readParquet(DataReader spec) {
        String op = "readParquet";
        String path = spec.path;
        if (path == null) {
            throw new IllegalArgumentException(op + ": the path is null");
        }
        SparkSession spark = Dist.session();
        List<String> files = orderedFiles(op, spark, path);
        Reader reader = new Reader(spark.read().format("parquet").option(VERIFY_CHECKSUMS, !spec.permissive));
        StructType schema = parquetSchema(op, path, files, reader);
        String where = (files != null && files.size() == 1 ? "the file " : "the data at ") + display(path);
        boolean caseSensitive = caseSensitive(spark);
        Selection sel = select(op, where, schema, spec.columns, false, caseSensitive)
            .keeping(Keys.select(op, where, schema, spec.keep, caseSensitive));
        Rules rules = Rules.of(op, spec, sel.names, caseSensitive);
        boolean withFile = field(schema, "_metadata", false) == null;
        List<Dataset<Row>> parts = new ArrayList<>();
        Reader typed = reader.schema(schema);
        for (String f : files == null ? List.of(path) : files) {
            Dataset<Row> df = typed.load(f, op, path);
            parts.add(df.select(withFile ? sel.projectionWithFile() : sel.projection()));
        }
        return loadRows(op, where, union(parts, 0, parts.size()), sel, withFile, rules, spec.blocking);
    }

    /** The schema of a Parquet source: its first file's (Spark too infers it from one file unless told to merge). */
    static StructType parquetSchema(String op, String path, boolean permissive) {
        if (path == null) {
            throw new IllegalArgumentException(op + ": the path is null");
        }
        SparkSession spark = Dist.session();
        return parquetSchema(op, path, orderedFiles(op, spark, path),
            new Reader(spark.read().format("parquet").option(VERIFY_CHECKSUMS, !permissive)));
    }

    private static StructType parquetSchema(String op, String path, List<String> files, Reader reader) {
        return reader.load(files == null ? path : files.get(0), op, path).schema();
    }

    /** A balanced union, so that many files do not make a deep plan; partitions keep the list's order. */
    private static Dataset<Row> union(List<Dataset<Row>> parts, int from, int to) {
        if (to - from == 1) {
            return parts.get(from);
        }
        int mid = (from + to) >>> 1;
        return union(parts, from, mid).union(union(parts, mid, to));
    }

    /** A DataFrameReader whose load turns Spark's "path not found" into an error naming the path. */
    private static final class Reader {
        private final DataFrameReader reader;

        Reader(DataFrameReader reader) {
            this.reader = reader;
        }

        Reader schema(StructType schema) {
            return new Reader(reader.schema(schema));
        }

        Dataset<Row> load(String file, String op, String path) {
            try {
                return reader.load(file);
            } catch (Exception e) {
                if (e instanceof AnalysisException) {
                    String condition = ((AnalysisException) e).getCondition();
                    if ("PATH_NOT_FOUND".equals(condition)) {
                        throw new IllegalArgumentException(op + ": no file or directory at " + display(path), e);
                    }
                    throw new IllegalArgumentException(op + ": cannot read " + display(path) + ": "
                        + e.getMessage().replaceAll("\\s*\\R\\s*", " "), e);
                }
                // a damaged file fails while its footer is read (SparkException, unchecked in
                // Scala): name the file and the root cause in one line
                throw new IllegalArgumentException(op + ": cannot read " + display(file) + ": " + rootCause(e), e);
            }
        }
    }


    /**
     * The data files at {@code path} in the writer's order (part number, then name): the file
     * itself, or the files of a directory; null when Spark should resolve the path (a glob, or a
     * directory with sub-directories).
     */
    private static List<String> orderedFiles(String op, SparkSession spark, String path) {
        if (path.matches(".*[*?\\[\\]{}].*")) {
            return null;
        }
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            FileStatus status;
            try {
                status = fs.getFileStatus(p);
            } catch (FileNotFoundException e) {
                throw new IllegalArgumentException(op + ": no file or directory at " + path, e);
            }
            if (!status.isDirectory()) {
                return List.of(status.getPath().toString());
            }
            List<FileStatus> data = new ArrayList<>();
            for (FileStatus s : fs.listStatus(p)) {
                String name = s.getPath().getName();
                if (name.startsWith("_") || name.startsWith(".")) {
                    continue;
                }
                if (s.isDirectory()) {
                    return null;
                }
                data.add(s);
            }
            if (data.isEmpty()) {
                throw new IllegalArgumentException(op + ": the directory " + path + " holds no data files");
            }
            data.sort(Comparator.comparingLong((FileStatus s) -> partNumber(s.getPath().getName()))
                .thenComparing(s -> s.getPath().getName()));
            List<String> files = new ArrayList<>(data.size());
            for (FileStatus s : data) {
                files.add(s.getPath().toString());
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(op + ": cannot list " + path, e);
        }
    }

    /** The part number of a file Spark wrote ({@code part-00012-...}), or -1. */
    static long partNumber(String name) {
        if (!name.startsWith("part-")) {
            return -1;
        }
        int i = 5;
        int j = i;
        while (j < name.length() && j - i < 18 && Character.isDigit(name.charAt(j))) {
            j++;
        }
        return j == i ? -1 : Long.parseLong(name.substring(i, j));
    }

    // ------------------------------------------------------------------ out

    static Dataset<Row> toDataFrame(DistArray a, String[] names) {
        String op = "toDataFrame";
        if (a.layout().axis() != 0) {
            throw new IllegalArgumentException(op + ": the distributed array of shape " + Shape.str(a.shape())
                + " is split along axis " + a.layout().axis() + " (a transpose of row blocks); a DataFrame holds rows: "
                + "transpose it back first");
        }
        long[] s = a.shape();
        if (s.length > 2) {
            throw new IllegalArgumentException(op + ": a distributed array of shape " + Shape.str(s) + " has rows of "
                + "more than one dimension; reshape it to 2-D first");
        }
        int cols = s.length == 1 ? 1 : (int) s[1];
        if (cols == 0) {
            throw new IllegalArgumentException(op + ": a distributed array of shape " + Shape.str(s) + " has no columns");
        }
        String[] cn;
        if (names == null || names.length == 0) {
            cn = new String[cols];
            for (int i = 0; i < cols; i++) {
                cn[i] = "c" + i;
            }
        } else {
            if (names.length != cols) {
                throw new IllegalArgumentException(op + ": " + names.length + " column names for an array of shape "
                    + Shape.str(s) + ", which has " + cols + " column" + (cols == 1 ? "" : "s"));
            }
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < names.length; i++) {
                if (names[i] == null || names[i].isEmpty()) {
                    throw new IllegalArgumentException(op + ": column name " + i + " is null or empty");
                }
                if (!seen.add(names[i].toLowerCase(Locale.ROOT))) {
                    throw new IllegalArgumentException(op + ": column name '" + names[i] + "' appears twice");
                }
            }
            cn = names.clone();
        }
        StructField[] fields = new StructField[cols];
        for (int i = 0; i < cols; i++) {
            fields[i] = DataTypes.createStructField(cn[i], DataTypes.DoubleType, false);
        }
        JavaRDD<Row> rows = a.rdd().mapPartitions(new ToRows(cols), true);
        return Dist.session().createDataFrame(rows, new StructType(fields));
    }

    /** The rows of a partition's blocks as Spark SQL rows of doubles (on the executors). */
    static final class ToRows implements FlatMapFunction<Iterator<Block>, Row> {
        private static final long serialVersionUID = 1L;

        private final int cols;

        ToRows(int cols) {
            this.cols = cols;
        }

        @Override
        public Iterator<Row> call(Iterator<Block> blocks) {
            return new Iterator<Row>() {
                private double[] data = new double[0];
                private int pos;

                @Override
                public boolean hasNext() {
                    while (pos >= data.length && blocks.hasNext()) {
                        data = blocks.next().dataRef();
                        pos = 0;
                    }
                    return pos < data.length;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Object[] values = new Object[cols];
                    for (int c = 0; c < cols; c++) {
                        values[c] = data[pos++];
                    }
                    return RowFactory.create(values);
                }
            };
        }
    }

    static void writeParquet(DistArray a, String path) {
        String op = "writeParquet";
        if (path == null) {
            throw new IllegalArgumentException(op + ": the path is null");
        }
        Dataset<Row> df = toDataFrame(a, null);
        try {
            Jobs.run(op + " " + path, () -> {
                df.write().parquet(path);
                return null;
            });
        } catch (Exception e) {
            Throwable cause = e instanceof SparkJobException ? e.getCause() : e;
            if (cause instanceof AnalysisException
                && "PATH_ALREADY_EXISTS".equals(((AnalysisException) cause).getCondition())) {
                throw new IllegalArgumentException(op + ": " + path + " already exists", cause);
            }
            throw surface(op, e);
        }
    }
}
