package io.sparkgrad.worker;

import io.sparkgrad.np.ReduceFn;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Partials are combined in block order whatever order they arrive in. The values are chosen so
 * that float64 addition in another order gives other bits: 1e16 + 1 rounds to 1e16, so the order
 * of {1e16, 1, -1e16, 1} decides whether the sum is 0, 1 or 2.
 */
class PartialsTest {

    private static final ReduceFn[] SUM_MAX_MIN = {ReduceFn.SUM, ReduceFn.MAX, ReduceFn.MIN};

    /** Block {@code i}'s tuple: a sum partial of two values, a max partial and a min partial. */
    static Block[] tuple(int i, double... sum) {
        return new Block[] {
            new Block(i, 0, new int[] {sum.length}, sum.clone()),
            new Block(i, 0, new int[] {1}, new double[] {i % 3 - i}),
            new Block(i, 0, new int[] {1}, new double[] {i * i - 5 * i}),
        };
    }

    /** Values whose float64 sum depends on the order of addition. */
    static List<Block[]> blocks() {
        double[][] v = {{1e16, 3}, {1, 1e16}, {-1e16, 1}, {1, -1e16}, {0.5, 2.5e-16}, {1e-16, 1}, {-0.5, 1e16}};
        List<Block[]> t = new ArrayList<>();
        for (int i = 0; i < v.length; i++) {
            t.add(tuple(i, v[i]));
        }
        return t;
    }

    /** The fold of {@code tuples} in the order given. */
    static Block[] fold(List<Block[]> tuples) {
        Block[] acc = Partials.copy(tuples.get(0));
        for (Block[] t : tuples.subList(1, tuples.size())) {
            Partials.add(acc, t, SUM_MAX_MIN);
        }
        return acc;
    }

    static Block[] combineGroup(int group, List<Block[]> arrival) throws Exception {
        List<Tuple2<Integer, Block[]>> in = new ArrayList<>();
        for (Block[] t : arrival) {
            in.add(new Tuple2<>(group, t));
        }
        Iterator<Block[]> out = Partials.combineGroup(SUM_MAX_MIN).call(in.iterator());
        Block[] r = out.next();
        assertTrue(!out.hasNext(), "one tuple per group");
        return r;
    }

    @Test
    void theOrderOfAdditionChangesTheBitsOfTheseValues() {
        List<Block[]> reversed = new ArrayList<>(blocks());
        Collections.reverse(reversed);
        assertNotEquals(fold(blocks())[0].dataRef()[0], fold(reversed)[0].dataRef()[0],
            "the test data must be sensitive to the order, or the tests below prove nothing");
    }

    @Test
    void aGroupIsCombinedInBlockOrderWhateverOrderItsTuplesArriveIn() throws Exception {
        Block[] inOrder = fold(blocks());
        Random r = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            List<Block[]> arrival = new ArrayList<>(blocks());
            Collections.shuffle(arrival, r);
            Block[] got = combineGroup(3, arrival);
            for (int m = 0; m < inOrder.length; m++) {
                assertArrayEquals(inOrder[m].dataRef(), got[m].dataRef(), 0.0, "member " + m + ", arrival "
                    + arrival.stream().map(t -> t[0].index()).toList());
                assertEquals(3, got[m].index(), "the combined tuple carries the group's index");
            }
        }
    }

    @Test
    void combiningAddsTakesTheMaxAndTheMin() {
        Block[] acc = fold(blocks());
        assertEquals(0.0, acc[1].dataRef()[0]);        // max of i % 3 - i over 0..6
        assertEquals(-6.0, acc[2].dataRef()[0]);       // min of i^2 - 5i: i = 2 or 3
        double[] x = {1, 5, -2};
        double[] m = x.clone();
        Partials.combine(ReduceFn.MAX, m, new double[] {3, 4, Double.NaN});
        assertEquals(3.0, m[0]);
        assertEquals(5.0, m[1]);
        assertTrue(Double.isNaN(m[2]), "a NaN partial propagates, as numpy's max");
        double[] s = x.clone();
        Partials.combine(ReduceFn.SUM, s, new double[] {1, 1, 1});
        assertArrayEquals(new double[] {2, 6, -1}, s);
        assertThrows(IllegalStateException.class, () -> Partials.combine(ReduceFn.SUM, new double[2], new double[3]));
    }

    @Test
    void theAccumulatorIsAPrivateCopy() {
        Block[] first = tuple(0, 1, 2);
        Block[] acc = Partials.copy(first);
        Partials.add(acc, tuple(1, 10, 20), SUM_MAX_MIN);
        assertArrayEquals(new double[] {1, 2}, first[0].dataRef(), "the first partial is not changed");
        assertArrayEquals(new double[] {11, 22}, acc[0].dataRef());
    }

    @Test
    void blocksAreKeyedByTheGroupOfConsecutiveBlocksTheyAreCombinedIn() throws Exception {
        List<Block[]> in = blocks();
        List<Integer> keys = new ArrayList<>();
        Partials.keyByGroup(3).call(in.iterator()).forEachRemaining(t -> keys.add(t._1()));
        assertEquals(List.of(0, 0, 0, 1, 1, 1, 2), keys);
    }

    @Test
    void aTreeOfCombinesGivesTheSameBitsWhateverOrderEachLevelReceivesItsTuples() throws Exception {
        // groups of 3 (two values add the same either way round: a + b == b + a in float64)
        Block[] reference = null;
        Random r = new Random(9);
        for (int trial = 0; trial < 50; trial++) {
            List<Block[]> level = new ArrayList<>(blocks());
            while (level.size() > 1) {
                List<Tuple2<Integer, Block[]>> keyed = new ArrayList<>();
                Partials.keyByGroup(3).call(level.iterator()).forEachRemaining(keyed::add);
                Collections.shuffle(keyed, r); // the shuffle delivers in any order
                List<Block[]> next = new ArrayList<>();
                for (int g = 0; g <= (level.size() - 1) / 3; g++) {
                    int group = g;
                    List<Block[]> members = keyed.stream().filter(t -> t._1() == group).map(Tuple2::_2).toList();
                    next.add(combineGroup(group, members));
                }
                Collections.shuffle(next, r);
                next.sort((a, b) -> Integer.compare(a[0].index(), b[0].index())); // the next level's blocks, by index
                level = next;
            }
            double[] got = level.get(0)[0].dataRef();
            if (reference == null) {
                reference = level.get(0);
            } else {
                assertTrue(Arrays.equals(reference[0].dataRef(), got), Arrays.toString(got));
            }
        }
    }

    @Test
    void anEmptyGroupGivesNothing() throws Exception {
        assertTrue(!Partials.combineGroup(SUM_MAX_MIN).call(Collections.emptyIterator()).hasNext());
    }
}
