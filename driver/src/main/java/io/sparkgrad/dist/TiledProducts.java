package io.sparkgrad.dist;

import io.sparkgrad.worker.Block;
import io.sparkgrad.worker.TileProduct;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.List;
import java.util.TreeSet;

/**
 * Products of two distributed matrices too big to collect either: tiles brought together by one
 * shuffle ({@link TileProduct}), the result distributed.
 *
 * <ul>
 *   <li>When the contracted index is the one both are split along ({@code X.T().matmul(Y)} of
 *       blocks of rows), each pair of blocks makes its partial products of the output's tiles,
 *       and each tile sums them in block order (partial products, a reduce-scatter).</li>
 *   <li>Otherwise each operand is cut into tiles on a grid that refines its blocks (the rows of
 *       the result, the contracted index, the columns of the result) and every output tile
 *       receives the tiles it needs (replicated tiles: the left operand's once per column of
 *       tiles, the right operand's once per row).</li>
 * </ul>
 * The result is split in rows like the left operand when that is split in rows, in columns like
 * the right operand when that is split in columns, else in rows of about
 * {@link Settings#productTileBytes()}.
 */
final class TiledProducts {
    private TiledProducts() {}

    /** {@code a.matmul(b)} for two distributed matrices ({@code (n, k)} and {@code (k, m)}). */
    static DistArray product(DistArray a, DistArray b, Settings s) {
        Layout la = a.layout();
        Layout lb = b.layout();
        long n = a.shape()[0];
        long k = a.shape()[1];
        long m = b.shape()[1];
        long tile = s.productTileBytes();
        if (la.axis() == 1 && lb.axis() == 0) {
            DistArray right = DistBackend.reblock(b, la);
            long[] rows = Layout.even(n, pieces(8 * n * m, tile, n), new int[] {(int) m}).rowStarts();
            return partialProducts(a, right, rows, new long[] {0, m});
        }
        long[] inner = merged(la.axis() == 1 ? la.rowStarts() : new long[] {0, k},
            lb.axis() == 0 ? lb.rowStarts() : new long[] {0, k});
        boolean byRows = la.axis() == 0; // else the right operand is split in columns
        long[] rows = byRows ? la.rowStarts() : evenCuts(n, pieces(8 * n * k, tile, n));
        long[] cols = lb.axis() == 1 ? lb.rowStarts() : evenCuts(m, pieces(8 * k * m, tile, m));
        return replicatedTiles(a, b, rows, inner, cols, byRows);
    }

    /** How many pieces of at most {@code tile} bytes {@code bytes} make, between 1 and {@code most}. */
    private static int pieces(long bytes, long tile, long most) {
        return (int) Math.max(1, Math.min(Math.min(most, Integer.MAX_VALUE - 1), (bytes + tile - 1) / tile));
    }

    private static long[] evenCuts(long length, int pieces) {
        return Layout.even(length, pieces, new int[0]).rowStarts();
    }

    /** The cuts of both, in order, each once. */
    private static long[] merged(long[] x, long[] y) {
        TreeSet<Long> all = new TreeSet<>();
        for (long v : x) {
            all.add(v);
        }
        for (long v : y) {
            all.add(v);
        }
        return all.stream().mapToLong(Long::longValue).toArray();
    }

    private static Layout resultLayout(long[] rows, long[] cols, boolean byRows) {
        long n = rows[rows.length - 1];
        long m = cols[cols.length - 1];
        return byRows ? Layout.ofStarts(rows, new int[] {(int) m})
            : Layout.ofStarts(cols, new int[] {(int) n}).along(1, new int[] {(int) n});
    }

    private static DistArray replicatedTiles(DistArray a, DistArray b, long[] rows, long[] inner, long[] cols,
                                             boolean byRows) {
        int nI = rows.length - 1;
        int nK = inner.length - 1;
        int nJ = cols.length - 1;
        String what = "tiled product (" + nI + " x " + nK + " tiles of the left operand sent " + nJ + " times, "
            + nK + " x " + nJ + " of the right sent " + nI + " times)";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                JavaPairRDD<Integer, TileProduct.Tile> left = in.get(0)
                    .mapPartitionsToPair(TileProduct.tiles(true, rows, inner, nJ, nJ), false);
                JavaPairRDD<Integer, TileProduct.Tile> right = in.get(1)
                    .mapPartitionsToPair(TileProduct.tiles(false, inner, cols, nI, nJ), false);
                JavaRDD<Tuple2<Integer, TileProduct.Tile>> out = left.union(right)
                    .partitionBy(new IndexPartitioner(nI * nJ))
                    .mapPartitionsWithIndex(TileProduct.multiply(rows, cols, nK, byRows), false);
                return assembled(out, rows, cols, byRows);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(resultLayout(rows, cols, byRows), m, List.of(a.node(), b.node())));
    }

    private static DistArray partialProducts(DistArray a, DistArray b, long[] rows, long[] cols) {
        int nI = rows.length - 1;
        int nJ = cols.length - 1;
        String what = "partial products of " + a.numBlocks() + " block pairs summed into " + nI + " x " + nJ + " tiles";
        DistNode.Movement m = new DistNode.Movement() {
            @Override
            public JavaRDD<Block> apply(List<JavaRDD<Block>> in) {
                JavaRDD<Tuple2<Integer, TileProduct.Tile>> out = JavaPairRDD.fromJavaRDD(
                        in.get(0).zipPartitions(in.get(1), TileProduct.partials(rows, cols)))
                    .partitionBy(new IndexPartitioner(nI * nJ))
                    .mapPartitionsWithIndex(TileProduct.sum(rows, cols, true), false);
                return assembled(out, rows, cols, true);
            }

            @Override
            public String describe() {
                return what;
            }
        };
        return new DistArray(DistNode.moved(resultLayout(rows, cols, true), m, List.of(a.node(), b.node())));
    }

    /** Output tiles (keyed by the block they belong to) put together into the result's blocks. */
    private static JavaRDD<Block> assembled(JavaRDD<Tuple2<Integer, TileProduct.Tile>> tiles, long[] rows, long[] cols,
                                            boolean byRows) {
        int blocks = byRows ? rows.length - 1 : cols.length - 1;
        int perBlock = byRows ? cols.length - 1 : rows.length - 1;
        JavaRDD<Tuple2<Integer, TileProduct.Tile>> placed = perBlock == 1 ? tiles
            : JavaPairRDD.fromJavaRDD(tiles).partitionBy(new IndexPartitioner(blocks)).rdd().toJavaRDD();
        return placed.mapPartitionsWithIndex(TileProduct.assemble(rows, cols, byRows), false);
    }
}
