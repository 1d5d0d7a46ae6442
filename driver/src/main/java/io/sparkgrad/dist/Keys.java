package io.sparkgrad.dist;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The key columns of the rows read into a distributed array ({@link DataReader#keep}, {@link
 * Dist#fromDataFrame(Dataset, String[], String, String...)}): one key row per row of the array,
 * in the same order, read in the same pass as the values and cached beside them. They put
 * results back beside the rows they came from: {@link #toDataFrame(NDArray, String...)} makes a
 * DataFrame of the keys and the values of any array with as many rows (a prediction, a row
 * loss), which the user joins to other data by key.
 *
 * <pre>{@code
 * Dist.Labeled d = Dist.fromDataFrame(df, new String[] {"features"}, "label", "id");
 * NDArray p = d.x().matmul(w).sigmoid();                 // one value per row
 * Dataset<Row> out = d.keys().toDataFrame(p, "probability"); // columns id, probability
 * df.join(out, "id");
 * }</pre>
 *
 * <p>Rows dropped as invalid while reading ({@link DataReader#dropInvalid}) have no keys; the
 * keys are those of the rows the array holds. The keys are partitioned as the rows were read
 * (one partition per partition of the source); an array of other blocks has its values moved to
 * those partitions (one shuffle of the values, never of the keys).
 */
public final class Keys {
    private final StructType schema;
    // partition i of rows holds the keys of rows [layout.rowStart(i), layout.rowStart(i + 1))
    private final Layout layout;
    private final JavaRDD<UnsafeRow> rows;

    Keys(StructType schema, Layout layout, JavaRDD<UnsafeRow> rows) {
        this.schema = schema;
        this.layout = layout;
        this.rows = rows;
    }

    /** Returns the key columns' names and types, as in the source. */
    public StructType schema() {
        return schema;
    }

    /** Returns the number of key rows: the rows of the array read with them. */
    public long count() {
        return layout.rows();
    }

    /** Returns the keys alone as a DataFrame, in row order, one partition per partition read. */
    public Dataset<Row> toDataFrame() {
        StructType s = schema;
        JavaRDD<Row> out = rows.mapPartitions(it -> toRows(s, it), true);
        return Dist.session().createDataFrame(out, schema);
    }

    /**
     * Returns a DataFrame of the key columns followed by the values of {@code values} (1-D: one
     * column; 2-D: one per column), row by row: row {@code i} holds the keys of row {@code i} read
     * and row {@code i} of {@code values}. The array must have as many rows as were read (the
     * result of row-preserving ops on the array read: a product with local weights, elementwise
     * functions, columns sliced); a local array is split as the keys are. The value columns are
     * named {@code names} (none given: {@code prediction} for one column, else {@code c0, c1, ...})
     * and must not repeat a key column's name.
     *
     * @param values one row per key row
     * @param names  the value columns' names
     * @return keys and values, in row order, partitioned as the rows were read
     */
    public Dataset<Row> toDataFrame(NDArray values, String... names) {
        String op = "toDataFrame";
        if (values == null) {
            throw new IllegalArgumentException(op + ": the values are null");
        }
        long[] s = values.shape();
        if (s.length == 0 || s.length > 2) {
            throw new IllegalArgumentException(op + ": the values of shape " + Shape.str(s) + " are not rows (1-D or 2-D); "
                + "reshape them first");
        }
        if (s[0] != count()) {
            throw new IllegalArgumentException(op + ": the values of shape " + Shape.str(s) + " have " + s[0] + " rows, but "
                + count() + " rows were read with these keys (" + String.join(", ", schema.fieldNames()) + "); keys line "
                + "up with the rows of the array read and of arrays made from it row by row");
        }
        int cols = s.length == 1 ? 1 : (int) s[1];
        String[] cn = names == null || names.length == 0
            ? (cols == 1 ? new String[] {"prediction"} : null) : names;
        // the value columns as the array's own toDataFrame names and checks them, then beside the keys
        DistArray a;
        if (values instanceof DistArray) {
            a = (DistArray) values;
            if (a.layout().axis() != 0) {
                throw new IllegalArgumentException(op + ": the distributed array of shape " + Shape.str(s) + " is split "
                    + "along axis " + a.layout().axis() + " (a transpose of row blocks); keys go with rows: transpose it back first");
            }
        } else {
            a = Dist.fromLocal(values, layout.along(0, java.util.Arrays.copyOfRange(Shape.toInt(op, s), 1, s.length)));
        }
        StructType valueSchema = DataIO.toDataFrame(a, cn).schema();
        Set<String> keyNames = new HashSet<>();
        for (String k : schema.fieldNames()) {
            keyNames.add(k.toLowerCase(Locale.ROOT));
        }
        for (String v : valueSchema.fieldNames()) {
            if (keyNames.contains(v.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(op + ": the value column '" + v + "' has the name of a key column (keys: "
                    + String.join(", ", schema.fieldNames()) + "); name the values otherwise");
            }
        }
        DistArray lined = DistBackend.reblock(a, layout); // no data moved when the blocks are the keys' already
        StructType out = new StructType();
        for (StructField f : schema.fields()) {
            out = out.add(f);
        }
        for (StructField f : valueSchema.fields()) {
            out = out.add(f);
        }
        StructType keySchema = schema;
        int width = cols;
        JavaRDD<Row> joined = rows.zipPartitions(lined.rdd(), (keys, blocks) -> zip(keySchema, width, keys, blocks));
        return Dist.session().createDataFrame(joined, out);
    }

    /** Drops the cached keys (a DataFrame made from them before then is computed again when used). */
    public void unpersist() {
        rows.unpersist(false);
    }

    @Override
    public String toString() {
        return "Keys(" + String.join(", ", schema.fieldNames()) + "; " + count() + " rows in " + layout.numBlocks()
            + " partitions)";
    }

    /** Key rows as Spark SQL rows (on the executors). */
    private static Iterator<Row> toRows(StructType schema, Iterator<UnsafeRow> keys) {
        scala.Function1<Object, Object> toRow = CatalystTypeConverters.createToScalaConverter(schema);
        return new Iterator<Row>() {
            @Override
            public boolean hasNext() {
                return keys.hasNext();
            }

            @Override
            public Row next() {
                return (Row) toRow.apply(keys.next());
            }
        };
    }

    /** One partition's rows: each key row followed by the values of the same row (on the executors). */
    private static Iterator<Row> zip(StructType keySchema, int width, Iterator<UnsafeRow> keys, Iterator<Block> blocks) {
        scala.Function1<Object, Object> toRow = CatalystTypeConverters.createToScalaConverter(keySchema);
        int k = keySchema.fields().length;
        double[] data = blocks.hasNext() ? blocks.next().dataRef() : new double[0];
        if (blocks.hasNext()) {
            throw new IllegalStateException("toDataFrame: more than one block in a partition");
        }
        return new Iterator<Row>() {
            private int pos;

            @Override
            public boolean hasNext() {
                if (keys.hasNext()) {
                    return true;
                }
                if (pos != data.length) {
                    throw new IllegalStateException("toDataFrame: a partition holds more rows of values than keys");
                }
                return false;
            }

            @Override
            public Row next() {
                Row key = (Row) toRow.apply(keys.next());
                if (pos + width > data.length) {
                    throw new IllegalStateException("toDataFrame: a partition holds more keys than rows of values");
                }
                Object[] values = new Object[k + width];
                for (int c = 0; c < k; c++) {
                    values[c] = key.get(c);
                }
                for (int c = 0; c < width; c++) {
                    values[k + c] = data[pos++];
                }
                return RowFactory.create(values);
            }
        };
    }

    // ------------------------------------------------------------------ reading (package-private)

    /**
     * Resolves the key columns {@code keep} (any type) against {@code schema}, before any job: a
     * missing or repeated column fails naming it and the columns there are. Null or none: null.
     */
    static StructType select(String op, String where, StructType schema, String[] keep, boolean caseSensitive) {
        if (keep == null || keep.length == 0) {
            return null;
        }
        StructType keys = new StructType();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] == null) {
                throw new IllegalArgumentException(op + ": key column name " + i + " is null");
            }
            StructField f = DataIO.field(schema, keep[i], caseSensitive);
            if (f == null) {
                throw new IllegalArgumentException(op + ": " + where + " has no column '" + keep[i] + "' to keep; columns: "
                    + String.join(", ", schema.fieldNames()));
            }
            if (!seen.add(f.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(op + ": the key column '" + f.name() + "' is named twice");
            }
            keys = keys.add(f);
        }
        return keys;
    }

    /**
     * Collects into {@code out} the key columns (from position {@code start} of each row, of
     * {@code schema}'s types) of the rows given to it, as copies in Spark SQL's compact form.
     */
    static Consumer<InternalRow> collector(int start, StructType schema, List<Object> out) {
        StructField[] fields = schema.fields();
        DataType[] types = new DataType[fields.length];
        for (int i = 0; i < fields.length; i++) {
            types[i] = fields[i].dataType();
        }
        UnsafeProjection project = UnsafeProjection.create(schema);
        GenericInternalRow key = new GenericInternalRow(fields.length);
        return r -> {
            for (int i = 0; i < types.length; i++) {
                key.update(i, r.isNullAt(start + i) ? null : r.get(start + i, types[i]));
            }
            out.add(project.apply(key).copy()); // the input row and the projection's buffer are reused
        };
    }

    /** The block of a partition read with keys: its first element. */
    static Iterator<Block> blockOf(Iterator<Object> partition) {
        return Collections.singletonList((Block) partition.next()).iterator();
    }

    /** The keys of a partition read with keys: the elements after its block. */
    static Iterator<UnsafeRow> keysOf(Iterator<Object> partition) {
        if (!partition.hasNext()) {
            throw new NoSuchElementException("a partition read with keys has no block");
        }
        partition.next();
        return new Iterator<UnsafeRow>() {
            @Override
            public boolean hasNext() {
                return partition.hasNext();
            }

            @Override
            public UnsafeRow next() {
                return (UnsafeRow) partition.next();
            }
        };
    }
}
