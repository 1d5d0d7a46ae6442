package io.sparkgrad.dist;

import static io.sparkgrad.np.DType.FLOAT32;
import static io.sparkgrad.np.DType.FLOAT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.RDDInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Distributed float32 arrays: float32 blocks (half the bytes cached), and values equal to the local
 * engine's float32 values bit for bit, since both round every primitive's result once to float
 * and accumulate reductions and products in double.
 */
class Float32BlocksTest {
    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    private static void assertAllFloat32(NDArray x, String what) {
        for (Block b : ((DistArray) x).rdd().collect()) {
            assertTrue(b.isFloat(), what + ": " + b);
        }
    }

    @Test
    void aLogisticGradientOverFloat32BlocksEqualsTheLocalFloat32EngineBitForBit() {
        int cols = 12;
        for (int[] shape : new int[][] {{300, 1}, {300, 2}, {300, 7}, {6, 7}}) { // 6 rows in 7 blocks: one is empty
            int rows = shape[0];
            int blocks = shape[1];
            String what = rows + " rows in " + blocks + " blocks";
            Np.seed(rows + blocks);
            NDArray x = Np.randomNormal(0, 1, FLOAT32, rows, cols);
            NDArray t = Np.randomUniform(0, 1, FLOAT32, rows).gt(0.5);
            NDArray w = Np.randomNormal(0, 0.3, FLOAT32, cols);
            NDArray xd = Dist.fromLocal(x, blocks);
            NDArray td = Dist.fromLocal(t, blocks);
            assertEquals(FLOAT32, xd.dtype());
            assertAllFloat32(xd, what);

            NDArray[] want = SparkTests.logistic(x, t, w);
            assertEquals(FLOAT32, want[0].dtype(), what);
            assertEquals(FLOAT32, want[1].dtype(), what);
            for (int repeat = 0; repeat < 3; repeat++) {
                NDArray[] got = SparkTests.logistic(xd, td, w);
                assertEquals(FLOAT32, got[0].dtype(), what);
                assertEquals(FLOAT32, got[1].dtype(), what);
                assertEquals(want[0].item(), got[0].item(), what + ": loss, repeat " + repeat);
                assertArrayEquals(want[1].toArray(), got[1].toArray(), what + ": gradient, repeat " + repeat);
            }
            // float64 weights over float32 data: the mixed computation is float64, as numpy's
            NDArray[] mixed = SparkTests.logistic(xd, td, w.astype(FLOAT64));
            NDArray[] mixedLocal = SparkTests.logistic(x, t, w.astype(FLOAT64));
            assertEquals(FLOAT64, mixed[1].dtype());
            assertTrue(mixed[1].allClose(mixedLocal[1], 1e-12, 1e-15), what + ": mixed gradient");
        }
    }

    @Test
    void float32ResultsOfDistributedOpsAreTheLocalValuesAndFloat32BlocksWhereKept() {
        Np.seed(3);
        NDArray x = Np.randomNormal(0, 1, FLOAT32, 50, 4);
        NDArray xd = Dist.fromLocal(x, 3);
        NDArray y = xd.mul(0.1).exp().sub(xd.square());
        assertEquals(FLOAT32, y.dtype());
        Dist.cache(y);
        assertAllFloat32(y, "a cached float32 result");
        NDArray want = x.mul(0.1).exp().sub(x.square());
        assertArrayEquals(want.toArray(), y.toArray());
        assertEquals(FLOAT32, y.toLocal().dtype());
        assertArrayEquals(want.sum(0).toArray(), y.sum(0).toArray()); // summed in double, rounded once
        assertArrayEquals(want.T().matmul(x).toArray(), y.T().matmul(xd).toArray());
        // to float64 and back
        NDArray wide = xd.astype(FLOAT64);
        assertEquals(FLOAT64, wide.dtype());
        assertArrayEquals(x.toArray(), wide.toArray());
        NDArray narrow = Dist.fromLocal(Np.array(new double[] {0.1, 0.2, 0.7}), 2).astype(FLOAT32);
        assertArrayEquals(new double[] {0.1f, 0.2f, 0.7f}, narrow.toArray());
        assertAllFloat32(Dist.cache(narrow), "astype(float32)");
    }

    @Test
    void float32BlocksCacheAboutHalfTheBytesOfFloat64Blocks() {
        Np.seed(5);
        NDArray x = Np.randomNormal(0, 1, 20_000, 25);
        DistArray d64 = (DistArray) Dist.cache(Dist.fromLocal(x, 4));
        DistArray d32 = (DistArray) Dist.cache(Dist.fromLocal(x.astype(FLOAT32), 4));
        long b64 = cachedBytes(d64);
        long b32 = cachedBytes(d32);
        assertTrue(b64 > 8L * 20_000 * 25, "float64 blocks hold " + b64 + " bytes");
        assertTrue(b32 < 0.6 * b64, "float32 blocks cache " + b32 + " bytes, float64 " + b64);
    }

    @Test
    void everySourceWithADtypeOptionReadsFloat32Blocks(@TempDir Path dir) throws Exception {
        Np.seed(8);
        NDArray x = Np.randomNormal(0, 1, 40, 3);
        double[] want = x.astype(FLOAT32).toArray();
        DistArray d64 = Dist.fromLocal(x, 3);

        String parquet = dir.resolve("x.parquet").toString();
        d64.writeParquet(parquet);
        DistArray p = Dist.readParquet(parquet, FLOAT32);
        NDArray df = Dist.fromDataFrame(d64.toDataFrame(), FLOAT32);
        StringBuilder csv = new StringBuilder("a,b,c\n");
        double[] v = x.toArray();
        for (int i = 0; i < 40; i++) {
            csv.append(v[3 * i]).append(',').append(v[3 * i + 1]).append(',').append(v[3 * i + 2]).append('\n');
        }
        Path csvFile = dir.resolve("x.csv");
        Files.writeString(csvFile, csv);
        NDArray c = Dist.readCsv(csvFile.toString(), FLOAT32);
        for (NDArray a : new NDArray[] {p, df, c}) {
            assertEquals(FLOAT32, a.dtype());
            assertAllFloat32(a, "a float32 reading");
            assertArrayEquals(want, a.toArray());
        }
        assertEquals(FLOAT64, Dist.readParquet(parquet).dtype());

        // LIBSVM rows kept sparse: float64 storage, the values rounded, the array float32
        Path svm = dir.resolve("x.libsvm");
        Files.writeString(svm, "1 1:0.1 3:0.7\n0 2:0.3\n");
        NDArray s = DataReader.libsvm(svm.toString()).dtype(FLOAT32).read().array();
        assertEquals(FLOAT32, s.dtype());
        assertArrayEquals(new double[] {0.1f, 0, 0.7f, 1, 0, 0.3f, 0, 0}, s.toArray());
    }

    private static long cachedBytes(DistArray d) {
        int id = d.rdd().id();
        for (RDDInfo info : spark.sparkContext().getRDDStorageInfo()) {
            if (info.id() == id) {
                return info.memSize() + info.diskSize();
            }
        }
        throw new AssertionError("rdd " + id + " is not cached");
    }
}
