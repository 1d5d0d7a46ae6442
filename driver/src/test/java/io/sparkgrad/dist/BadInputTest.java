package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input gets one clear error naming what is wrong; and the things that must just work, do. */
class BadInputTest {
    private static SparkSession spark;

    @BeforeAll
    static void spark() {
        spark = SparkTests.session();
    }

    private static void assertError(Class<? extends Throwable> type, Executable what, String... mentions) {
        Throwable e = assertThrows(type, what);
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' in: " + e.getMessage());
        }
        assertTrue(!e.getMessage().contains("\tat "), "no stack trace in the message: " + e.getMessage());
    }

    private static Dataset<Row> frame(Object[]... rows) {
        List<Row> list = new ArrayList<>();
        for (Object[] r : rows) {
            list.add(RowFactory.create(r));
        }
        return spark.createDataFrame(list, DataTypes.createStructType(List.of(
            DataTypes.createStructField("a", DataTypes.DoubleType, true),
            DataTypes.createStructField("b", DataTypes.DoubleType, true)))).coalesce(1);
    }

    /** One bad input: what the user does, the exception it must raise, and what its message names. */
    record Bad(String name, Executable what, Class<? extends Throwable> type, String... mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Bad> table() throws Exception {
        Path dir = Files.createTempDirectory("bad-input");
        Path emptyCsv = Files.writeString(dir.resolve("empty.csv"), "a,b\n");
        Path textCsv = Files.writeString(dir.resolve("text.csv"), "a,b\n1,2\n3,four\n");
        Path corrupt = Files.write(dir.resolve("corrupt.parquet"), new byte[] {'P', 'A', 'R', '1', 9, 9, 9, 9});
        NDArray six2 = Dist.fromLocal(Np.arange(6.0), 2);
        NDArray eight = Dist.fromLocal(Np.arange(8.0), 2);
        NDArray matrix = Dist.fromLocal(Np.arange(12.0).reshape(6, 2), 2);
        NDArray v = Np.array(1, 2);
        v.attachGrad();
        NDArray used;
        try (var r = Autograd.record()) {
            used = v.mul(v).sum();
        }
        used.backward();
        NDArray usedOnce = used;
        return List.of(
            new Bad("lengths differ", () -> six2.sub(eight), IllegalArgumentException.class, "sub"),
            new Bad("local operand of other rows", () -> six2.add(Np.arange(7.0)), IllegalArgumentException.class, "add",
                "(6,)", "(7,)"),
            new Bad("matmul of two distributed", () -> matrix.matmul(matrix.T().T()), IllegalArgumentException.class,
                "matmul"),
            new Bad("reshape to another size", () -> matrix.reshape(5, 2), IllegalArgumentException.class, "reshape",
                "(6, 2)", "(5, 2)"),
            new Bad("toLocal over the limit", () -> {
                long limit = Dist.maxLocalBytes();
                Dist.setMaxLocalBytes(8);
                try {
                    matrix.toLocal();
                } finally {
                    Dist.setMaxLocalBytes(limit);
                }
            }, IllegalStateException.class, "toLocal", "(6, 2)", "limit"),
            new Bad("empty data", () -> Dist.readCsv(emptyCsv.toString()), IllegalArgumentException.class, "no rows"),
            new Bad("not a number", () -> Dist.readCsv(textCsv.toString()), IllegalArgumentException.class, "'b'", "four",
                "text.csv line 3"),
            new Bad("missing column", () -> Dist.readCsv(textCsv.toString(), "c"), IllegalArgumentException.class, "'c'"),
            new Bad("corrupt parquet", () -> Dist.readParquet(corrupt.toString()), IllegalArgumentException.class,
                "corrupt.parquet"),
            new Bad("missing file", () -> Dist.readParquet(dir.resolve("nothing").toString()),
                IllegalArgumentException.class, "nothing"),
            new Bad("backward twice", usedOnce::backward, IllegalStateException.class, "retainGraph=true"),
            new Bad("grad without attachGrad", () -> Np.array(1).grad(), IllegalStateException.class, "attachGrad"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void badInputGetsAClearError(Bad bad) {
        assertError(bad.type(), bad.what(), bad.mentions());
    }

    @Test
    void nanAndInfinityNameColumnAndRowUnlessDropped(@TempDir Path tmp) throws Exception {
        Dataset<Row> df = frame(new Object[] {1.0, 2.0}, new Object[] {3.0, Double.NaN}, new Object[] {5.0, 6.0},
            new Object[] {Double.NEGATIVE_INFINITY, 8.0});
        assertError(IllegalArgumentException.class, () -> Dist.fromDataFrame(df, "a", "b"), "'b'", "NaN", "row 2");
        Path csv = tmp.resolve("inf.csv");
        Files.writeString(csv, "a,b\n1,2\n3,4\n5,Infinity\n");
        assertError(IllegalArgumentException.class, () -> Dist.readCsv(csv.toString()), "'b'", "+infinity", "inf.csv line 4",
            "inf.csv");

        Dist.setDropInvalidRows(true);
        try {
            NDArray clean = Dist.fromDataFrame(df, "a", "b");
            assertArrayEquals(new double[] {1, 2, 5, 6}, clean.toArray());
            assertEquals(2, Dist.readCsv(csv.toString()).shape()[0]);
        } finally {
            Dist.setDropInvalidRows(false);
        }
    }

    @Test
    void aCorruptParquetFileIsNamed(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("broken.parquet");
        Files.write(bad, new byte[] {'P', 'A', 'R', '1', 0, 1, 2, 3, 4, 5, 6, 7});
        assertError(IllegalArgumentException.class, () -> Dist.readParquet(bad.toString()), "readParquet",
            "broken.parquet", "not a Parquet file");
    }

    @Test
    void operandsOfDifferentLengthsNameTheOp() {
        NDArray a = Dist.fromLocal(Np.arange(6.0), 2);
        NDArray c = Dist.fromLocal(Np.arange(8.0), 2);
        assertError(IllegalArgumentException.class, () -> a.mul(c), "mul");
        assertError(IllegalStateException.class, () -> Np.array(1).grad(), "attachGrad");
    }

    @Test
    void twoThreadsTrainOnDistributedDataAtOnce() throws Exception {
        Np.seed(3);
        NDArray xl = Np.randomNormal(0, 1, 300, 4);
        NDArray x = Dist.fromLocal(xl, 3);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<double[]>> results = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                double scale = t + 1;
                results.add(pool.submit(() -> {
                    NDArray w = Np.full(new int[] {4}, scale);
                    w.attachGrad();
                    NDArray loss;
                    try (var r = Autograd.record()) {
                        loss = x.matmul(w).square().sum();
                    }
                    loss.backward();
                    return w.grad().toArray();
                }));
            }
            for (int t = 0; t < 2; t++) {
                // d/dw sum (x w)^2 = 2 x^T x w
                double[] expected = xl.T().matmul(xl).matmul(Np.full(new int[] {4}, t + 1)).mul(2).toArray();
                assertArrayEquals(expected, results.get(t).get(), 1e-9 * Arrays.stream(expected).map(Math::abs).max().orElse(1));
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void arraysOfAStoppedSessionAreRefusedAndANewSessionWorks() {
        NDArray x = Dist.fromLocal(Np.arange(4.0), 2);
        NDArray pending = x.sum().mul(2); // planned, not run
        spark.stop();
        try {
            assertError(IllegalStateException.class, x::sum, "stopped", "create it again");
            assertError(IllegalStateException.class, x::toLocal, "stopped");
            assertError(IllegalStateException.class, pending::item, "sparkgrad forward: sum", "stopped before they were computed");
        } finally {
            spark = SparkTests.session();
        }
        assertEquals(6, Dist.fromLocal(Np.arange(4.0), 2).sum().item());
    }
}
