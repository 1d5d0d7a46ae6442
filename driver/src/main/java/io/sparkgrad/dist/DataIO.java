package io.sparkgrad.dist;

import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
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
 * Data IO of distributed tensors: Spark DataFrames, Parquet and CSV in; DataFrames and Parquet out.
 *
 * <p><b>In.</b> The selected columns are projected by Spark SQL (numeric columns cast to double)
 * and each partition of the query's output becomes one {@link Block} on the executors (an empty
 * partition is an empty block). One Spark job builds and persists the blocks (MEMORY_AND_DISK)
 * and returns each block's row count and width; the driver builds the {@link Layout} from the
 * counts and re-keys each block's first row to its global offset with a narrow map over the
 * persisted blocks. Unless the caller keeps the source's partitions
 * ({@link Dist.Blocking#SOURCE_PARTITIONS}), a second job then moves the rows into blocks of
 * about {@link Dist#blockBytes()} each (a shuffle by row range) when the source has another
 * number of partitions, and keeps those. The returned array never reads the source again. A bad value (a null, text that is not a number, a
 * vector of another size) fails the job with a {@link BadValue} naming the partition and the row
 * within it; only then a second job counts the rows of the partitions before that one, so that
 * the {@link IllegalArgumentException} the user gets names the global row.
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

    private static final String FILE_PATH = "_metadata.file_path";

    // ------------------------------------------------------------------ DataFrames in

    static DistArray fromDataFrame(Dataset<Row> df, Dist.Blocking blocking, String[] columns) {
        String op = "fromDataFrame";
        if (df == null) {
            throw new IllegalArgumentException(op + ": the DataFrame is null");
        }
        if (df.isStreaming()) {
            throw new IllegalArgumentException(op + ": a streaming DataFrame cannot become a distributed array");
        }
        Selection sel = select(op, "the DataFrame", df.schema(), columns, false, caseSensitive(df.sparkSession()));
        return load(op, "the data set", df.select(sel.projection()), sel.names, sel.kinds, false, blocking);
    }

    /** The columns chosen from a schema and how each becomes doubles. */
    private static final class Selection {
        final String[] names;
        final int[] kinds;

        Selection(String[] names, int[] kinds) {
            this.names = names;
            this.kinds = kinds;
        }

        Column[] projection() {
            Column[] cols = new Column[names.length];
            for (int i = 0; i < names.length; i++) {
                Column c = functions.col(quote(names[i]));
                cols[i] = kinds[i] == NUMBER ? c.cast(DataTypes.DoubleType) : c;
            }
            return cols;
        }

        Column[] projectionWithFile() {
            Column[] p = projection();
            Column[] cols = Arrays.copyOf(p, p.length + 1);
            cols[p.length] = functions.col(FILE_PATH);
            return cols;
        }
    }

    /**
     * Resolves the requested columns (none: all of them) against {@code schema}, before any job:
     * a missing or non-numeric column fails naming it, its type and the numeric columns there are.
     */
    private static Selection select(String op, String where, StructType schema, String[] requested,
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
        if (vector && names.length > 1) {
            throw new IllegalArgumentException(op + ": a vector column must be the only column selected, but "
                + names.length + " columns were selected: " + String.join(", ", resolved));
        }
        return new Selection(resolved, kinds);
    }

    private static StructField field(StructType schema, String name, boolean caseSensitive) {
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

    private static boolean caseSensitive(SparkSession s) {
        return Boolean.parseBoolean(s.conf().get("spark.sql.caseSensitive", "false"));
    }

    /** Quotes a column name for {@code functions.col}, so that dots and spaces are part of it. */
    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /**
     * Turns the projected query (one column per name, then the file path when {@code withFile})
     * into a distributed array: one job that builds and persists the blocks, see the class comment.
     */
    private static DistArray load(String op, String what, Dataset<Row> projected, String[] names, int[] kinds,
                                  boolean withFile, Dist.Blocking blocking) {
        boolean vector = kinds.length == 1 && kinds[0] == VECTOR;
        RDD<InternalRow> rows = Jobs.run(op, () -> projected.queryExecution().toRdd());
        ToBlock toBlock = new ToBlock(names, kinds, withFile ? names.length : -1, Dist.dropInvalidRows());
        JavaRDD<Block> raw = rows.toJavaRDD().mapPartitionsWithIndex(toBlock, true)
            .persist(StorageLevel.MEMORY_AND_DISK());
        List<int[]> sizes;
        try {
            sizes = Jobs.run(op, () -> raw.map(b -> new int[] {b.rows(), b.shapeRef()[1]}).collect());
        } catch (Exception e) {
            raw.unpersist(false);
            BadValue bad = find(e);
            if (bad != null) {
                throw located(op, rows, bad);
            }
            throw surface(op, e);
        }
        int n = sizes.size();
        long[] rowsPerBlock = new long[n];
        int width = vector ? -1 : names.length;
        long rowsBefore = 0;
        for (int i = 0; i < n; i++) {
            int[] s = sizes.get(i);
            rowsPerBlock[i] = s[0];
            if (s[0] > 0) {
                if (width < 0) {
                    width = s[1];
                } else if (s[1] != width) {
                    raw.unpersist(false);
                    throw new IllegalArgumentException(op + ": column '" + names[0] + "' holds vectors of size " + width
                        + " before row " + rowsBefore + " but of size " + s[1] + " at row " + rowsBefore
                        + "; all vectors must have the same size");
                }
            }
            rowsBefore += s[0];
        }
        if (rowsBefore == 0) {
            raw.unpersist(false);
            throw new IllegalArgumentException(op + ": " + what + " has no rows");
        }
        Layout layout;
        try {
            layout = Layout.ofBlockSizes(rowsPerBlock, new int[] {width});
        } catch (IllegalArgumentException e) {
            raw.unpersist(false);
            throw new IllegalArgumentException(op + ": " + e.getMessage(), e);
        }
        long[] starts = new long[n];
        for (int i = 0; i < n; i++) {
            starts[i] = layout.rowStart(i);
        }
        int w = width;
        JavaRDD<Block> blocks = raw.map(b -> new Block(b.index(), starts[b.index()], new int[] {b.rows(), w}, b.dataRef()));
        DistArray source = new DistArray(layout, blocks);
        Layout target = Layout.ofBlockRows(layout.rows(), Dist.defaultBlockRows(w), new int[] {w});
        if (blocking == Dist.Blocking.SOURCE_PARTITIONS || target.numBlocks() == layout.numBlocks()) {
            return source;
        }
        // One more job moves the rows into blocks of the target size and keeps those instead.
        DistArray moved = DistBackend.reblock(source, target);
        String moves = moved.node().movements();
        JavaRDD<Block> rdd = moved.rdd().persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Jobs.run(op, moves, rdd::count);
        } finally {
            raw.unpersist(false);
        }
        return new DistArray(target, rdd);
    }

    /** The executor-side failure {@code e} carries, if a bad value caused it. */
    private static BadValue find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof BadValue) {
                return (BadValue) t;
            }
        }
        return null;
    }

    /**
     * Counts the rows of the partitions before the bad one (a second job, on the error path only)
     * and returns the error naming the column and the global row.
     */
    private static IllegalArgumentException located(String op, RDD<InternalRow> rows, BadValue bad) {
        int p = bad.partition;
        String where;
        try {
            List<Long> counts = Jobs.run(op + ": locate the bad row", () -> rows.toJavaRDD()
                .mapPartitionsWithIndex((Integer i, Iterator<InternalRow> it) -> {
                    long c = 0;
                    if (i < p) {
                        while (it.hasNext()) {
                            it.next();
                            c++;
                        }
                    }
                    return Collections.singletonList(c).iterator();
                }, true).collect());
            long before = 0;
            for (int i = 0; i < p; i++) {
                before += counts.get(i);
            }
            where = "at row " + (before + bad.localRow);
        } catch (Exception e) {
            where = "at row " + bad.localRow + " of partition " + p;
        }
        return new IllegalArgumentException(op + ": column '" + bad.column + "' " + bad.detail + " " + where
            + (bad.file != null ? " (file " + bad.file + ")" : ""), bad);
    }

    /** A failed job as an unchecked exception naming the op; Spark's own exception is its cause. */
    private static RuntimeException surface(String op, Exception e) {
        if (e instanceof RuntimeException) {
            return (RuntimeException) e;
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new SparkJobException(Jobs.describe(op) + ": the Spark job failed: " + root.getClass().getSimpleName()
            + ": " + root.getMessage(), e);
    }

    /**
     * A value the executors cannot turn into a double: the partition and the row within it, the
     * column, what is wrong, and the file when known. The driver turns it into the user's error.
     */
    static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final int partition;
        final long localRow;
        final String column;
        final String detail;
        final String file;

        BadValue(int partition, long localRow, String column, String detail, String file) {
            super("column '" + column + "' " + detail + " at row " + localRow + " of partition " + partition
                + (file != null ? " (file " + file + ")" : ""));
            this.partition = partition;
            this.localRow = localRow;
            this.column = column;
            this.detail = detail;
            this.file = file;
        }
    }

    /** Makes the one block of a partition from its rows of doubles, text or vectors (on the executors). */
    static final class ToBlock implements Function2<Integer, Iterator<InternalRow>, Iterator<Block>> {
        private static final long serialVersionUID = 1L;

        private final String[] names;
        private final int[] kinds;
        private final int fileColumn;
        private final boolean dropInvalid;

        ToBlock(String[] names, int[] kinds, int fileColumn, boolean dropInvalid) {
            this.names = names;
            this.kinds = kinds;
            this.fileColumn = fileColumn;
            this.dropInvalid = dropInvalid;
        }

        /**
         * Returns true to keep a row: one with NaN or an infinity is dropped when asked to, and
         * otherwise an error naming the column and row.
         */
        private boolean valid(int partition, long row, double[] values, InternalRow r) {
            for (int k = 0; k < values.length; k++) {
                if (!Double.isFinite(values[k])) {
                    if (dropInvalid) {
                        return false;
                    }
                    String what = Double.isNaN(values[k]) ? "NaN" : values[k] > 0 ? "+infinity" : "-infinity";
                    throw bad(partition, row, kinds.length == 1 && kinds[0] == VECTOR ? 0 : k, r, "is " + what
                        + (kinds.length == 1 && kinds[0] == VECTOR ? " at vector index " + k : "")
                        + " (Dist.setDropInvalidRows(true) skips such rows)");
                }
            }
            return true;
        }

        @Override
        public Iterator<Block> call(Integer partition, Iterator<InternalRow> rows) {
            int cols = kinds.length;
            boolean vector = cols == 1 && kinds[0] == VECTOR;
            Doubles out = new Doubles(partition);
            int width = vector ? -1 : cols;
            long row = 0;
            long kept = 0;
            double[] values = new double[cols];
            while (rows.hasNext()) {
                InternalRow r = rows.next();
                if (vector) {
                    double[] v = vector(partition, row, r);
                    if (width < 0) {
                        width = v.length;
                    } else if (v.length != width) {
                        throw bad(partition, row, 0, r, "holds a vector of size " + v.length
                            + " but the rows before hold vectors of size " + width
                            + "; all vectors must have the same size");
                    }
                    if (valid(partition, row, v, r)) {
                        out.add(v);
                        kept++;
                    }
                } else {
                    for (int c = 0; c < cols; c++) {
                        if (r.isNullAt(c)) {
                            throw bad(partition, row, c, r, "is null");
                        }
                        values[c] = kinds[c] == NUMBER ? r.getDouble(c) : parse(partition, row, c, r);
                    }
                    if (valid(partition, row, values, r)) {
                        out.add(values);
                        kept++;
                    }
                }
                row++;
            }
            if (kept > Integer.MAX_VALUE) {
                throw new IllegalStateException("partition " + partition + " has " + kept + " rows, more than a block "
                    + "holds; repartition the DataFrame");
            }
            int w = Math.max(width, 0);
            return Collections.singletonList(new Block(partition, 0, new int[] {(int) kept, w}, out.toArray())).iterator();
        }

        private double[] vector(int partition, long row, InternalRow r) {
            if (r.isNullAt(0)) {
                throw bad(partition, row, 0, r, "is null");
            }
            InternalRow v = r.getStruct(0, 4);
            if (v.isNullAt(0) || v.isNullAt(3)) {
                throw bad(partition, row, 0, r, "holds a malformed vector (no type or no values)");
            }
            byte type = v.getByte(0);
            double[] values = v.getArray(3).toDoubleArray();
            if (type == 1) {
                return values;
            }
            if (type != 0 || v.isNullAt(1) || v.isNullAt(2)) {
                throw bad(partition, row, 0, r, "holds a malformed vector (type " + type + ")");
            }
            int size = v.getInt(1);
            ArrayData idx = v.getArray(2);
            if (size < 0 || idx.numElements() != values.length) {
                throw bad(partition, row, 0, r, "holds a malformed sparse vector (size " + size + ", "
                    + idx.numElements() + " indices, " + values.length + " values)");
            }
            double[] dense = new double[size];
            for (int k = 0; k < values.length; k++) {
                int j = idx.getInt(k);
                if (j < 0 || j >= size) {
                    throw bad(partition, row, 0, r, "holds a sparse vector of size " + size + " with index " + j);
                }
                dense[j] = values[k];
            }
            return dense;
        }

        private double parse(int partition, long row, int c, InternalRow r) {
            String s = r.getUTF8String(c).toString();
            double v = parseNumber(s);
            if (Double.isNaN(v) && !isNaNText(s)) {
                String shown = s.length() > 40 ? s.substring(0, 40) + "..." : s;
                throw bad(partition, row, c, r, "has '" + shown + "', not a number");
            }
            return v;
        }

        private BadValue bad(int partition, long row, int c, InternalRow r, String detail) {
            String file = fileColumn >= 0 && !r.isNullAt(fileColumn) ? r.getUTF8String(fileColumn).toString() : null;
            return new BadValue(partition, row, names[c], detail, file);
        }
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
    private static final class Doubles {
        private static final int MAX = Integer.MAX_VALUE - 16;
        private final int partition;
        private double[] data = new double[1024];
        private int size;

        Doubles(int partition) {
            this.partition = partition;
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

    // ------------------------------------------------------------------ files in

    static DistArray readParquet(String path, Dist.Blocking blocking, String[] columns) {
        return readFile("readParquet", "parquet", path, blocking, columns);
    }

    static DistArray readCsv(String path, Dist.Blocking blocking, String[] columns) {
        return readFile("readCsv", "csv", path, blocking, columns);
    }

    private static DistArray readFile(String op, String format, String path, Dist.Blocking blocking, String[] columns) {
        if (path == null) {
            throw new IllegalArgumentException(op + ": the path is null");
        }
        SparkSession spark = Dist.session();
        boolean csv = format.equals("csv");
        List<String> files = orderedFiles(op, spark, path);
        // The schema, from the first file (Spark too infers it from one file unless told to merge).
        StructType schema = reader(spark, csv).load(files == null ? path : files.get(0), op, path).schema();
        String where = (files != null && files.size() == 1 ? "the file " : "the data at ") + path;
        Selection sel = select(op, where, schema, columns, csv, caseSensitive(spark));
        boolean withFile = field(schema, "_metadata", false) == null;
        List<Dataset<Row>> parts = new ArrayList<>();
        if (files == null) {
            parts.add(project(reader(spark, csv).schema(schema).load(path, op, path), sel, withFile));
        } else {
            for (String f : files) {
                parts.add(project(reader(spark, csv).schema(schema).load(f, op, path), sel, withFile));
            }
        }
        return load(op, where, union(parts, 0, parts.size()), sel.names, sel.kinds, withFile, blocking);
    }

    private static Dataset<Row> project(Dataset<Row> df, Selection sel, boolean withFile) {
        return df.select(withFile ? sel.projectionWithFile() : sel.projection());
    }

    /** A balanced union, so that many files do not make a deep plan; partitions keep the list's order. */
    private static Dataset<Row> union(List<Dataset<Row>> parts, int from, int to) {
        if (to - from == 1) {
            return parts.get(from);
        }
        int mid = (from + to) >>> 1;
        return union(parts, from, mid).union(union(parts, mid, to));
    }

    /** A reader of one format; CSV with a header row and every column read as text. */
    private static Reader reader(SparkSession spark, boolean csv) {
        DataFrameReader r = spark.read().format(csv ? "csv" : "parquet");
        if (csv) {
            r = r.option("header", "true").option("inferSchema", "false");
        }
        return new Reader(r);
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
                        throw new IllegalArgumentException(op + ": no file or directory at " + path, e);
                    }
                    throw new IllegalArgumentException(op + ": cannot read " + path + ": " + e.getMessage(), e);
                }
                // a damaged file fails while its footer or header is read (SparkException, unchecked
                // in Scala): name the file and the root cause in one line
                Throwable root = e;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                throw new IllegalArgumentException(op + ": cannot read " + file + ": " + root.getMessage(), e);
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
