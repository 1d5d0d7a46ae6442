package io.sparkgrad.dist;

import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings belong to a session: two sessions in one JVM do not share them. */
class SettingsTest {
    @Test
    void twoSessionsInOneJvmKeepTheirOwnSettings() {
        SparkSession a = SparkTests.session();
        SparkSession b = a.newSession();
        long blockBytes = Dist.blockBytes();
        try {
            Dist.use(b);
            Dist.setFusion(false);
            Dist.setBlockBytes(1 << 20);
            assertFalse(Dist.fusion());
            // work planned on b runs with b's settings: without fusion, a reduction runs at once
            NDArray s = Dist.fromLocal(Np.arange(6.0), 2).sum();
            assertFalse(((LocalArray) s).isPending());
            assertEquals(15.0, s.item());

            Dist.use(a);
            assertTrue(Dist.fusion(), "a's settings are untouched");
            assertEquals(blockBytes, Dist.blockBytes());
            NDArray t = Dist.fromLocal(Np.arange(6.0), 2).sum();
            assertTrue(((LocalArray) t).isPending());
            assertEquals(15.0, t.item());
            assertFalse(Dist.settings(b).fusion());
            assertEquals(1 << 20, Dist.settings(b).blockBytes());
        } finally {
            Dist.settings(b).setFusion(true).setBlockBytes(blockBytes);
            Dist.use(a);
        }
    }
}
