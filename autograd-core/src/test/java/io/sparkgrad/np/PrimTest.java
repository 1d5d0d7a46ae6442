package io.sparkgrad.np;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each primitive's shape rule and name. The names are what a distributed job lists as the ops it
 * serves (its {@code sparkgrad.ops} property, which the fault injector's rules match), so they
 * are the op names users write: {@code matmul}, {@code take}, {@code broadcastTo}.
 */
class PrimTest {

    @Test
    void everyPrimitiveIsNamedAsItsOp() {
        Object[][] names = {
            {new Prim.Unary(UnaryFn.EXP), "exp"}, {new Prim.Binary(BinaryFn.SUB), "sub"}, {new Prim.Clip(0, 1), "clip"},
            {new Prim.Where(), "where"}, {new Prim.Reduce(ReduceFn.MAX, 0, false), "max"}, {new Prim.Norm(0, false), "norm"},
            {new Prim.BroadcastTo(new long[] {2}), "broadcastTo"}, {new Prim.BroadcastLike(), "broadcastLike"},
            {new Prim.Reshape(new long[] {2}), "reshape"}, {new Prim.Transpose(new int[] {1, 0}), "transpose"},
            {new Prim.Matmul(), "matmul"}, {new Prim.Slice(0, 0, 1), "slice"}, {new Prim.Pad(0, 1, 1), "pad"},
            {new Prim.Concat(0), "concat"}, {new Prim.Take(), "take"}, {new Prim.ScatterAdd(), "scatterAdd"},
            {new Prim.Fill(0), "fill"}, {new Prim.RandomUniform(1), "randomUniform"},
        };
        for (Object[] n : names) {
            assertEquals(n[1], ((Prim) n[0]).name(), n[0].getClass().getSimpleName());
        }
    }

    @Test
    void theShapeRulesGiveTheResultsShapes() {
        long[][] tableAndIdx = {{10, 3, 2}, {4, 5}};
        assertArrayEquals(new long[] {4, 5, 3, 2}, new Prim.Take().shape(tableAndIdx), "the indices' shape, then a row's");
        assertArrayEquals(new long[] {4}, new Prim.Take().shape(new long[][] {{10}, {4}}));
        assertArrayEquals(new long[] {3, 2}, new Prim.Transpose(new int[] {1, 0}).shape(new long[][] {{2, 3}}));
        assertArrayEquals(new long[] {2, 5}, new Prim.Matmul().shape(new long[][] {{2, 3}, {3, 5}}));
        assertArrayEquals(new long[] {2, 2}, new Prim.Slice(1, 1, 3).shape(new long[][] {{2, 4}}));
        assertArrayEquals(new long[] {2, 7}, new Prim.Pad(1, 1, 2).shape(new long[][] {{2, 4}}));
        assertArrayEquals(new long[] {2, 9}, new Prim.Concat(1).shape(new long[][] {{2, 4}, {2, 5}}));
        assertArrayEquals(new long[] {2, 3}, new Prim.Where().shape(new long[][] {{2, 1}, {1, 3}, {3}}));
        assertArrayEquals(new long[] {4, 3}, new Prim.BroadcastLike().shape(new long[][] {{3}, {4, 3}}));
        assertArrayEquals(new long[] {1, 3}, new Prim.Reduce(ReduceFn.SUM, 0, true).shape(new long[][] {{4, 3}}));
    }
}
