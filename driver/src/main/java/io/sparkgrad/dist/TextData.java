package io.sparkgrad.dist;

import io.sparkgrad.worker.Block;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import static io.sparkgrad.dist.DataIO.BadValue;
import static io.sparkgrad.dist.DataIO.display;
import static io.sparkgrad.dist.DataIO.isNaNText;
import static io.sparkgrad.dist.DataIO.parseNumber;
import static io.sparkgrad.dist.DataIO.shorten;

/**
 * Text data read line by line, so that every error names the file's line: CSV with a header
 * and LIBSVM.
 *
 * <p>Each file is read by Hadoop's line reader (one partition per split; a split's lines are the
 * lines that start in it, so the splits of a file hold its lines in order, each once) and its
 * partitions are parsed into blocks on the executors, the files in the order of the writer's
 * part numbers (then names). A bad line fails with the partition and the line within it; only
 * then a second job counts the lines of the file's partitions before that one, so that the error
 * names the file's own line, counted from 1, blank lines included. Lines end at {@code \n},
 * {@code \r\n} or {@code \r}, so a quoted CSV field cannot hold a line break (as Spark's CSV reader
 * without {@code multiLine}); in strict mode such a field is an unclosed quote at its first line.
 * Blank lines are skipped (and counted).
 *
 * <p><b>CSV.</b> The header is the first non-blank line of each file; every file's must equal the
 * first file's. Fields are separated by commas; a field may be quoted with {@code "}, inside
 * which {@code ""} and {@code \"} stand for a quote. Column names follow Spark's reader (an empty
 * name is {@code _c<i>}, a repeated name gets its index appended). Each line must have as many
 * fields as the header (Spark's FAILFAST, with the line); an empty field is an error.
 *
 * <p><b>LIBSVM.</b> {@code label index:value ...} with whitespace between pairs, {@code #} to the
 * end of the line a comment; indices are whole numbers from 1, strictly ascending (no repeats).
 * One job finds the largest index d, checking every line, then the lines become rows of
 * {@code f1..fd} and {@code label}: sparse blocks (compressed rows, see {@link Dist#sparseThreshold()})
 * unless a block is dense enough or the threshold is 0, when an index is checked against the
 * columns a dense row of a block can hold ({@link Dist#blockBytes()} / 8 - 1) before anything is allocated.
 */
final class TextData {
    private TextData() {}

    private static final Pattern SPACES = Pattern.compile("\\s+");

    /**
     * The fewest splits Hadoop's line reader makes of a file (1: a split per storage block, 32 MiB
     * on a local disk). Tests raise it to read small files in several splits.
     */
    static volatile int minSplitsPerFile = 1;

    // ------------------------------------------------------------------ files

    /** The lines of some files, one RDD each, and where each file's partitions start in their union. */
    static final class Files {
        final List<String> paths;
        private List<JavaRDD<String>> lines;
        /** first[i]: the union's partition index of file i's first split; first[n]: the total. */
        private int[] first;

        private Files(List<String> paths) {
            this.paths = paths;
        }

        /** Splits the files (on the driver, by Hadoop's line reader) the first time it is asked. */
        private void split() {
            if (lines != null) {
                return;
            }
            JavaSparkContext jsc = Dist.jsc();
            lines = new ArrayList<>();
            first = new int[paths.size() + 1];
            for (int i = 0; i < paths.size(); i++) {
                JavaRDD<String> rdd = jsc.textFile(paths.get(i), minSplitsPerFile);
                lines.add(rdd);
                first[i + 1] = first[i] + rdd.getNumPartitions();
            }
        }

        /** The lines of file {@code i}, one partition per split. */
        JavaRDD<String> lines(int i) {
            split();
            return lines.get(i);
        }

        /** The partition of the union where file {@code i}'s lines start. */
        int first(int i) {
            split();
            return first[i];
        }

        int fileOf(int partition) {
            split();
            int f = Arrays.binarySearch(first, partition);
            if (f < 0) {
                return -f - 2;
            }
            while (f + 1 < first.length && first[f + 1] == partition) {
                f++; // files without splits (empty) share the index of the next
            }
            return Math.min(f, paths.size() - 1);
        }

        JavaRDD<String> union(JavaSparkContext jsc) {
            split();
            return union(jsc, lines);
        }

        static <T> JavaRDD<T> union(JavaSparkContext jsc, List<JavaRDD<T>> rdds) {
            @SuppressWarnings("unchecked")
            JavaRDD<T>[] all = rdds.toArray(new JavaRDD[0]);
            return all.length == 1 ? all[0] : jsc.union(all);
        }

        /** Places a bad line: "data.csv line 100001" (a job counts the lines of the splits before it). */
        DataIO.Locator locator(String op, JavaSparkContext jsc) {
            return bad -> {
                int f = fileOf(bad.partition);
                String file = display(paths.get(f));
                long before = DataIO.countBefore(op, union(jsc), first[f], bad.partition);
                return before < 0 ? file + " (line " + (bad.localIndex + 1) + " of split " + (bad.partition - first[f] + 1) + ")"
                    : file + " line " + (before + bad.localIndex + 1);
            };
        }
    }

    /**
     * The files at {@code path}: the file itself, the matches of a glob, or a directory's files
     * (recursively; names starting with {@code _} or {@code .} are not data), in the writer's order.
     */
    static Files open(String op, String path) {
        if (path == null) {
            throw new IllegalArgumentException(op + ": the path is null");
        }
        SparkSession spark = Dist.session();
        List<String> files = new ArrayList<>();
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new IllegalArgumentException(op + ": no file or directory at " + display(path));
            }
            Arrays.sort(matches, Comparator.comparing((FileStatus s) -> s.getPath().getName()));
            for (FileStatus s : matches) {
                if (s.isDirectory()) {
                    addDirectory(fs, s.getPath(), files);
                } else {
                    files.add(s.getPath().toString());
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(op + ": cannot list " + display(path) + ": " + DataIO.rootCause(e), e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException(op + ": the directory " + display(path) + " holds no data files");
        }
        return new Files(files);
    }

    private static void addDirectory(FileSystem fs, Path dir, List<String> out) throws IOException {
        List<FileStatus> data = new ArrayList<>();
        List<FileStatus> dirs = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir)) {
            String name = s.getPath().getName();
            if (!name.startsWith("_") && !name.startsWith(".")) {
                (s.isDirectory() ? dirs : data).add(s);
            }
        }
        data.sort(Comparator.comparingLong((FileStatus s) -> DataIO.partNumber(s.getPath().getName()))
            .thenComparing(s -> s.getPath().getName()));
        for (FileStatus s : data) {
            out.add(s.getPath().toString());
        }
        dirs.sort(Comparator.comparing((FileStatus s) -> s.getPath().getName()));
        for (FileStatus s : dirs) {
            addDirectory(fs, s.getPath(), out);
        }
    }

    /** The first non-blank line of {@code file} (decompressed as Hadoop would), or null. */
    private static String firstLine(String op, String file, Configuration conf) {
        Path p = new Path(file);
        try {
            FileSystem fs = p.getFileSystem(conf);
            CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(p);
            InputStream in = fs.open(p);
            if (codec != null) {
                in = codec.createInputStream(in);
            }
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (!line.isBlank()) {
                        return line;
                    }
                }
                return null;
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(op + ": cannot read " + display(file) + ": " + DataIO.rootCause(e), e);
        }
    }

    // ------------------------------------------------------------------ CSV

    static DataReader.Result readCsv(DataReader spec) {
        String op = "readCsv";
        Files files = open(op, spec.path);
        SparkSession spark = Dist.session();
        String[] header = header(op, files);
        boolean caseSensitive = Boolean.parseBoolean(spark.conf().get("spark.sql.caseSensitive", "false"));
        String first = display(files.paths.get(0));
        StructType schema = csvSchema(op, files);
        String[] names = schema.fieldNames();
        String where = (files.paths.size() == 1 ? "the file " : "the data at ") + display(spec.path);
        DataIO.Selection sel = DataIO.select(op, where, schema, spec.columns, true, caseSensitive);
        int[] index = new int[sel.names.length];
        for (int k = 0; k < index.length; k++) {
            index[k] = Arrays.asList(names).indexOf(sel.names[k]);
        }
        DataIO.Rules rules = DataIO.Rules.of(op, spec, sel.names, caseSensitive);
        DataIO.Drops drops = DataIO.Drops.create(rules.drop);
        JavaSparkContext jsc = Dist.jsc();
        List<JavaRDD<Block>> parts = new ArrayList<>();
        for (int f = 0; f < files.paths.size(); f++) {
            CsvBlocks parse = new CsvBlocks(files.paths.get(f), files.first(f), header, first, index, sel.names, rules, drops);
            parts.add(files.lines(f).mapPartitionsWithIndex(parse, true));
        }
        return DataIO.load(op, where, Files.union(jsc, parts), files.locator(op, jsc), false, List.of(sel.names),
            spec.blocking, drops);
    }

    /** The raw fields of the first file's header line. */
    private static String[] header(String op, Files files) {
        String line = firstLine(op, files.paths.get(0), Dist.session().sparkContext().hadoopConfiguration());
        if (line == null) {
            throw new IllegalArgumentException(op + ": " + display(files.paths.get(0)) + " has no header line");
        }
        return fields(stripBom(line), false);
    }

    /** The columns of a CSV header, every one a string, named as Spark's reader names them. */
    static StructType csvSchema(String op, Files files) {
        boolean caseSensitive = Boolean.parseBoolean(Dist.session().conf().get("spark.sql.caseSensitive", "false"));
        String[] names = safeNames(header(op, files), caseSensitive);
        StructField[] fields = new StructField[names.length];
        for (int i = 0; i < names.length; i++) {
            fields[i] = DataTypes.createStructField(names[i], DataTypes.StringType, true);
        }
        return new StructType(fields);
    }

    private static String stripBom(String line) {
        return line.startsWith("\uFEFF") ? line.substring(1) : line;
    }

    /** Column names as Spark's CSV reader makes them from a header: {@code _c<i>} for an empty name, a repeated name with its index. */
    static String[] safeNames(String[] header, boolean caseSensitive) {
        Set<String> seen = new HashSet<>();
        Set<String> repeated = new HashSet<>();
        for (String h : header) {
            String key = caseSensitive ? h : h.toLowerCase(Locale.ROOT);
            if (!h.isEmpty() && !seen.add(key)) {
                repeated.add(key);
            }
        }
        String[] out = new String[header.length];
        for (int i = 0; i < header.length; i++) {
            String h = header[i];
            out[i] = h.isEmpty() ? "_c" + i : repeated.contains(caseSensitive ? h : h.toLowerCase(Locale.ROOT)) ? h + i : h;
        }
        return out;
    }

    /**
     * The fields of one CSV line: separated by commas, a field may be quoted with {@code "}, and
     * inside quotes {@code ""} and {@code \"} are a quote (text after the closing quote is kept, as
     * Spark's reader keeps it). A quote left open is null when {@code strict}, else the rest of the line.
     */
    static String[] fields(String line, boolean strict) {
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        int n = line.length();
        int i = 0;
        while (true) {
            f.setLength(0);
            if (i < n && line.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = line.charAt(i);
                    if ((c == '"' || c == '\\') && i + 1 < n && line.charAt(i + 1) == '"') {
                        f.append('"');
                        i += 2;
                    } else if (c == '"') {
                        i++;
                        closed = true;
                        break;
                    } else {
                        f.append(c);
                        i++;
                    }
                }
                if (!closed && strict) {
                    return null;
                }
            }
            while (i < n && line.charAt(i) != ',') {
                f.append(line.charAt(i++));
            }
            out.add(f.toString());
            if (i >= n) {
                return out.toArray(new String[0]);
            }
            i++; // the comma
        }
    }

    /** Makes one block of a CSV file's split (on the executors); the first split starts with the header. */
    static final class CsvBlocks implements Function2<Integer, Iterator<String>, Iterator<Block>> {
        private static final long serialVersionUID = 1L;

        private final String file;
        private final int first;
        private final String[] header;
        private final String headerFile;
        private final int[] index;
        private final String[] names;
        private final DataIO.Rules rules;
        private final DataIO.Drops drops;

        CsvBlocks(String file, int first, String[] header, String headerFile, int[] index, String[] names,
                  DataIO.Rules rules, DataIO.Drops drops) {
            this.file = file;
            this.first = first;
            this.header = header;
            this.headerFile = headerFile;
            this.index = index;
            this.names = names;
            this.rules = rules;
            this.drops = drops;
        }

        @Override
        public Iterator<Block> call(Integer split, Iterator<String> lines) {
            int partition = first + split;
            int cols = index.length;
            DataIO.Doubles out = new DataIO.Doubles(partition);
            double[] values = new double[cols];
            boolean expectHeader = split == 0;
            boolean recorded = false;
            long local = -1;
            long kept = 0;
            while (lines.hasNext()) {
                String line = lines.next();
                local++;
                if (line.isBlank()) {
                    continue;
                }
                if (expectHeader) {
                    expectHeader = false;
                    if (!Arrays.equals(fields(stripBom(line), false), header)) {
                        throw BadValue.fatal(partition, local, -1, null, "the header '" + shorten(line)
                            + "' differs from the header of " + headerFile + " ('" + shorten(String.join(",", header)) + "')", file);
                    }
                    continue;
                }
                BadValue bad = parse(line, partition, local, values);
                if (bad != null) {
                    if (!rules.drop) {
                        throw bad;
                    }
                    drops.count.add(1);
                    if (!recorded) {
                        drops.firsts.add(bad);
                        recorded = true;
                    }
                    continue;
                }
                if (!out.fits(cols)) {
                    throw BadValue.fatal(partition, local, -1, null, "this split of the file holds more than "
                        + Integer.MAX_VALUE + " values, more than a block holds", file);
                }
                out.add(values);
                kept++;
            }
            return Collections.singletonList(new Block(partition, 0, new int[] {(int) kept, cols}, out.toArray())).iterator();
        }

        private BadValue parse(String line, int partition, long local, double[] values) {
            String[] f = fields(line, rules.strict);
            if (f == null) {
                return invalid(partition, local, null, "has a quote that is not closed (a quoted field cannot hold a line "
                    + "break): '" + shorten(line) + "'");
            }
            if (rules.strict && f.length != header.length) {
                return invalid(partition, local, null, "has " + f.length + " fields where the header has " + header.length
                    + ": '" + shorten(line) + "'");
            }
            for (int k = 0; k < index.length; k++) {
                String s = index[k] < f.length ? f[index[k]] : "";
                if (s.isBlank()) {
                    return invalid(partition, local, names[k], "is empty");
                }
                double v = parseNumber(s);
                if (Double.isNaN(v) && !isNaNText(s)) {
                    return invalid(partition, local, names[k], "'" + shorten(s) + "' is not a number");
                }
                String problem = rules.problem(k, v);
                if (problem != null) {
                    return invalid(partition, local, names[k], problem);
                }
                values[k] = v;
            }
            return null;
        }

        private BadValue invalid(int partition, long local, String column, String detail) {
            return BadValue.invalid(partition, local, -1, column, detail, file, rules.hint);
        }
    }

    // ------------------------------------------------------------------ LIBSVM

    /** The most features a dense row may have: the row (and its label) must fit in a block of the target size. */
    static long maxDenseFeatures() {
        return Math.max(1, Math.min(Integer.MAX_VALUE - 32L, Dist.blockBytes() / 8 - 1));
    }

    static DataReader.Result readLibsvm(DataReader spec) {
        String op = "readLibsvm";
        Files files = open(op, spec.path);
        SparkSession spark = Dist.session();
        JavaSparkContext jsc = Dist.jsc();
        DataIO.Rules rules = DataIO.Rules.of(op, spec, new String[] {"label"}, false);
        String where = (files.paths.size() == 1 ? "the file " : "the data at ") + display(spec.path);
        DataIO.Locator locator = files.locator(op, jsc);
        double threshold = Dist.sparseThreshold();
        long bound;
        String boundWhat;
        if (spec.numFeatures > 0) {
            bound = spec.numFeatures;
            boundWhat = spec.numFeaturesSource != null ? spec.numFeaturesSource : "the " + bound + " features asked for";
        } else if (threshold > 0) {
            bound = Integer.MAX_VALUE - 32L; // the columns of a sparse block: its features and the label
            boundWhat = "the " + bound + " features a sparse row can hold";
        } else {
            bound = maxDenseFeatures();
            boundWhat = "the " + bound + " features a dense row can hold (a row must fit in a block of Dist.blockBytes() = "
                + (Dist.blockBytes() >> 20) + " MiB; Dist.setSparseThreshold above 0 reads sparse rows)";
        }
        int d;
        if (spec.numFeatures > 0) {
            d = spec.numFeatures;
        } else {
            // one job checks every line and finds the largest index; invalid lines count for nothing
            List<JavaRDD<Long>> maxima = new ArrayList<>();
            for (int f = 0; f < files.paths.size(); f++) {
                Libsvm parser = new Libsvm(files.paths.get(f), files.first(f), bound, boundWhat, rules, null, 0, threshold);
                maxima.add(files.lines(f).mapPartitionsWithIndex(parser::maxIndex, true));
            }
            JavaRDD<Long> all = Files.union(jsc, maxima);
            long max;
            try {
                max = Jobs.run(op + ": find the largest index", () -> all.fold(-1L, Math::max));
            } catch (RuntimeException e) {
                BadValue bad = DataIO.find(e);
                if (bad != null) {
                    throw new IllegalArgumentException(DataIO.message(op, locator, bad), bad);
                }
                throw e;
            }
            if (max < 0) {
                throw new IllegalArgumentException(op + ": " + where + " has no rows");
            }
            if (max == 0) {
                throw new IllegalArgumentException(op + ": " + where + " has no LIBSVM rows with features");
            }
            d = (int) max;
        }
        DataIO.Drops drops = DataIO.Drops.create(rules.drop);
        List<JavaRDD<Block>> parts = new ArrayList<>();
        for (int f = 0; f < files.paths.size(); f++) {
            Libsvm parser = new Libsvm(files.paths.get(f), files.first(f), bound, boundWhat, rules, drops, d, threshold);
            parts.add(files.lines(f).mapPartitionsWithIndex(parser::blocks, true));
        }
        return DataIO.load(op, where, Files.union(jsc, parts), locator, false, columns(d), spec.blocking, drops);
    }

    /** The columns f1..fd, label, without making d strings up front. */
    private static List<String> columns(int d) {
        return new AbstractList<String>() {
            @Override
            public String get(int i) {
                if (i < 0 || i > d) {
                    throw new IndexOutOfBoundsException(i);
                }
                return i == d ? "label" : "f" + (i + 1);
            }

            @Override
            public int size() {
                return d + 1;
            }
        };
    }

    /** Parses the lines of one LIBSVM file's splits (on the executors). */
    static final class Libsvm implements Serializable {
        private static final long serialVersionUID = 1L;

        private final String file;
        private final int first;
        private final long bound;
        private final String boundWhat;
        private final DataIO.Rules rules;
        private final DataIO.Drops drops;
        private final int width;
        private final double sparseThreshold;

        Libsvm(String file, int first, long bound, String boundWhat, DataIO.Rules rules, DataIO.Drops drops, int width,
               double sparseThreshold) {
            this.sparseThreshold = sparseThreshold;
            this.file = file;
            this.first = first;
            this.bound = bound;
            this.boundWhat = boundWhat;
            this.rules = rules;
            this.drops = drops;
            this.width = width;
        }

        /** The largest index of a split's valid lines: -1 without rows, 0 for rows without features. */
        Iterator<Long> maxIndex(Integer split, Iterator<String> lines) {
            int partition = first + split;
            long max = -1;
            long local = -1;
            while (lines.hasNext()) {
                String line = lines.next();
                local++;
                try {
                    max = Math.max(max, parse(line, partition, local, null, null));
                } catch (BadValue bad) {
                    if (!rules.drop || !bad.droppable) {
                        throw bad;
                    }
                }
            }
            return Collections.singletonList(max).iterator();
        }

        /**
         * One block of a split's rows: f1..fd then the label; sparse (compressed rows) when its
         * density is below the session's sparse threshold.
         */
        Iterator<Block> blocks(Integer split, Iterator<String> lines) {
            if (sparseThreshold > 0) {
                return sparseBlocks(first + split, lines);
            }
            int partition = first + split;
            DataIO.Doubles out = new DataIO.Doubles(partition);
            double[] row = new double[width + 1];
            boolean recorded = false;
            long local = -1;
            long kept = 0;
            while (lines.hasNext()) {
                String line = lines.next();
                local++;
                try {
                    if (parse(line, partition, local, row, null) < 0) {
                        continue;
                    }
                } catch (BadValue bad) {
                    recorded = DataIO.Drops.dropOrThrow(drops, rules.drop, bad, recorded);
                    continue;
                }
                if (!out.fits(row.length)) {
                    throw BadValue.fatal(partition, local, -1, null, "the dense rows of this split of the file hold more than "
                        + Integer.MAX_VALUE + " values, more than a block holds (" + width + " features a row)", file);
                }
                out.add(row);
                kept++;
            }
            return Collections.singletonList(new Block(partition, 0, new int[] {(int) kept, width + 1}, out.toArray()))
                .iterator();
        }

        private Iterator<Block> sparseBlocks(int partition, Iterator<String> lines) {
            CsrBuilder out = new CsrBuilder(partition);
            boolean recorded = false;
            long local = -1;
            while (lines.hasNext()) {
                String line = lines.next();
                local++;
                try {
                    if (parse(line, partition, local, null, out) >= 0) {
                        out.endRow();
                    }
                } catch (BadValue bad) {
                    out.dropRow();
                    recorded = DataIO.Drops.dropOrThrow(drops, rules.drop, bad, recorded);
                }
            }
            return Collections.singletonList(out.toBlock(width + 1, sparseThreshold)).iterator();
        }

        /**
         * Parses one line into {@code row} or {@code sparse} (when not null): returns its largest
         * index (0 for a label alone), or -1 for a blank or comment line; bad input throws a
         * {@link BadValue}. Into {@code sparse} the label comes last, after the features.
         */
        long parse(String line, int partition, long local, double[] row, CsrBuilder sparse) {
            int hash = line.indexOf('#');
            String body = (hash >= 0 ? line.substring(0, hash) : line).trim();
            if (body.isEmpty()) {
                return -1;
            }
            String[] t = SPACES.split(body);
            double label = parseNumber(t[0]);
            if (Double.isNaN(label) && !isNaNText(t[0])) {
                throw invalid(partition, local, "label", "'" + shorten(t[0]) + "' is not a number");
            }
            String problem = rules.problem(0, label);
            if (problem != null) {
                throw invalid(partition, local, "label", problem);
            }
            if (row != null) {
                Arrays.fill(row, 0.0);
                row[width] = label;
            }
            long last = 0;
            for (int i = 1; i < t.length; i++) {
                String pair = t[i];
                int colon = pair.indexOf(':');
                if (colon < 0) {
                    throw invalid(partition, local, null, "'" + shorten(pair) + "' is not index:value");
                }
                long index = index(pair.substring(0, colon));
                if (index == Long.MIN_VALUE) {
                    throw invalid(partition, local, null, "the index of '" + shorten(pair) + "' is not a whole number");
                }
                if (index < 1) {
                    throw invalid(partition, local, null, "index " + index + " in '" + shorten(pair)
                        + "': LIBSVM indices start at 1");
                }
                if (index > bound) {
                    throw BadValue.fatal(partition, local, -1, null, "index " + (index == Long.MAX_VALUE
                        ? pair.substring(0, colon) : Long.toString(index)) + " is past " + boundWhat, file);
                }
                if (rules.strict && index <= last) {
                    throw invalid(partition, local, null, index == last ? "index " + index + " appears twice"
                        : "index " + index + " comes after index " + last + "; indices must be strictly ascending");
                }
                String text = pair.substring(colon + 1);
                double v = parseNumber(text);
                if (Double.isNaN(v) && !isNaNText(text)) {
                    throw invalid(partition, local, "f" + index, "'" + shorten(text) + "' is not a number");
                }
                problem = rules.problem(Integer.MAX_VALUE, v);
                if (problem != null) {
                    throw invalid(partition, local, "f" + index, problem);
                }
                if (row != null) {
                    row[(int) index - 1] = v;
                } else if (sparse != null) {
                    sparse.add((int) index - 1, v);
                }
                last = Math.max(last, index);
            }
            if (sparse != null) {
                sparse.add(width, label);
            }
            return last;
        }

        /** A whole number (Long.MAX_VALUE when too large to hold), or Long.MIN_VALUE when it is not one. */
        private static long index(String s) {
            boolean negative = s.startsWith("-");
            String digits = negative || s.startsWith("+") ? s.substring(1) : s;
            if (digits.isEmpty()) {
                return Long.MIN_VALUE;
            }
            for (int i = 0; i < digits.length(); i++) {
                if (!Character.isDigit(digits.charAt(i)) || digits.charAt(i) > '9') {
                    return Long.MIN_VALUE;
                }
            }
            if (digits.length() > 18) {
                return negative ? -1 : Long.MAX_VALUE;
            }
            long v = Long.parseLong(digits);
            return negative ? -v : v;
        }

        private BadValue invalid(int partition, long local, String column, String detail) {
            return BadValue.invalid(partition, local, -1, column, detail, file, rules.hint);
        }
    }
}
