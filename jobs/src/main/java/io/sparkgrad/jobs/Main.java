package io.sparkgrad.jobs;

import java.io.PrintStream;
import java.util.Arrays;

/** The launcher behind {@code bin/sparkgrad}: one sub-command per job. */
public final class Main {
    private Main() {}

    private static final String USAGE = String.join("\n",
        "usage: bin/sparkgrad COMMAND [options]",
        "",
        "commands:",
        "  tour              the MXNet autograd walk-through, cell by cell, with its outputs",
        "  bench-core        benchmarks of the local engine (tape overhead, elementwise, matmul, MLP);",
        "                    --quick runs every size at a tenth",
        "  bench-dist        logistic regression loss + gradient on distributed data (Spark);",
        "                    --rows N (1000000) --cols D (50) --iterations K (10) --quick (rows / 10)",
        "  help              this text");

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command and returns the process exit code: 0 done, 2 bad usage. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        String command = args.length == 0 ? "help" : args[0];
        String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
        switch (command) {
            case "tour":
                if (rest.length > 0) {
                    return usage(err, "tour takes no options, got " + String.join(" ", rest));
                }
                Tour.run(out);
                return 0;
            case "bench-core":
                boolean quick = false;
                for (String a : rest) {
                    if (a.equals("--quick")) {
                        quick = true;
                    } else {
                        return usage(err, "bench-core: unknown option " + a);
                    }
                }
                CoreBench.run(out, quick);
                return 0;
            case "bench-dist":
                return benchDist(rest, out, err);
            case "help":
            case "--help":
            case "-h":
                out.println(USAGE);
                return 0;
            default:
                return usage(err, "unknown command '" + command + "'");
        }
    }

    private static int benchDist(String[] args, PrintStream out, PrintStream err) {
        int rows = 1_000_000;
        int cols = 50;
        int iterations = 10;
        boolean quick = false;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--rows": rows = Integer.parseInt(args[++i]); break;
                    case "--cols": cols = Integer.parseInt(args[++i]); break;
                    case "--iterations": iterations = Integer.parseInt(args[++i]); break;
                    case "--quick": quick = true; break;
                    default: return usage(err, "bench-dist: unknown option " + args[i]);
                }
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return usage(err, "bench-dist: options --rows, --cols and --iterations take a positive whole number");
        }
        if (rows < 1 || cols < 1 || iterations < 1) {
            return usage(err, "bench-dist: --rows, --cols and --iterations must be positive");
        }
        DistBench.run(out, quick ? Math.max(1, rows / 10) : rows, cols, iterations);
        return 0;
    }

    private static int usage(PrintStream err, String problem) {
        err.println("sparkgrad: " + problem);
        err.println(USAGE);
        return 2;
    }
}
