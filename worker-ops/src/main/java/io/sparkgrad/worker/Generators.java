package io.sparkgrad.worker;

import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;
import org.apache.spark.api.java.function.Function;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Blocks made on the executors from a layout alone — constants, random samples, a small local
 * array repeated along the rows — so that nothing the size of the data passes through the driver.
 */
public final class Generators {
    private Generators() {}

    /**
     * Makes the values of block {@code index}, of shape {@code shape}, from the local operands
     * shipped with it (each a {@link Block} or a {@code Broadcast<Block>}; most generators have none).
     */
    @FunctionalInterface
    public interface BlockGen extends Serializable {
        NDArray make(int index, int[] shape, Object[] shipped);
    }

    /**
     * Turns a block index into its block: {@code starts} (along the blocked {@code axis}) and
     * {@code rowShape} (the shape without that axis) describe the layout, {@code shipped} are the
     * generator's local operands.
     */
    public static Function<Integer, Block> generate(long[] starts, int[] rowShape, int axis, BlockGen gen,
                                                    Object[] shipped) {
        return index -> {
            FaultInjector.check();
            int[] shape = Kernels.withExtent(axis, (int) (starts[index + 1] - starts[index]), rowShape);
            NDArray values = gen.make(index, shape, shipped);
            if (!Arrays.equals(values.shape(), Shape.of(shape))) {
                throw new IllegalStateException("generator made shape " + Shape.str(values.shape()) + " for block "
                    + index + " of shape " + Shape.str(shape));
            }
            return Block.of(index, starts[index], axis, values);
        };
    }

    /** Returns the generator of blocks filled with {@code value}. */
    public static BlockGen fill(double value) {
        return (index, shape, shipped) -> {
            double[] d = new double[Shape.size(shape)];
            if (value != 0) {
                Arrays.fill(d, value);
            }
            return LocalArray.wrap(shape, d);
        };
    }

    /** A generator per block whose seed mixes the user's seed with the block index. */
    private static SplittableRandom random(long seed, int index) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
    }

    /** Returns the generator of uniform samples in {@code [low, high)}, each block from its own stream of {@code seed}. */
    public static BlockGen uniform(double low, double high, long seed) {
        return (index, shape, shipped) -> {
            SplittableRandom r = random(seed, index);
            double[] d = new double[Shape.size(shape)];
            for (int i = 0; i < d.length; i++) {
                d[i] = low + (high - low) * r.nextDouble();
            }
            return LocalArray.wrap(shape, d);
        };
    }

    /** Returns the generator of normal samples of {@code mean} and {@code std}, each block from its own stream of {@code seed}. */
    public static BlockGen normal(double mean, double std, long seed) {
        return (index, shape, shipped) -> {
            SplittableRandom r = random(seed, index);
            double[] d = new double[Shape.size(shape)];
            for (int i = 0; i < d.length; i += 2) {
                // Marsaglia's polar method: two independent normals per accepted pair
                double u;
                double v;
                double s;
                do {
                    u = 2 * r.nextDouble() - 1;
                    v = 2 * r.nextDouble() - 1;
                    s = u * u + v * v;
                } while (s >= 1 || s == 0);
                double f = Math.sqrt(-2 * Math.log(s) / s);
                d[i] = mean + std * u * f;
                if (i + 1 < d.length) {
                    d[i + 1] = mean + std * v * f;
                }
            }
            return LocalArray.wrap(shape, d);
        };
    }

    /** Repeats the one shipped local array (which broadcasts along the rows) over each block. */
    public static BlockGen broadcast() {
        return (index, shape, shipped) -> LocalBackend.INSTANCE.broadcastTo(PartitionFn.unship(shipped[0]).array(), shape);
    }

    /**
     * The rows of {@code scatterAdd(zeros, indices, values)} that each block of rows
     * ({@code starts}) holds, from the shipped indices and values: the gradient of a distributed
     * table gathered by local indices, made where its blocks live.
     */
    public static BlockGen scatterAddRows(long[] starts) {
        long rows = starts[starts.length - 1];
        return (index, shape, shipped) -> {
            double[] idx = PartitionFn.unship(shipped[0]).dataRef();
            double[] v = PartitionFn.unship(shipped[1]).dataRef();
            int width = shape[0] == 0 ? 0 : Shape.size(shape) / shape[0];
            double[] o = new double[Shape.size(shape)];
            for (int k = 0; k < idx.length; k++) {
                long r = LocalBackend.row("scatterAdd", idx, k, k, rows);
                if (r >= starts[index] && r < starts[index + 1]) {
                    int at = (int) (r - starts[index]) * width;
                    for (int j = 0; j < width; j++) {
                        o[at + j] += v[k * width + j];
                    }
                }
            }
            return LocalArray.wrap(shape, o);
        };
    }
}
