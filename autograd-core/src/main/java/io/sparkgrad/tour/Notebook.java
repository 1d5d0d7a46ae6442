package io.sparkgrad.tour;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The MXNet autograd notebook sparkgrad grew from, as cells of Java: the code each cell shows and
 * what it computes. {@code bin/sparkgrad tour} prints them; the tests check that every cell prints
 * what the notebook printed, with local and with distributed arrays.
 */
public final class Notebook {
    private Notebook() {}

    /** One cell: the Java it shows, and what it evaluates to (null when it prints nothing). */
    public record Cell(String code, Supplier<Object> run) {}

    /**
     * What the notebook printed for its deterministic cells, in order: every cell but the two
     * whose values come from a random {@code a} (for those, {@code d / a} equals {@code a.grad()}).
     */
    public static final List<String> OUTPUTS = List.of(
        "array([0., 1., 2., 3.])",
        "array(14.)",
        "array([0., 0., 0., 0.])",
        "array(28.)",
        "array([ 0.,  4.,  8., 12.])",
        "array([1., 1., 1., 1.])",
        "array([0., 2., 4., 6.])",
        "array([0., 1., 4., 9.])",
        "array([0., 2., 4., 6.])",
        "array([ 0.,  3., 12., 27.])",
        "array([1029.12])");

    /** The notebook's piecewise-linear function with a data-dependent loop and branch. */
    public static NDArray f(NDArray a) {
        NDArray b = a.mul(2);
        while (Np.linalg().norm(b).item() < 1000) {
            b = b.mul(2);
        }
        return b.sum().item() > 0 ? b : b.mul(100);
    }

    /**
     * Returns the cells, with every input array passed through {@code place} (the identity for
     * local arrays) and its code shown as {@code placeCode} makes it from the local array's code.
     * The cells share state: run them in order.
     */
    public static List<Cell> cells(UnaryOperator<NDArray> place, UnaryOperator<String> placeCode) {
        NDArray[] v = new NDArray[4]; // the notebook's x, y, z and a
        List<Cell> c = new ArrayList<>();
        c.add(new Cell("NDArray x = " + placeCode.apply("Np.arange(4.0)") + ";  x",
            () -> v[0] = place.apply(Np.arange(4.0))));
        c.add(new Cell("Np.dot(x, x)", () -> Np.dot(v[0], v[0])));
        c.add(new Cell("x.attachGrad();  x.grad()", () -> {
            v[0].attachGrad();
            return v[0].grad();
        }));
        c.add(new Cell("try (var r = Autograd.record()) { y = Np.dot(x, x).mul(2); }  y", () -> {
            try (var r = Autograd.record()) {
                v[1] = Np.dot(v[0], v[0]).mul(2);
            }
            return v[1];
        }));
        c.add(new Cell("y.backward();  x.grad()", () -> {
            v[1].backward();
            return v[0].grad();
        }));
        c.add(new Cell("try (var r = Autograd.record()) { y = x.sum(); }\ny.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].sum();
            }
            v[1].backward();
            return v[0].grad();
        }));
        c.add(new Cell("try (var r = Autograd.record()) { y = x.mul(x); }\ny.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].mul(v[0]);
            }
            v[1].backward();
            return v[0].grad();
        }));
        c.add(new Cell("try (var r = Autograd.record()) { y = x.mul(x); u = y.detach(); z = u.mul(x); }\n"
            + "z.backward();  x.grad()", () -> {
                try (var r = Autograd.record()) {
                    v[1] = v[0].mul(v[0]);
                    NDArray u = v[1].detach();
                    v[2] = u.mul(v[0]);
                }
                v[2].backward();
                return v[0].grad();
            }));
        c.add(new Cell("y.backward();  x.grad()", () -> {
            v[1].backward();
            return v[0].grad();
        }));
        c.add(new Cell("try (var r = Autograd.record()) { y = x.mul(x); z = y.mul(x); }\nz.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].mul(v[0]);
                v[2] = v[1].mul(v[0]);
            }
            v[2].backward();
            return v[0].grad();
        }));
        c.add(new Cell("f(" + placeCode.apply("Np.array(2.01)")
            + ")   // b = a*2; while (norm(b) < 1000) b = b*2; c = sum(b) > 0 ? b : 100*b",
            () -> f(place.apply(Np.array(2.01)))));
        c.add(new Cell("NDArray a = " + placeCode.apply("Np.randomNormal(0, 1)") + ";  f(a)", () -> {
            v[3] = place.apply(Np.randomNormal(0, 1));
            return f(v[3]);
        }));
        c.add(new Cell("a.attachGrad();\ntry (var r = Autograd.record()) { d = f(a); }\nd.backward();  d.div(a)", () -> {
            v[3].attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = f(v[3]);
            }
            d.backward();
            return d.div(v[3]);
        }));
        c.add(new Cell("a.grad()", () -> v[3].grad()));
        return c;
    }

    /** Runs every cell and returns what each printed, as text (null: printed nothing). */
    public static List<String> run(UnaryOperator<NDArray> place) {
        List<String> printed = new ArrayList<>();
        for (Cell cell : cells(place, code -> code)) {
            Object value = cell.run().get();
            printed.add(value == null ? null : value.toString());
        }
        return printed;
    }
}
