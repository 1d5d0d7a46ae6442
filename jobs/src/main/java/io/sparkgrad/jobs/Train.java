package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.DataReader;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.DType;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.optim.Evaluation;
import io.sparkgrad.optim.Objective;
import io.sparkgrad.optim.Optimizer;
import io.sparkgrad.optim.Step;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.types.DataTypes;
import scala.Tuple3;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bin/sparkgrad train}: fits a model written with sparkgrad's autograd on distributed
 * data, printing one line per iteration, then writes the model, the loss history and a picture
 * of it. With {@code --predict MODEL_DIR} it scores a data set with a saved model instead.
 */
final class Train {
    private Train() {}

    static Options options() {
        Options o = new Options("train")
            .option("model", "logistic", "linear | logistic | softmax | mlp")
            .option("hidden", "64,32", "hidden layer widths of the MLP");
        return TrainingData.dataOptions(o, "100000", "20")
            .option("optimizer", "lbfgs", "sgd | momentum | adam | lbfgs")
            .option("lr", "0.1", "learning rate (sgd, momentum, adam)")
            .option("iterations", "20", "iterations (steps of the optimizer)")
            .option("l2", "0", "L2 penalty: adds l2/2 * sum of squared weights to the mean loss")
            .option("tol", "0", "stop before --iterations once the gradient norm of the objective is at most this "
                + "(0: run every iteration)")
            .option("batch-fraction", "1.0", "fraction of rows sampled on the executors per iteration (1.0: all)")
            .option("seed", "1", "seed of the synthetic data, the initial weights and the row sampling")
            .option("dtype", "float64", "float64 | float32: how the rows are cached (float32: rounded to float, half "
                + "the bytes); the weights, gradients and optimizer stay float64")
            .flag("no-standardize", "train on the features as they are (default: divided by their standard deviation, "
                + "which changes neither the objective nor the weights reported, only how fast the optimizer converges)")
            .option("out", null, "folder to write (model.json, weights.parquet, history.csv, loss.png); claimed at the "
                + "start, so a second run on it fails at once")
            .flag("overwrite", "replace --out if it exists (the old folder is removed once the new one is in place)")
            .option("predict", null, "score --data with the model saved in this folder, writing predictions to --out")
            .flag("verbose", "print stack traces of errors");
    }

    /** Runs the command; returns the exit code. */
    static int run(Options o, PrintStream out) {
        if (o.has("predict")) {
            return predict(o, out);
        }
        String kind = o.choice("model", "linear", "logistic", "softmax", "mlp");
        String optimizerName = o.choice("optimizer", "sgd", "momentum", "adam", "lbfgs");
        int iterations = o.positiveInt("iterations");
        double l2 = o.number("l2", 0, Double.MAX_VALUE);
        double tol = o.number("tol", 0, Double.MAX_VALUE);
        double lr = o.number("lr", 0, Double.MAX_VALUE);
        double fraction = o.number("batch-fraction", Double.MIN_VALUE, 1);
        long seed = o.longValue("seed");
        List<Integer> hidden = new ArrayList<>();
        for (String h : o.list("hidden")) {
            try {
                hidden.add(Integer.parseInt(h));
            } catch (NumberFormatException e) {
                throw new JobError("train: --hidden must list positive widths like 64,32, got '" + o.string("hidden") + "'");
            }
        }
        Path outDir = o.has("out") ? Paths.get(o.string("out")) : null;
        try (OutputClaim claim = outDir == null ? null : OutputClaim.claim("train", outDir, o.flag("overwrite"))) {
            DType dtype = DType.parse(o.choice("dtype", "float64", "float32"));
            TrainingData.Reading how = TrainingData.Reading.of(o, labelCheck(kind), labelRequirement(kind), out, dtype);
            TrainingData data = TrainingData.from("train", o, kind, seed, how);
            int classes = classes(kind, data);
            Model model = Model.of(kind, data.features.size(), classes, hidden);
            out.printf("train: %s model, %d rows x %d features%s%s, %s, %d iterations, l2 %s, master %s%n", kind,
                data.rows(), data.features.size(), classes > 2 ? ", " + classes + " classes" : "",
                dtype == DType.FLOAT64 ? "" : ", " + dtype + " rows", optimizerName, iterations,
                o.string("l2"), Dist.session().sparkContext().master());
            Fit fit = fit(model, data, new Setup(optimizerName, lr, iterations, l2, fraction, seed, !o.flag("no-standardize"),
                tol),
                out);
            if (claim != null) {
                writeOutputs(claim, new ModelFile(model, fit.weights(), data.features, data.label), fit.history());
                out.println("train: wrote " + outDir + " (model.json, weights.parquet, history.csv, loss.png)");
            }
        }
        return 0;
    }

    /**
     * How to fit: the optimizer and its settings; {@code tol} ends the fit early, after the step
     * from a point whose gradient norm is at most {@code tol} (0: every iteration runs).
     */
    record Setup(String optimizer, double lr, int iterations, double l2, double batchFraction, long seed,
                 boolean standardize, double tol) {
        /** A fit of all {@code iterations}. */
        Setup(String optimizer, double lr, int iterations, double l2, double batchFraction, long seed,
              boolean standardize) {
            this(optimizer, lr, iterations, l2, batchFraction, seed, standardize, 0);
        }
    }

    /** The weights and bias of the original features, and one row per iteration (iteration, loss, gradient norm, s). */
    record Fit(List<NDArray> weights, List<double[]> history) {}

    /** Fits {@code model} to {@code data}, printing one line per iteration to {@code out}. */
    static Fit fit(Model model, TrainingData data, Setup setup, PrintStream out) {
        long seed = setup.seed();
        double fraction = setup.batchFraction();
        double l2 = setup.l2();
        int iterations = setup.iterations();
        List<NDArray> params = model.init(seed);
        for (NDArray p : params) {
            p.attachGrad();
        }
        // Precondition: the optimizer moves the parameters of a model of standardised features
        // (x - mean) / std, whose conditioning is much better. The loss is computed with the
        // equivalent parameters of the original features (std.original, recorded like any other
        // op), so each evaluation reads the cached rows as they are, and the penalty is on the
        // original features' weights: the objective and its minimiser are unchanged.
        Standardizer std = setup.standardize() ? Standardizer.of(data.x, data.sparse) : null;
        Optimizer optimizer = Optimizer.of(setup.optimizer(), setup.lr());
        int[] evaluation = {0};
        Objective objective = () -> {
            NDArray loss;
            try (var r = Autograd.record()) {
                NDArray rows = model.rowLoss(data.x, data.y, std == null ? params : std.original(params));
                if (fraction < 1) {
                    // Bernoulli row sampling on the executors, a fresh sample per evaluation
                    NDArray keep = Np.randomUniformLike(rows, seed * 1_000_003 + evaluation[0]++).lt(fraction);
                    loss = rows.mul(keep).sum().div(fraction * data.rows());
                } else {
                    loss = rows.mean();
                }
                loss = loss.add(model.penalty(params, l2, std == null ? null : std.scale));
            }
            loss.backward();
            List<NDArray> grads = new ArrayList<>();
            for (NDArray p : params) {
                grads.add(Np.array(p.shape(), p.grad().toArray())); // copies: buffers are overwritten
            }
            return new Evaluation(loss.item(), grads);
        };

        List<double[]> history = new ArrayList<>();
        for (int it = 1; it <= iterations; it++) {
            long start = System.nanoTime();
            Step step = optimizer.step(params, objective);
            double seconds = (System.nanoTime() - start) / 1e9;
            history.add(new double[] {it, step.loss(), step.gradNorm(), seconds});
            out.printf("iteration %4d  loss %.8f  gradient norm %.3e  %.2f s%n", it, step.loss(), step.gradNorm(), seconds);
            if (step.gradNorm() <= setup.tol()) {
                out.printf("train: converged at iteration %d: gradient norm %.3e <= --tol %s%n", it, step.gradNorm(),
                    setup.tol());
                break;
            }
        }
        return new Fit(std == null ? params : std.original(params), history);
    }

    /** The labels a model of {@code kind} can learn from, checked on the executors as the data is read; null: any. */
    static DataReader.ValueCheck labelCheck(String kind) {
        switch (kind) {
            case "linear":
                return null;
            case "logistic":
                return v -> v == 0 || v == 1;
            default:
                return v -> v >= 0 && v == Math.rint(v) && v < 1_000_000;
        }
    }

    static String labelRequirement(String kind) {
        return kind.equals("logistic") ? "logistic regression needs labels 0 or 1" : kind + " needs class labels 0, 1, 2, ...";
    }

    /**
     * The number of classes (0 for regression): the labels were checked while the data was read
     * (synthetic labels and labels already in memory are checked here).
     */
    private static int classes(String kind, TrainingData data) {
        String col = "label column '" + data.label + "'";
        DataReader.ValueCheck check = labelCheck(kind);
        if (check == null) {
            return 0;
        }
        if (!data.labelsChecked) {
            double[] bad = TrainingData.firstBadLabel(data.y, check::test);
            if (bad != null) {
                throw new JobError("train: " + col + " is " + bad[1] + " at row " + ((long) bad[0] + 1) + "; "
                    + labelRequirement(kind));
            }
        }
        if (kind.equals("logistic")) {
            return 2;
        }
        int classes = (int) data.y.max().item() + 1;
        if (classes < 2) {
            throw new JobError("train: " + col + " holds a single class; " + kind + " needs at least two");
        }
        return classes;
    }

    /**
     * Writes everything into the claim's temporary folder, then moves it to {@code --out}: a failed
     * run never leaves a half-written model where {@code --predict} would read it.
     */
    private static void writeOutputs(OutputClaim claim, ModelFile model, List<double[]> history) {
        Path tmp = claim.temporary();
        try {
            Files.createDirectories(tmp);
            model.write(tmp);
            writeWeights(model, tmp.resolve("weights.parquet"));
            StringBuilder csv = new StringBuilder("iteration,loss,gradient_norm,seconds\n");
            double[] losses = new double[history.size()];
            for (int i = 0; i < history.size(); i++) {
                double[] h = history.get(i);
                csv.append((int) h[0]).append(',').append(h[1]).append(',').append(h[2]).append(',').append(h[3]).append('\n');
                losses[i] = h[1];
            }
            Files.writeString(tmp.resolve("history.csv"), csv);
            LossChart.write(tmp.resolve("loss.png"), model.model.kind + " model: training loss", losses);
        } catch (IOException e) {
            throw new JobError("train: cannot write " + tmp + " (for --out): " + e.getClass().getSimpleName() + ": "
                + e.getMessage(), e);
        }
        claim.commit();
    }

    /** Values a slice of {@link #writeWeights} ships: 512 KiB of doubles. */
    private static final int WEIGHT_SLICE = 1 << 16;

    /**
     * The parameters as Parquet rows (param, index, value), for tools that read tables. The values
     * are shipped as slices of doubles and made into rows in the task: a million weights or more
     * (2^20 hashed features) as a driver-side list of rows would take many times their bytes.
     */
    private static void writeWeights(ModelFile model, Path path) {
        List<Tuple3<String, Integer, double[]>> slices = new ArrayList<>();
        for (int i = 0; i < model.params.size(); i++) {
            double[] v = model.params.get(i).toArray();
            for (int k = 0; k < v.length || (k == 0 && v.length == 0); k += WEIGHT_SLICE) {
                slices.add(new Tuple3<>(model.model.names().get(i), k,
                    java.util.Arrays.copyOfRange(v, k, Math.min(v.length, k + WEIGHT_SLICE))));
            }
        }
        var schema = DataTypes.createStructType(List.of(
            DataTypes.createStructField("param", DataTypes.StringType, false),
            DataTypes.createStructField("index", DataTypes.IntegerType, false),
            DataTypes.createStructField("value", DataTypes.DoubleType, false)));
        write("train", path, () -> {
            var jsc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(Dist.session().sparkContext());
            var rows = jsc.parallelize(slices, slices.size()).flatMap(t -> {
                List<Row> out = new ArrayList<>(t._3().length);
                for (int k = 0; k < t._3().length; k++) {
                    out.add(RowFactory.create(t._1(), t._2() + k, t._3()[k]));
                }
                return out.iterator();
            });
            Dist.session().createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.ErrorIfExists)
                .parquet(path.toString());
        });
    }

    private static int predict(Options o, PrintStream out) {
        String command = "train --predict";
        if (o.flag("drop-invalid")) {
            // the predictions are one row per input row, without an id: a dropped row would shift the rest
            throw new JobError(command + ": --drop-invalid cannot be used with --predict, whose output has one row per "
                + "input row in order: a dropped row would pair every later prediction with the wrong row");
        }
        ModelFile saved = ModelFile.read(command, Paths.get(o.string("predict")));
        Path outDir = Paths.get(o.required("out"));
        String path = o.required("data");
        try (OutputClaim claim = OutputClaim.claim(command, outDir, o.flag("overwrite"))) {
            TrainingData data = TrainingData.forModel(command, path, o.string("format"), saved,
                TrainingData.Reading.of(o, null, null, out));
            NDArray p = saved.model.predict(data.x, saved.params);
            DistArray result = (DistArray) (p.isDistributed() ? p : Dist.fromLocal(p, 1));
            write(command, outDir, () -> result.toDataFrame("prediction").write().parquet(claim.temporary().toString()));
            claim.commit();
            out.printf("%s: scored %d rows with the %s model in %s; predictions in %s%n", command, data.rows(),
                saved.model.kind, o.string("predict"), outDir);
        }
        return 0;
    }

    /**
     * Runs a Spark write of an output: a failure to write (a folder that cannot be written) is
     * the user's error naming {@code target}; sparkgrad's own errors pass through.
     */
    private static void write(String command, Path target, Runnable write) {
        try {
            write.run();
        } catch (IllegalArgumentException | IllegalStateException | JobError e) {
            throw e;
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            if (root instanceof IOException) {
                throw new JobError(command + ": cannot write " + target + ": " + root.getClass().getSimpleName() + ": "
                    + String.valueOf(root.getMessage()).replaceAll("\\s*\\R\\s*", " "), e);
            }
            throw e;
        }
    }
}
