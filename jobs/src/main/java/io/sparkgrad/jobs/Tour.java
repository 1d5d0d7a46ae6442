package io.sparkgrad.jobs;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.io.PrintStream;
import java.util.function.Supplier;

/**
 * The MXNet autograd walk-through that sparkgrad follows, cell by cell: each cell prints its Java
 * code and then its output, which matches what the notebook printed.
 */
public final class Tour {
    private final PrintStream out;
    private int cell;

    private Tour(PrintStream out) {
        this.out = out;
    }

    /** Runs the walk-through on local arrays, then with {@code x} distributed, printing to {@code out}. */
    public static void run(PrintStream out) {
        Tour t = new Tour(out);
        out.println("sparkgrad autograd tour: the MXNet walk-through, on local arrays");
        out.println();
        t.cells(false);
        out.println("The same cells with x distributed over 2 row blocks on Spark ("
            + io.sparkgrad.dist.Dist.session().sparkContext().master() + "):");
        out.println();
        t.cells(true);
    }

    private static NDArray place(NDArray a, boolean distributed) {
        return distributed ? io.sparkgrad.dist.Dist.fromLocal(a, Math.min(2, a.shape()[0])) : a;
    }

    private void show(String code, Supplier<Object> body) {
        cell++;
        out.println("In [" + cell + "]: " + code.replace("\n", "\n" + " ".repeat(6 + String.valueOf(cell).length())));
        Object value = body.get();
        if (value != null) {
            out.println("Out[" + cell + "]: " + String.valueOf(value).replace("\n", "\n" + " ".repeat(7 + String.valueOf(cell).length())));
        }
        out.println();
    }

    /** The notebook's piecewise-linear function with a data-dependent loop and branch. */
    static NDArray f(NDArray a) {
        NDArray b = a.mul(2);
        while (Np.linalg().norm(b).item() < 1000) {
            b = b.mul(2);
        }
        return b.sum().item() > 0 ? b : b.mul(100);
    }

    private void cells(boolean dist) {
        NDArray[] v = new NDArray[4]; // x, y, z, a: the notebook's variables
        String arange = dist ? "Dist.fromLocal(Np.arange(4.0), 2)" : "Np.arange(4.0)";
        show("NDArray x = " + arange + ";  x", () -> v[0] = place(Np.arange(4.0), dist));
        show("Np.dot(x, x)", () -> Np.dot(v[0], v[0]));
        show("x.attachGrad();  x.grad()", () -> {
            v[0].attachGrad();
            return v[0].grad();
        });
        show("try (var r = Autograd.record()) { y = Np.dot(x, x).mul(2); }  y", () -> {
            try (var r = Autograd.record()) {
                v[1] = Np.dot(v[0], v[0]).mul(2);
            }
            return v[1];
        });
        show("y.backward();  x.grad()", () -> {
            v[1].backward();
            return v[0].grad();
        });
        show("try (var r = Autograd.record()) { y = x.sum(); }\ny.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].sum();
            }
            v[1].backward();
            return v[0].grad();
        });
        show("try (var r = Autograd.record()) { y = x.mul(x); }\ny.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].mul(v[0]);
            }
            v[1].backward();
            return v[0].grad();
        });
        show("try (var r = Autograd.record()) { y = x.mul(x); u = y.detach(); z = u.mul(x); }\nz.backward();  x.grad()",
            () -> {
                try (var r = Autograd.record()) {
                    v[1] = v[0].mul(v[0]);
                    NDArray u = v[1].detach();
                    v[2] = u.mul(v[0]);
                }
                v[2].backward();
                return v[0].grad();
            });
        show("y.backward();  x.grad()", () -> {
            v[1].backward();
            return v[0].grad();
        });
        show("try (var r = Autograd.record()) { y = x.mul(x); z = y.mul(x); }\nz.backward();  x.grad()", () -> {
            try (var r = Autograd.record()) {
                v[1] = v[0].mul(v[0]);
                v[2] = v[1].mul(v[0]);
            }
            v[2].backward();
            return v[0].grad();
        });
        String wrap = dist ? "Dist.fromLocal(%s, 1)" : "%s";
        show("f(" + String.format(wrap, "Np.array(2.01)")
                + ")   // b = a*2; while (norm(b) < 1000) b = b*2; c = sum(b) > 0 ? b : 100*b",
            () -> f(place(Np.array(2.01), dist)));
        show("NDArray a = " + String.format(wrap, dist ? "Np.randomNormal(0, 1, 1)" : "Np.randomNormal(0, 1)") + ";  f(a)",
            () -> {
                v[3] = dist ? place(Np.randomNormal(0, 1, 1), true) : Np.randomNormal(0, 1);
                return f(v[3]);
            });
        show("a.attachGrad();\ntry (var r = Autograd.record()) { d = f(a); }\nd.backward();  d.div(a)", () -> {
            v[3].attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = f(v[3]);
            }
            d.backward();
            return d.div(v[3]);
        });
        show("a.grad()", () -> v[3].grad());
    }
}
