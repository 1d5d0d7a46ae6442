package io.sparkgrad.jobs;

import io.sparkgrad.dist.SparkJobException;
import org.apache.spark.sql.SparkSession;
import picocli.AutoComplete;
import picocli.CommandLine;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        "  completion   a bash completion script: source <(bin/sparkgrad completion)",
        "  help         this text (--version: the version)",
        "",
        "Without spark-submit, jobs run on an embedded local[*] Spark; under spark-submit they use its master.");

    /** Runs the command {@code args[0]} with the options after it and exits with its code. */
    public static void main(String[] args) {
        // Spark's own lines, until the JVM exits (stopping the session, shutdown hooks), go to the run's log
        RunLog.open(args.length == 0 ? "help" : args[0]);
        int code = run(args, System.out, System.err);
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        System.exit(code);
    }

    /**
     * Runs one command and returns the process exit code. Every failure ends here and becomes one
     * line on {@code err}: bad input (a {@link JobError}, or sparkgrad's {@link IllegalArgumentException}s,
     * which name the file, line, column or option) exits 2; a Spark job that failed for good, a
     * limit sparkgrad names ({@link IllegalStateException}) or a bug exits 1 and says which. While the command runs, Spark's logging goes to the run's
     * log file ({@link RunLog}), which the line names when anything was logged.
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        String command = args.length == 0 ? "help" : args[0];
        String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
        boolean verbose = Arrays.asList(rest).contains("--verbose");
        try (RunLog log = RunLog.open(command)) {
            try {
                return dispatch(command, rest, out, err);
            } catch (Throwable e) {
                return failure(command, e, verbose, log, err);
            }
        }
    }

    private static int dispatch(String command, String[] rest, PrintStream out, PrintStream err) {
        switch (command) {
            case "tour":
                if (rest.length > 0) {
                    throw new JobError("tour takes no options, got " + String.join(" ", rest));
                }
                Tour.run(out);
                return 0;
            case "train":
                return withSpark(Train.options(), rest, out, err, o -> Train.run(o, out));
            case "gradcheck":
                return withSpark(GradCheckJob.options(), rest, out, err, o -> GradCheckJob.run(o, out));
            case "bench-core": {
                Options o = benchCoreOptions();
                if (!o.parse(rest)) {
                    out.print(o.usage("[--quick]"));
                    return 0;
                }
                CoreBench.run(out, o.flag("quick"));
                return 0;
            }
            case "bench":
                return withSpark(Bench.options(), rest, out, err, o -> Bench.run(o, out));
            case "bench-dist":
                return withSpark(benchDistOptions(), rest, out, err,
                    o -> {
                        int rows = o.positiveInt("rows");
                        DistBench.run(out, o.flag("quick") ? Math.max(1, rows / 10) : rows, o.positiveInt("cols"),
                            o.positiveInt("iterations"));
                        return 0;
                    });
            case "completion":
                if (rest.length > 0) {
                    throw new JobError("completion takes no options, got " + String.join(" ", rest));
                }
                out.print(AutoComplete.bash("sparkgrad", new CommandLine(commands())));
                return 0;
            case "--version":
            case "-V":
            case "version":
                out.println(version());
                return 0;
            case "help":
            case "--help":
            case "-h":
                out.println(USAGE);
                return 0;
            default:
                throw new JobError("unknown command '" + command + "'" + suggestion(command) + "\n" + USAGE);
        }
    }

    private static Options benchCoreOptions() {
        return new Options("bench-core").flag("quick", "every size at a tenth");
    }

    private static Options benchDistOptions() {
        return new Options("bench-dist")
            .option("rows", "1000000", "rows").option("cols", "50", "columns")
            .option("iterations", "10", "timed gradients").flag("quick", "rows / 10");
    }

    /** Every command and its options, as picocli's model: what completion completes and suggestions come from. */
    static CommandLine.Model.CommandSpec commands() {
        CommandLine.Model.CommandSpec top = CommandLine.Model.CommandSpec.create().name("sparkgrad");
        top.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true).description("every command").build());
        top.addOption(CommandLine.Model.OptionSpec.builder("-V", "--version").versionHelp(true)
            .description("the version").build());
        top.addSubcommand("tour", CommandLine.Model.CommandSpec.create().name("tour"));
        top.addSubcommand("train", Train.options().spec());
        top.addSubcommand("gradcheck", GradCheckJob.options().spec());
        top.addSubcommand("bench-core", benchCoreOptions().spec());
        top.addSubcommand("bench-dist", benchDistOptions().spec());
        top.addSubcommand("bench", Bench.options().spec());
        top.addSubcommand("completion", CommandLine.Model.CommandSpec.create().name("completion"));
        top.addSubcommand("help", CommandLine.Model.CommandSpec.create().name("help"));
        return top;
    }

    /** " (did you mean X?)" for a mistyped command, from picocli's suggestions; empty when none is close. */
    static String suggestion(String command) {
        try {
            new CommandLine(commands()).parseArgs(command);
        } catch (CommandLine.UnmatchedArgumentException e) {
            List<String> s = e.getSuggestions();
            if (!s.isEmpty()) {
                return " (did you mean " + String.join(" or ", s) + "?)";
            }
        } catch (CommandLine.ParameterException e) {
            // not a command picocli could place: no suggestion
        }
        return "";
    }

    /** "sparkgrad VERSION (Spark ..., Java ...)": the versions the Maven build wrote into sparkgrad-version.properties. */
    static String version() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = Main.class.getResourceAsStream("/sparkgrad-version.properties")) {
            if (in == null) {
                throw new IllegalStateException("sparkgrad-version.properties is missing from the classpath (a build "
                    + "without its resources)");
            }
            p.load(in);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return "sparkgrad " + p.getProperty("version") + " (built for Spark " + p.getProperty("spark") + ", Scala "
            + p.getProperty("scala") + "; running on Java " + System.getProperty("java.version") + ")";
    }

    /** The one line of a failure, and the exit code: 2 for bad input, 1 for a failed Spark job or a bug. */
    static int failure(String command, Throwable e, boolean verbose, RunLog log, PrintStream err) {
        int code;
        String line;
        if (e instanceof JobError) {
            code = 2;
            line = "sparkgrad " + e.getMessage();
        } else if (e instanceof IllegalArgumentException) {
            code = 2;
            line = "sparkgrad " + command + ": " + oneLine(e.getMessage());
        } else if (e instanceof SparkJobException || e instanceof IllegalStateException) {
            // a Spark job that failed for good, or a limit sparkgrad names (a local array too large, a stopped session)
            code = 1;
            line = "sparkgrad " + command + ": " + oneLine(e.getMessage());
        } else if (e instanceof OutOfMemoryError) {
            code = 1;
            line = "sparkgrad " + command + ": out of memory (" + e.getMessage() + "): give the JVM more heap "
                + "(bin/sparkgrad: SPARKGRAD_JAVA_OPTS=-Xmx8g; spark-submit: --driver-memory)";
        } else {
            code = 1;
            line = "sparkgrad " + command + ": internal error, a bug in sparkgrad (please report it with the output of "
                + "--verbose): " + e.getClass().getSimpleName() + ": " + oneLine(String.valueOf(e.getMessage()));
        }
        List<String> notes = new ArrayList<>();
        Path logged = log.logged();
        if (logged != null) {
            notes.add("Spark's log: " + logged);
        }
        if (code == 1 && !verbose) {
            notes.add("--verbose prints the stack trace");
        }
        err.println(line + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")"));
        if (verbose) {
            e.printStackTrace(err);
        }
        return code;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ");
    }

    private interface Body {
        int run(Options o);
    }

    /**
     * Parses the options and runs {@code body}, which uses Spark, with a one-line report of each
     * job of the run that spilled cached blocks to disk ({@link SpillReport}, started when the
     * command first needs Spark).
     */
    private static int withSpark(Options o, String[] args, PrintStream out, PrintStream err, Body body) {
        if (!o.parse(args)) {
            out.print(o.usage("[options]"));
            return 0;
        }
        try (AutoCloseable spills = SpillReport.pending(o.command(), err)) {
            return body.run(o);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // close() of the report throws nothing checked
        }
    }
}
