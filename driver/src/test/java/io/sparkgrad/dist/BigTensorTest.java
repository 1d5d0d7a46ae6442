package io.sparkgrad.dist;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sizes are long: a distributed tensor of more than 2^31 elements and more than 2^31 rows (17.6 GB
 * of doubles, made on the executors) is reduced chunk by chunk without ever being stored, and only
 * a local array keeps the int bound.
 */
class BigTensorTest {
    private static final long N = 2_200_000_000L;
    private static final int BLOCK_ROWS = 1 << 23; // 64 MiB of doubles: 263 blocks

    @BeforeAll
    static void spark() {
        SparkTests.session();
    }

    @Test
    void aVectorOfMoreThan2To31RowsIsReducedWithoutBeingStored() {
        DistArray x = Dist.full(0.5, BLOCK_ROWS, N);
        assertArrayEquals(new long[] {N}, x.shape());
        assertEquals(N, x.size());
        assertEquals(263, x.numBlocks());
        assertEquals(N - 262L * BLOCK_ROWS, x.layout().blockRows(262));
        java.util.Set<Object> cachedBefore = cachedRdds();
        Metrics.Snapshot before = Dist.metrics().snapshot();

        NDArray total = x.mul(x).add(1).sum();    // 1.25 per element, exact in doubles
        NDArray mean = x.sub(0.25).mean();
        assertEquals(1.25 * N, total.item());
        assertEquals(0.25, mean.item());
        Metrics.Snapshot d = Dist.metrics().snapshot().minus(before);
        assertEquals(1, d.jobs(), "both reductions in one job");
        assertEquals(263, d.tasks(), "one task per block");
        // RDDs of earlier tests may be cleaned meanwhile; none may be added
        assertTrue(cachedBefore.containsAll(cachedRdds()), "nothing was cached");
    }

    private static java.util.Set<Object> cachedRdds() {
        return new java.util.HashSet<>(scala.jdk.javaapi.CollectionConverters.asJava(
            SparkTests.session().sparkContext().getPersistentRDDs()).keySet());
    }

    @Test
    void aMatrixOfMoreThan2To31ElementsTimesLocalWeights() {
        long rows = N / 2;
        DistArray x = Dist.full(1.0, BLOCK_ROWS / 2, rows, 2);
        assertEquals(N, x.size());
        NDArray s = x.matmul(Np.array(2, -0.5)).sum(); // 1.5 per row
        assertEquals(1.5 * rows, s.item());
    }

    @Test
    void collectingATensorTooBigForALocalArrayIsRefusedBeforeAnyJob() {
        DistArray x = Dist.full(0.5, BLOCK_ROWS, N);
        long jobs = Dist.metrics().snapshot().jobs();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, x::toLocal);
        assertEquals("toLocal: shape (2200000000,) has 2200000000 elements; a local array holds at most 2147483647",
            e.getMessage());
        assertEquals(0, Dist.metrics().snapshot().jobs() - jobs);
        assertTrue(x.toString().startsWith("DistArray(shape=(2200000000,)"), x.toString());
    }
}
