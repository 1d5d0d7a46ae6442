package io.sparkgrad.ml;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.optim.Lbfgs;
import io.sparkgrad.optim.Objective;
import io.sparkgrad.optim.Optimizer;
import io.sparkgrad.optim.Sgd;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Spark ML {@link Estimator} that fits a model written with sparkgrad's autograd on the rows of
 * a DataFrame, distributed: each evaluation of the loss and its gradients is one Spark job over the
 * cached rows. It goes into a {@code Pipeline}, a {@code CrossValidator} and
 * {@code PipelineModel.save/load} like MLlib's own estimators.
 *
 * <pre>{@code
 * Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
 *     new VectorAssembler().setInputCols(columns).setOutputCol("features"),
 *     new SparkgradEstimator().setModel("mlp").setHiddenLayers(16).setMaxIter(200).setRegParam(1e-3)});
 * PipelineModel fitted = pipeline.fit(train);
 * fitted.transform(test).select("prediction", "probability").show();
 * }</pre>
 *
 * <p>The objective is {@code mean(rowLoss)} (weighted by {@code weightCol} when set) plus
 * {@code regParam * (elasticNetParam * |w|_1 + (1 - elasticNetParam) / 2 * |w|^2)} over the
 * penalised parameters, MLlib's form. With {@code standardization} (the default, as MLlib) the
 * model sees each feature centred and divided by its (sample) standard deviation, so the penalty is on the
 * weights of standardised features, as in MLlib; the model keeps the means and scales and applies
 * them when it transforms. An L1 part needs {@code lbfgs} (then OWL-QN) or {@code sgd} (proximal).
 */
public final class SparkgradEstimator extends Estimator<SparkgradModel> implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private transient ModelFunction function; // user code given as an instance, or null

    private final Param<String> featuresCol;
    private final Param<String> labelCol;
    private final Param<String> weightCol;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;
    private final Param<String> rawPredictionCol;
    private final IntParam maxIter;
    private final DoubleParam tol;
    private final DoubleParam regParam;
    private final DoubleParam elasticNetParam;
    private final Param<String> optimizer;
    private final DoubleParam stepSize;
    private final LongParam seed;
    private final Param<String> model;
    private final IntArrayParam hiddenLayers;
    private final BooleanParam standardization;

    /** Makes an estimator with a random uid. */
    public SparkgradEstimator() {
        this(Identifiable$.MODULE$.randomUID("sparkgrad"));
    }

    /**
     * Makes an estimator with the given uid (Spark ML's persistence and copies use this).
     *
     * @param uid the estimator's unique id
     */
    public SparkgradEstimator(String uid) {
        this.uid = uid;
        featuresCol = new Param<>(this, "featuresCol", "features column name (a vector)");
        labelCol = new Param<>(this, "labelCol", "label column name (numeric; classes 0, 1, ... for a classifier)");
        weightCol = new Param<>(this, "weightCol", "weight column name; empty: every row weighs 1");
        predictionCol = new Param<>(this, "predictionCol", "prediction column name");
        probabilityCol = new Param<>(this, "probabilityCol", "column name of the class probabilities (classifiers); "
            + "empty: none");
        rawPredictionCol = new Param<>(this, "rawPredictionCol", "column name of the raw scores (classifiers); empty: none");
        maxIter = new IntParam(this, "maxIter", "maximum number of iterations (>= 1)", ParamValidators.gtEq(1));
        tol = new DoubleParam(this, "tol", "convergence tolerance: the gradient norm, or the relative change of the "
            + "loss between iterations (>= 0)", ParamValidators.gtEq(0));
        regParam = new DoubleParam(this, "regParam", "regularization parameter (>= 0)", ParamValidators.gtEq(0));
        elasticNetParam = new DoubleParam(this, "elasticNetParam", "the L1 share of the penalty, in [0, 1]: 0 is L2, 1 is L1",
            ParamValidators.inRange(0, 1));
        optimizer = new Param<>(this, "optimizer", "the optimizer: lbfgs, sgd, momentum or adam",
            ParamValidators.inArray(new String[] {"lbfgs", "sgd", "momentum", "adam"}));
        stepSize = new DoubleParam(this, "stepSize", "learning rate of sgd, momentum and adam (> 0)", ParamValidators.gt(0));
        seed = new LongParam(this, "seed", "random seed (initial weights of the mlp)");
        model = new Param<>(this, "model", "the model: linear, logistic, softmax, poisson, mlp, or the class name of a "
            + ModelFunction.class.getSimpleName() + " with a public constructor without arguments");
        hiddenLayers = new IntArrayParam(this, "hiddenLayers", "hidden layer widths of the mlp");
        standardization = new BooleanParam(this, "standardization", "whether to standardize the features before fitting");
        setDefault(featuresCol, "features");
        setDefault(labelCol, "label");
        setDefault(weightCol, "");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
        setDefault(rawPredictionCol, "rawPrediction");
        setDefault(maxIter, 100);
        setDefault(tol, 1e-6);
        setDefault(regParam, 0.0);
        setDefault(elasticNetParam, 0.0);
        setDefault(optimizer, "lbfgs");
        setDefault(stepSize, 0.1);
        setDefault(seed, (long) SparkgradEstimator.class.getName().hashCode());
        setDefault(model, "logistic");
        setDefault(hiddenLayers, new int[] {64, 32});
        setDefault(standardization, true);
    }

    /** @return the estimator's unique id */
    @Override
    public String uid() {
        return uid;
    }

    // ------------------------------------------------------------------ params (Spark ML finds them by these methods)

    /** @return the param of the features column */
    public Param<String> featuresCol() { return featuresCol; }
    /** @return the param of the label column */
    public Param<String> labelCol() { return labelCol; }
    /** @return the param of the weight column */
    public Param<String> weightCol() { return weightCol; }
    /** @return the param of the prediction column */
    public Param<String> predictionCol() { return predictionCol; }
    /** @return the param of the probability column */
    public Param<String> probabilityCol() { return probabilityCol; }
    /** @return the param of the raw prediction column */
    public Param<String> rawPredictionCol() { return rawPredictionCol; }
    /** @return the param of the maximum number of iterations */
    public IntParam maxIter() { return maxIter; }
    /** @return the param of the convergence tolerance */
    public DoubleParam tol() { return tol; }
    /** @return the param of the regularization strength */
    public DoubleParam regParam() { return regParam; }
    /** @return the param of the L1 share of the penalty */
    public DoubleParam elasticNetParam() { return elasticNetParam; }
    /** @return the param of the optimizer's name */
    public Param<String> optimizer() { return optimizer; }
    /** @return the param of the learning rate */
    public DoubleParam stepSize() { return stepSize; }
    /** @return the param of the random seed */
    public LongParam seed() { return seed; }
    /** @return the param of the model's name or class */
    public Param<String> model() { return model; }
    /** @return the param of the mlp's hidden layer widths */
    public IntArrayParam hiddenLayers() { return hiddenLayers; }
    /** @return the param of standardization */
    public BooleanParam standardization() { return standardization; }

    /** @param value the features column @return this */
    public SparkgradEstimator setFeaturesCol(String value) { set(featuresCol, value); return this; }
    /** @param value the label column @return this */
    public SparkgradEstimator setLabelCol(String value) { set(labelCol, value); return this; }
    /** @param value the weight column (empty: none) @return this */
    public SparkgradEstimator setWeightCol(String value) { set(weightCol, value); return this; }
    /** @param value the prediction column @return this */
    public SparkgradEstimator setPredictionCol(String value) { set(predictionCol, value); return this; }
    /** @param value the probability column (empty: none) @return this */
    public SparkgradEstimator setProbabilityCol(String value) { set(probabilityCol, value); return this; }
    /** @param value the raw prediction column (empty: none) @return this */
    public SparkgradEstimator setRawPredictionCol(String value) { set(rawPredictionCol, value); return this; }
    /** @param value the maximum number of iterations, at least 1 @return this */
    public SparkgradEstimator setMaxIter(int value) { set(maxIter, value); return this; }
    /** @param value the convergence tolerance, 0 or more @return this */
    public SparkgradEstimator setTol(double value) { set(tol, value); return this; }
    /** @param value the regularization strength, 0 or more @return this */
    public SparkgradEstimator setRegParam(double value) { set(regParam, value); return this; }
    /** @param value the L1 share of the penalty, in [0, 1] @return this */
    public SparkgradEstimator setElasticNetParam(double value) { set(elasticNetParam, value); return this; }
    /** @param value lbfgs, sgd, momentum or adam @return this */
    public SparkgradEstimator setOptimizer(String value) { set(optimizer, value); return this; }
    /** @param value the learning rate of sgd, momentum and adam @return this */
    public SparkgradEstimator setStepSize(double value) { set(stepSize, value); return this; }
    /** @param value the random seed @return this */
    public SparkgradEstimator setSeed(long value) { set(seed, value); return this; }
    /** @param value whether to standardize the features @return this */
    public SparkgradEstimator setStandardization(boolean value) { set(standardization, value); return this; }
    /** @param widths the mlp's hidden layer widths @return this */
    public SparkgradEstimator setHiddenLayers(int... widths) { set(hiddenLayers, widths.clone()); return this; }

    /**
     * Sets the model by name ({@link Models#NAMES}) or by the class name of a {@link ModelFunction}
     * with a public constructor without arguments.
     *
     * @param value the name
     * @return this
     */
    public SparkgradEstimator setModel(String value) {
        function = null;
        set(model, value);
        return this;
    }

    /**
     * Sets the model to user code; the param {@code model} holds its class name, which
     * {@link SparkgradModel#load} instantiates again.
     *
     * @param value the model function
     * @return this
     */
    public SparkgradEstimator setModel(ModelFunction value) {
        function = value;
        set(model, value.getClass().getName());
        return this;
    }

    /** @return the features column */
    public String getFeaturesCol() { return $(featuresCol); }
    /** @return the label column */
    public String getLabelCol() { return $(labelCol); }
    /** @return the weight column, empty for none */
    public String getWeightCol() { return $(weightCol); }
    /** @return the prediction column */
    public String getPredictionCol() { return $(predictionCol); }
    /** @return the maximum number of iterations */
    public int getMaxIter() { return (Integer) $(maxIter); }
    /** @return the convergence tolerance */
    public double getTol() { return (Double) $(tol); }
    /** @return the regularization strength */
    public double getRegParam() { return (Double) $(regParam); }
    /** @return the L1 share of the penalty */
    public double getElasticNetParam() { return (Double) $(elasticNetParam); }
    /** @return the optimizer's name */
    public String getOptimizer() { return $(optimizer); }
    /** @return the learning rate */
    public double getStepSize() { return (Double) $(stepSize); }
    /** @return the random seed */
    public long getSeed() { return (Long) $(seed); }
    /** @return the model's name or class name */
    public String getModel() { return $(model); }
    /** @return the mlp's hidden layer widths */
    public int[] getHiddenLayers() { return $(hiddenLayers).clone(); }
    /** @return whether the features are standardized */
    public boolean getStandardization() { return (Boolean) $(standardization); }

    /** The model function the params name (or the instance given to {@link #setModel(ModelFunction)}). */
    ModelFunction function() {
        return function != null && function.getClass().getName().equals(getModel()) ? function
            : Models.named(getModel(), getHiddenLayers());
    }

    // ------------------------------------------------------------------ Estimator

    @Override
    public StructType transformSchema(StructType schema) {
        requireColumn(schema, getFeaturesCol(), "features", true);
        requireColumn(schema, getLabelCol(), "label", false);
        if (!getWeightCol().isEmpty()) {
            requireColumn(schema, getWeightCol(), "weight", false);
        }
        return SparkgradModel.outputSchema(schema, function().isClassifier(), getPredictionCol(), $(probabilityCol),
            $(rawPredictionCol));
    }

    static void requireColumn(StructType schema, String name, String role, boolean vector) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("sparkgrad: the " + role + " column '" + name + "' is not among the columns "
                + Arrays.toString(schema.fieldNames()));
        }
        DataType t = schema.apply(name).dataType();
        boolean ok = vector ? t.equals(SQLDataTypes.VectorType()) : t instanceof NumericType;
        if (!ok) {
            throw new IllegalArgumentException("sparkgrad: the " + role + " column '" + name + "' must be "
                + (vector ? "a vector (VectorAssembler makes one)" : "numeric") + ", got " + t.simpleString());
        }
    }

    @Override
    public SparkgradModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        ModelFunction fn = function();
        if (getElasticNetParam() > 0 && getRegParam() > 0
            && !(getOptimizer().equals("lbfgs") || getOptimizer().equals("sgd"))) {
            throw new IllegalArgumentException("sparkgrad: an L1 penalty (elasticNetParam " + getElasticNetParam()
                + ") needs optimizer lbfgs (OWL-QN) or sgd (proximal), not " + getOptimizer());
        }
        Dist.use(dataset.sparkSession());

        // features, label and weight in one read of the DataFrame, into cached blocks
        List<String> inputs = new ArrayList<>(List.of(getFeaturesCol(), getLabelCol()));
        boolean weighted = !getWeightCol().isEmpty();
        if (weighted) {
            inputs.add(getWeightCol());
        }
        DistArray rows = Dist.fromDataFrame(dataset.toDF(), inputs.toArray(new String[0]));
        int d = Math.toIntExact(rows.dim(1)) - (weighted ? 2 : 1);
        NDArray x = rows.slice(1, 0, d);
        NDArray y = rows.slice(1, d, d + 1).reshape(-1);
        NDArray w = weighted ? rows.slice(1, d + 1, d + 2).reshape(-1) : null;
        int classes = fn.isClassifier() ? classes(y) : 0;
        double weightSum = weighted ? checkWeights(w) : rows.dim(0);

        NDArray mean;
        NDArray scale;
        if (getStandardization()) {
            // MLlib's summary statistics: the (weighted) mean, and the unbiased variance
            // sum w (x - mean)^2 / (W - sum w^2 / W), which is sum (x - mean)^2 / (n - 1) for unit weights
            double denominator;
            NDArray m2;
            if (w == null) {
                mean = x.mean(0);
                m2 = x.sub(mean).square().sum(0, false);
                denominator = rows.dim(0) - 1;
            } else {
                NDArray wc = w.reshape(-1, 1);
                mean = x.mul(wc).sum(0, false).div(weightSum);
                m2 = x.sub(mean).square().mul(wc).sum(0, false);
                denominator = weightSum - w.square().sum().item() / weightSum;
            }
            NDArray std = m2.div(denominator > 0 ? denominator : 1).sqrt();
            scale = Np.where(std.gt(0), std, 1.0); // a constant column is left as it is
            mean = Np.array(mean.shape(), mean.toArray());
            scale = Np.array(scale.shape(), scale.toArray());
        } else {
            mean = Np.zeros(d);
            scale = Np.ones(d);
        }
        NDArray xs = getStandardization() ? x.sub(mean).div(scale) : x;

        List<NDArray> params = new ArrayList<>(fn.init(d, classes, getSeed()));
        double l2 = getRegParam() * (1 - getElasticNetParam());
        double l1 = getRegParam() * getElasticNetParam();
        int[] penalised = penalised(fn, params.size());
        Objective objective = Objective.of(params, () -> {
            NDArray perRow = fn.rowLoss(fn.forward(params, xs), y);
            NDArray loss = w == null ? perRow.mean() : perRow.mul(w).sum().div(weightSum);
            if (l2 > 0) {
                NDArray sq = Np.scalar(0);
                for (int i : penalised) {
                    sq = sq.add(params.get(i).square().sum());
                }
                loss = loss.add(sq.mul(l2 / 2));
            }
            return loss;
        });
        Optimizer opt = Optimizer.of(getOptimizer(), getStepSize());
        if (l1 > 0 && penalised.length > 0) {
            if (opt instanceof Lbfgs) {
                ((Lbfgs) opt).setL1(l1, penalised);
            } else {
                ((Sgd) opt).setL1(l1, penalised);
            }
        }
        List<Double> history = new ArrayList<>();
        Optimizer.Result result = opt.minimize(params, objective, getMaxIter(), getTol(), p -> history.add(p.loss()));
        List<NDArray> fitted = new ArrayList<>();
        for (NDArray p : params) {
            fitted.add(p.detach());
        }
        SparkgradModel m = new SparkgradModel(uid, fn, d, classes, fitted, mean, scale,
            history.stream().mapToDouble(Double::doubleValue).toArray(), result.iterations());
        copyValues(m, ParamMap.empty());
        m.setParent(this);
        return m;
    }

    private static int[] penalised(ModelFunction fn, int count) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (fn.penalised(i)) {
                out.add(i);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The number of classes, max label + 1; the labels must be whole numbers from 0. */
    private int classes(NDArray y) {
        double min = y.min().item();
        double max = y.max().item();
        double fractional = y.sub(y.round()).abs().max().item();
        if (min < 0 || fractional > 0 || max >= 1_000_000) {
            throw new IllegalArgumentException("sparkgrad: the label column '" + getLabelCol() + "' of a classifier must "
                + "hold classes 0, 1, 2, ...; got values from " + min + " to " + max
                + (fractional > 0 ? ", not all whole numbers" : ""));
        }
        int k = (int) max + 1;
        if (k < 2) {
            throw new IllegalArgumentException("sparkgrad: the label column '" + getLabelCol() + "' holds a single class");
        }
        return k;
    }

    private double checkWeights(NDArray w) {
        double min = w.min().item();
        double sum = w.sum().item();
        if (!(min >= 0) || !(sum > 0)) {
            throw new IllegalArgumentException("sparkgrad: the weight column '" + getWeightCol() + "' must hold weights of "
                + "0 or more with a positive sum; got a smallest of " + min + " and a sum of " + sum);
        }
        return sum;
    }

    @Override
    public SparkgradEstimator copy(ParamMap extra) {
        SparkgradEstimator c = defaultCopy(extra);
        c.function = function;
        return c;
    }

    /** @return a reader of saved estimators */
    public static MLReader<SparkgradEstimator> read() {
        return new DefaultParamsReader<>();
    }

    /**
     * Loads an estimator saved with {@code write().save(path)}.
     *
     * @param path the folder
     * @return the estimator
     */
    public static SparkgradEstimator load(String path) {
        return read().load(path);
    }
}
