package io.sparkgrad.dist;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The JVM flags Spark and sparkgrad need on Java 17, shipped in the driver jar as the resource
 * {@code io/sparkgrad/dist/jvm.flags} (filtered from the parent pom's {@code sparkgrad.jvm.flags}),
 * and the check that this JVM was started with them: without the {@code --add-opens} the first job
 * fails deep in Kryo ({@code InaccessibleObjectException}), and without
 * {@code --add-modules=jdk.incubator.vector} the matrix products take another code path whose sums
 * may differ in the last digit.
 */
public final class JvmFlags {
    private JvmFlags() {}

    /** The resource that holds the flags, one line separated by spaces. */
    public static final String RESOURCE = "io/sparkgrad/dist/jvm.flags";

    /** Set this system property to {@code false} to skip the check (at your own risk). */
    public static final String CHECK_PROPERTY = "sparkgrad.jvm.check";

    /**
     * Returns the flags, in the order they are written.
     *
     * @return the flags of the resource {@link #RESOURCE}
     */
    public static List<String> flags() {
        try (InputStream in = JvmFlags.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("sparkgrad: the resource " + RESOURCE + " is missing from the classpath");
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? List.of() : Arrays.asList(text.split("\\s+"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Returns the flags this JVM lacks: an {@code --add-opens} whose package is not open to the
     * unnamed module, an {@code --add-modules} whose module is not loaded, a {@code -D} property not
     * set to its value. {@code -XX} options are not checked.
     *
     * @return the missing flags, empty when the JVM has them all
     */
    public static List<String> missing() {
        return missing(flags());
    }

    static List<String> missing(List<String> flags) {
        List<String> out = new ArrayList<>();
        Module unnamed = JvmFlags.class.getClassLoader().getUnnamedModule();
        for (String f : flags) {
            if (f.startsWith("--add-opens=")) {
                String[] parts = f.substring("--add-opens=".length()).split("[/=]");
                Optional<Module> m = ModuleLayer.boot().findModule(parts[0]);
                if (m.isPresent() && !m.get().isOpen(parts[1], unnamed)) {
                    out.add(f);
                }
            } else if (f.startsWith("--add-modules=")) {
                for (String name : f.substring("--add-modules=".length()).split(",")) {
                    if (ModuleLayer.boot().findModule(name).isEmpty()) {
                        out.add(f);
                    }
                }
            } else if (f.startsWith("-D")) {
                String[] kv = f.substring(2).split("=", 2);
                if (!(kv.length == 2 ? kv[1] : "").equals(System.getProperty(kv[0]))) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    /**
     * Fails with one line naming the first missing flag and where to put the flags, unless the JVM
     * has them all (or {@link #CHECK_PROPERTY} is {@code false}).
     *
     * @throws IllegalStateException when a flag is missing
     */
    public static void check() {
        if ("false".equals(System.getProperty(CHECK_PROPERTY))) {
            return;
        }
        check(missing());
    }

    /**
     * Returns the {@code --add-modules} flags that the executors of a session with configuration
     * {@code conf} are not given, when its master is not local (a local master's executors run in
     * this JVM): Spark adds its own {@code --add-opens} to executors, but not the vector module,
     * without which their matrix products may differ in the last digit. The driver cannot see an
     * executor's JVM, so this reads {@code spark.executor.extraJavaOptions} and
     * {@code spark.executor.defaultJavaOptions}.
     *
     * @param conf the session's configuration
     * @return the flags missing from the executors' options, empty when none is or the master is local
     */
    public static List<String> missingOnExecutors(org.apache.spark.SparkConf conf) {
        if (conf.get("spark.master", "local").startsWith("local")) {
            return List.of();
        }
        String options = conf.get("spark.executor.extraJavaOptions", "") + " "
            + conf.get("spark.executor.defaultJavaOptions", "");
        List<String> given = Arrays.asList(options.trim().split("\\s+"));
        List<String> out = new ArrayList<>();
        for (String f : flags()) {
            if (f.startsWith("--add-modules=") && !given.contains(f)) {
                out.add(f);
            }
        }
        return out;
    }

    /** Logs one warning when the executors of {@code conf}'s session lack a module flag. */
    static void warnAboutExecutors(org.apache.spark.SparkConf conf) {
        List<String> missing = missingOnExecutors(conf);
        if (!missing.isEmpty()) {
            org.slf4j.LoggerFactory.getLogger(JvmFlags.class).warn("sparkgrad: spark.executor.extraJavaOptions lacks "
                + String.join(" ", missing) + ", so the executors' matrix products may differ from the driver's in the "
                + "last digit; give the executors every flag of " + RESOURCE + " (README, \"As a library\")");
        }
    }

    static void check(List<String> missing) {
        if (!missing.isEmpty()) {
            throw new IllegalStateException("sparkgrad: this JVM was started without " + missing.get(0)
                + (missing.size() > 1 ? " (and " + (missing.size() - 1) + " more of the flags Spark needs on Java 17)" : "")
                + "; start it with every flag of " + RESOURCE + " in the driver jar (JvmFlags.flags()): Maven Surefire's "
                + "<argLine>, spark-submit --driver-java-options and spark.executor.extraJavaOptions, or an IDE's VM "
                + "options (README, \"As a library\")");
        }
    }
}
