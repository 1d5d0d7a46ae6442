package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/** Distributed arrays from and to DataFrames, Parquet and CSV. */
class DataIOTest {
    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void spark() {
        spark = SparkTests.session();
    }

    private static StructField field(String name, DataType type) {
        return new StructField(name, type, true, Metadata.empty());
    }

    /** Rows i = 0..n-1: id (int) i, big (long) 2^40 + i, x (double) i / 4, price (decimal) i + 0.125, name. */
    private static Dataset<Row> mixed(int n) {
        StructType schema = new StructType(new StructField[] {
            field("id", DataTypes.IntegerType),
            field("big", DataTypes.LongType),
            field("x", DataTypes.DoubleType),
            field("price", DataTypes.createDecimalType(10, 3)),
            field("name", DataTypes.StringType),
        });
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(i, (1L << 40) + i, i / 4.0, new BigDecimal(i + ".125"), "row" + i));
        }
        return spark.createDataFrame(rows, schema);
    }

    @Test
    void numericColumnsOfAnyTypeBecomeExactDoubles() {
        DistArray x = Dist.fromDataFrame(mixed(7), "id", "big", "x", "price");
        assertArrayEquals(new long[] {7, 4}, x.shape());
        double[] expected = new double[7 * 4];
        for (int i = 0; i < 7; i++) {
            expected[4 * i] = i;
            expected[4 * i + 1] = (1L << 40) + i;
            expected[4 * i + 2] = i / 4.0;
            expected[4 * i + 3] = i + 0.125;
        }
        assertArrayEquals(expected, x.toArray());
        // the blocks carry their global first row
        List<Block> blocks = x.rdd().collect();
        for (int i = 0; i < blocks.size(); i++) {
            assertEquals(i, blocks.get(i).index());
            assertEquals(x.layout().rowStart(i), blocks.get(i).rowStart());
        }
        // narrower types and a reordered subset
        StructType schema = new StructType(new StructField[] {
            field("b", DataTypes.ByteType), field("s", DataTypes.ShortType), field("f", DataTypes.FloatType)});
        Dataset<Row> small = spark.createDataFrame(List.of(RowFactory.create((byte) -3, (short) 300, 0.5f),
            RowFactory.create((byte) 4, (short) -2, -1.25f)), schema);
        assertArrayEquals(new double[] {0.5, 300, -3, -1.25, -2, 4}, Dist.fromDataFrame(small, "f", "s", "b").toArray());
        assertArrayEquals(new double[] {-3, 300, 0.5, 4, -2, -1.25}, Dist.fromDataFrame(small).toArray()); // all columns
    }

    @Test
    void keepingTheSourcePartitionsMakesEachPartitionABlock() {
        Dataset<Row> df = mixed(20).repartition(3);
        DistArray x = Dist.fromDataFrame(df, Dist.Blocking.SOURCE_PARTITIONS, "id", "x");
        assertEquals(3, x.numBlocks());
        assertEquals(20, x.layout().rows());
        List<Long> counts = df.javaRDD().mapPartitions(it -> {
            long c = 0;
            for (; it.hasNext(); it.next()) {
                c++;
            }
            return List.of(c).iterator();
        }).collect();
        for (int i = 0; i < 3; i++) {
            assertEquals((long) counts.get(i), x.layout().blockRows(i));
        }
        double[] values = x.toArray();
        double[] ids = new double[20];
        for (int i = 0; i < 20; i++) {
            ids[i] = values[2 * i];
            assertEquals(values[2 * i] / 4.0, values[2 * i + 1]); // the columns of a row stay together
        }
        Arrays.sort(ids);
        assertArrayEquals(Np.arange(20.0).toArray(), ids);

        // empty partitions become empty blocks, and the array still computes
        DistArray sparse = Dist.fromDataFrame(mixed(2).repartition(5), Dist.Blocking.SOURCE_PARTITIONS, "id");
        assertEquals(5, sparse.numBlocks());
        int empty = 0;
        for (int i = 0; i < 5; i++) {
            empty += sparse.layout().blockRows(i) == 0 ? 1 : 0;
        }
        assertTrue(empty >= 3, "empty blocks: " + empty); // round-robin from 2 partitions of 1 row each
        assertEquals(2, sparse.layout().rows());
        assertEquals(1.0, sparse.sum().item());
        assertArrayEquals(new double[] {0, 1}, Arrays.stream(sparse.toArray()).sorted().toArray());
    }

    /** Rows the source below has produced; the local master runs its tasks in this JVM. */
    private static final AtomicLong SOURCE_READS = new AtomicLong();

    @Test
    void oneJobReadsTheSourceOnceAndTheArrayNeverAgain() {
        StructType schema = new StructType(new StructField[] {field("v", DataTypes.LongType)});
        Dataset<Row> df = spark.range(0, 10, 1, 3).toDF("v").map((MapFunction<Row, Row>) r -> {
            SOURCE_READS.incrementAndGet();
            return RowFactory.create(r.getLong(0) * 3);
        }, Encoders.row(schema));
        for (Dist.Blocking blocking : Dist.Blocking.values()) {
            SOURCE_READS.set(0);
            long jobs = Dist.metrics().snapshot().jobs();
            DistArray x = Dist.fromDataFrame(df, blocking);
            // the source's 3 partitions hold 240 bytes: the target size makes them one block, by one more job
            boolean kept = blocking == Dist.Blocking.SOURCE_PARTITIONS;
            assertEquals(kept ? 1 : 2, Dist.metrics().snapshot().jobs() - jobs, blocking.name());
            assertEquals(10, SOURCE_READS.get());
            assertEquals(kept ? 3 : 1, x.numBlocks());
            assertArrayEquals(Np.arange(0, 30, 3).toArray(), x.toArray());
            assertEquals(135.0, x.sum().item());
            assertEquals(10, SOURCE_READS.get(), blocking.name());
        }
    }

    @Test
    void aDataFrameOf200PartitionsIsMovedIntoBlocksOfTheTargetSizeInRowOrder() {
        long saved = Dist.blockBytes();
        DistAutogradTest.Descriptions jobs = new DistAutogradTest.Descriptions();
        spark.sparkContext().addSparkListener(jobs);
        try {
            Dist.setBlockBytes(120_000); // 7,500 rows of two doubles per block: 20,000 rows make 3
            Dataset<Row> df = spark.range(0, 20_000, 1, 200).toDF("v")
                .selectExpr("v", "v * 0.5 AS half");
            assertEquals(200, df.rdd().getNumPartitions());
            DistArray x = Dist.fromDataFrame(df);
            assertEquals(3, x.numBlocks());
            assertEquals(7_500, x.layout().blockRows(0));
            assertEquals(5_000, x.layout().blockRows(2));
            double[] values = x.toArray();
            for (int i = 0; i < 20_000; i++) {
                assertEquals(i, values[2 * i], "row " + i);
                assertEquals(i * 0.5, values[2 * i + 1], "row " + i);
            }
            Dist.metrics().snapshot();
            assertTrue(jobs.seen.stream().anyMatch(d -> d != null && d.endsWith("moves rows: re-block (200 -> 3 blocks)")),
                jobs.seen.toString());
            long before = Dist.metrics().snapshot().tasks();
            assertEquals(20_000 * 19_999 / 2.0 * 1.5, x.sum().item());
            assertEquals(3, Dist.metrics().snapshot().tasks() - before, "one task per block");
        } finally {
            Dist.setBlockBytes(saved);
            spark.sparkContext().removeSparkListener(jobs);
        }
    }

    // ------------------------------------------------------------------ vectors

    /** A stand-in for Spark ML's vector: dense ({@code indices == null}) or sparse. */
    static final class Vec implements Serializable {
        private static final long serialVersionUID = 1L;
        final int size;
        final int[] indices;
        final double[] values;

        Vec(int size, int[] indices, double[] values) {
            this.size = size;
            this.indices = indices;
            this.values = values;
        }
    }

    /** Stores {@link Vec} exactly as Spark ML's VectorUDT stores its vectors; its type name is {@code vector}. */
    static final class VectorUDT extends UserDefinedType<Vec> {
        private static final long serialVersionUID = 1L;

        @Override
        public DataType sqlType() {
            return DataIO.VECTOR_STORAGE;
        }

        @Override
        public Object serialize(Vec v) {
            if (v.indices == null) {
                return new GenericInternalRow(new Object[] {(byte) 1, null, null, UnsafeArrayData.fromPrimitiveArray(v.values)});
            }
            return new GenericInternalRow(new Object[] {(byte) 0, v.size, UnsafeArrayData.fromPrimitiveArray(v.indices),
                UnsafeArrayData.fromPrimitiveArray(v.values)});
        }

        @Override
        public Vec deserialize(Object datum) {
            InternalRow r = (InternalRow) datum;
            double[] values = r.getArray(3).toDoubleArray();
            return r.getByte(0) == 1 ? new Vec(values.length, null, values)
                : new Vec(r.getInt(1), r.getArray(2).toIntArray(), values);
        }

        @Override
        public Class<Vec> userClass() {
            return Vec.class;
        }
    }

    private static Dataset<Row> vectors(Vec... vs) {
        StructType schema = new StructType(new StructField[] {field("label", DataTypes.DoubleType),
            field("features", new VectorUDT())});
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < vs.length; i++) {
            rows.add(RowFactory.create((double) i, vs[i]));
        }
        return spark.createDataFrame(rows, schema);
    }

    @Test
    void aVectorColumnDenseOrSparseBecomesRowsAndVectorsOfOtherSizesAreNamedByRow() {
        assertEquals("vector", new VectorUDT().typeName());
        Dataset<Row> df = vectors(new Vec(3, null, new double[] {1, 2, 3}),
            new Vec(3, new int[] {0, 2}, new double[] {-4, 0.5}),
            new Vec(3, new int[] {}, new double[] {}),
            new Vec(3, null, new double[] {7, 8, 9}));
        DistArray x = Dist.fromDataFrame(df, "features");
        assertArrayEquals(new long[] {4, 3}, x.shape());
        assertArrayEquals(new double[] {1, 2, 3, -4, 0, 0.5, 0, 0, 0, 7, 8, 9}, x.toArray());

        // vectors of different sizes fail naming the row: within a partition (found on the
        // executors), or between partitions (found on the driver); 4 local rows make 2 partitions
        Vec two = new Vec(2, null, new double[] {1, 2});
        Vec three = new Vec(3, null, new double[] {1, 2, 3});
        Dataset<Row> within = vectors(two, two, two, three).coalesce(1);
        Dataset<Row> between = vectors(two, two, three, three);
        assertEquals(2, between.rdd().getNumPartitions());
        List<Dataset<Row>> bad = List.of(within, between);
        String[] badRow = {"row 4", "row 3"}; // counted from 1
        for (int i = 0; i < 2; i++) {
            Dataset<Row> d = bad.get(i);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.fromDataFrame(d, "features"));
            assertTrue(e.getMessage().contains("'features'") && e.getMessage().contains(badRow[i]), e.getMessage());
        }
        // one vector column may come with numeric columns, in their order; two vectors may not
        DistArray mixed = Dist.fromDataFrame(df, "label", "features");
        assertArrayEquals(new long[] {4, 4}, mixed.shape());
        assertArrayEquals(new double[] {0, 1, 2, 3, 1, -4, 0, 0.5, 2, 0, 0, 0, 3, 7, 8, 9}, mixed.toArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Dist.fromDataFrame(df.withColumn("again", col("features")), "features", "again"));
        assertTrue(e.getMessage().contains("at most one vector column") && e.getMessage().contains("features, again"),
            e.getMessage());
        // features and label in one read; a bad label is named beside a vector as anywhere
        Dist.Labeled xy = Dist.fromDataFrame(df, new String[] {"features"}, "label");
        assertArrayEquals(new long[] {4, 3}, xy.x().shape());
        assertArrayEquals(new double[] {1, 2, 3, -4, 0, 0.5, 0, 0, 0, 7, 8, 9}, xy.x().toArray());
        assertArrayEquals(new double[] {0, 1, 2, 3}, xy.y().toArray());
        Dataset<Row> nullLabel = df.withColumn("label", when(col("label").equalTo(2), lit(null)).otherwise(col("label")));
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
            () -> Dist.fromDataFrame(nullLabel, new String[] {"features"}, "label"));
        assertTrue(n.getMessage().contains("'label'") && n.getMessage().contains("row 3") && n.getMessage().contains("null"),
            n.getMessage());
    }

    // ------------------------------------------------------------------ files

    @Test
    void parquetRoundTripKeepsRowOrderAndValues() {
        NDArray local = Np.array(new int[] {23, 3}, randomValues(69, 5));
        DistArray x = (DistArray) Dist.fromLocal(local, 4);
        String path = dir.resolve("x.parquet").toString();
        x.writeParquet(path);
        DistArray back = Dist.readParquet(path, Dist.Blocking.SOURCE_PARTITIONS);
        assertArrayEquals(local.toArray(), back.toArray());
        assertEquals(4, back.numBlocks()); // one file per block, read in the writer's order
        assertEquals(x.layout(), back.layout());
        DistArray oneBlock = Dist.readParquet(path); // 552 bytes: one block of the target size
        assertEquals(1, oneBlock.numBlocks());
        assertArrayEquals(local.toArray(), oneBlock.toArray());

        // toDataFrame: names, 1-D arrays, order
        Dataset<Row> df = x.toDataFrame("a", "b", "c");
        assertArrayEquals(new String[] {"a", "b", "c"}, df.columns());
        List<Row> rows = df.collectAsList();
        assertEquals(23, rows.size());
        assertEquals(local.toArray()[3 * 17 + 1], rows.get(17).getDouble(1));
        assertArrayEquals(new String[] {"c0"}, ((DistArray) Dist.fromLocal(Np.arange(5.0), 2)).toDataFrame().columns());
        assertEquals(4.0, ((DistArray) Dist.fromLocal(Np.arange(5.0), 2)).toDataFrame().collectAsList().get(4).getDouble(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.toDataFrame("a", "b"));
        assertTrue(e.getMessage().contains("2 column names") && e.getMessage().contains("3 columns"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> x.writeParquet(path));
        assertTrue(e.getMessage().contains(path), e.getMessage());
    }

    private static double[] randomValues(int n, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextGaussian() * Math.pow(10, r.nextInt(-20, 20));
        }
        return d;
    }

    @Test
    void csvColumnsAreReadByTheHeadersNamesAndABadValueNamesItsLine() throws IOException {
        Path csv = dir.resolve("data.csv");
        Files.writeString(csv, "id,name,x,y\n0,a,1.5,-2\n1,b, 2.25e3 ,NaN\n2,c,-0.1,Inf\n");
        // NaN and infinities parse, and are refused by default (BadInputTest); allowed here to
        // check the parsing itself
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
            () -> Dist.readCsv(csv.toString(), "x", "y", "id"));
        assertTrue(nan.getMessage().contains("data.csv line 3, column 'y': is NaN"), nan.getMessage());
        DistArray x = Dist.readCsv(csv.toString(), "x", "id");
        assertArrayEquals(new long[] {3, 2}, x.shape());
        assertArrayEquals(new double[] {1.5, 0, 2250, 1, -0.1, 2}, x.toArray());
        assertEquals(Double.NaN, DataIO.parseNumber("NaN"));
        assertEquals(Double.POSITIVE_INFINITY, DataIO.parseNumber(" Inf "));

        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "a,b\n1,2\n3,4\n5,x7\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readCsv(bad.toString(), "a", "b"));
        String m = e.getMessage();
        assertTrue(m.contains("bad.csv line 4") && m.contains("'b'") && m.contains("x7"), m);

        e = assertThrows(IllegalArgumentException.class, () -> Dist.readCsv(csv.toString(), "id", "z"));
        assertTrue(e.getMessage().contains("'z'") && e.getMessage().contains("data.csv"), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        String missing = dir.resolve("nothing-here").toString();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readParquet(missing));
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Dist.readCsv(missing + "/*.csv", "a"));
        assertTrue(e.getMessage().contains(missing), e.getMessage());
    }

    // ------------------------------------------------------------------ errors

    @Test
    void badColumnsFailBeforeAnyJob() {
        Dataset<Row> df = mixed(3);
        Dist.waitForListeners();
        long before = Dist.metrics().snapshot().jobs();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.fromDataFrame(df, "id", "name"));
        String m = e.getMessage();
        assertTrue(m.contains("'name'") && m.contains("string") && m.contains("id (int)") && m.contains("price (decimal(10,3))"), m);
        e = assertThrows(IllegalArgumentException.class, () -> Dist.fromDataFrame(df, "nope"));
        m = e.getMessage();
        assertTrue(m.contains("'nope'") && m.contains("big (bigint)"), m);
        e = assertThrows(IllegalArgumentException.class, () -> Dist.fromDataFrame(df));
        assertTrue(e.getMessage().contains("'name'"), e.getMessage());
        Dist.waitForListeners();
        assertEquals(0, Dist.metrics().snapshot().jobs() - before);
    }

    @Test
    void aNullIsNamedByColumnAndGlobalRow() {
        StructType schema = new StructType(new StructField[] {field("a", DataTypes.DoubleType), field("b", DataTypes.LongType)});
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            rows.add(RowFactory.create((double) i, i == 9 ? null : (long) i));
        }
        Dataset<Row> one = spark.createDataFrame(rows, schema).coalesce(1);
        // four partitions of three rows, in order: row 10 is the first row of the last one
        Dataset<Row> four = spark.range(0, 12, 1, 4).select(col("id").cast("double").as("a"),
            when(col("id").equalTo(9), lit(null)).otherwise(col("id")).as("b"));
        for (Dataset<Row> d : List.of(one, four)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.fromDataFrame(d, "a", "b"));
            String m = e.getMessage();
            assertTrue(m.contains("'b'") && m.contains("null") && m.contains("row 10 of the data set"), m);
            assertTrue(!m.contains("Exception") && !m.contains("\n"), m);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Dist.fromDataFrame(spark.createDataFrame(List.of(), schema), "a"));
        assertEquals("fromDataFrame: the data set has no rows", e.getMessage());
    }

    // ------------------------------------------------------------------ gradients

    @Test
    void anArrayFromADataFrameGetsTheGradientsOfTheLocalEngine() {
        DistArray x = Dist.fromDataFrame(mixed(30).repartition(3), "id", "x", "price");
        NDArray w = Np.array(new double[][] {{0.5}, {-1}, {0.25}});
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = x.matmul(w).square().mean();
        }
        loss.backward();

        NDArray xl = x.toLocal();
        NDArray wl = Np.array(new double[][] {{0.5}, {-1}, {0.25}});
        wl.attachGrad();
        NDArray lossLocal;
        try (var r = Autograd.record()) {
            lossLocal = xl.matmul(wl).square().mean();
        }
        lossLocal.backward();
        assertEquals(lossLocal.item(), loss.item(), 1e-12 * Math.abs(lossLocal.item()));
        double[] g = w.grad().toArray();
        double[] gl = wl.grad().toArray();
        for (int i = 0; i < g.length; i++) {
            assertEquals(gl[i], g[i], 1e-12 * Math.max(1, Math.abs(gl[i])));
        }
    }
}
