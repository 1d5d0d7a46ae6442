package io.sparkgrad.ml;

import io.sparkgrad.dist.SparkTests;
import io.sparkgrad.np.NDArray;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.regression.GeneralizedLinearRegression;
import org.apache.spark.ml.regression.GeneralizedLinearRegressionModel;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SparkgradEstimator in Spark ML: pipelines on the Wisconsin breast-cancer data with MLlib's
 * evaluators, save and load, a cross-validation, and a user's Poisson model against MLlib's GLR.
 */
class SparkgradEstimatorTest {
    private static SparkSession spark;
    private static Dataset<Row> train;
    private static Dataset<Row> test;
    private static String[] features;

    @BeforeAll
    static void data() {
        spark = SparkTests.session();
        // MLlib needs Kryo without registrationRequired: the pom's spark-ml execution runs this class so
        // (in the default execution, reached only by -Dtest, the strict session cannot run it)
        Assumptions.assumeFalse(spark.sparkContext().conf().getBoolean("spark.kryo.registrationRequired", false),
            "needs a session without spark.kryo.registrationRequired (the driver pom's spark-ml execution)");
        String[] header = spark.read().option("header", "true").csv("../data/breast_cancer.csv").columns();
        StructType schema = new StructType();
        for (String c : header) {
            schema = schema.add(c, DataTypes.DoubleType, false);
        }
        Dataset<Row> df = spark.read().option("header", "true").schema(schema).csv("../data/breast_cancer.csv");
        features = Arrays.stream(header).filter(c -> !c.equals("label")).toArray(String[]::new);
        Dataset<Row>[] split = df.randomSplit(new double[] {0.75, 0.25}, 7);
        train = split[0].cache();
        test = split[1].cache();
    }

    private static VectorAssembler assembler() {
        return new VectorAssembler().setInputCols(features).setOutputCol("features");
    }

    private static double auc(Dataset<Row> scored) {
        return new BinaryClassificationEvaluator().setMetricName("areaUnderROC").evaluate(scored);
    }

    private static double accuracy(Dataset<Row> scored) {
        return new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(scored);
    }

    /** The columns a classifier adds, row by row, in the order of the rows' ids. */
    private static List<Row> outputs(Dataset<Row> scored) {
        return scored.select("rawPrediction", "probability", "prediction").collectAsList();
    }

    private static void assertSameAfterLoading(PipelineModel fitted, Path dir) throws Exception {
        String path = dir.resolve("pipeline").toString();
        fitted.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        assertTrue(loaded.stages()[1] instanceof SparkgradModel, "the stage comes back as a SparkgradModel");
        assertEquals(outputs(fitted.transform(test)), outputs(loaded.transform(test)), "identical outputs after loading");
    }

    @Test
    void logisticPipelineMatchesMllibAndSurvivesSaveAndLoad(@TempDir Path dir) throws Exception {
        double reg = 0.01;
        SparkgradEstimator est = new SparkgradEstimator().setModel("logistic").setRegParam(reg).setMaxIter(100)
            .setTol(1e-9);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {assembler(), est}).fit(train);
        Dataset<Row> scored = fitted.transform(test);
        double auc = auc(scored);
        double acc = accuracy(scored);
        assertTrue(auc > 0.98, "AUC " + auc);
        assertTrue(acc > 0.94, "accuracy " + acc);
        assertTrue(Arrays.asList(scored.columns()).containsAll(Arrays.asList(features)), "the input columns are kept");

        // MLlib's LogisticRegression minimises the same objective (the penalty on standardised weights)
        LogisticRegressionModel mllib = new LogisticRegression().setRegParam(reg).setMaxIter(300).setTol(1e-10)
            .fit(assembler().transform(train));
        List<Row> ours = scored.select("probability").collectAsList();
        List<Row> theirs = mllib.transform(assembler().transform(test)).select("probability").collectAsList();
        for (int i = 0; i < ours.size(); i++) {
            double p = ((Vector) ours.get(i).get(0)).apply(1);
            double q = ((Vector) theirs.get(i).get(0)).apply(1);
            assertEquals(q, p, 1e-4, "probability of row " + i);
        }
        assertSameAfterLoading(fitted, dir);
    }

    /** L1 (OWL-QN) with row weights: MLlib's LogisticRegression minimises the same objective. */
    @Test
    void l1WithRowWeightsMatchesMllib() {
        // the ten mean_* features, row weights from 0.5 to 1.5
        VectorAssembler ten = new VectorAssembler().setInputCols(Arrays.copyOf(features, 10)).setOutputCol("features");
        Dataset<Row> weighted = ten.transform(train)
            .withColumn("w", org.apache.spark.sql.functions.col("mean_radius").mod(1).plus(0.5));
        double reg = 0.02;
        SparkgradModel ours = new SparkgradEstimator().setModel("logistic").setRegParam(reg).setElasticNetParam(1)
            .setWeightCol("w").setMaxIter(200).setTol(1e-10).fit(weighted);
        LogisticRegressionModel mllib = new LogisticRegression().setRegParam(reg).setElasticNetParam(1).setWeightCol("w")
            .setMaxIter(300).setTol(1e-10).fit(weighted);
        double[] w = ours.parameters().get(0).toArray();
        double[] theirs = mllib.coefficients().toArray();
        int zeros = 0;
        for (int j = 0; j < w.length; j++) {
            assertEquals(theirs[j] == 0, w[j] == 0, "feature " + j + " (" + features[j] + "): sparkgrad " + w[j]
                + ", MLlib " + theirs[j]);
            zeros += w[j] == 0 ? 1 : 0;
        }
        assertTrue(zeros >= 2 && zeros < w.length, zeros + " exact zeros of " + w.length);
        List<Row> a = ours.transform(ten.transform(test)).select("probability").collectAsList();
        List<Row> b = mllib.transform(ten.transform(test)).select("probability").collectAsList();
        for (int i = 0; i < a.size(); i++) {
            assertEquals(((Vector) b.get(i).get(0)).apply(1), ((Vector) a.get(i).get(0)).apply(1), 1e-4, "row " + i);
        }
    }

    @Test
    void mlpPipelineClassifiesAndSurvivesSaveAndLoad(@TempDir Path dir) throws Exception {
        SparkgradEstimator est = new SparkgradEstimator().setModel("mlp").setHiddenLayers(8).setRegParam(1e-3)
            .setMaxIter(60).setSeed(3);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {assembler(), est}).fit(train);
        Dataset<Row> scored = fitted.transform(test);
        double auc = auc(scored);
        double acc = accuracy(scored);
        assertTrue(auc > 0.97, "AUC " + auc);
        assertTrue(acc > 0.93, "accuracy " + acc);
        SparkgradModel m = (SparkgradModel) fitted.stages()[1];
        assertEquals(2, m.numClasses());
        double[] history = m.objectiveHistory();
        assertTrue(history[history.length - 1] < history[0] / 5, "the loss went down: " + Arrays.toString(history));
        Row first = scored.select("probability").first();
        Vector p = (Vector) first.get(0);
        assertEquals(1.0, p.apply(0) + p.apply(1), 1e-12, "probabilities sum to 1");
        assertSameAfterLoading(fitted, dir);
    }

    @Test
    void crossValidatorPicksARegParam() {
        SparkgradEstimator est = new SparkgradEstimator().setModel("logistic").setMaxIter(10);
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {assembler(), est});
        ParamMap[] grid = new ParamGridBuilder().addGrid(est.regParam(), new double[] {1e-3, 1.0}).build();
        CrossValidatorModel cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid)
            .setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).setSeed(5).fit(train);
        double[] metrics = cv.avgMetrics();
        assertEquals(2, metrics.length);
        for (double a : metrics) {
            assertTrue(a > 0.95, "AUC per setting " + Arrays.toString(metrics));
        }
        // a strong penalty shrinks the weights: the ranking changes, so the two AUCs differ
        assertTrue(metrics[0] != metrics[1], Arrays.toString(metrics));
        int best = metrics[0] >= metrics[1] ? 0 : 1;
        SparkgradModel chosen = (SparkgradModel) ((PipelineModel) cv.bestModel()).stages()[1];
        assertEquals(new double[] {1e-3, 1.0}[best], ((SparkgradEstimator) chosen.parent()).getRegParam(),
            "the best model was fitted with the best setting");
        assertTrue(auc(cv.transform(test)) > 0.97);
    }

    /** Counts from a Poisson with mean exp(0.3 + x . (0.5, -0.4, 0.2)), x normal. */
    private static Dataset<Row> poissonData(int n, long seed) {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
            double mu = Math.exp(0.3 + 0.5 * x[0] - 0.4 * x[1] + 0.2 * x[2]);
            int k = 0; // Knuth's method
            double l = Math.exp(-mu);
            double p = r.nextDouble();
            while (p > l) {
                k++;
                p *= r.nextDouble();
            }
            rows.add(RowFactory.create((long) i, Vectors.dense(x), (double) k));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("features",
            org.apache.spark.ml.linalg.SQLDataTypes.VectorType()).add("label", DataTypes.DoubleType);
        return spark.createDataFrame(rows, schema);
    }

    @Test
    void aUsersPoissonModelMatchesMllibsGlr(@TempDir Path dir) throws Exception {
        Dataset<Row> df = poissonData(2000, 11).repartition(3).cache();
        SparkgradModel ours = new SparkgradEstimator().setModel(new PoissonRegression()).setMaxIter(200).setTol(1e-12)
            .fit(df);
        GeneralizedLinearRegressionModel glr = new GeneralizedLinearRegression().setFamily("poisson").setLink("log")
            .setMaxIter(100).setTol(1e-12).fit(df);
        // back to the original features: w = v / scale, b = c - (mean / scale) . v
        List<NDArray> p = ours.parameters();
        NDArray w = p.get(0).div(ours.featureScale());
        double b = p.get(1).item() - ours.featureMean().div(ours.featureScale()).matmul(p.get(0)).item();
        assertArrayEquals(glr.coefficients().toArray(), w.toArray(), 1e-6);
        assertEquals(glr.intercept(), b, 1e-6);

        List<Row> a = ours.transform(df).orderBy("id").select("id", "prediction").collectAsList();
        List<Row> g = glr.transform(df).orderBy("id").select("id", "prediction").collectAsList();
        for (int i = 0; i < a.size(); i++) {
            assertEquals(g.get(i).getDouble(1), a.get(i).getDouble(1), 1e-6 * Math.max(1, g.get(i).getDouble(1)), "row " + i);
        }
        String path = dir.resolve("poisson").toString();
        ours.write().save(path);
        SparkgradModel loaded = SparkgradModel.load(path);
        assertEquals(PoissonRegression.class.getName(), loaded.getOrDefault(loaded.model()));
        assertEquals(ours.transform(df).select("prediction").collectAsList(),
            loaded.transform(df).select("prediction").collectAsList());
    }

    @Test
    void paramsFollowSparkMlConventions(@TempDir Path dir) throws Exception {
        SparkgradEstimator est = new SparkgradEstimator().setRegParam(0.5).setMaxIter(7).setModel("mlp")
            .setHiddenLayers(4, 3);
        String explained = est.explainParams();
        for (String name : List.of("featuresCol", "labelCol", "weightCol", "predictionCol", "maxIter", "tol", "regParam",
            "elasticNetParam", "optimizer", "stepSize", "seed", "model", "hiddenLayers")) {
            assertTrue(explained.contains(name + ":"), name + " in " + explained);
        }
        assertTrue(explained.contains("regParam: regularization parameter (>= 0) (default: 0.0, current: 0.5)"), explained);
        SparkgradEstimator copy = est.copy(new ParamMap().put(est.maxIter(), 9));
        assertEquals(9, copy.getMaxIter());
        assertEquals(7, est.getMaxIter());
        assertEquals(est.uid(), copy.uid());
        String path = dir.resolve("estimator").toString();
        est.save(path);
        SparkgradEstimator loaded = SparkgradEstimator.load(path);
        assertEquals(0.5, loaded.getRegParam());
        assertArrayEquals(new int[] {4, 3}, loaded.getHiddenLayers());
        assertEquals(est.uid(), loaded.uid());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> est.setRegParam(-1));
        assertTrue(bad.getMessage().contains("regParam given invalid value -1.0"), bad.getMessage());
        IllegalArgumentException col = assertThrows(IllegalArgumentException.class,
            () -> new SparkgradEstimator().setFeaturesCol("nope").fit(train));
        assertTrue(col.getMessage().startsWith("sparkgrad: the features column 'nope' is not among the columns"),
            col.getMessage());
        IllegalArgumentException l1 = assertThrows(IllegalArgumentException.class,
            () -> new SparkgradEstimator().setOptimizer("adam").setRegParam(0.1).setElasticNetParam(1)
                .fit(assembler().transform(train)));
        assertEquals("sparkgrad: an L1 penalty (elasticNetParam 1.0) needs optimizer lbfgs (OWL-QN) or sgd (proximal), "
            + "not adam", l1.getMessage());
    }
}
