package io.sparkgrad.dist;

import io.sparkgrad.np.DType;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a data set into a distributed array, with the choices {@link Dist#readCsv},
 * {@link Dist#readParquet} and {@link Dist#fromDataFrame} take from the session's settings made
 * explicit, and a report of what was read.
 *
 * <pre>{@code
 * DataReader.Result r = DataReader.csv("points.csv").columns("x", "y", "label")
 *     .check("label", v -> v == 0 || v == 1, "needs labels 0 or 1")
 *     .dropInvalid(true)
 *     .read();
 * r.array();        // (n, 3), distributed
 * r.droppedRows();  // the rows skipped, and r.firstDropped() says where the first one was
 * }</pre>
 *
 * <p>Every source fails the same way on bad input: an {@link IllegalArgumentException} whose
 * one-line message names the op, the file, the line (text) or the row group and row (Parquet) or
 * the row (DataFrames), the column and the value; lines, rows and row groups are counted from 1.
 * Parsing is strict unless {@link #permissive} is asked for: a CSV line must have as many fields
 * as the header, LIBSVM indices must be whole numbers from 1, strictly ascending, and Parquet page
 * checksums are verified where the writer stored them.
 */
public final class DataReader {
    /** A test of one value of a column, run on the executors. */
    public interface ValueCheck extends Serializable {
        /** Returns true when {@code value} is acceptable. */
        boolean test(double value);
    }

    enum Format { CSV, PARQUET, LIBSVM, DATAFRAME }

    final Format format;
    final String path;
    final Dataset<Row> frame;
    String[] columns = new String[0];
    String[] keep = new String[0];
    Dist.Blocking blocking = Dist.Blocking.TARGET_SIZE;
    DType dtype = DType.FLOAT64;
    Boolean dropInvalid;
    boolean permissive;
    int numFeatures;
    String numFeaturesSource;
    String dropHint;
    final List<String> checkColumns = new ArrayList<>();
    final List<ValueCheck> checks = new ArrayList<>();
    final List<String> requirements = new ArrayList<>();

    private DataReader(Format format, String path, Dataset<Row> frame) {
        this.format = format;
        this.path = path;
        this.frame = frame;
    }

    /** A CSV file (or folder, or glob) with a header line; every field is parsed as a number. */
    public static DataReader csv(String path) {
        return new DataReader(Format.CSV, path, null);
    }

    /** A Parquet file, folder or glob; numeric columns (cast to double) or one ML vector column. */
    public static DataReader parquet(String path) {
        return new DataReader(Format.PARQUET, path, null);
    }

    /**
     * LIBSVM text ({@code label index:value ...}, indices from 1): columns {@code f1..fd} then
     * {@code label}, d the largest index (or {@link #numFeatures}); missing indices are zeros.
     */
    public static DataReader libsvm(String path) {
        return new DataReader(Format.LIBSVM, path, null);
    }

    /** A DataFrame's numeric columns or its one ML vector column. */
    public static DataReader dataFrame(Dataset<Row> df) {
        return new DataReader(Format.DATAFRAME, null, df);
    }

    /** Selects the columns to read, in this order (none: every column). Not for LIBSVM. */
    public DataReader columns(String... names) {
        if (format == Format.LIBSVM && names.length > 0) {
            throw new IllegalArgumentException("readLibsvm: LIBSVM rows have the columns f1..fd and label; "
                + "slice the array read instead of naming columns");
        }
        this.columns = names.clone();
        return this;
    }

    /**
     * Keeps the columns {@code names} (of any type) beside the values, one key row per row read,
     * in the same order: {@link Result#keys()} ({@link Keys}) puts results back beside them.
     * DataFrames and Parquet only.
     */
    public DataReader keep(String... names) {
        if ((format == Format.CSV || format == Format.LIBSVM) && names.length > 0) {
            String op = format == Format.CSV ? "readCsv" : "readLibsvm";
            throw new IllegalArgumentException(op + ": key columns are kept for DataFrames and Parquet; read the file "
                + "with spark.read() and use Dist.fromDataFrame(df, features, label, keys...)");
        }
        this.keep = names.clone();
        return this;
    }

    /**
     * Reads the values as {@code t} (default float64): with {@link DType#FLOAT32}, each value is
     * rounded to the nearest float and the array is kept as float32 blocks, half the bytes of
     * float64 ones. Sparse blocks (LIBSVM, sparse vector columns) keep float64 storage and hold
     * the rounded values.
     */
    public DataReader dtype(DType t) {
        this.dtype = java.util.Objects.requireNonNull(t, "dtype");
        return this;
    }

    /** Splits the rows into blocks as {@code b} says (default {@link Dist.Blocking#TARGET_SIZE}). */
    public DataReader blocking(Dist.Blocking b) {
        this.blocking = b;
        return this;
    }

    /**
     * Skips the rows that strict parsing refuses (a null or empty value, text that is not a
     * number, NaN, an infinity, a value a {@link #check} refuses, a malformed CSV or LIBSVM line)
     * instead of failing; {@link Result#droppedRows()} counts them. Default:
     * {@link Dist#dropInvalidRows()}. A damaged file, a header that differs between files or an
     * index past the bound still fail.
     */
    public DataReader dropInvalid(boolean drop) {
        this.dropInvalid = drop;
        return this;
    }

    /**
     * Parses as Spark's PERMISSIVE mode and older sparkgrad did: a CSV line's extra fields are
     * dropped and missing ones are empty, a quote may stay open, LIBSVM indices may come in any
     * order (a repeated index keeps its last value), and Parquet page checksums are not verified.
     * Values must still be numbers.
     */
    public DataReader permissive(boolean on) {
        this.permissive = on;
        return this;
    }

    /**
     * LIBSVM: the number of features d (columns {@code f1..fd}) instead of the largest index in
     * the data; an index past it fails naming {@code source} (such as "the model's 5 features").
     */
    public DataReader numFeatures(int d, String source) {
        if (d < 1) {
            throw new IllegalArgumentException("readLibsvm: numFeatures must be positive, got " + d);
        }
        this.numFeatures = d;
        this.numFeaturesSource = source;
        return this;
    }

    /**
     * Checks every value of {@code column} on the executors; a value {@code check} refuses fails
     * naming the place and the value, followed by {@code requirement} ("logistic regression needs
     * labels 0 or 1").
     */
    public DataReader check(String column, ValueCheck check, String requirement) {
        checkColumns.add(column);
        checks.add(check);
        requirements.add(requirement);
        return this;
    }

    /**
     * Sets what an error about a row that could be skipped says about skipping it (default
     * "Dist.setDropInvalidRows(true) skips such rows"); the command line names its own option.
     */
    public DataReader dropHint(String hint) {
        this.dropHint = hint;
        return this;
    }

    /**
     * Returns the columns of the source without reading its rows: a CSV file's header (every
     * column a string), the schema of a Parquet source's first file, a DataFrame's schema. A
     * missing or unreadable file fails as {@link #read} would. Not for LIBSVM.
     */
    public StructType schema() {
        switch (format) {
            case CSV:
                return TextData.csvSchema("readCsv", TextData.open("readCsv", path));
            case PARQUET:
                return DataIO.parquetSchema("readParquet", path, permissive);
            case DATAFRAME:
                return frame.schema();
            default:
                throw new IllegalArgumentException("readLibsvm: LIBSVM rows have the columns f1..fd and label, d the "
                    + "largest index, which only reading the data finds");
        }
    }

    /**
     * Reads the data: one job (or two, see {@link Dist#fromDataFrame}) that caches the blocks; for
     * float32, one more that rounds the cached float64 blocks into cached float32 blocks and drops
     * the float64 ones.
     */
    public Result read() {
        Result r;
        switch (format) {
            case CSV:
                r = TextData.readCsv(this);
                break;
            case LIBSVM:
                r = TextData.readLibsvm(this);
                break;
            case PARQUET:
                r = DataIO.readParquet(this);
                break;
            default:
                r = DataIO.fromDataFrame(this);
                break;
        }
        if (dtype == DType.FLOAT64) {
            return r;
        }
        DistArray wide = r.array();
        DistArray narrow = (DistArray) Dist.cache(wide.astype(dtype));
        wide.rdd().unpersist(false);
        return new Result(narrow, r.columns(), r.droppedRows(), r.firstDropped(), r.keys());
    }

    boolean drop() {
        return dropInvalid != null ? dropInvalid : Dist.dropInvalidRows();
    }

    String hint() {
        return dropHint != null ? dropHint : "Dist.setDropInvalidRows(true) skips such rows";
    }

    /**
     * What was read: the array, its column names (null for one vector column), the rows skipped
     * under {@link #dropInvalid} with where the first one was (null when none), and the kept key
     * columns of the rows read (null when none were {@link #keep kept}).
     *
     * @param array        the values, one row per row kept
     * @param columns      the array's column names, null for one vector column
     * @param droppedRows  the rows skipped as invalid
     * @param firstDropped where the first skipped row was, null when none
     * @param keys         the key columns of the rows read, null when none were kept
     */
    public record Result(DistArray array, List<String> columns, long droppedRows, String firstDropped, Keys keys) {
        /** A result without keys. */
        public Result(DistArray array, List<String> columns, long droppedRows, String firstDropped) {
            this(array, columns, droppedRows, firstDropped, null);
        }
    }
}
