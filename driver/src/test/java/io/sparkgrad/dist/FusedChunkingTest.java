package io.sparkgrad.dist;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What {@link EverySettingProgramTest} found (program 121 of its long hunt): a block program's
 * rows per chunk followed the widest array of its job ({@code programChunkBytes / (8 * width)}), so
 * a reduction fused with a wider one summed its block in other chunks and its partials rounded
 * otherwise: its bits depended on what else was pending when it ran. Every program now cuts a
 * block into {@link Settings#programChunkRows()} rows (fewer only where the widest array passes
 * {@link Settings#programChunkBytes()}), so a sum read alone, read beside a wider pending sum, and
 * read with fusion off give the same bits. A block of 40,000 rows is 40 chunks here.
 */
class FusedChunkingTest {
    static final int ROWS = 40_000;
    static NDArray xLocal;
    static NDArray zLocal;

    @BeforeAll
    static void data() {
        SparkTests.session();
        Np.seed(21);
        xLocal = Np.randomNormal(0, 1, ROWS, 1);
        zLocal = Np.randomNormal(0, 1, ROWS, 2);
    }

    @AfterEach
    void defaults() {
        Dist.setFusion(true);
    }

    /** sum(x) read alone, then read while the sum of a wider array of the same rows is pending. */
    static double[] alone(boolean fusion) {
        Dist.setFusion(fusion);
        NDArray x = Dist.fromLocal(xLocal, 1);
        NDArray z = Dist.fromLocal(zLocal, x);
        double alone = x.sum().item();
        NDArray s = x.sum();
        NDArray t = z.sum(); // pending beside s: one job computes both (with fusion)
        double withWider = s.item();
        return new double[] {alone, withWider, t.item()};
    }

    @Test
    void aSumReadAloneAndOneReadBesideAWiderSumAgreeWithinRounding() {
        double[] v = alone(true);
        double local = xLocal.sum().item();
        assertEquals(local, v[0], 1e-12 * Math.max(1, Math.abs(local)));
        assertEquals(local, v[1], 1e-12 * Math.max(1, Math.abs(local)));
        assertEquals(zLocal.sum().item(), v[2], 1e-12 * ROWS);
    }

    @Test
    void aSumGivesTheSameBitsWhateverElseIsPendingInItsJob() {
        double[] fused = alone(true);
        assertEquals(fused[0], fused[1], 0.0, "sum(x) alone and sum(x) fused with sum(z)");
        double[] separate = alone(false);
        assertEquals(separate[1], fused[1], 0.0, "sum(x) with fusion off and on");
    }
}
