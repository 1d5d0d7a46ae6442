package io.sparkgrad.dist;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JVM flags ship in the driver jar, and a JVM without one of them gets one line naming it. */
class JvmFlagsTest {
    @Test
    void theDriverJarShipsTheParentPomsFlags() {
        List<String> flags = JvmFlags.flags();
        assertTrue(flags.contains("--add-modules=jdk.incubator.vector"), flags.toString());
        assertTrue(flags.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"), flags.toString());
        assertTrue(flags.stream().noneMatch(f -> f.contains("${")), "filtered: " + flags);
    }

    @Test
    void theTestJvmHasThemAll() {
        assertEquals(List.of(), JvmFlags.missing(), "surefire's argLine is sparkgrad.jvm.flags");
    }

    @Test
    void executorsOfAClusterNeedTheVectorModule() {
        org.apache.spark.SparkConf local = new org.apache.spark.SparkConf(false).set("spark.master", "local[2]");
        assertEquals(List.of(), JvmFlags.missingOnExecutors(local), "local executors are this JVM");
        org.apache.spark.SparkConf cluster = new org.apache.spark.SparkConf(false).set("spark.master", "spark://h:7077");
        assertEquals(List.of("--add-modules=jdk.incubator.vector"), JvmFlags.missingOnExecutors(cluster));
        cluster.set("spark.executor.extraJavaOptions", String.join(" ", JvmFlags.flags()));
        assertEquals(List.of(), JvmFlags.missingOnExecutors(cluster));
    }

    @Test
    void aMissingFlagIsNamedInOneLine() {
        List<String> missing = JvmFlags.missing(List.of("--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.time.chrono=ALL-UNNAMED", "--add-modules=jdk.nonexistent",
            "-Dsparkgrad.test.unset=1", "-XX:+IgnoreUnrecognizedVMOptions"));
        assertEquals(List.of("--add-opens=java.base/java.time.chrono=ALL-UNNAMED", "--add-modules=jdk.nonexistent",
            "-Dsparkgrad.test.unset=1"), missing);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JvmFlags.check(missing));
        assertEquals("sparkgrad: this JVM was started without --add-opens=java.base/java.time.chrono=ALL-UNNAMED (and 2 "
            + "more of the flags Spark needs on Java 17); start it with every flag of io/sparkgrad/dist/jvm.flags in the "
            + "driver jar (JvmFlags.flags()): Maven Surefire's <argLine>, spark-submit --driver-java-options and "
            + "spark.executor.extraJavaOptions, or an IDE's VM options (README, \"As a library\")", e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }
}
