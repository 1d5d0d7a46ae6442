package io.sparkgrad.worker;

import io.sparkgrad.np.ReduceFn;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * Combining the per-block partials of aggregations that run together: each element is one block's
 * tuple of partials (one per aggregation), and combining adds them (or takes the elementwise max or
 * min) aggregation by aggregation. Partials are always combined in block order, so a result does
 * not depend on which task finished first; the accumulator is a private copy updated in place.
 */
public final class Partials {
    private Partials() {}

    /** An accumulator: a private copy of the first tuple, updated in place by {@link #add}. */
    public static Block[] copy(Block[] first) {
        Block[] acc = new Block[first.length];
        for (int m = 0; m < first.length; m++) {
            Block b = first[m];
            acc[m] = new Block(b.index(), b.rowStart(), b.shapeRef().clone(), b.dataRef().clone());
        }
        return acc;
    }

    /** Folds {@code next} into {@code acc}, member {@code m} with {@code fns[m]}. */
    public static void add(Block[] acc, Block[] next, ReduceFn[] fns) {
        for (int m = 0; m < acc.length; m++) {
            combine(fns[m], acc[m].dataRef(), next[m].dataRef());
        }
    }

    /** Folds {@code x} into {@code acc} element by element: added, or the max or min kept. */
    public static void combine(ReduceFn f, double[] acc, double[] x) {
        if (acc.length != x.length) {
            throw new IllegalStateException("internal: partials of " + acc.length + " and " + x.length + " values");
        }
        switch (f) {
            case SUM:
                for (int j = 0; j < acc.length; j++) {
                    acc[j] += x[j];
                }
                break;
            case MAX:
                for (int j = 0; j < acc.length; j++) {
                    acc[j] = Math.max(acc[j], x[j]);
                }
                break;
            default:
                for (int j = 0; j < acc.length; j++) {
                    acc[j] = Math.min(acc[j], x[j]);
                }
                break;
        }
    }

    /** Keys each block's tuple by the group of {@code fanIn} consecutive blocks it is combined in. */
    public static PairFlatMapFunction<Iterator<Block[]>, Integer, Block[]> keyByGroup(int fanIn) {
        return it -> {
            List<Tuple2<Integer, Block[]>> out = new ArrayList<>(1);
            while (it.hasNext()) {
                Block[] t = it.next();
                out.add(new Tuple2<>(t[0].index() / fanIn, t));
            }
            return out.iterator();
        };
    }

    /**
     * Combines the tuples of one group in block order into one tuple whose index is the group's,
     * so that the next level groups the groups.
     */
    public static FlatMapFunction<Iterator<Tuple2<Integer, Block[]>>, Block[]> combineGroup(ReduceFn[] fns) {
        return it -> {
            FaultInjector.check();
            List<Block[]> tuples = new ArrayList<>();
            int group = -1;
            while (it.hasNext()) {
                Tuple2<Integer, Block[]> t = it.next();
                group = t._1();
                tuples.add(t._2());
            }
            if (tuples.isEmpty()) {
                return Collections.emptyIterator();
            }
            tuples.sort(Comparator.comparingInt(t -> t[0].index()));
            Block[] acc = copy(tuples.get(0));
            for (int k = 1; k < tuples.size(); k++) {
                add(acc, tuples.get(k), fns);
            }
            for (int m = 0; m < acc.length; m++) {
                Block b = acc[m];
                acc[m] = new Block(group, 0, b.shapeRef(), b.dataRef());
            }
            return Collections.singletonList(acc).iterator();
        };
    }
}
