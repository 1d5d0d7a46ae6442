package io.sparkgrad.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The separate JVMs of the integration tests: {@code spark-submit} of the application jar and the
 * daemons of a standalone cluster, each started like Spark's own scripts start them ({@code java}
 * with the project's Spark flags and {@code $SPARK_HOME/jars/*} as the classpath; our code comes
 * only from {@code sparkgrad-app.jar}), everything on 127.0.0.1. Every process's output goes to
 * log files under {@code dir}; {@link #close} ends every process started here and its children
 * (the executors a Worker starts), also when a test failed.
 *
 * <p>The build passes the locations as system properties (failsafe's configuration in
 * jobs/pom.xml); the defaults let an IDE run the tests from the jobs folder after
 * {@code mvn package}.
 */
final class SparkProcesses implements AutoCloseable {
    static final Path APP_JAR =
        Paths.get(System.getProperty("sparkgrad.app.jar", "target/sparkgrad-app.jar")).toAbsolutePath();
    static final Path SPARK_HOME =
        Paths.get(System.getProperty("sparkgrad.spark.home", "target/spark-home")).toAbsolutePath();

    /** What a child wrote and how it ended. */
    record Result(int exitCode, String stdout, String stderr) {
        List<String> stdoutLines() {
            return stdout.lines().collect(Collectors.toList());
        }

        List<String> stderrLines() {
            return stderr.lines().collect(Collectors.toList());
        }
    }

    private final Path dir;
    private final Path logs;
    private final List<Process> started = Collections.synchronizedList(new ArrayList<>());

    SparkProcesses(Path dir) {
        this.dir = dir;
        this.logs = dir.resolve("logs");
        try {
            Files.createDirectories(logs);
            Files.createDirectories(dir.resolve("conf")); // an empty SPARK_CONF_DIR: no spark-defaults.conf from the machine
            Files.createDirectories(dir.resolve("local"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!Files.isRegularFile(APP_JAR) || !Files.isDirectory(SPARK_HOME.resolve("jars"))) {
            throw new IllegalStateException("no " + APP_JAR + " or " + SPARK_HOME.resolve("jars")
                + ": run the integration tests through Maven (mvn verify), which builds them in the package phase");
        }
    }

    /** The JVM flags Spark needs on Java 17 (the parent pom's sparkgrad.jvm.flags). */
    static List<String> jvmFlags() {
        String flags = System.getProperty("sparkgrad.jvm.flags");
        if (flags == null) {
            try {
                flags = Files.readString(Paths.get("target/classes/sparkgrad-jvm.flags"));
            } catch (IOException e) {
                throw new UncheckedIOException(
                    "no system property sparkgrad.jvm.flags and no target/classes/sparkgrad-jvm.flags", e);
            }
        }
        return Arrays.stream(flags.trim().split("\\s+")).filter(s -> !s.isEmpty()).collect(Collectors.toList());
    }

    /** {@code java <jvmOptions> <flags> -cp $SPARK_HOME/jars/* mainClass args...}, as bin/spark-class builds it. */
    static List<String> java(List<String> jvmOptions, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(jvmFlags());
        cmd.add("-cp");
        cmd.add(SPARK_HOME.resolve("jars") + "/*");
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    /** {@code spark-submit --class io.sparkgrad.jobs.Main sparkgrad-app.jar} with the options, then the job's arguments. */
    static List<String> sparkSubmit(List<String> submitOptions, String... jobArgs) {
        return sparkSubmit("1g", submitOptions, jobArgs);
    }

    /** As {@link #sparkSubmit(List, String...)} with a driver heap of {@code heap} ({@code -Xmx}). */
    static List<String> sparkSubmit(String heap, List<String> submitOptions, String... jobArgs) {
        List<String> args = new ArrayList<>(submitOptions);
        args.addAll(List.of("--conf", "spark.ui.enabled=false", "--class", Main.class.getName(), APP_JAR.toString()));
        args.addAll(Arrays.asList(jobArgs));
        // in client mode the driver is this JVM, so its heap and flags go on the java command itself
        return java(List.of("-Xmx" + heap), "org.apache.spark.deploy.SparkSubmit", args.toArray(new String[0]));
    }

    /** A TCP port free on 127.0.0.1 a moment ago. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts {@code cmd}, its output to logs/NAME.out and logs/NAME.err. */
    Process start(String name, List<String> cmd) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
            .redirectOutput(logs.resolve(name + ".out").toFile())
            .redirectError(logs.resolve(name + ".err").toFile());
        Map<String, String> env = pb.environment();
        // nothing from the machine's Spark or Hadoop set-up (a master, a default file system, an
        // advertised address) may leak in: the children talk to each other on 127.0.0.1 only
        env.keySet().removeIf(k -> k.startsWith("SPARK_") || k.startsWith("PYSPARK_") || k.startsWith("HADOOP_")
            || k.startsWith("YARN_") || k.equals("MASTER"));
        env.put("SPARK_HOME", SPARK_HOME.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_CONF_DIR", dir.resolve("conf").toString());
        env.put("SPARK_LOCAL_DIRS", dir.resolve("local").toString());
        try {
            Files.writeString(logs.resolve(name + ".cmd"), String.join(" ", cmd) + "\n");
            Process p = pb.start();
            started.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + cmd, e);
        }
    }

    /** Runs {@code cmd} to its end (failing after {@code timeoutSeconds}) and returns what it wrote. */
    Result run(String name, List<String> cmd, long timeoutSeconds) throws InterruptedException {
        Process p = start(name, cmd);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            stop(p);
            throw new AssertionError(name + " did not end in " + timeoutSeconds + " s\n" + logs());
        }
        try {
            return new Result(p.exitValue(), Files.readString(logs.resolve(name + ".out")),
                Files.readString(logs.resolve(name + ".err")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every log under the test's folder (ours, and the executors' in the Workers' work dirs), for failure messages. */
    String logs() {
        StringBuilder sb = new StringBuilder("---- logs under " + dir + " ----\n");
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile)
                .filter(f -> f.startsWith(logs) || f.getFileName().toString().equals("stderr")
                    || f.getFileName().toString().equals("stdout"))
                .sorted().collect(Collectors.toList());
        } catch (IOException e) {
            return sb.append("(cannot list: ").append(e).append(")\n").toString();
        }
        for (Path f : files) {
            sb.append("==== ").append(dir.relativize(f)).append(" ====\n");
            try {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                int skip = Math.max(0, lines.size() - 300);
                if (skip > 0) {
                    sb.append("(first ").append(skip).append(" lines left out)\n");
                }
                lines.subList(skip, lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("(cannot read: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /**
     * Ends {@code p} and the processes it started: SIGTERM first (a Worker's shutdown hook kills its
     * executors), then SIGKILL for whatever is left after 20 s; waits for every one of them.
     */
    static void stop(Process p) {
        List<ProcessHandle> children = p.descendants().collect(Collectors.toList());
        p.destroy();
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle c : children) {
                if (c.isAlive()) {
                    c.destroyForcibly();
                    c.onExit().get(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // reported by the alive-check of close()
        }
    }

    /** The command line of a process, from /proc on Linux (ProcessHandle.Info may leave it out). */
    static List<String> commandLine(ProcessHandle p) {
        try {
            byte[] raw = Files.readAllBytes(Paths.get("/proc", String.valueOf(p.pid()), "cmdline"));
            return Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0"));
        } catch (IOException e) {
            return p.info().arguments().map(Arrays::asList).orElse(List.of());
        }
    }

    /** The live executor JVMs a Worker started: its descendants running CoarseGrainedExecutorBackend. */
    static List<ProcessHandle> executors(Process worker) {
        return worker.descendants().filter(ProcessHandle::isAlive)
            .filter(h -> commandLine(h).contains("org.apache.spark.executor.CoarseGrainedExecutorBackend"))
            .collect(Collectors.toList());
    }

    /** The executor id Spark gave an executor JVM (its {@code --executor-id} argument). */
    static String executorId(ProcessHandle executor) {
        List<String> cmd = commandLine(executor);
        int i = cmd.indexOf("--executor-id");
        if (i < 0 || i + 1 >= cmd.size()) {
            throw new IllegalStateException("no --executor-id in the command line of " + executor.pid() + ": " + cmd);
        }
        return cmd.get(i + 1);
    }

    /** Waits until the Worker runs exactly one executor JVM and returns it. */
    static ProcessHandle awaitExecutor(Process worker, int timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        List<ProcessHandle> found = List.of();
        while (System.nanoTime() < deadline) {
            found = executors(worker);
            if (found.size() == 1) {
                return found.get(0);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the Worker " + worker.pid() + " runs " + found.size() + " executors, not one, after "
            + timeoutSeconds + " s");
    }

    /** Ends every process started here, the last started first. */
    @Override
    public void close() {
        List<Process> all;
        synchronized (started) {
            all = new ArrayList<>(started);
        }
        Collections.reverse(all);
        for (Process p : all) {
            stop(p);
        }
        List<Long> alive = all.stream().filter(Process::isAlive).map(Process::pid).collect(Collectors.toList());
        if (!alive.isEmpty()) {
            throw new IllegalStateException("processes still alive after stopping them: " + alive);
        }
    }

    /**
     * Polls the Master's JSON on {@code uiPort} until {@code n} Workers are alive; fails with the
     * logs on a time-out or when one of {@code daemons} exits.
     */
    void awaitWorkers(int uiPort, int n, List<Process> daemons, int timeoutSeconds) throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.net.URL url = new java.net.URL("http://127.0.0.1:" + uiPort + "/json/");
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            for (Process d : daemons) {
                if (!d.isAlive()) {
                    throw new AssertionError("a cluster daemon exited with code " + d.exitValue() + " before " + n
                        + " workers registered\n" + logs());
                }
            }
            try {
                java.net.HttpURLConnection c = (java.net.HttpURLConnection) url.openConnection(java.net.Proxy.NO_PROXY);
                c.setConnectTimeout(2000);
                c.setReadTimeout(2000);
                try (java.io.InputStream in = c.getInputStream()) {
                    com.fasterxml.jackson.databind.JsonNode state = json.readTree(in);
                    last = state.toString();
                    if (state.path("aliveworkers").asInt() >= n) {
                        return;
                    }
                } finally {
                    c.disconnect();
                }
            } catch (IOException e) {
                last = e.toString(); // the Master's UI is not up yet
            }
            Thread.sleep(250);
        }
        throw new AssertionError(n + " workers did not register with the Master in " + timeoutSeconds
            + " s; its last state: " + last + "\n" + logs());
    }
}
