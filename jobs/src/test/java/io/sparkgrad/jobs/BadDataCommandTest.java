package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.scheduler.JobSucceeded$;
import org.apache.spark.scheduler.SparkListenerBlockUpdated;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.storage.BlockUpdatedInfo;
import org.apache.spark.storage.RDDBlockId;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every malformed input a new user tried, through {@code bin/sparkgrad train} and
 * {@code --predict} as {@link Main} runs them: each is one line on the console naming the file,
 * line (or row group) and column, exits 2, and leaves nothing behind; the lenient options say
 * what they skipped; two runs on one {@code --out} cannot both write it.
 */
class BadDataCommandTest {
    private static java.nio.file.Path dir;

    static java.nio.file.Path dir() throws Exception {
        if (dir == null) {
            dir = Files.createTempDirectory("bad-data-command");
        }
        return dir;
    }

    @AfterAll
    static void cleanUp() {
        OutputClaim.deleteQuietly(dir);
    }

    private static String file(String name, String text) throws Exception {
        return Files.writeString(dir().resolve(name), text).toString();
    }

    /** A trained model on the columns a, b, c of a CSV file (made once). */
    private static String csvModel() throws Exception {
        java.nio.file.Path model = dir().resolve("model-abc");
        if (!Files.exists(model)) {
            StringBuilder b = new StringBuilder("a,b,c,label\n");
            for (int i = 0; i < 60; i++) {
                b.append(i % 7).append(',').append(i % 5).append(',').append(i % 3).append(',').append(i % 2).append('\n');
            }
            String csv = file("abc.csv", b.toString());
            TrainCommandTest.Run r = TrainCommandTest.run("train", "--data", csv, "--iterations", "2", "--out", model.toString());
            assertEquals(0, r.code(), r.err());
        }
        return model.toString();
    }

    private static String parquet(String name, boolean withText) throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            rows.add(withText ? RowFactory.create(Math.sin(i), "id-" + i, (double) (i % 2))
                : RowFactory.create(Math.sin(i), Math.cos(i), (double) (i % 2)));
        }
        String path = dir().resolve(name).toString();
        Dist.session().createDataFrame(rows, DataTypes.createStructType(List.of(
                DataTypes.createStructField("x", DataTypes.DoubleType, false),
                withText ? DataTypes.createStructField("name", DataTypes.StringType, false)
                    : DataTypes.createStructField("z", DataTypes.DoubleType, false),
                DataTypes.createStructField("label", DataTypes.DoubleType, false))))
            .coalesce(1).write().option("compression", "none").option("parquet.enable.dictionary", "false")
            .option("parquet.block.size", "8192").parquet(path);
        return path;
    }

    private static java.nio.file.Path part(String dataset) throws Exception {
        try (var files = Files.list(java.nio.file.Path.of(dataset))) {
            return files.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
    }

    /** A Parquet data set whose second row group has a flipped byte, and no Hadoop .crc file. */
    private static String damagedParquet() throws Exception {
        String path = parquet("damaged.parquet", false);
        java.nio.file.Path part = part(path);
        ColumnChunkMetaData x;
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(part.toString()),
            Dist.session().sparkContext().hadoopConfiguration()))) {
            x = r.getRowGroups().get(1).getColumns().get(0);
        }
        try (RandomAccessFile f = new RandomAccessFile(part.toFile(), "rw")) {
            long at = x.getStartingPos() + x.getTotalSize() - 3;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
        Files.delete(part.resolveSibling("." + part.getFileName() + ".crc"));
        return path;
    }

    /** A Parquet data set with a second part file cut short (its footer gone). */
    private static String truncatedParquet() throws Exception {
        String path = parquet("truncated.parquet", false);
        byte[] bytes = Files.readAllBytes(part(path));
        Files.write(java.nio.file.Path.of(path, "part-00001-cut.parquet"), java.util.Arrays.copyOf(bytes, bytes.length - 40));
        return path;
    }

    /** One bad input: the command line (an {@code OUT} argument is replaced by a fresh folder), and what the line names. */
    record Bad(String name, Args args, String... mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    interface Args {
        String[] make() throws Exception;
    }

    static List<Bad> table() {
        return List.of(
            new Bad("CSV line with more fields than the header", () -> new String[] {"train", "--data",
                file("extra.csv", "a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n")}, "extra.csv line 3", "4 fields where the header has 3"),
            new Bad("CSV line with too few fields (not 'label is null')", () -> new String[] {"train", "--data",
                file("few.csv", "a,b,label\n1,2,0\n3,4\n")}, "few.csv line 3", "2 fields"),
            new Bad("text at line 100,001 (row 99,999 of the data)", () -> {
                StringBuilder b = new StringBuilder("a,b,label\n");
                for (int i = 0; i < 100_000; i++) {
                    b.append(i % 10).append(',').append(i == 99_999 ? "oops" : Integer.toString(i % 3)).append(',')
                        .append(i % 2).append('\n');
                }
                return new String[] {"train", "--data", file("long.csv", b.toString())};
            }, "long.csv line 100001", "column 'b'", "'oops' is not a number"),
            new Bad("label outside {0, 1}", () -> new String[] {"train", "--data", file("labels.csv", "a,label\n1,0\n2,1\n3,2\n")},
                "labels.csv line 4", "column 'label'", "is 2", "logistic regression needs labels 0 or 1"),
            new Bad("LIBSVM index 0", () -> new String[] {"train", "--data", file("zero.libsvm", "1 1:1\n0 0:1 3:2\n")},
                "zero.libsvm line 2", "index 0"),
            new Bad("LIBSVM pair 3:abc", () -> new String[] {"train", "--data", file("abc.libsvm", "1 1:1 3:abc\n")},
                "abc.libsvm line 1", "column 'f3'", "'abc'"),
            new Bad("LIBSVM pair without a colon", () -> new String[] {"train", "--data", file("colon.libsvm", "1 1:1 7\n")},
                "colon.libsvm line 1", "'7' is not index:value"),
            new Bad("LIBSVM index 2^31", () -> new String[] {"train", "--data", file("big.libsvm", "1 1:1\n1 2147483648:1\n")},
                "big.libsvm line 2", "index 2147483648"),
            new Bad("LIBSVM index 2^31 - 1 on a single line", () -> new String[] {"train", "--data",
                file("justbig.libsvm", "1 2147483647:1\n")}, "justbig.libsvm line 1", "sparse row can hold"),
            new Bad("LIBSVM duplicate index", () -> new String[] {"train", "--data", file("dup.libsvm", "1 1:1 3:2 3:5\n")},
                "dup.libsvm line 1", "index 3 appears twice"),
            new Bad("truncated Parquet part file", () -> new String[] {"train", "--data", truncatedParquet()},
                "cannot read", "part-00001-cut.parquet"),
            new Bad("Parquet page damaged, .crc gone", () -> new String[] {"train", "--data", damagedParquet()},
                "cannot read", "damaged.parquet", "row group 2 of", "CRC"),
            new Bad("model on CSV columns a, b, c scoring LIBSVM", () -> new String[] {"train", "--predict", csvModel(),
                "--data", file("score.libsvm", "1 1:1 2:2 3:3\n"), "--out", "OUT"}, "a, b, c", "LIBSVM"),
            new Bad("data without one of the model's features", () -> new String[] {"train", "--predict", csvModel(),
                "--data", file("ab.csv", "a,b,label\n1,2,0\n"), "--out", "OUT"}, "ab.csv lacks the feature c"),
            new Bad("--predict into a folder that cannot be written", () -> new String[] {"train", "--predict", csvModel(),
                "--data", dir().resolve("abc.csv").toString(), "--out", file("a-file", "x") + "/predictions"},
                "cannot", "a-file"),
            new Bad("damaged model.json", () -> {
                java.nio.file.Path m = Files.createDirectories(dir().resolve("broken-model"));
                Files.writeString(m.resolve("model.json"), "{\"format\": \"sparkgrad-model\",\n  \"model\": logistic}\n");
                return new String[] {"train", "--predict", m.toString(), "--data", dir().resolve("abc.csv").toString(),
                    "--out", "OUT"};
            }, "model.json line 2", "not valid JSON"),
            new Bad("model.json with a value that is not a number", () -> {
                java.nio.file.Path m = Files.createDirectories(dir().resolve("text-model"));
                String json = Files.readString(java.nio.file.Path.of(csvModel(), "model.json"));
                Files.writeString(m.resolve("model.json"), json.replaceFirst("\"values\" : \\[ [^,\\]]+", "\"values\" : [ \"abc\""));
                return new String[] {"train", "--predict", m.toString(), "--data", dir().resolve("abc.csv").toString(),
                    "--out", "OUT"};
            }, "model.json", "\"abc\"", "not a finite number"),
            new Bad("--drop-invalid with --predict (predictions would shift)", () -> new String[] {"train", "--predict",
                csvModel(), "--data", dir().resolve("abc.csv").toString(), "--out", "OUT", "--drop-invalid"},
                "--drop-invalid cannot be used with --predict"),
            new Bad("an unknown format", () -> new String[] {"train", "--data", dir().resolve("abc.csv").toString(),
                "--format", "xls"}, "--format", "xls"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void badInputIsOneLineExitTwoAndLeavesNothing(Bad bad) throws Exception {
        java.nio.file.Path outDir = Files.createTempDirectory(dir(), "out");
        String[] args = bad.args().make();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("OUT")) {
                args[i] = outDir.resolve("result").toString();
            }
        }
        TrainCommandTest.Run r = TrainCommandTest.run(args);
        assertEquals(2, r.code(), r.out() + r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), "one line: " + r.err());
        for (String m : bad.mentions()) {
            assertTrue(lines.get(0).contains(m), "'" + m + "' in: " + lines.get(0));
        }
        assertFalse(lines.get(0).contains("Exception in thread") || lines.get(0).contains("\tat "), lines.get(0));
        assertFalse(r.out().contains("iteration"), "fails before training: " + r.out());
        if (lines.get(0).contains("Spark's log: ")) {
            String log = lines.get(0).replaceAll(".*Spark's log: ([^;)]+).*", "$1");
            assertTrue(Files.size(java.nio.file.Path.of(log)) > 0, "the log named exists: " + log);
        }
        try (var left = Files.list(outDir)) {
            assertEquals(List.of(), left.toList(), "nothing left where --out would go");
        }
    }

    // ------------------------------------------------------------------ nothing silent

    @Test
    void aTextColumnLeftOutOfTheFeaturesIsNamed() throws Exception {
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--data", parquet("with-text.parquet", true), "--iterations", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("leaving out the non-numeric column 'name' (string)"), r.out());
        assertTrue(r.out().contains("2000 rows x 1 features"), r.out());
    }

    @Test
    void dropInvalidCountsWhatItSkippedAndPermissiveKeepsTheOldParsing() throws Exception {
        String csv = file("some-bad.csv", "a,b,label\n1,2,0\n3,4,1,9\n5,x,1\n7,8,1\n9,10,0\n");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--data", csv, "--iterations", "1", "--drop-invalid");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dropped 2 invalid rows of 5 (--drop-invalid); the first: ") && r.out().contains(
            "some-bad.csv line 3"), r.out());
        assertTrue(r.out().contains("3 rows x 2 features"), r.out());

        TrainCommandTest.Run p = TrainCommandTest.run("train", "--data", file("extra-ok.csv", "a,b,label\n1,2,0\n3,4,1,9\n"),
            "--iterations", "1", "--permissive");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("2 rows x 2 features"), p.out());
    }

    @Test
    void dropInvalidTrainsTheModelOfTheValidRowsAlone() throws Exception {
        String bad = file("mixed.csv", "a,b,label\n1,2,0\n3,4,1,9\n5,x,1\n-7,8,1\n9,-10,0\n\n2,2,1\n");
        String good = file("mixed-valid-rows.csv", "a,b,label\n1,2,0\n-7,8,1\n9,-10,0\n2,2,1\n");
        java.nio.file.Path dropped = dir().resolve("model-dropped");
        java.nio.file.Path clean = dir().resolve("model-clean");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--data", bad, "--iterations", "5", "--drop-invalid",
            "--out", dropped.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dropped 2 invalid rows of 6 (--drop-invalid); the first: ") && r.out().contains(
            "mixed.csv line 3"), r.out());
        assertEquals(0, TrainCommandTest.run("train", "--data", good, "--iterations", "5", "--out", clean.toString()).code());
        // the same rows in the same order: the same weights, bit for bit, and the same loss history
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var d = json.readTree(dropped.resolve("model.json").toFile()).path("params");
        var c = json.readTree(clean.resolve("model.json").toFile()).path("params");
        assertEquals(c, d);
        assertTrue(d.get(0).path("values").get(0).asDouble() != 0, "training moved the weights: " + d);
        assertEquals(Files.readAllLines(clean.resolve("history.csv")).stream().map(l -> l.replaceAll(",[^,]*$", "")).toList(),
            Files.readAllLines(dropped.resolve("history.csv")).stream().map(l -> l.replaceAll(",[^,]*$", "")).toList(),
            "losses and gradient norms (the seconds column aside)");
    }

    @Test
    void predictNamesTheColumnsItDoesNotUse() throws Exception {
        java.nio.file.Path out = dir().resolve("scored");
        String csv = file("abcd.csv", "a,b,c,d,label\n1,2,3,4,0\n");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--predict", csvModel(), "--data", csv, "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("not scoring with the column d of"), r.out());
        assertEquals(1, Dist.session().read().parquet(out.toString()).count());
    }

    // ------------------------------------------------------------------ errors that are not the input's

    @Test
    void aBugExitsOneAndSaysSo() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (RunLog log = RunLog.open("train")) {
            code = Main.failure("train", new NullPointerException("x is null"), false, log, new PrintStream(err));
        }
        assertEquals(1, code);
        String line = err.toString().strip();
        assertTrue(line.startsWith("sparkgrad train: internal error, a bug in sparkgrad") && line.contains(
            "NullPointerException: x is null") && line.contains("--verbose prints the stack trace"), line);
        assertEquals(1, line.lines().count(), line);
    }

    // ------------------------------------------------------------------ --out

    /** Starts a long training run on {@code out} and returns once it has claimed it (printed an iteration). */
    private static CompletableFuture<TrainCommandTest.Run> trainInBackground(java.nio.file.Path out, ByteArrayOutputStream seen,
                                                                           String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("train", "--rows", "4000", "--cols", "4", "--optimizer", "sgd",
            "--iterations", "60", "--out", out.toString()));
        args.addAll(List.of(extra));
        CompletableFuture<TrainCommandTest.Run> run = CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Main.run(args.toArray(new String[0]), new PrintStream(seen, true), new PrintStream(err, true));
            return new TrainCommandTest.Run(code, seen.toString(), err.toString());
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!seen.toString().contains("iteration    1") && !run.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(run.isDone(), "the first run is still training: " + seen);
        return run;
    }

    @Test
    void aSecondRunOnTheSameOutFailsAtOnce(@TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path out = tmp.resolve("model");
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        CompletableFuture<TrainCommandTest.Run> first = trainInBackground(out, seen);
        TrainCommandTest.Run second = TrainCommandTest.run("train", "--rows", "500", "--cols", "2", "--iterations", "2",
            "--out", out.toString());
        assertFalse(first.isDone(), "the second run failed while the first was still training");
        assertEquals(2, second.code(), second.err());
        assertTrue(second.err().contains("is being written by another run (process " + ProcessHandle.current().pid()), second.err());
        assertFalse(second.out().contains("iteration"), second.out());
        TrainCommandTest.Run done = first.get(300, TimeUnit.SECONDS);
        assertEquals(0, done.code(), done.err());
        assertEquals(61, Files.readAllLines(out.resolve("history.csv")).size(), "the first run's model");
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("model"), files.map(p -> p.getFileName().toString()).toList(), "no marker or temporary left");
        }
    }

    @Test
    void withOverwriteTheLoserFailsAtOnceAndTheWinnerReplacesTheOldModel(@TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path out = tmp.resolve("model");
        assertEquals(0, TrainCommandTest.run("train", "--rows", "500", "--cols", "2", "--iterations", "3", "--out",
            out.toString()).code());
        assertEquals(4, Files.readAllLines(out.resolve("history.csv")).size());
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        CompletableFuture<TrainCommandTest.Run> first = trainInBackground(out, seen, "--overwrite");
        TrainCommandTest.Run second = TrainCommandTest.run("train", "--rows", "500", "--cols", "2", "--iterations", "2",
            "--out", out.toString(), "--overwrite");
        assertEquals(2, second.code(), second.err());
        assertTrue(second.err().contains("is being written by another run"), second.err());
        assertEquals(4, Files.readAllLines(out.resolve("history.csv")).size(), "the old model stays until the new one is in");
        TrainCommandTest.Run done = first.get(300, TimeUnit.SECONDS);
        assertEquals(0, done.code(), done.err());
        assertTrue(done.out().contains("train: wrote"), done.out());
        assertFalse(second.out().contains("wrote"), second.out());
        assertEquals(61, Files.readAllLines(out.resolve("history.csv")).size(), "the winner's model");
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("model"), files.map(p -> p.getFileName().toString()).toList(), "the old folder is gone");
        }
    }

    @Test
    void aMarkerLeftByADeadRunIsTakenOver(@TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path out = tmp.resolve("model");
        String host = java.net.InetAddress.getLocalHost().getHostName();
        Files.writeString(tmp.resolve(".model.sparkgrad-lock"), "2147483646 " + host + " 2020-01-01T00:00:00 train\n");
        TrainCommandTest.Run r = TrainCommandTest.run("train", "--rows", "300", "--cols", "2", "--iterations", "1", "--out",
            out.toString());
        assertEquals(0, r.code(), r.err());
        Files.writeString(tmp.resolve(".other.sparkgrad-lock"), "12 elsewhere.example 2020-01-01T00:00:00 train\n");
        TrainCommandTest.Run other = TrainCommandTest.run("train", "--rows", "300", "--cols", "2", "--iterations", "1",
            "--out", tmp.resolve("other").toString());
        assertEquals(2, other.code(), other.err());
        assertTrue(other.err().contains("process 12 on elsewhere.example") && other.err().contains("delete "), other.err());
    }

    // ------------------------------------------------------------------ spills

    @Test
    void spilledBlocksAreOneLinePerJob() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        SpillReport report = SpillReport.of("train", new PrintStream(err, true), "run-1");
        Properties mine = new Properties();
        mine.setProperty(SpillReport.RUN, "run-1");
        mine.setProperty("spark.job.description", "sparkgrad readParquet");
        Properties other = new Properties();
        other.setProperty(SpillReport.RUN, "run-2");
        scala.collection.immutable.Seq<org.apache.spark.scheduler.StageInfo> none =
            scala.jdk.javaapi.CollectionConverters.asScala(new ArrayList<org.apache.spark.scheduler.StageInfo>()).toList();
        BlockManagerId bm = BlockManagerId.apply("driver", "127.0.0.1", 1, scala.Option.empty());
        report.onJobStart(new SparkListenerJobStart(7, 0L, none, other));
        report.onBlockUpdated(new SparkListenerBlockUpdated(new BlockUpdatedInfo(bm, new RDDBlockId(3, 0),
            StorageLevel.DISK_ONLY(), 0, 1L << 29)));
        report.onJobEnd(new SparkListenerJobEnd(7, 0L, JobSucceeded$.MODULE$));
        assertEquals("", err.toString(), "another run's job is not ours");

        report.onJobStart(new SparkListenerJobStart(8, 0L, none, mine));
        for (int p = 0; p < 3; p++) {
            report.onBlockUpdated(new SparkListenerBlockUpdated(new BlockUpdatedInfo(bm, new RDDBlockId(4, p),
                StorageLevel.DISK_ONLY(), 0, 1L << 29)));
        }
        // a block cached in memory is not a spill
        report.onBlockUpdated(new SparkListenerBlockUpdated(new BlockUpdatedInfo(bm, new RDDBlockId(4, 3),
            StorageLevel.MEMORY_AND_DISK(), 1L << 20, 0)));
        report.onJobEnd(new SparkListenerJobEnd(8, 0L, JobSucceeded$.MODULE$));
        assertEquals("train: job 8 spilled 3 blocks, 1.5 GiB to disk: not enough memory to cache them (sparkgrad readParquet)",
            err.toString().strip());
    }
}
