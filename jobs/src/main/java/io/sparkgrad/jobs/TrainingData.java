package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.worker.Block;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;

import java.io.File;
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

    private TrainingData(NDArray x, NDArray y, List<String> features, String label) {
        this.x = x;
        this.y = y;
        this.features = List.copyOf(features);
        this.label = label;
    }

    /** Rows already in memory: features {@code x} (n, d) and labels {@code y} (n), with their names. */
    static TrainingData of(NDArray x, NDArray y, List<String> features, String label) {
        return new TrainingData(x, y, features, label);
    }

    /** Declares the options that choose the data: a file, or synthetic rows. */
    static Options dataOptions(Options o, String syntheticRows, String syntheticCols) {
        return o.option("data", null, "Parquet file or folder, CSV with a header, or LIBSVM text; none: synthetic data")
            .option("format", null, "parquet | csv | libsvm (default: from the file name)")
            .option("label", "label", "label column")
            .option("features", null, "feature columns, comma-separated (default: every other numeric column)")
            .option("rows", syntheticRows, "rows of synthetic data")
            .option("cols", syntheticCols, "columns of synthetic data")
            .option("classes", "3", "classes of synthetic data for softmax and mlp");
    }

    /** Reads the data the options name (as {@link #dataOptions} declared them). */
    static TrainingData from(String command, Options o, String kind, long seed) {
        return o.has("data")
            ? read(command, o.string("data"), o.string("format"), o.required("label"), o.list("features"))
            : synthetic(kind, o.positiveInt("rows"), o.positiveInt("cols"), o.positiveInt("classes"), seed);
    }

    long rows() {
        return x.dim(0);
    }

    /** How a path is read: by its {@code format} when given, else by its extension. */
    static String formatOf(String path, String format) {
        if (format != null) {
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

    /**
     * Reads {@code path}: the {@code features} columns (empty: every numeric column but the label)
     * and, when {@code label} is not null, the label column.
     */
    static TrainingData read(String command, String path, String format, String label, List<String> features) {
        if (!path.contains("://") && !new File(path).exists()) {
            throw new JobError(command + ": no file or directory at " + path);
        }
        String fmt = formatOf(path, format);
        try {
            if (fmt.equals("libsvm")) {
                return libsvm(command, path, label != null);
            }
            List<String> cols = new ArrayList<>(features.isEmpty() ? numericColumns(path, fmt, label) : features);
            if (cols.isEmpty()) {
                throw new JobError(command + ": " + path + " has no numeric feature columns besides the label '" + label + "'");
            }
            List<String> all = new ArrayList<>(cols);
            if (label != null) {
                if (cols.contains(label)) {
                    throw new JobError(command + ": the label column '" + label + "' is also listed as a feature");
                }
                all.add(label);
            }
            String[] names = all.toArray(new String[0]);
            DistArray data = fmt.equals("csv") ? Dist.readCsv(path, names) : Dist.readParquet(path, names);
            return split(data, cols, label);
        } catch (IllegalArgumentException e) {
            throw new JobError(e.getMessage(), e); // sparkgrad's IO errors name the file, column and row
        }
    }

    private static TrainingData split(NDArray data, List<String> features, String label) {
        int d = features.size();
        NDArray x = data.slice(1, 0, d);
        NDArray y = label == null ? null : data.slice(1, d, d + 1).reshape(-1);
        return new TrainingData(x, y, features, label);
    }

    /** The numeric columns of a Parquet or CSV source, without the label, in file order. */
    private static List<String> numericColumns(String path, String fmt, String label) {
        SparkSession spark = Dist.session();
        List<String> out = new ArrayList<>();
        if (fmt.equals("csv")) {
            // CSV columns are text until parsed: every column but the label is a feature
            for (String c : spark.read().option("header", "true").csv(path).columns()) {
                if (!c.equals(label)) {
                    out.add(c);
                }
            }
            return out;
        }
        for (StructField f : spark.read().parquet(path).schema().fields()) {
            if (f.dataType() instanceof NumericType && !f.name().equals(label)) {
                out.add(f.name());
            }
        }
        return out;
    }

    /**
     * Reads LIBSVM text ({@code label index:value ...}, indices from 1): one job finds the
     * number of features, then the rows become dense columns {@code f1..fd} and {@code label}.
     */
    private static TrainingData libsvm(String command, String path, boolean withLabel) {
        SparkSession spark = Dist.session();
        JavaRDD<String> lines = spark.read().textFile(path).javaRDD()
            .filter(l -> !l.isBlank() && !l.trim().startsWith("#"));
        int d = lines.map(l -> maxIndex(l, path)).fold(0, Math::max);
        if (d == 0) {
            throw new JobError(command + ": " + path + " has no LIBSVM rows with features");
        }
        JavaRDD<Row> rows = lines.map(l -> parseLibsvm(l, d, path));
        List<StructField> fields = new ArrayList<>();
        List<String> features = new ArrayList<>();
        for (int j = 1; j <= d; j++) {
            features.add("f" + j);
            fields.add(DataTypes.createStructField("f" + j, DataTypes.DoubleType, false));
        }
        fields.add(DataTypes.createStructField("label", DataTypes.DoubleType, false));
        Dataset<Row> df = spark.createDataFrame(rows, DataTypes.createStructType(fields));
        List<String> cols = new ArrayList<>(features);
        if (withLabel) {
            cols.add("label");
        }
        DistArray data = Dist.fromDataFrame(df, cols.toArray(new String[0]));
        return split(data, features, withLabel ? "label" : null);
    }

    private static int maxIndex(String line, String path) {
        String[] t = line.trim().split("\\s+");
        int max = 0;
        for (int i = 1; i < t.length; i++) {
            int colon = t[i].indexOf(':');
            try {
                int idx = Integer.parseInt(t[i].substring(0, colon));
                Double.parseDouble(t[i].substring(colon + 1));
                if (idx < 1) {
                    throw new NumberFormatException();
                }
                max = Math.max(max, idx);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("train: " + path + ": '" + t[i] + "' is not index:value (indices from 1)"
                    + " in the line '" + line + "'");
            }
        }
        return max;
    }

    private static Row parseLibsvm(String line, int d, String path) {
        String[] t = line.trim().split("\\s+");
        Object[] values = new Object[d + 1];
        for (int j = 0; j < d; j++) {
            values[j] = 0.0;
        }
        try {
            values[d] = Double.parseDouble(t[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("train: " + path + ": label '" + t[0] + "' is not a number in the line '"
                + line + "'");
        }
        for (int i = 1; i < t.length; i++) {
            int colon = t[i].indexOf(':');
            values[Integer.parseInt(t[i].substring(0, colon)) - 1] = Double.parseDouble(t[i].substring(colon + 1));
        }
        return RowFactory.create(values);
    }

    /**
     * Generates {@code rows} x {@code cols} normal features on the executors, with labels of a
     * known model of the given kind ({@code classes} classes for softmax and MLP).
     */
    static TrainingData synthetic(String kind, int rows, int cols, int classes, long seed) {
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
        return new TrainingData(x, Dist.cache(y), names, "label");
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
