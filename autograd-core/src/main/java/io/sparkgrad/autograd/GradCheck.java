package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.np.Shape;

import java.util.Random;

/**
 * Compares the gradients that {@code backward()} computes with central finite differences.
 *
 * <pre>{@code
 * GradCheck.check(xs -> xs[0].tanh().mul(xs[1]).sum(), Np.randomNormal(0, 1, 3, 4), Np.randomNormal(0, 1, 4));
 * }</pre>
 *
 * A non-scalar output is contracted with a fixed random weight array {@code w} of both signs, so
 * the check covers every output element rather than only their sum, and a rule that ignores its
 * incoming gradient (or only its sign) fails: the quantity differentiated is {@code sum(w * f(x))},
 * whose head gradient is {@code w}, not ones. The inputs are copied; the function sees fresh
 * variables.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The largest deviation found, and where. */
    public record Report(double maxAbsError, double maxRelError, int input, int element, double analytic,
                         double numeric) {}

    /** Default step: central differences in float64 are most accurate near eps^(1/3) of 1. */
    public static final double EPS = 1e-6;
    /** The default relative tolerance of a check. */
    public static final double RTOL = 1e-5;
    /** The default absolute tolerance of a check. */
    public static final double ATOL = 1e-7;

    /** Checks with the default step and tolerances; throws {@link AssertionError} on a mismatch. */
    public static Report check(ArrayFunction fn, NDArray... inputs) {
        return check(fn, EPS, RTOL, ATOL, inputs);
    }

    /**
     * Checks every element of every input: |analytic - numeric| must be within
     * {@code atol + rtol * |numeric|}.
     *
     * @throws AssertionError naming the input, the element and both values
     */
    public static Report check(ArrayFunction fn, double eps, double rtol, double atol, NDArray... inputs) {
        NDArray[] vars = new NDArray[inputs.length];
        for (int k = 0; k < inputs.length; k++) {
            vars[k] = Np.array(inputs[k].shape(), inputs[k].toArray());
            vars[k].attachGrad();
        }
        NDArray out;
        try (Autograd.Scope r = Autograd.record()) {
            out = fn.apply(vars);
        }
        double[] w = weights(out.shape(), 0);
        if (out.requiresGrad()) {
            out.backward(Np.array(out.shape(), w));
        } // else the output is constant in the inputs: the analytic gradients stay zero

        Report worst = new Report(0, 0, -1, -1, 0, 0);
        for (int k = 0; k < inputs.length; k++) {
            double[] analytic = vars[k].grad().toArray();
            double[] x = inputs[k].toArray();
            for (int e = 0; e < x.length; e++) {
                double numeric = (probe(fn, inputs, k, e, x[e] + eps, w) - probe(fn, inputs, k, e, x[e] - eps, w)) / (2 * eps);
                double abs = Math.abs(analytic[e] - numeric);
                double rel = abs / Math.max(Math.abs(numeric), 1e-300);
                if (!(abs <= atol + rtol * Math.abs(numeric))) {
                    throw new AssertionError("gradcheck: input " + k + " (shape " + Shape.str(inputs[k].shape())
                        + "), element " + e + ": analytic " + analytic[e] + " vs numeric " + numeric
                        + " (abs error " + abs + ")");
                }
                if (abs > worst.maxAbsError()) {
                    worst = new Report(abs, rel, k, e, analytic[e], numeric);
                }
            }
        }
        return worst;
    }

    /** Checks second derivatives with the default step and tolerances. */
    public static Report gradgradcheck(ArrayFunction fn, NDArray... inputs) {
        return gradgradcheck(fn, EPS, RTOL, 1e-6, inputs);
    }

    /**
     * Checks second derivatives: the gradients of {@code fn} for a head gradient {@code v} (random,
     * of both signs), computed with {@code createGraph = true}, are contracted with fixed weights
     * into one number, whose own gradient is compared with finite differences of it, with respect
     * to the inputs and to {@code v} (as PyTorch's gradgradcheck does for {@code grad_outputs}).
     * Covers every op the first-order gradients pass through, and a rule whose result does not
     * follow its incoming gradient in the graph (one that detaches it, or uses it in a constant)
     * fails even where that incoming gradient is constant in the inputs.
     */
    public static Report gradgradcheck(ArrayFunction fn, double eps, double rtol, double atol, NDArray... inputs) {
        long[] outShape;
        try (Autograd.Scope p = Autograd.pause(Autograd.isTraining())) {
            outShape = fn.apply(copies(inputs)).shape();
        }
        int n = inputs.length;
        ArrayFunction firstOrder = xs -> {
            // Under check's analytic pass the inputs are variables already; under its probes they
            // are plain arrays, which get fresh variables here. xs[n] is the head gradient.
            NDArray[] vs = new NDArray[n];
            for (int k = 0; k < n; k++) {
                vs[k] = xs[k].requiresGrad() ? xs[k] : Autograd.freshVariable(xs[k]);
            }
            try (Autograd.Scope r = Autograd.record()) {
                NDArray out = fn.apply(vs);
                if (!out.requiresGrad()) {
                    return xs[n].mul(0.0).sum();
                }
                NDArray head = out.mul(xs[n]).sum();
                java.util.List<NDArray> gs = Autograd.grad(java.util.List.of(head), java.util.Arrays.asList(vs), null,
                    true, true, true);
                NDArray total = Np.scalar(0);
                for (int k = 0; k < gs.size(); k++) {
                    total = total.add(gs.get(k).mul(Np.array(xs[k].shape(), weights(xs[k].shape(), k + 1))).sum());
                }
                return total;
            }
        };
        NDArray[] withHead = java.util.Arrays.copyOf(inputs, n + 1);
        withHead[n] = Np.array(outShape, weights(outShape, 0));
        return check(firstOrder, eps, rtol, atol, withHead);
    }

    private static NDArray[] copies(NDArray[] inputs) {
        NDArray[] xs = new NDArray[inputs.length];
        for (int k = 0; k < xs.length; k++) {
            xs[k] = Np.array(inputs[k].shape(), inputs[k].toArray());
        }
        return xs;
    }

    /** sum(w * f(inputs with element e of input k set to v)), computed without recording. */
    private static double probe(ArrayFunction fn, NDArray[] inputs, int k, int e, double v, double[] w) {
        NDArray[] xs = inputs.clone();
        double[] d = inputs[k].toArray();
        d[e] = v;
        xs[k] = Np.array(inputs[k].shape(), d);
        double[] y;
        try (Autograd.Scope p = Autograd.pause(Autograd.isTraining())) {
            y = fn.apply(xs).toArray();
        }
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += w[i] * y[i];
        }
        return s;
    }

    /**
     * Fixed pseudo-random weights of magnitude in [0.5, 1.5) and random sign, different per element,
     * the same for every run: never ones, never zero.
     */
    static double[] weights(long[] shape, int stream) {
        Random r = new Random(0x5eed + stream);
        double[] w = new double[Shape.size(Shape.toInt("gradcheck", shape))];
        for (int i = 0; i < w.length; i++) {
            double m = 0.5 + r.nextDouble();
            w[i] = r.nextBoolean() ? m : -m;
        }
        return w;
    }
}
