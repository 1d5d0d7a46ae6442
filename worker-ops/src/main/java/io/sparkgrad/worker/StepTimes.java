package io.sparkgrad.worker;

import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Where a block program's time goes: the wall time of each step over all chunks of all tasks of
 * this JVM, with the copies of leaf chunks and the combining of partials apart. Off unless
 * {@link #start()} is called; then each step of each chunk costs two {@code nanoTime} calls. It
 * sees the tasks that run in this JVM only, so it measures an embedded {@code local[*]} Spark (the
 * bench's {@code --profile}), not a cluster's executors.
 */
public final class StepTimes {
    private StepTimes() {}

    static volatile boolean on;

    /** One line of the table: what ran, how often, and for how long in total. */
    public record Entry(String what, long calls, long nanos) {}

    private static final Map<String, LongAdder[]> TIMES = new ConcurrentHashMap<>();

    /** Clears the table and starts timing. */
    public static void start() {
        TIMES.clear();
        on = true;
    }

    /** Stops timing and returns the table, the longest first. */
    public static List<Entry> stop() {
        on = false;
        List<Entry> out = new ArrayList<>();
        TIMES.forEach((k, v) -> out.add(new Entry(k, v[0].sum(), v[1].sum())));
        out.sort((a, b) -> Long.compare(b.nanos(), a.nanos()));
        return out;
    }

    static void add(String what, long nanos) {
        LongAdder[] a = TIMES.computeIfAbsent(what, k -> new LongAdder[] {new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(nanos);
    }

    /**
     * A label for step {@code s} from its kernel, the chunk shapes of its arguments and of its
     * result: {@code 12 ROWWISE binary(MUL) (512, 64) <- s11 (512, 64), s4 (512, 64)}.
     */
    static String label(int s, BlockProgram.Kernel k, int[] args, String[] argShapes, String outShape) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%2d ", s)).append(k.kind()).append(' ').append(describe(k));
        b.append(' ').append(outShape).append(" <-");
        for (int i = 0; i < args.length; i++) {
            b.append(i == 0 ? " " : ", ").append(args[i] >= 0 ? "s" + args[i] : "leaf" + (-1 - args[i]))
                .append(' ').append(argShapes[i]);
        }
        if (k.shipped().length > 0) {
            b.append(" + ").append(k.shipped().length).append(" local");
        }
        return b.toString();
    }

    /** The kernel's factory and its captured constants, read from the serialised form of its lambda. */
    private static String describe(BlockProgram.Kernel k) {
        Object fn = k.fn() instanceof Kernels.KeepsSparse ? ((Kernels.KeepsSparse) k.fn()).fn
            : k.fn() != null ? k.fn() : k.gen();
        if (fn == null) {
            return "?";
        }
        try {
            Method m = fn.getClass().getDeclaredMethod("writeReplace");
            m.setAccessible(true);
            SerializedLambda l = (SerializedLambda) m.invoke(fn);
            String name = l.getImplMethodName().replaceAll("^lambda\\$", "").replaceAll("\\$\\d+$", "");
            List<String> captured = new ArrayList<>();
            for (int i = 0; i < l.getCapturedArgCount(); i++) {
                Object a = l.getCapturedArg(i);
                captured.add(a instanceof int[] ? Arrays.toString((int[]) a) : a instanceof long[] ? "..." : String.valueOf(a));
            }
            return name + "(" + String.join(", ", captured) + ")";
        } catch (ReflectiveOperationException | RuntimeException e) {
            return fn.getClass().getSimpleName();
        }
    }
}
