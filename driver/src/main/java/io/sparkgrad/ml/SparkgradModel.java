package io.sparkgrad.ml;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The model a {@link SparkgradEstimator} fits: a {@link Model} whose {@code transform} appends
 * the prediction column to the input rows (all of their columns kept), and for a classifier the
 * raw prediction (the scores; for a binary logit {@code z}, {@code [-z, z]} as MLlib's
 * LogisticRegression) and the probability of each class, so that MLlib's evaluators read it.
 * The rows are scored on the executors, a batch of rows per forward pass of the model function.
 * It is saved with {@code write().save(path)} (Spark ML's metadata, then the parameters as
 * Parquet) and loaded with {@link #load(String)}, also inside a {@code PipelineModel}.
 */
public final class SparkgradModel extends Model<SparkgradModel> implements MLWritable {
    private static final long serialVersionUID = 1L;
    private static final int BATCH_ROWS = 1024;

    private final String uid;
    private ModelFunction function;
    private int numFeatures;
    private int numClasses;
    private List<NDArray> params;
    private NDArray mean;
    private NDArray scale;
    private double[] objectiveHistory = new double[0];
    private int iterations;

    private final Param<String> featuresCol;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;
    private final Param<String> rawPredictionCol;
    private final Param<String> model;
    private final IntArrayParam hiddenLayers;

    SparkgradModel(String uid, ModelFunction function, int numFeatures, int numClasses, List<NDArray> params,
                   NDArray mean, NDArray scale, double[] objectiveHistory, int iterations) {
        this(uid);
        this.function = function;
        this.numFeatures = numFeatures;
        this.numClasses = numClasses;
        this.params = List.copyOf(params);
        this.mean = mean;
        this.scale = scale;
        this.objectiveHistory = objectiveHistory.clone();
        this.iterations = iterations;
    }

    private SparkgradModel(String uid) {
        this.uid = uid;
        featuresCol = new Param<>(this, "featuresCol", "features column name (a vector)");
        predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        probabilityCol = new Param<>(this, "probabilityCol", "column name of the class probabilities; empty: none");
        rawPredictionCol = new Param<>(this, "rawPredictionCol", "column name of the raw scores; empty: none");
        model = new Param<>(this, "model", "the model: a built-in name or the class name of a ModelFunction");
        hiddenLayers = new IntArrayParam(this, "hiddenLayers", "hidden layer widths of the mlp");
        setDefault(featuresCol, "features");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(model, "logistic");
        setDefault(hiddenLayers, new int[] {64, 32});
    }

    /** @return the model's unique id (its estimator's) */
    @Override
    public String uid() {
        return uid;
    }

    /** @return the param of the features column */
    public Param<String> featuresCol() { return featuresCol; }
    /** @return the param of the prediction column */
    public Param<String> predictionCol() { return predictionCol; }
    /** @return the param of the probability column */
    public Param<String> probabilityCol() { return probabilityCol; }
    /** @return the param of the raw prediction column */
    public Param<String> rawPredictionCol() { return rawPredictionCol; }
    /** @return the param of the model's name or class */
    public Param<String> model() { return model; }
    /** @return the param of the mlp's hidden layer widths */
    public IntArrayParam hiddenLayers() { return hiddenLayers; }

    /** @param value the features column @return this */
    public SparkgradModel setFeaturesCol(String value) { set(featuresCol, value); return this; }
    /** @param value the prediction column @return this */
    public SparkgradModel setPredictionCol(String value) { set(predictionCol, value); return this; }
    /** @param value the probability column (empty: none) @return this */
    public SparkgradModel setProbabilityCol(String value) { set(probabilityCol, value); return this; }
    /** @param value the raw prediction column (empty: none) @return this */
    public SparkgradModel setRawPredictionCol(String value) { set(rawPredictionCol, value); return this; }

    /** @return the features column */
    public String getFeaturesCol() { return $(featuresCol); }
    /** @return the prediction column */
    public String getPredictionCol() { return $(predictionCol); }

    /** @return the number of features the model takes */
    public int numFeatures() { return numFeatures; }

    /** @return the number of classes of a classifier, 0 for a regression */
    public int numClasses() { return numClasses; }

    /**
     * Returns the fitted parameters, for standardized features (see {@link #featureMean()}).
     *
     * @return copies of the parameters, in the model function's order
     */
    public List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>();
        for (NDArray p : params) {
            out.add(Np.array(p.shape(), p.toArray()));
        }
        return out;
    }

    /** @return the means subtracted from the features before the model sees them (zeros without standardization) */
    public NDArray featureMean() { return Np.array(mean.shape(), mean.toArray()); }

    /** @return the scales the centred features are divided by (ones without standardization) */
    public NDArray featureScale() { return Np.array(scale.shape(), scale.toArray()); }

    /** @return the objective where each iteration started (empty for a loaded model) */
    public double[] objectiveHistory() { return objectiveHistory.clone(); }

    /** @return the iterations the fit ran (0 for a loaded model) */
    public int iterations() { return iterations; }

    // ------------------------------------------------------------------ Transformer

    static StructType outputSchema(StructType schema, boolean classifier, String prediction, String probability,
                                   String raw) {
        StructType out = schema;
        List<String> added = new ArrayList<>();
        if (classifier && !raw.isEmpty()) {
            added.add(raw);
            out = out.add(raw, SQLDataTypes.VectorType(), false);
        }
        if (classifier && !probability.isEmpty()) {
            added.add(probability);
            out = out.add(probability, SQLDataTypes.VectorType(), false);
        }
        added.add(prediction);
        out = out.add(prediction, DataTypes.DoubleType, false);
        for (String c : added) {
            if (Arrays.asList(schema.fieldNames()).contains(c)) {
                throw new IllegalArgumentException("sparkgrad: the output column '" + c + "' already exists in "
                    + Arrays.toString(schema.fieldNames()));
            }
        }
        return out;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        SparkgradEstimator.requireColumn(schema, getFeaturesCol(), "features", true);
        return outputSchema(schema, function.isClassifier(), getPredictionCol(), $(probabilityCol), $(rawPredictionCol));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        Scorer scorer = new Scorer(function, numFeatures, params, mean, scale,
            dataset.schema().fieldIndex(getFeaturesCol()), function.isClassifier(),
            !$(rawPredictionCol).isEmpty(), !$(probabilityCol).isEmpty());
        return dataset.toDF().mapPartitions(scorer, Encoders.row(out));
    }

    /** Scores a partition's rows a batch at a time with local arrays; appends the outputs to each row. */
    private static final class Scorer implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final ModelFunction function;
        private final int features;
        private final long[][] shapes;
        private final double[][] values;
        private final double[] mean;
        private final double[] scale;
        private final int featuresIndex;
        private final boolean classifier;
        private final boolean raw;
        private final boolean probability;

        Scorer(ModelFunction function, int features, List<NDArray> params, NDArray mean, NDArray scale, int featuresIndex,
               boolean classifier, boolean raw, boolean probability) {
            this.function = function;
            this.features = features;
            this.shapes = new long[params.size()][];
            this.values = new double[params.size()][];
            for (int i = 0; i < params.size(); i++) {
                shapes[i] = params.get(i).shape();
                values[i] = params.get(i).toArray();
            }
            this.mean = mean.toArray();
            this.scale = scale.toArray();
            this.featuresIndex = featuresIndex;
            this.classifier = classifier;
            this.raw = raw;
            this.probability = probability;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            List<NDArray> p = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                p.add(Np.array(shapes[i], values[i]));
            }
            return new Iterator<>() {
                private final List<Row> batch = new ArrayList<>();
                private Iterator<Row> scored = java.util.Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    if (scored.hasNext()) {
                        return true;
                    }
                    batch.clear();
                    while (input.hasNext() && batch.size() < BATCH_ROWS) {
                        batch.add(input.next());
                    }
                    if (batch.isEmpty()) {
                        return false;
                    }
                    scored = score(batch, p).iterator();
                    return true;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return scored.next();
                }
            };
        }

        private List<Row> score(List<Row> rows, List<NDArray> p) {
            double[] x = new double[rows.size() * features];
            for (int r = 0; r < rows.size(); r++) {
                Vector v = rows.get(r).getAs(featuresIndex);
                if (v == null || v.size() != features) {
                    throw new IllegalArgumentException("sparkgrad: the model takes vectors of " + features
                        + " features, got " + (v == null ? "null" : "a vector of " + v.size()));
                }
                for (int j = 0; j < features; j++) {
                    x[r * features + j] = (v.apply(j) - mean[j]) / scale[j];
                }
            }
            NDArray out = function.forward(p, Np.array(new int[] {rows.size(), features}, x));
            List<Row> result = new ArrayList<>(rows.size());
            if (!classifier) {
                double[] pred = function.predict(out).toArray();
                for (int r = 0; r < rows.size(); r++) {
                    result.add(append(rows.get(r), pred[r]));
                }
                return result;
            }
            boolean binary = out.ndim() == 1;
            int k = binary ? 2 : Math.toIntExact(out.dim(1));
            double[] scores = out.toArray();
            double[] prob = binary ? out.sigmoid().toArray() : out.softmax(1).toArray();
            for (int r = 0; r < rows.size(); r++) {
                double[] rawRow;
                double[] probRow;
                double pred;
                if (binary) {
                    rawRow = new double[] {-scores[r], scores[r]};
                    probRow = new double[] {1 - prob[r], prob[r]};
                    pred = scores[r] > 0 ? 1 : 0;
                } else {
                    rawRow = Arrays.copyOfRange(scores, r * k, (r + 1) * k);
                    probRow = Arrays.copyOfRange(prob, r * k, (r + 1) * k);
                    int best = 0;
                    for (int c = 1; c < k; c++) {
                        if (rawRow[c] > rawRow[best]) {
                            best = c;
                        }
                    }
                    pred = best;
                }
                List<Object> extra = new ArrayList<>();
                if (raw) {
                    extra.add(Vectors.dense(rawRow));
                }
                if (probability) {
                    extra.add(Vectors.dense(probRow));
                }
                extra.add(pred);
                result.add(append(rows.get(r), extra.toArray()));
            }
            return result;
        }

        private static Row append(Row row, Object... extra) {
            Object[] v = new Object[row.length() + extra.length];
            for (int i = 0; i < row.length(); i++) {
                v[i] = row.get(i);
            }
            System.arraycopy(extra, 0, v, row.length(), extra.length);
            return RowFactory.create(v);
        }
    }

    @Override
    public SparkgradModel copy(ParamMap extra) {
        SparkgradModel m = new SparkgradModel(uid, function, numFeatures, numClasses, params, mean, scale,
            objectiveHistory, iterations);
        copyValues(m, extra);
        if (hasParent()) {
            m.setParent(parent());
        }
        return m;
    }

    // ------------------------------------------------------------------ persistence

    private static final StructType DATA = DataTypes.createStructType(new StructField[] {
        DataTypes.createStructField("numFeatures", DataTypes.IntegerType, false),
        DataTypes.createStructField("numClasses", DataTypes.IntegerType, false),
        DataTypes.createStructField("mean", DataTypes.createArrayType(DataTypes.DoubleType, false), false),
        DataTypes.createStructField("scale", DataTypes.createArrayType(DataTypes.DoubleType, false), false),
        DataTypes.createStructField("shapes", DataTypes.createArrayType(
            DataTypes.createArrayType(DataTypes.LongType, false), false), false),
        DataTypes.createStructField("values", DataTypes.createArrayType(
            DataTypes.createArrayType(DataTypes.DoubleType, false), false), false)});

    /** @return a writer that saves Spark ML's metadata (the params) and the parameters as Parquet */
    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    private static final class Writer extends MLWriter {
        private final SparkgradModel instance;

        Writer(SparkgradModel instance) {
            this.instance = instance;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter$.MODULE$.saveMetadata(instance, path, sparkSession());
            List<Object> shapes = new ArrayList<>();
            List<Object> values = new ArrayList<>();
            for (NDArray p : instance.params) {
                shapes.add(boxed(p.shape()));
                values.add(boxed(p.toArray()));
            }
            Row row = RowFactory.create(instance.numFeatures, instance.numClasses, boxed(instance.mean.toArray()),
                boxed(instance.scale.toArray()), shapes.toArray(), values.toArray());
            sparkSession().createDataFrame(List.of(row), DATA).repartition(1).write().parquet(path + "/data");
        }
    }

    private static Object[] boxed(double[] v) {
        return Arrays.stream(v).boxed().toArray();
    }

    private static Object[] boxed(long[] v) {
        return Arrays.stream(v).boxed().toArray();
    }

    /** @return a reader of saved models */
    public static MLReader<SparkgradModel> read() {
        return new Reader();
    }

    /**
     * Loads a model saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the model
     */
    public static SparkgradModel load(String path) {
        return read().load(path);
    }

    /** A nested array of a row is a Scala sequence, the outer one a Java list. */
    private static List<?> list(Object seq) {
        return seq instanceof List ? (List<?>) seq
            : scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<?>) seq);
    }

    private static double[] doubles(List<?> values) {
        return values.stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
    }

    private static final class Reader extends MLReader<SparkgradModel> {
        @Override
        public SparkgradModel load(String path) {
            DefaultParamsReader.Metadata metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(),
                SparkgradModel.class.getName());
            SparkgradModel m = new SparkgradModel(metadata.uid());
            metadata.getAndSetParams(m, Option.empty());
            Row row = sparkSession().read().parquet(path + "/data").first();
            m.numFeatures = row.getInt(0);
            m.numClasses = row.getInt(1);
            m.mean = Np.array(doubles(row.getList(2)));
            m.scale = Np.array(doubles(row.getList(3)));
            List<Object> shapes = row.getList(4);
            List<Object> values = row.getList(5);
            List<NDArray> params = new ArrayList<>();
            for (int i = 0; i < shapes.size(); i++) {
                long[] shape = list(shapes.get(i)).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
                params.add(Np.array(shape, doubles(list(values.get(i)))));
            }
            m.params = List.copyOf(params);
            m.function = Models.named(m.$(m.model), m.$(m.hiddenLayers));
            return m;
        }
    }
}
