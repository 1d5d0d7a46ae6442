package io.sparkgrad.dist;

import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Strict parsing: every malformed line or row is one error naming the file, the line (or the
 * Parquet row group and row), the column and the value; {@code permissive} and
 * {@code dropInvalid} give the lenient behaviours, and say what they skipped.
 */
class StrictReadingTest {
    private static SparkSession spark;
    private static java.nio.file.Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        spark = SparkTests.session();
        dir = Files.createTempDirectory("strict-reading");
    }

    private static String file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text).toString();
    }

    /** One malformed input: how it is read, and what the one-line error must name. */
    record Bad(String name, Executable read, String... mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Bad> table() throws Exception {
        String extra = file("extra.csv", "a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n");
        String few = file("few.csv", "a,b,label\n1,2,0\n3,4\n");
        String quote = file("quote.csv", "a,b,label\n1,\"2,0\n");
        String blank = file("blank.csv", "a,b,label\n\n1,2,0\n\n\n3,x,1\n");
        String empty = file("emptyfield.csv", "a,b,label\n1,,0\n");
        java.nio.file.Path two = Files.createDirectories(dir.resolve("two-headers"));
        Files.writeString(two.resolve("part-00000.csv"), "a,b\n1,2\n");
        Files.writeString(two.resolve("part-00001.csv"), "b,a\n3,4\n");
        String zero = file("zero.libsvm", "1 1:0.5\n0 0:1 3:2\n");
        String word = file("word.libsvm", "1 1:0.5\n0 1:1 3:abc\n");
        String colon = file("colon.libsvm", "1 1:0.5 2\n");
        String big = file("big.libsvm", "1 1:0.5\n0 2147483648:1\n");
        String justBig = file("justbig.libsvm", "0 2147483647:1\n");
        String dup = file("dup.libsvm", "1 1:1 3:2 3:5\n");
        String order = file("order.libsvm", "1 1:1\n1 3:2 2:5\n");
        String label = file("label.libsvm", "1 1:1\nyes 1:2\n");
        String nan = file("nan.libsvm", "1 1:1\n\n# a comment\n1 2:NaN\n");
        return List.of(
            new Bad("a CSV line with more fields than the header", () -> Dist.readCsv(extra), "extra.csv line 3",
                "4 fields where the header has 3", "'3,4,1,9'"),
            new Bad("a CSV line with fewer fields", () -> Dist.readCsv(few), "few.csv line 3", "2 fields"),
            new Bad("a quote left open", () -> Dist.readCsv(quote), "quote.csv line 2", "quote that is not closed"),
            new Bad("blank lines are counted", () -> Dist.readCsv(blank), "blank.csv line 6", "column 'b'", "'x'"),
            new Bad("an empty field", () -> Dist.readCsv(empty), "emptyfield.csv line 2", "column 'b'", "is empty"),
            new Bad("files with different headers", () -> Dist.readCsv(two.toString()), "part-00001.csv line 1",
                "'b,a'", "part-00000.csv"),
            new Bad("LIBSVM index 0", () -> Dist.readLibsvm(zero), "zero.libsvm line 2", "index 0", "start at 1"),
            new Bad("LIBSVM value not a number", () -> Dist.readLibsvm(word), "word.libsvm line 2", "column 'f3'", "'abc'"),
            new Bad("LIBSVM pair without a colon", () -> Dist.readLibsvm(colon), "colon.libsvm line 1", "'2'",
                "index:value"),
            new Bad("LIBSVM index 2^31", () -> Dist.readLibsvm(big), "big.libsvm line 2", "index 2147483648",
                "sparse row can hold"),
            new Bad("LIBSVM index 2^31 - 1 alone", () -> Dist.readLibsvm(justBig), "justbig.libsvm line 1",
                "index 2147483647", "2147483615 features a sparse row can hold"),
            new Bad("LIBSVM index 2^31 - 1 read densely", () -> {
                Dist.setSparseThreshold(0);
                try {
                    Dist.readLibsvm(justBig);
                } finally {
                    Dist.setSparseThreshold(0.25);
                }
            }, "justbig.libsvm line 1", "index 2147483647", "8388607 features a dense row can hold"),
            new Bad("LIBSVM index repeated", () -> Dist.readLibsvm(dup), "dup.libsvm line 1", "index 3 appears twice"),
            new Bad("LIBSVM indices out of order", () -> Dist.readLibsvm(order), "order.libsvm line 2",
                "index 2 comes after index 3"),
            new Bad("LIBSVM label not a number", () -> Dist.readLibsvm(label), "label.libsvm line 2", "column 'label'",
                "'yes'"),
            new Bad("LIBSVM NaN after a blank and a comment line", () -> Dist.readLibsvm(nan), "nan.libsvm line 4",
                "column 'f2'", "is NaN"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void malformedInputIsOneLineNamingFileAndLine(Bad bad) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad.read());
        String m = e.getMessage();
        for (String s : bad.mentions()) {
            assertTrue(m.contains(s), "'" + s + "' in: " + m);
        }
        assertFalse(m.contains("\n") || m.contains("Exception"), "one line, no exception name: " + m);
        assertFalse(m.contains("file:"), "paths as the user wrote them: " + m);
    }

    @Test
    void lineNumbersCountAcrossTheSplitsOfAFile() throws Exception {
        StringBuilder b = new StringBuilder("a,b\n");
        double[] expected = new double[2 * 100_000];
        for (int i = 0; i < 100_000; i++) {
            b.append(i % 7 == 0 ? "\n" : "").append(i).append(',').append(-i).append('\n'); // a blank line every 7 rows
            expected[2 * i] = i;
            expected[2 * i + 1] = -i;
        }
        String good = file("long-good.csv", b.toString());
        String bad = file("long-bad.csv", b.toString().replace("\n99999,-99999\n", "\n99999,oops\n"));
        TextData.minSplitsPerFile = 5;
        try {
            DataReader.Result r = DataReader.csv(good).blocking(Dist.Blocking.SOURCE_PARTITIONS).read();
            assertEquals(5, r.array().numBlocks(), "one block per split");
            assertArrayEquals(expected, r.array().toArray(), "rows in the file's order");
            // line 1 the header, row i at line i + 2, plus the blank lines up to it (i / 7 + 1)
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readCsv(bad));
            assertTrue(e.getMessage().contains("long-bad.csv line " + (2 + 99_999 + 99_999 / 7 + 1) + ", column 'b': 'oops'"),
                e.getMessage());
        } finally {
            TextData.minSplitsPerFile = 1;
        }
    }

    @Test
    void csvFieldsMayBeQuotedAndBlankLinesAreSkipped() throws Exception {
        String csv = file("quoted.csv", "\uFEFFa,\"b, the second\",c\n\n\"1\",\"2.5\",3\r\n4,\"5\"\"\",6\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readCsv(csv));
        assertTrue(e.getMessage().contains("quoted.csv line 4, column 'b, the second': '5\"' is not a number"),
            e.getMessage());
        String ok = file("quoted-ok.csv", "\uFEFFa,\"b, the second\",c\n\n\"1\",\"2.5\",3\r\n4,\" 5 \",6\n");
        assertArrayEquals(new double[] {1, 2.5, 3, 4, 5, 6}, Dist.readCsv(ok).toArray());
        assertArrayEquals(new double[] {2.5, 5}, Dist.readCsv(ok, "b, the second").toArray());
    }

    @Test
    void permissiveReadsAsSparksPermissiveMode() throws Exception {
        String extra = file("extra-permissive.csv", "a,b\n1,2\n3,4,9\n5,6\n");
        DataReader.Result r = DataReader.csv(extra).permissive(true).read();
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, r.array().toArray(), "the extra field is dropped");
        String few = file("few-permissive.csv", "a,b\n1,2\n3\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> DataReader.csv(few).permissive(true).read());
        assertTrue(e.getMessage().contains("few-permissive.csv line 3, column 'b': is empty"), e.getMessage());

        String dup = file("dup-permissive.libsvm", "1 3:2 1:1 3:5\n0 2:1\n");
        DataReader.Result l = DataReader.libsvm(dup).permissive(true).read();
        assertEquals(List.of("f1", "f2", "f3", "label"), l.columns());
        assertArrayEquals(new double[] {1, 0, 5, 1, 0, 1, 0, 0}, l.array().toArray(), "the last value wins");
    }

    @Test
    void dropInvalidSkipsBadLinesAndSaysWhereTheFirstWas() throws Exception {
        String csv = file("drop.csv", "a,b\n1,2\n3,4,9\n5,x\n7,8\n9,NaN\n");
        DataReader.Result r = DataReader.csv(csv).dropInvalid(true).read();
        assertArrayEquals(new double[] {1, 2, 7, 8}, r.array().toArray());
        assertEquals(3, r.droppedRows());
        assertTrue(r.firstDropped().contains("drop.csv line 3"), r.firstDropped());

        String svm = file("drop.libsvm", "1 1:1\n0 0:2\n1 2:x\n0 2:3\n");
        DataReader.Result l = DataReader.libsvm(svm).dropInvalid(true).read();
        assertArrayEquals(new double[] {1, 0, 1, 0, 3, 0}, l.array().toArray());
        assertEquals(2, l.droppedRows());
        assertTrue(l.firstDropped().contains("drop.libsvm line 2"), l.firstDropped());

        DataReader.Result none = DataReader.csv(file("clean.csv", "a\n1\n")).dropInvalid(true).read();
        assertEquals(0, none.droppedRows());
        assertNull(none.firstDropped());
    }

    @Test
    void libsvmRowsAreDenseWithTheLabelLast() throws Exception {
        String svm = file("points.libsvm", "# label index:value\n1 1:0.5 3:-2 # a note\n\n0\t2:4\n");
        DataReader.Result r = DataReader.libsvm(svm).read();
        assertEquals(List.of("f1", "f2", "f3", "label"), r.columns());
        assertArrayEquals(new double[] {0.5, 0, -2, 1, 0, 4, 0, 0}, r.array().toArray());
        DataReader.Result five = DataReader.libsvm(svm).numFeatures(5, "the model's 5 features").read();
        assertArrayEquals(new long[] {2, 6}, five.array().shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> DataReader.libsvm(svm).numFeatures(2, "the model's 2 features").read());
        assertTrue(e.getMessage().contains("points.libsvm line 2") && e.getMessage().contains("index 3 is past the model's 2"),
            e.getMessage());
    }

    @Test
    void aCheckNamesTheLineAndTheRequirement() throws Exception {
        String csv = file("labels.csv", "x,label\n1,0\n2,1\n3,2\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataReader.csv(csv)
            .check("label", v -> v == 0 || v == 1, "logistic regression needs labels 0 or 1").read());
        assertTrue(e.getMessage().contains("labels.csv line 4, column 'label': is 2; logistic regression needs labels 0 or 1"),
            e.getMessage());
    }

    // ------------------------------------------------------------------ Parquet

    private static String writeParquet(String name, int rows, boolean withNull) {
        List<Row> list = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            list.add(RowFactory.create(withNull && i == rows - 5 ? null : Math.sin(i) * 1000, (double) (i % 2)));
        }
        String path = dir.resolve(name).toString();
        // small row groups, plain doubles, no compression: a flipped byte changes a value and nothing else
        spark.createDataFrame(list, DataTypes.createStructType(List.of(
                DataTypes.createStructField("x", DataTypes.DoubleType, true),
                DataTypes.createStructField("label", DataTypes.DoubleType, false))))
            .coalesce(1).write().option("compression", "none").option("parquet.enable.dictionary", "false")
            .option("parquet.block.size", "8192").parquet(path);
        return path;
    }

    private static java.nio.file.Path partFile(String dataset) throws Exception {
        try (var files = Files.list(java.nio.file.Path.of(dataset))) {
            return files.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
    }

    private static List<BlockMetaData> rowGroups(java.nio.file.Path file) throws Exception {
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(file.toString()),
            spark.sparkContext().hadoopConfiguration()))) {
            return r.getRowGroups();
        }
    }

    @Test
    void aDamagedPageIsFoundByItsChecksumWhenTheCrcFileIsGone() throws Exception {
        String path = writeParquet("damaged.parquet", 3000, false);
        double[] original = Dist.readParquet(path, "x").toArray();
        java.nio.file.Path part = partFile(path);
        List<BlockMetaData> groups = rowGroups(part);
        assertTrue(groups.size() >= 3, "several row groups: " + groups.size());
        ColumnChunkMetaData x = groups.get(1).getColumns().get(0);
        try (RandomAccessFile f = new RandomAccessFile(part.toFile(), "rw")) {
            long at = x.getStartingPos() + x.getTotalSize() - 3; // inside the last value of the chunk's last page
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
        // the copy an ordinary cp makes: no Hadoop .crc beside the file
        Files.delete(part.resolveSibling("." + part.getFileName() + ".crc"));

        // without page checksums the damage goes unnoticed: one value differs
        double[] unchecked = DataReader.parquet(path).columns("x").permissive(true).read().array().toArray();
        assertEquals(original.length, unchecked.length);
        int differ = 0;
        for (int i = 0; i < original.length; i++) {
            differ += Double.compare(original[i], unchecked[i]) != 0 ? 1 : 0;
        }
        assertEquals(1, differ, "the flipped byte changed one value");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readParquet(path, "x"));
        String m = e.getMessage();
        assertTrue(m.startsWith("readParquet: cannot read ") && m.contains(part.getFileName().toString())
            && m.contains("row group 2 of " + groups.size()) && m.toLowerCase(java.util.Locale.ROOT).contains("crc"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void aTruncatedPartFileIsNamed() throws Exception {
        String path = writeParquet("truncated.parquet", 500, false);
        java.nio.file.Path part = partFile(path);
        byte[] bytes = Files.readAllBytes(part);
        java.nio.file.Path second = part.resolveSibling("part-00001-copy.snappy.parquet");
        Files.write(second, java.util.Arrays.copyOf(bytes, bytes.length - 20));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readParquet(path));
        String m = e.getMessage();
        assertTrue(m.startsWith("readParquet: cannot read ") && m.contains("part-00001-copy.snappy.parquet"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void aBadParquetValueNamesTheRowGroupAndRow() {
        String path = writeParquet("nulls.parquet", 3000, true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dist.readParquet(path));
        String m = e.getMessage();
        assertTrue(m.contains("row 2996 of the file") && m.contains("column 'x': is null") && m.matches(".*row group \\d+ of \\d+, row \\d+ .*"),
            m);
        assertNotEquals(-1, m.indexOf(".parquet"), m);
    }
}
