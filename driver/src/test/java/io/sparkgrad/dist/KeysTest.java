package io.sparkgrad.dist;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Date;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Key columns kept beside the rows read, and results written back beside them. */
class KeysTest {
    private static final int N = 203;
    private static final double[] W = {0.5, -1.25, 2.0};

    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void spark() {
        spark = SparkTests.session();
    }

    private static final StructType SCHEMA = new StructType()
        .add("id", DataTypes.StringType, false)
        .add("day", DataTypes.DateType, true)
        .add("f0", DataTypes.DoubleType, true)
        .add("f1", DataTypes.IntegerType, true)
        .add("f2", DataTypes.DoubleType, true)
        .add("label", DataTypes.DoubleType, false);

    /** N rows with ids in a shuffled order (not the row order). */
    private static List<Row> rows(long seed) {
        Random r = new Random(seed);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            ids.add(i);
        }
        java.util.Collections.shuffle(ids, r);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            rows.add(RowFactory.create("u" + ids.get(i), new Date(86_400_000L * ids.get(i)), r.nextGaussian(),
                r.nextInt(7) - 3, r.nextDouble(), (double) (ids.get(i) % 2)));
        }
        return rows;
    }

    /** The rows as a DataFrame of several partitions of unequal sizes (a union of local slices keeps their order). */
    private static Dataset<Row> frame(List<Row> rows) {
        int[] cuts = {0, 13, 70, 71, 150, N};
        Dataset<Row> df = null;
        for (int i = 0; i + 1 < cuts.length; i++) {
            Dataset<Row> part = spark.createDataFrame(rows.subList(cuts[i], cuts[i + 1]), SCHEMA);
            df = df == null ? part : df.union(part);
        }
        return df;
    }

    /** The local computation: sigmoid(f . W) of one row. */
    private static double expected(Row row) {
        double z = row.getDouble(2) * W[0] + row.getInt(3) * W[1] + row.getDouble(4) * W[2];
        return 1 / (1 + Math.exp(-z));
    }

    @Test
    void predictionsComeBackBesideTheirRowsKeysAndJoinByKey() {
        List<Row> rows = rows(1);
        Dataset<Row> df = frame(rows);
        long blockBytes = Dist.blockBytes();
        try {
            Dist.setBlockBytes(8 * 4 * 30); // 30 rows of features and label per block: the source's partitions' rows move into 7 blocks
            Dist.Labeled d = Dist.fromDataFrame(df, new String[] {"f0", "f1", "f2"}, "label", "id", "day");
            assertEquals(7, ((DistArray) d.x()).numBlocks());
            assertEquals(N, d.keys().count());
            assertArrayEquals(new String[] {"id", "day"}, d.keys().schema().fieldNames());

            NDArray p = d.x().matmul(Np.array(new int[] {3}, W)).sigmoid();
            Dataset<Row> out = Dist.toDataFrame(p, d.keys(), "probability");
            assertArrayEquals(new String[] {"id", "day", "probability"}, out.columns());
            List<Row> got = out.collectAsList();
            assertEquals(N, got.size());
            for (int i = 0; i < N; i++) { // row order: the source's
                assertEquals(rows.get(i).getString(0), got.get(i).getString(0));
                assertEquals(rows.get(i).getDate(1), got.get(i).getDate(1));
                assertEquals(expected(rows.get(i)), got.get(i).getDouble(2), 1e-12, "row " + i);
            }
            // joined back to the input by key: every row's prediction is its own
            Map<String, Row> byId = new HashMap<>();
            for (Row r : rows) {
                byId.put(r.getString(0), r);
            }
            List<Row> joined = df.join(out.drop("day"), "id").collectAsList();
            assertEquals(N, joined.size());
            for (Row j : joined) {
                Row source = byId.get(j.getString(0));
                assertEquals(expected(source), j.getDouble(j.fieldIndex("probability")), 1e-12, j.getString(0));
            }
            // a local array of as many rows goes beside the keys too; the labels are the source's
            List<Row> labels = Dist.toDataFrame(d.y().toLocal(), d.keys(), "y").collectAsList();
            for (int i = 0; i < N; i++) {
                assertEquals(rows.get(i).getDouble(5), labels.get(i).getDouble(2));
            }
            assertEquals(rows.get(0).getString(0), d.keys().toDataFrame().first().getString(0));
        } finally {
            Dist.setBlockBytes(blockBytes);
        }
    }

    @Test
    void keepingEveryColumnAppendsPredictionsToTheInput() {
        List<Row> rows = rows(2);
        Dataset<Row> df = frame(rows);
        Dist.Labeled d = Dist.fromDataFrame(df, new String[] {"f0", "f1", "f2"}, "label", df.columns());
        NDArray scores = d.x().matmul(Np.array(new int[] {3, 2}, new double[] {1, 0, 0, 1, 0, 0}));
        List<Row> got = Dist.toDataFrame(scores, d.keys(), "s0", "s1").collectAsList();
        for (int i = 0; i < N; i++) {
            Row r = got.get(i);
            for (int c = 0; c < SCHEMA.size(); c++) {
                assertEquals(rows.get(i).get(c), r.get(c), "row " + i + " column " + c);
            }
            assertEquals(rows.get(i).getDouble(2), r.getDouble(6));
            assertEquals(rows.get(i).getInt(3), r.getDouble(7));
        }
    }

    @Test
    void droppedRowsTakeTheirKeysWithThem() {
        List<Row> rows = rows(3);
        List<Row> withBad = new ArrayList<>(rows);
        for (int i : new int[] {0, 17, 100, N - 1}) {
            Row r = rows.get(i);
            withBad.set(i, RowFactory.create(r.get(0), r.get(1), null, r.get(3), r.get(4), r.get(5)));
        }
        DataReader.Result res = DataReader.dataFrame(frame(withBad)).columns("f0", "f1", "f2").keep("id")
            .dropInvalid(true).read();
        assertEquals(4, res.droppedRows());
        assertEquals(N - 4, res.keys().count());
        NDArray p = res.array().matmul(Np.array(new int[] {3}, W)).sigmoid();
        List<Row> got = res.keys().toDataFrame(p).collectAsList();
        assertEquals("prediction", got.get(0).schema().fieldNames()[1]);
        int k = 0;
        for (int i = 0; i < N; i++) {
            if (i == 0 || i == 17 || i == 100 || i == N - 1) {
                continue;
            }
            assertEquals(rows.get(i).getString(0), got.get(k).getString(0));
            assertEquals(expected(rows.get(i)), got.get(k).getDouble(1), 1e-12);
            k++;
        }
        assertEquals(N - 4, k);
    }

    @Test
    void parquetKeepsKeysInFileOrder() {
        List<Row> rows = rows(4);
        String path = dir.resolve("keyed.parquet").toString();
        frame(rows).write().parquet(path);
        DataReader.Result res = DataReader.parquet(path).columns("f0", "f2").keep("id").read();
        List<Row> got = res.keys().toDataFrame(res.array(), "a", "b").collectAsList();
        assertEquals(N, got.size());
        for (int i = 0; i < N; i++) {
            assertEquals(rows.get(i).getString(0), got.get(i).getString(0));
            assertEquals(rows.get(i).getDouble(2), got.get(i).getDouble(1));
            assertEquals(rows.get(i).getDouble(4), got.get(i).getDouble(2));
        }
    }

    @Test
    void valuesThatDoNotLineUpWithTheKeysFailInOneLine() {
        Dist.Labeled d = Dist.fromDataFrame(frame(rows(5)), new String[] {"f0"}, "label", "id");
        IllegalArgumentException rowsDiffer = assertThrows(IllegalArgumentException.class,
            () -> Dist.toDataFrame(d.x().slice(0, 0, N - 1), d.keys()));
        assertTrue(rowsDiffer.getMessage().startsWith("toDataFrame: the values of shape (202, 1) have 202 rows, but 203 rows "
            + "were read with these keys (id)"), rowsDiffer.getMessage());
        IllegalArgumentException clash = assertThrows(IllegalArgumentException.class,
            () -> Dist.toDataFrame(d.y(), d.keys(), "ID"));
        assertTrue(clash.getMessage().contains("'ID' has the name of a key column"), clash.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> Dist.fromDataFrame(frame(rows(5)), new String[] {"f0"}, "label", "user"));
        assertTrue(missing.getMessage().startsWith("fromDataFrame: the DataFrame has no column 'user' to keep; columns: id, "),
            missing.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
            () -> Dist.toDataFrame(d.y(), null));
        assertTrue(none.getMessage().startsWith("toDataFrame: no keys given"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DataReader.csv("x.csv").keep("id"));
    }
}
