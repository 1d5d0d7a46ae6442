package io.sparkgrad.jobs;

import io.sparkgrad.dist.SparkJobException;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * The launcher behind {@code bin/sparkgrad} and the main class for {@code spark-submit}: one
 * sub-command per job. Exit codes: 0 done, 1 a failure (a Spark job, a failed check), 2 bad
 * input or usage, told in one line (with the stack trace only under {@code --verbose}).
 */
public final class Main {
    private Main() {}

    private static final String USAGE = String.join("\n",
        "usage: bin/sparkgrad COMMAND [options]        (COMMAND --help for its options)",
        "",
        "commands:",
        "  tour         the MXNet autograd walk-through, cell by cell, local then distributed",
        "  train        fit linear, logistic, softmax or MLP models on distributed data; --predict scores data",
        "  gradcheck    compare a model's autograd gradient with finite differences",
        "  bench-core   benchmarks of the local engine (tape overhead, elementwise, matmul, MLP); --quick",
        "  bench-dist   logistic regression gradient on distributed data; --rows --cols --iterations --quick",
        "  bench        sparkgrad's gradients against Spark MLlib's, side by side; --quick, writes bench.csv",
        "  help         this text",
        "",
        "Without spark-submit, jobs run on an embedded local[*] Spark; under spark-submit they use its master.");

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        System.exit(code);
    }

    /** Runs one command and returns the process exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        String command = args.length == 0 ? "help" : args[0];
        String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
        boolean verbose = Arrays.asList(rest).contains("--verbose");
        try {
            switch (command) {
                case "tour":
                    if (rest.length > 0) {
                        throw new JobError("tour takes no options, got " + String.join(" ", rest));
                    }
                    Tour.run(out);
                    return 0;
                case "train":
                    return withOptions(Train.options(), rest, out, "[options]", o -> Train.run(o, out));
                case "gradcheck":
                    return withOptions(GradCheckJob.options(), rest, out, "[options]", o -> GradCheckJob.run(o, out));
                case "bench-core":
                    return withOptions(new Options("bench-core").flag("quick", "every size at a tenth"), rest, out, "[--quick]",
                        o -> {
                            CoreBench.run(out, o.flag("quick"));
                            return 0;
                        });
                case "bench":
                    return withOptions(Bench.options(), rest, out, "[options]", o -> Bench.run(o, out));
                case "bench-dist":
                    return withOptions(new Options("bench-dist")
                        .option("rows", "1000000", "rows").option("cols", "50", "columns")
                        .option("iterations", "10", "timed gradients").flag("quick", "rows / 10"), rest, out, "[options]",
                        o -> {
                            int rows = o.positiveInt("rows");
                            DistBench.run(out, o.flag("quick") ? Math.max(1, rows / 10) : rows, o.positiveInt("cols"),
                                o.positiveInt("iterations"));
                            return 0;
                        });
                case "help":
                case "--help":
                case "-h":
                    out.println(USAGE);
                    return 0;
                default:
                    throw new JobError("unknown command '" + command + "'\n" + USAGE);
            }
        } catch (JobError | IllegalArgumentException e) {
            err.println("sparkgrad " + (e instanceof JobError ? "" : command + ": ") + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            return 2;
        } catch (SparkJobException e) {
            err.println("sparkgrad " + command + ": " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            } else {
                err.println("(run with --verbose for the stack trace)");
            }
            return 1;
        }
    }

    private interface Body {
        int run(Options o);
    }

    private static int withOptions(Options o, String[] args, PrintStream out, String synopsis, Body body) {
        if (!o.parse(args)) {
            out.print(o.usage(synopsis));
            return 0;
        }
        return body.run(o);
    }
}
