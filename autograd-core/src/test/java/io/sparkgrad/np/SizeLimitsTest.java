package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bounds checked before anything is allocated (a local array holds at most 2^31 - 1 values, a
 * probability is in [0, 1)), the tolerance of {@code allClose} taken inclusively as numpy takes
 * it, and equal arrays hashing equally (a -0.0 equals a 0.0).
 */
class SizeLimitsTest {

    static String refusal(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void sizesBeyondALocalArrayAreRefusedNamingTheCount() {
        assertEquals("eye: size 46341 gives 2147488281 elements; a local array holds at most 2147483647",
            refusal(() -> Np.eye(46341)));
        assertEquals("eye: negative size -1", refusal(() -> Np.eye(-1)));
        assertEquals(0, Np.eye(0).size());
        assertArrayEquals(new double[] {1, 0, 0, 1}, Np.eye(2).toArray());
        assertEquals("shape (65536, 32768) has 2147483648 elements; a local array holds at most 2147483647",
            refusal(() -> Shape.size(new int[] {65536, 32768})));
        assertEquals(Integer.MAX_VALUE, Shape.size(new int[] {Integer.MAX_VALUE}), "the largest size is accepted");
        assertArrayEquals(new int[] {Integer.MAX_VALUE}, Shape.toInt("reshape", new long[] {Integer.MAX_VALUE}));
        assertArrayEquals(new int[] {46340, 46340}, Shape.toInt("reshape", new long[] {46340, 46340}));
        String m = refusal(() -> Shape.toInt("reshape", new long[] {1L << 31}));
        assertTrue(m.startsWith("reshape: shape (2147483648,) has 2147483648 elements; a local array holds at most"), m);
        m = refusal(() -> Shape.toInt("reshape", new long[] {1L << 20, 1L << 20}));
        assertTrue(m.startsWith("reshape: shape (1048576, 1048576) has 1099511627776 elements"), m);
        assertEquals("arange: too many elements from 0.0 to 2.147483647E9 by 1.0",
            refusal(() -> Np.arange(0, Integer.MAX_VALUE, 1)));
        assertEquals(0, Np.arange(3, 1, 1).size(), "an empty range");
        assertEquals("arange: step must be non-zero, got 0.0", refusal(() -> Np.arange(0, 1, 0)));
    }

    @Test
    void dropoutTakesAProbabilityInZeroToOne() {
        NDArray x = Np.ones(50);
        try (var t = io.sparkgrad.autograd.Autograd.trainMode()) {
            assertArrayEquals(x.toArray(), x.dropout(0).toArray(), "p = 0 keeps everything");
        }
        assertEquals("dropout: probability must be in [0, 1), got 1.0", refusal(() -> x.dropout(1)));
        assertEquals("dropout: probability must be in [0, 1), got -0.1", refusal(() -> x.dropout(-0.1)));
        assertEquals("dropout: probability must be in [0, 1), got NaN", refusal(() -> x.dropout(Double.NaN)));
    }

    @Test
    void allCloseIncludesItsTolerance() {
        assertTrue(Np.array(1.0).allClose(Np.array(1.5), 0, 0.5), "|a - b| == atol");
        assertTrue(Np.array(1.0).allClose(Np.array(2.0), 0.5, 0), "|a - b| == rtol * |b|");
        assertFalse(Np.array(1.0).allClose(Np.array(1.5), 0, 0.25));
        assertTrue(Np.array(Double.POSITIVE_INFINITY).allClose(Np.array(Double.POSITIVE_INFINITY), 0, 0));
        assertFalse(Np.array(1e300).allClose(Np.array(Double.POSITIVE_INFINITY), 1, 1));
    }

    @Test
    void equalArraysHashEquallyAndOthersMostlyNot() {
        NDArray a = Np.array(new int[] {2, 2}, new double[] {1, 0.0, 3, 4});
        NDArray b = Np.array(new int[] {2, 2}, new double[] {1, -0.0, 3, 4});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a.hashCode(), Np.array(1, 0, 3, 4).hashCode(), "another shape");
        assertNotEquals(a.hashCode(), Np.array(new int[] {2, 2}, new double[] {4, 3, 0, 1}).hashCode(), "other values");
    }
}
