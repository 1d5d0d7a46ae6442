package io.sparkgrad.jobs;

import io.sparkgrad.dist.DataReader;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rows a job trains on or scores: features {@code x} (n x d) and, when present, labels
 * {@code y} (n), distributed with the same row blocks. Read from Parquet, CSV with a header, or
 * LIBSVM text, or generated on the executors.
 */
final class TrainingData {
    final NDArray x;
    final NDArray y;
    final List<String> features;
    final String label;
    /** True when the labels passed the model's check while they were read. */
    final boolean labelsChecked;
    /** True when the features were read into sparse blocks (LIBSVM), which nothing may fill with values. */
    final boolean sparse;

    private TrainingData(NDArray x, NDArray y, List<String> features, String label, boolean labelsChecked) {
        this(x, y, features, label, labelsChecked, false);
    }

    private TrainingData(NDArray x, NDArray y, List<String> features, String label, boolean labelsChecked,
                         boolean sparse) {
        this.x = x;
        this.y = y;
        this.features = features;
        this.label = label;
        this.labelsChecked = labelsChecked;
        this.sparse = sparse;
    }

    /** The same rows, marked as read into sparse blocks. */
    private TrainingData asSparse() {
        return new TrainingData(x, y, features, label, labelsChecked, true);
    }

    /** Rows already in memory: features {@code x} (n, d) and labels {@code y} (n), with their names. */
    static TrainingData of(NDArray x, NDArray y, List<String> features, String label) {
        return new TrainingData(x, y, List.copyOf(features), label, false);
    }

    /** Declares the options that choose the data and how strictly it is read: a file, or synthetic rows. */
    static Options dataOptions(Options o, String syntheticRows, String syntheticCols) {
        return o.option("data", null, "Parquet file or folder, CSV with a header, or LIBSVM text; none: synthetic data")
            .option("format", null, "parquet | csv | libsvm (default: from the file name)")
            .option("label", "label", "label column")
            .option("features", null, "feature columns, comma-separated (default: every other numeric column)")
            .flag("drop-invalid", "skip the rows strict parsing refuses (a null or empty value, text that is not a number, "
                + "NaN, an infinity, a label the model cannot take, a malformed line), counting them (default: an error)")
            .flag("permissive", "parse as Spark's PERMISSIVE mode: a CSV line's extra fields dropped and missing ones "
                + "empty, LIBSVM indices in any order (a repeated index keeps its last value), Parquet page checksums "
                + "not verified")
            .option("rows", syntheticRows, "rows of synthetic data")
            .option("cols", syntheticCols, "columns of synthetic data")
            .option("classes", "3", "classes of synthetic data for softmax and mlp");
    }

    /**
     * How to read a file: strict or permissive, whether invalid rows are dropped, the check the
     * labels must pass (null: none) and where notes go (columns left out, rows dropped).
     */
    record Reading(boolean dropInvalid, boolean permissive, DataReader.ValueCheck labelCheck, String labelRequirement,
                   PrintStream notes, DType dtype) {
        static Reading of(Options o, DataReader.ValueCheck labelCheck, String labelRequirement, PrintStream notes) {
            return of(o, labelCheck, labelRequirement, notes, DType.FLOAT64);
        }

        /** As {@link #of(Options, DataReader.ValueCheck, String, PrintStream)}, the rows kept as {@code dtype} blocks. */
        static Reading of(Options o, DataReader.ValueCheck labelCheck, String labelRequirement, PrintStream notes,
                          DType dtype) {
            return new Reading(o.flag("drop-invalid"), o.flag("permissive"), labelCheck, labelRequirement, notes, dtype);
        }

        DataReader apply(DataReader r) {
            return r.dropInvalid(dropInvalid).permissive(permissive).dropHint("--drop-invalid skips such rows").dtype(dtype);
        }
    }

    /** Reads the data the options name (as {@link #dataOptions} declared them). */
    static TrainingData from(String command, Options o, String kind, long seed, Reading how) {
        return o.has("data")
            ? read(command, o.string("data"), o.string("format"), o.required("label"), o.list("features"), how)
            : synthetic(kind, o.positiveInt("rows"), o.positiveInt("cols"), o.positiveInt("classes"), seed, how.dtype());
    }

    long rows() {
        return x.dim(0);
    }

    /** How a path is read: by its {@code format} when given, else by its extension. */
    static String formatOf(String command, String path, String format) {
        if (format != null) {
            if (!List.of("parquet", "csv", "libsvm").contains(format)) {
                throw new JobError(command + ": --format must be one of parquet, csv, libsvm, got '" + format + "'");
            }
            return format;
        }
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".csv")) {
            return "csv";
        }
        if (p.endsWith(".libsvm") || p.endsWith(".svm") || p.endsWith(".txt")) {
            return "libsvm";
        }
        return "parquet";
    }

    private static void checkExists(String command, String path) {
        if (!path.contains("://") && !path.matches(".*[*?\\[\\]{}].*") && !new File(path).exists()) {
            throw new JobError(command + ": no file or directory at " + path);
        }
    }

    /**
     * Reads {@code path}: the {@code features} columns (empty: every numeric column but the label)
     * and, when {@code label} is not null, the label column.
     */
    static TrainingData read(String command, String path, String format, String label, List<String> features,
                             Reading how) {
        checkExists(command, path);
        String fmt = formatOf(command, path, format);
        SpillReport.attach();
        try {
            if (fmt.equals("libsvm")) {
                if (!features.isEmpty()) {
                    throw new JobError(command + ": LIBSVM rows have the features f1..fd by index; --features applies to "
                        + "CSV and Parquet columns");
                }
                if (label != null && !label.equals("label")) {
                    throw new JobError(command + ": a LIBSVM row's label is its first value; --label applies to CSV and "
                        + "Parquet columns");
                }
                return libsvm(command, path, label != null, 0, null, how);
            }
            List<String> cols = new ArrayList<>(features.isEmpty() ? defaultFeatures(command, path, fmt, label, how) : features);
            if (cols.isEmpty()) {
                throw new JobError(command + ": " + path + " has no numeric feature columns besides the label '" + label + "'");
            }
            if (label != null && cols.contains(label)) {
                throw new JobError(command + ": the label column '" + label + "' is also listed as a feature");
            }
            return columns(command, path, fmt, cols, label, how);
        } catch (IllegalArgumentException e) {
            throw userError(command, e);
        }
    }

    /** Reads the data a saved model scores: its feature columns, checked against what the data has. */
    static TrainingData forModel(String command, String path, String format, ModelFile model, Reading how) {
        checkExists(command, path);
        String fmt = formatOf(command, path, format);
        SpillReport.attach();
        List<String> want = model.features;
        try {
            if (fmt.equals("libsvm")) {
                for (int j = 0; j < want.size(); j++) {
                    if (!want.get(j).equals("f" + (j + 1))) {
                        throw new JobError(command + ": the model was trained on the columns " + list(want) + ", and LIBSVM "
                            + "rows have the features f1..fd by index: score data that has the model's columns");
                    }
                }
                return libsvm(command, path, false, want.size(), "the model's " + want.size() + " features (f1..f"
                    + want.size() + ")", how);
            }
            List<String> have = allColumns(path, fmt);
            List<String> missing = new ArrayList<>();
            for (String f : want) {
                if (have.stream().noneMatch(h -> h.equalsIgnoreCase(f))) {
                    missing.add(f);
                }
            }
            if (!missing.isEmpty()) {
                throw new JobError(command + ": " + path + " lacks " + (missing.size() == 1 ? "the feature " : "the features ")
                    + list(missing) + " of the model (trained on " + list(want) + "; the data has " + list(have) + ")");
            }
            List<String> unused = new ArrayList<>();
            for (String h : have) {
                if (want.stream().noneMatch(h::equalsIgnoreCase) && !h.equalsIgnoreCase(String.valueOf(model.label))) {
                    unused.add(h);
                }
            }
            if (!unused.isEmpty()) {
                how.notes().println(command + ": not scoring with " + (unused.size() == 1 ? "the column " : "the columns ")
                    + list(unused) + " of " + path + ": the model was trained on " + list(want));
            }
            return columns(command, path, fmt, want, null, how);
        } catch (IllegalArgumentException e) {
            throw userError(command, e);
        }
    }

    private static JobError userError(String command, IllegalArgumentException e) {
        return new JobError(command + ": " + e.getMessage(), e);
    }

    private static String list(List<String> names) {
        return names.size() <= 12 ? String.join(", ", names)
            : String.join(", ", names.subList(0, 10)) + ", ... (" + names.size() + " in all)";
    }

    private static TrainingData columns(String command, String path, String fmt, List<String> cols, String label,
                                        Reading how) {
        List<String> all = new ArrayList<>(cols);
        if (label != null) {
            all.add(label);
        }
        DataReader r = how.apply(fmt.equals("csv") ? DataReader.csv(path) : DataReader.parquet(path))
            .columns(all.toArray(new String[0]));
        if (label != null && how.labelCheck() != null) {
            r.check(label, how.labelCheck(), how.labelRequirement());
        }
        DataReader.Result result = r.read();
        noteDropped(command, result, how);
        return split(result.array(), List.copyOf(cols), label, how.labelCheck() != null);
    }

    private static void noteDropped(String command, DataReader.Result result, Reading how) {
        if (result.droppedRows() > 0) {
            long kept = result.array().dim(0);
            how.notes().printf("%s: dropped %d invalid row%s of %d (--drop-invalid); the first: %s%n", command,
                result.droppedRows(), result.droppedRows() == 1 ? "" : "s", kept + result.droppedRows(), result.firstDropped());
        }
    }

    private static TrainingData split(NDArray data, List<String> features, String label, boolean checked) {
        int d = features.size();
        NDArray x = data.slice(1, 0, d);
        NDArray y = label == null ? null : data.slice(1, d, d + 1).reshape(-1);
        return new TrainingData(x, y, features, label, checked);
    }

    /**
     * Every numeric column but the label, in file order; for Parquet the columns left out (text,
     * vectors, ...) are named in a note. CSV columns are text until parsed, so all are features.
     */
    private static List<String> defaultFeatures(String command, String path, String fmt, String label, Reading how) {
        List<String> out = new ArrayList<>();
        if (fmt.equals("csv")) {
            for (String c : allColumns(path, fmt)) {
                if (!c.equals(label)) {
                    out.add(c);
                }
            }
            return out;
        }
        List<String> skipped = new ArrayList<>();
        for (StructField f : schema(path, fmt).fields()) {
            if (f.name().equals(label)) {
                continue;
            }
            if (f.dataType() instanceof NumericType) {
                out.add(f.name());
            } else {
                skipped.add("'" + f.name() + "' (" + f.dataType().simpleString() + ")");
            }
        }
        if (!skipped.isEmpty()) {
            how.notes().println(command + ": leaving out the non-numeric " + (skipped.size() == 1 ? "column " : "columns ")
                + list(skipped) + " of " + path + "; --features names the columns to use");
        }
        return out;
    }

    /** The column names of a CSV header or a Parquet schema. */
    private static List<String> allColumns(String path, String fmt) {
        return List.of(schema(path, fmt).fieldNames());
    }

    private static StructType schema(String path, String fmt) {
        return (fmt.equals("csv") ? DataReader.csv(path) : DataReader.parquet(path)).schema();
    }

    /**
     * Reads LIBSVM text ({@code label index:value ...}, indices from 1) as columns
     * {@code f1..fd} and {@code label}, in sparse blocks ({@link Dist#sparseThreshold()}): d the largest index, or {@code numFeatures} when positive
     * (an index past it fails naming {@code source}).
     */
    private static TrainingData libsvm(String command, String path, boolean withLabel, int numFeatures, String source,
                                       Reading how) {
        DataReader r = how.apply(DataReader.libsvm(path));
        if (numFeatures > 0) {
            r.numFeatures(numFeatures, source);
        }
        if (withLabel && how.labelCheck() != null) {
            r.check("label", how.labelCheck(), how.labelRequirement());
        }
        DataReader.Result result = r.read();
        noteDropped(command, result, how);
        List<String> cols = result.columns();
        TrainingData data = split(result.array(), cols.subList(0, cols.size() - 1), withLabel ? "label" : null,
            how.labelCheck() != null);
        return Dist.sparseThreshold() > 0 ? data.asSparse() : data; // sparse blocks below the threshold
    }

    /**
     * Generates {@code rows} x {@code cols} normal features on the executors, with labels of a
     * known model of the given kind ({@code classes} classes for softmax and MLP).
     */
    static TrainingData synthetic(String kind, int rows, int cols, int classes, long seed) {
        return synthetic(kind, rows, cols, classes, seed, DType.FLOAT64);
    }

    /** {@link #synthetic(String, int, int, int, long)} cached as {@code dtype} blocks (float32: the rows rounded to float). */
    static TrainingData synthetic(String kind, int rows, int cols, int classes, long seed, DType dtype) {
        if (dtype != DType.FLOAT64) {
            TrainingData wide = synthetic(kind, rows, cols, classes, seed);
            NDArray x = Dist.cache(wide.x.astype(dtype));
            NDArray y = Dist.cache(wide.y.astype(dtype));
            ((DistArray) wide.x).rdd().unpersist(false);
            ((DistArray) wide.y).rdd().unpersist(false);
            return new TrainingData(x, y, wide.features, wide.label, false);
        }
        SpillReport.attach();
        int blockRows = Dist.defaultBlockRows(cols);
        NDArray x = Dist.cache(Dist.randomNormal(seed, blockRows, rows, cols));
        NDArray noise = Dist.randomNormal(seed + 1, blockRows, rows);
        Np.seed(seed);
        NDArray y;
        switch (kind) {
            case "linear":
                y = x.matmul(Np.randomNormal(0, 1, cols)).add(noise.mul(0.1));
                break;
            case "logistic":
                y = x.matmul(Np.randomNormal(0, 2.0 / Math.sqrt(cols), cols)).add(noise.mul(0.5)).gt(0);
                break;
            default:
                y = Model.argmax(x.matmul(Np.randomNormal(0, 1, cols, classes)), classes);
                break;
        }
        List<String> names = new ArrayList<>();
        for (int j = 0; j < cols; j++) {
            names.add("f" + j);
        }
        return new TrainingData(x, Dist.cache(y), names, "label", false);
    }

    /**
     * Returns the first row whose label fails {@code ok}, as {@code [row, label]}, or null; one
     * Spark job that stops at the first block with such a label.
     */
    static double[] firstBadLabel(NDArray y, LabelCheck ok) {
        if (!(y instanceof DistArray)) {
            double[] v = y.toArray();
            for (int i = 0; i < v.length; i++) {
                if (!ok.test(v[i])) {
                    return new double[] {i, v[i]};
                }
            }
            return null;
        }
        JavaRDD<Block> blocks = ((DistArray) y).rdd();
        List<double[]> bad = blocks.flatMap(b -> {
            double[] v = b.dataRef();
            for (int i = 0; i < v.length; i++) {
                if (!ok.test(v[i])) {
                    return List.of(new double[] {b.rowStart() + i, v[i]}).iterator();
                }
            }
            return java.util.Collections.<double[]>emptyIterator();
        }).take(1);
        return bad.isEmpty() ? null : bad.get(0);
    }

    /** A test of one label value that can run on the executors. */
    interface LabelCheck extends java.io.Serializable {
        boolean test(double label);
    }
}
