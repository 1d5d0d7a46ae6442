package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.dist.Dist;
import io.sparkgrad.dist.DistArray;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

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
            .flag("drop-invalid", "skip rows holding NaN or an infinity (default: such a value is an error)")
            .option("optimizer", "lbfgs", "sgd | momentum | adam | lbfgs")
            .option("lr", "0.1", "learning rate (sgd, momentum, adam)")
            .option("iterations", "20", "iterations (steps of the optimizer)")
            .option("l2", "0", "L2 penalty: adds l2/2 * sum of squared weights to the mean loss")
            .option("batch-fraction", "1.0", "fraction of rows sampled on the executors per iteration (1.0: all)")
            .option("seed", "1", "seed of the synthetic data, the initial weights and the row sampling")
            .flag("no-standardize", "train on the features as they are (default: divided by their standard deviation, "
                + "which changes neither the objective nor the weights reported, only how fast the optimizer converges)")
            .option("out", null, "folder to write (model.json, weights.parquet, history.csv, loss.png)")
            .flag("overwrite", "replace --out if it exists")
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
        checkOut(outDir, o.flag("overwrite"));
        Dist.setDropInvalidRows(o.flag("drop-invalid"));

        TrainingData data = TrainingData.from("train", o, kind, seed);
        int classes = checkLabels(kind, data);
        Model model = Model.of(kind, data.features.size(), classes, hidden);
        out.printf("train: %s model, %d rows x %d features%s, %s, %d iterations, l2 %s, master %s%n", kind, data.rows(),
            data.features.size(), classes > 2 ? ", " + classes + " classes" : "", optimizerName, iterations, o.string("l2"),
            Dist.session().sparkContext().master());
        Fit fit = fit(model, data, new Setup(optimizerName, lr, iterations, l2, fraction, seed, !o.flag("no-standardize")), out);
        if (outDir != null) {
            writeOutputs(outDir, new ModelFile(model, fit.weights(), data.features, data.label), fit.history(),
                o.flag("overwrite"));
            out.println("train: wrote " + outDir + " (model.json, weights.parquet, history.csv, loss.png)");
        }
        return 0;
    }

    /** How to fit: the optimizer and its settings. */
    record Setup(String optimizer, double lr, int iterations, double l2, double batchFraction, long seed,
                 boolean standardize) {}

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
        Standardizer std = setup.standardize() ? Standardizer.of(data.x) : null;
        Optimizer optimizer = Optimizer.of(setup.optimizer(), setup.lr());
        int[] evaluation = {0};
        Optimizer.Objective objective = () -> {
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
            return new Optimizer.Evaluation(loss.item(), grads);
        };

        List<double[]> history = new ArrayList<>();
        for (int it = 1; it <= iterations; it++) {
            long start = System.nanoTime();
            Optimizer.Step step = optimizer.step(params, objective);
            double seconds = (System.nanoTime() - start) / 1e9;
            history.add(new double[] {it, step.loss(), step.gradNorm(), seconds});
            out.printf("iteration %4d  loss %.8f  gradient norm %.3e  %.2f s%n", it, step.loss(), step.gradNorm(), seconds);
        }
        return new Fit(std == null ? params : std.original(params), history);
    }

    /** Checks the labels the model needs and returns the number of classes (0 for regression). */
    private static int checkLabels(String kind, TrainingData data) {
        String col = "label column '" + data.label + "'";
        switch (kind) {
            case "linear":
                return 0;
            case "logistic": {
                double[] bad = TrainingData.firstBadLabel(data.y, v -> v == 0 || v == 1);
                if (bad != null) {
                    throw new JobError("train: " + col + " is " + bad[1] + " at row " + (long) bad[0]
                        + "; logistic regression needs labels 0 or 1");
                }
                return 2;
            }
            default: {
                double[] bad = TrainingData.firstBadLabel(data.y, v -> v >= 0 && v == Math.rint(v) && v < 1_000_000);
                if (bad != null) {
                    throw new JobError("train: " + col + " is " + bad[1] + " at row " + (long) bad[0] + "; " + kind
                        + " needs class labels 0, 1, 2, ...");
                }
                int classes = (int) data.y.max().item() + 1;
                if (classes < 2) {
                    throw new JobError("train: " + col + " holds a single class; " + kind + " needs at least two");
                }
                return classes;
            }
        }
    }

    private static void checkOut(Path outDir, boolean overwrite) {
        if (outDir != null && Files.exists(outDir) && !overwrite) {
            throw new JobError("train: " + outDir + " already exists (pass --overwrite to replace it)");
        }
    }

    /**
     * Writes everything into a temporary folder beside {@code outDir}, then renames it: a failed
     * run never leaves a half-written model where {@code --predict} would read it.
     */
    private static void writeOutputs(Path outDir, ModelFile model, List<double[]> history, boolean overwrite) {
        Path parent = outDir.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + outDir.getFileName() + ".tmp-" + System.nanoTime());
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
            if (overwrite && Files.exists(outDir)) {
                deleteTree(outDir);
            }
            Files.move(tmp, outDir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new JobError("train: cannot write " + outDir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** The parameters as Parquet rows (param, index, value), for tools that read tables. */
    private static void writeWeights(ModelFile model, Path path) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < model.params.size(); i++) {
            double[] v = model.params.get(i).toArray();
            for (int k = 0; k < v.length; k++) {
                rows.add(RowFactory.create(model.model.names().get(i), k, v[k]));
            }
        }
        var schema = DataTypes.createStructType(List.of(
            DataTypes.createStructField("param", DataTypes.StringType, false),
            DataTypes.createStructField("index", DataTypes.IntegerType, false),
            DataTypes.createStructField("value", DataTypes.DoubleType, false)));
        Dist.session().createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.ErrorIfExists)
            .parquet(path.toString());
    }

    private static int predict(Options o, PrintStream out) {
        ModelFile saved = ModelFile.read("train --predict", Paths.get(o.string("predict")));
        Path outDir = Paths.get(o.required("out"));
        checkOut(outDir, o.flag("overwrite"));
        TrainingData data = TrainingData.read("train --predict", o.required("data"), o.string("format"), null,
            saved.features);
        NDArray p = saved.model.predict(data.x, saved.params);
        DistArray result = (DistArray) (p.isDistributed() ? p : Dist.fromLocal(p, 1));
        Path parent = outDir.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + outDir.getFileName() + ".tmp-" + System.nanoTime());
        try {
            result.toDataFrame("prediction").write().parquet(tmp.toString());
            if (o.flag("overwrite") && Files.exists(outDir)) {
                deleteTree(outDir);
            }
            Files.move(tmp, outDir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new JobError("train --predict: cannot write " + outDir + ": " + e.getMessage(), e);
        }
        out.printf("train --predict: scored %d rows with the %s model in %s; predictions in %s%n", data.rows(),
            saved.model.kind, o.string("predict"), outDir);
        return 0;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            if (Files.exists(dir)) {
                deleteTree(dir);
            }
        } catch (IOException ignored) {
            // best effort: a leftover hidden temporary folder is harmless
        }
    }
}
