package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bin/sparkgrad gradcheck}: compares a model's gradient from autograd with central finite
 * differences of its loss, on a sample of the data's rows, and prints the largest relative error.
 */
final class GradCheckJob {
    private GradCheckJob() {}

    static final double TOLERANCE = 1e-6;

    static Options options() {
        Options o = new Options("gradcheck")
            .option("model", "logistic", "linear | logistic | softmax | mlp")
            .option("hidden", "8", "hidden layer widths of the MLP");
        return TrainingData.dataOptions(o, "1000", "5")
            .option("sample", "64", "rows to check on (the first ones)")
            .option("l2", "0.1", "L2 penalty included in the loss")
            .option("seed", "1", "seed of the data and of the random parameters checked at")
            .flag("verbose", "print stack traces of errors");
    }

    /** Returns 0 when the largest relative error is below {@link #TOLERANCE}, else 1. */
    static int run(Options o, PrintStream out) {
        String kind = o.choice("model", "linear", "logistic", "softmax", "mlp");
        long seed = o.longValue("seed");
        double l2 = o.number("l2", 0, Double.MAX_VALUE);
        int sample = o.positiveInt("sample");
        List<Integer> hidden = new ArrayList<>();
        for (String h : o.list("hidden")) {
            try {
                hidden.add(Integer.parseInt(h));
            } catch (NumberFormatException e) {
                throw new JobError("gradcheck: --hidden must list positive widths like 8,4, got '" + o.string("hidden") + "'");
            }
        }
        TrainingData data = TrainingData.from("gradcheck", o, kind, seed,
            TrainingData.Reading.of(o, Train.labelCheck(kind), Train.labelRequirement(kind), out));
        int n = (int) Math.min(sample, data.rows());
        NDArray raw = data.x.slice(0, 0, n).toLocal();
        // standardised, as train optimises: moderate scores keep the finite differences accurate
        NDArray x = Standardizer.of(raw).apply(raw);
        NDArray y = data.y.slice(0, 0, n).toLocal();
        int classes = kind.equals("softmax") || kind.equals("mlp") ? Math.max(2, (int) data.y.max().item() + 1) : 2;
        Model model = Model.of(kind, data.features.size(), classes, hidden);

        // a random point: at zeros many gradients vanish or rows tie
        Np.seed(seed);
        List<NDArray> params = new ArrayList<>();
        for (int[] s : model.shapes()) {
            params.add(Np.randomNormal(0, 0.3, s));
        }
        List<NDArray> vars = new ArrayList<>();
        for (NDArray p : params) {
            NDArray v = p.detach();
            v.attachGrad();
            vars.add(v);
        }
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = model.rowLoss(x, y, vars).mean().add(model.penalty(vars, l2));
        }
        List<NDArray> analytic = Autograd.grad(List.of(loss), vars, null, false, false, true);

        double worst = 0;
        String where = "";
        for (int i = 0; i < params.size(); i++) {
            double[] a = analytic.get(i).toArray();
            double[] base = params.get(i).toArray();
            for (int e = 0; e < base.length; e++) {
                double h = 1e-6 * Math.max(1, Math.abs(base[e]));
                double up = lossWith(model, x, y, params, i, e, base[e] + h, l2);
                double down = lossWith(model, x, y, params, i, e, base[e] - h, l2);
                double numeric = (up - down) / (2 * h);
                double rel = Math.abs(a[e] - numeric) / Math.max(1e-8, Math.max(Math.abs(a[e]), Math.abs(numeric)));
                if (rel > worst) {
                    worst = rel;
                    where = model.names().get(i) + "[" + e + "]: autograd " + a[e] + ", finite differences " + numeric;
                }
            }
        }
        out.printf("gradcheck: %s model, %d rows x %d features, %d parameters%n", kind, n, data.features.size(),
            params.stream().mapToLong(NDArray::size).sum());
        out.printf("largest relative error %.3e (%s)%n", worst, where);
        boolean ok = worst < TOLERANCE;
        out.println(ok ? "gradcheck: passed (below " + TOLERANCE + ")" : "gradcheck: FAILED (above " + TOLERANCE + ")");
        return ok ? 0 : 1;
    }

    private static double lossWith(Model model, NDArray x, NDArray y, List<NDArray> params, int i, int e, double v,
                                   double l2) {
        List<NDArray> p = new ArrayList<>(params);
        double[] values = params.get(i).toArray();
        values[e] = v;
        p.set(i, Np.array(params.get(i).shape(), values));
        return model.rowLoss(x, y, p).mean().add(model.penalty(p, l2)).item();
    }
}
