package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.JvmFlags;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A new Maven project, as a Spark user starts one, that depends on {@code io.sparkgrad:driver}
 * and runs a training loop in its Surefire test, with the JVM flags read from the driver jar's
 * resource ({@code io/sparkgrad/dist/jvm.flags}) as the README says.
 *
 * <p>The project is written under {@code target/fresh-project}; a child {@code mvn -o test} runs it
 * with a local repository of its own, {@code target/it-repo}: sparkgrad's parent pom and the three
 * library modules (this build's jars) are copied into it, and everything else (Spark, JUnit, the
 * Maven plugins) is copied on demand from the outer build's local repository, which the child reads
 * as a {@code file://} mirror and never writes. Offline: the child may read files only.
 */
class FreshProjectIT {
    private static final Path PROJECT = Path.of("target", "fresh-project").toAbsolutePath();
    private static final Path REPO = Path.of("target", "it-repo").toAbsolutePath();

    private static String property(String name) {
        String v = System.getProperty(name);
        assertTrue(v != null && !v.isEmpty() && !v.contains("${"), "system property " + name + " (set by jobs/pom.xml)");
        return v;
    }

    @Test
    void aNewProjectTrainsWithTheDriverArtifactAndItsFlags() throws Exception {
        String version = property("sparkgrad.version");
        Path outerRepo = Path.of(property("sparkgrad.outer.repo"));
        Path outerSparkgrad = outerRepo.resolve("io/sparkgrad");
        boolean hadSparkgrad = Files.exists(outerSparkgrad);
        long outerBefore = hadSparkgrad ? count(outerSparkgrad) : 0;

        Path driverJar = jarOf(Dist.class, "driver", version);
        String flags;
        try (ZipFile jar = new ZipFile(driverJar.toFile());
             InputStream in = jar.getInputStream(jar.getEntry(JvmFlags.RESOURCE))) {
            flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        assertTrue(flags.contains("--add-modules=jdk.incubator.vector"), flags);

        // sparkgrad's artifacts, from this build, into the throwaway repository
        install("sparkgrad-parent", version, null, Path.of("..", "pom.xml"));
        install("autograd-core", version, jarOf(io.sparkgrad.np.NDArray.class, "autograd-core", version),
            Path.of("..", "autograd-core", "pom.xml"));
        install("worker-ops", version, jarOf(io.sparkgrad.worker.Block.class, "worker-ops", version),
            Path.of("..", "worker-ops", "pom.xml"));
        install("driver", version, driverJar, Path.of("..", "driver", "pom.xml"));

        writeProject(version, flags, outerRepo);
        Path log = PROJECT.resolve("mvn.log");
        List<String> cmd = new ArrayList<>(List.of("mvn", "-B", "-o", "-Daether.offline.protocols=file",
            "-s", PROJECT.resolve("settings.xml").toString(), "-Dmaven.repo.local=" + REPO,
            "-f", PROJECT.resolve("pom.xml").toString(), "test"));
        Process p = new ProcessBuilder(cmd).directory(PROJECT.toFile()).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        String out = Files.readString(log);
        assertTrue(done, "the child Maven did not finish in 5 minutes:\n" + tail(out));
        assertEquals(0, p.exitValue(), () -> "the child Maven failed (" + log + "):\n" + tail(out));

        Path report = PROJECT.resolve("target/surefire-reports/TEST-demo.FitTest.xml");
        String xml = Files.readString(report);
        assertTrue(xml.contains("tests=\"1\"") && xml.contains("failures=\"0\"") && xml.contains("errors=\"0\""), xml);
        assertTrue(out.contains("fresh-project: distributed L-BFGS matches local"), tail(out));
        // the flags reached the test's JVM: sparkgrad checks them when it attaches to the session
        assertFalse(out.contains("was started without"), tail(out));

        // the outer repository got nothing of sparkgrad's
        assertEquals(hadSparkgrad, Files.exists(outerSparkgrad), "io/sparkgrad appeared in " + outerRepo);
        if (hadSparkgrad) {
            assertEquals(outerBefore, count(outerSparkgrad), "files of io/sparkgrad changed in " + outerRepo);
        }
    }

    /** The jar this build made for {@code module}: the one {@code cls} was loaded from, else the module's target. */
    private static Path jarOf(Class<?> cls, String module, String version) throws URISyntaxException {
        Path loaded = Path.of(cls.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path jar = loaded.toString().endsWith(".jar") ? loaded
            : Path.of("..", module, "target", module + "-" + version + ".jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "no jar of " + module + " at " + jar + " (run mvn verify, which packages it)");
        return jar;
    }

    /** Copies a module's pom (and jar) into the throwaway repository, in the local repository's layout. */
    private static void install(String artifact, String version, Path jar, Path pom) throws IOException {
        Path dir = REPO.resolve("io/sparkgrad").resolve(artifact).resolve(version);
        Files.createDirectories(dir);
        Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"), StandardCopyOption.REPLACE_EXISTING);
        if (jar != null) {
            Files.copy(jar, dir.resolve(artifact + "-" + version + ".jar"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void writeProject(String version, String flags, Path outerRepo) throws IOException {
        Path test = PROJECT.resolve("src/test/java/demo");
        Files.createDirectories(test);
        Files.writeString(PROJECT.resolve("settings.xml"), """
            <settings>
              <mirrors>
                <mirror>
                  <id>outer-local-repository</id>
                  <mirrorOf>*</mirrorOf>
                  <url>%s</url>
                </mirror>
              </mirrors>
            </settings>
            """.formatted(outerRepo.toUri()));
        Files.writeString(PROJECT.resolve("pom.xml"), """
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>demo</groupId>
              <artifactId>fresh</artifactId>
              <version>1</version>
              <properties>
                <maven.compiler.release>17</maven.compiler.release>
                <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                <!-- unzip -p driver-%1$s.jar io/sparkgrad/dist/jvm.flags -->
                <sparkgrad.flags>%2$s</sparkgrad.flags>
              </properties>
              <dependencies>
                <dependency>
                  <groupId>io.sparkgrad</groupId>
                  <artifactId>driver</artifactId>
                  <version>%1$s</version>
                </dependency>
                <dependency>
                  <groupId>org.apache.spark</groupId>
                  <artifactId>spark-sql_%3$s</artifactId>
                  <version>%4$s</version>
                  <scope>provided</scope>
                </dependency>
                <dependency>
                  <groupId>org.junit.jupiter</groupId>
                  <artifactId>junit-jupiter</artifactId>
                  <version>%5$s</version>
                  <scope>test</scope>
                </dependency>
              </dependencies>
              <build>
                <plugins>
                  <plugin>
                    <artifactId>maven-resources-plugin</artifactId>
                    <version>%6$s</version>
                  </plugin>
                  <plugin>
                    <artifactId>maven-compiler-plugin</artifactId>
                    <version>%7$s</version>
                  </plugin>
                  <plugin>
                    <artifactId>maven-surefire-plugin</artifactId>
                    <version>%8$s</version>
                    <configuration>
                      <argLine>${sparkgrad.flags}</argLine>
                      <environmentVariables>
                        <SPARK_LOCAL_IP>127.0.0.1</SPARK_LOCAL_IP>
                      </environmentVariables>
                    </configuration>
                  </plugin>
                </plugins>
              </build>
            </project>
            """.formatted(version, flags, property("scala.binary.version"), property("spark.version"),
            property("junit.version"), property("maven.resources.version"), property("maven.compiler.version"),
            property("maven.surefire.version")));
        Files.writeString(test.resolve("FitTest.java"), """
            package demo;

            import io.sparkgrad.dist.Dist;
            import io.sparkgrad.np.NDArray;
            import io.sparkgrad.np.Np;
            import io.sparkgrad.optim.Lbfgs;
            import io.sparkgrad.optim.Objective;
            import io.sparkgrad.optim.Optimizer;
            import org.apache.spark.SparkConf;
            import org.apache.spark.sql.SparkSession;
            import org.junit.jupiter.api.Test;

            import java.util.List;
            import java.util.Random;

            import static org.junit.jupiter.api.Assertions.assertArrayEquals;
            import static org.junit.jupiter.api.Assertions.assertTrue;

            class FitTest {
                /** Fits logistic regression with L-BFGS; returns the weights and bias. */
                static double[] fit(NDArray x, NDArray y) {
                    NDArray w = Np.zeros(3);
                    NDArray b = Np.scalar(0);
                    Objective f = Objective.of(List.of(w, b),
                        () -> Np.binaryCrossEntropyWithLogits(x.matmul(w).add(b), y));
                    Optimizer.Result r = new Lbfgs().minimize(List.of(w, b), f, 15, 0, null);
                    assertTrue(r.iterations() >= 5 && r.gradNorm() < 1e-3, r.toString());
                    double[] out = new double[4];
                    System.arraycopy(w.toArray(), 0, out, 0, 3);
                    out[3] = b.toArray()[0];
                    return out;
                }

                @Test
                void distributedTrainingMatchesLocal() {
                    SparkSession spark = SparkSession.builder().config(Dist.configure(new SparkConf()))
                        .master("local[2]").appName("fresh").config("spark.ui.enabled", "false")
                        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                        .getOrCreate();
                    spark.sparkContext().setLogLevel("WARN");
                    Dist.use(spark);
                    try {
                        Random r = new Random(7);
                        int n = 300;
                        double[] xs = new double[n * 3];
                        double[] ys = new double[n];
                        for (int i = 0; i < n; i++) {
                            double z = 0.3;
                            for (int j = 0; j < 3; j++) {
                                xs[i * 3 + j] = r.nextGaussian();
                                z += (j + 1) * 0.5 * xs[i * 3 + j];
                            }
                            ys[i] = r.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
                        }
                        NDArray x = Np.array(new int[] {n, 3}, xs);
                        NDArray y = Np.array(new int[] {n}, ys);
                        double[] local = fit(x, y);
                        NDArray xd = Dist.fromLocal(x, 4);
                        double[] dist = fit(xd, Dist.fromLocal(y, 4)); // the same 4 blocks of rows as xd
                        assertArrayEquals(local, dist, 1e-9);
                        assertTrue(local[2] > local[0], "weights learnt: " + java.util.Arrays.toString(local));
                        System.out.println("fresh-project: distributed L-BFGS matches local: "
                            + java.util.Arrays.toString(dist));
                    } finally {
                        spark.stop();
                    }
                }
            }
            """);
    }

    private static long count(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.count();
        }
    }

    private static String tail(String s) {
        String[] lines = s.split("\\R");
        return String.join("\n", java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - 60), lines.length));
    }
}
