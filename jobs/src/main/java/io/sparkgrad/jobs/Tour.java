package io.sparkgrad.jobs;

import io.sparkgrad.dist.Dist;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.tour.Notebook;

import java.io.PrintStream;
import java.util.function.UnaryOperator;

/**
 * Prints the MXNet autograd walk-through ({@link Notebook}) cell by cell like the notebook: each
 * cell's Java, then its output. First on local arrays, then with the arrays distributed on Spark.
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
        t.cells(a -> a, code -> code);
        out.println("The same cells with the arrays distributed in row blocks on Spark ("
            + Dist.session().sparkContext().master() + "):");
        out.println();
        t.cells(Tour::distribute, Tour::distributeCode);
    }

    /** Splits an array's rows over up to 2 blocks; a 0-d scalar becomes a 1-element vector. */
    static NDArray distribute(NDArray a) {
        NDArray rows = a.ndim() == 0 ? a.reshape(1) : a;
        return Dist.fromLocal(rows, (int) Math.min(2, rows.dim(0)));
    }

    /** The code of {@link #distribute} applied to the array that {@code local} makes. */
    static String distributeCode(String local) {
        if (local.equals("Np.arange(4.0)")) {
            return "Dist.fromLocal(" + local + ", 2)";
        }
        return "Dist.fromLocal(" + local + (local.startsWith("Np.randomNormal") ? ".reshape(1)" : "") + ", 1)";
    }

    private void cells(UnaryOperator<NDArray> place, UnaryOperator<String> placeCode) {
        for (Notebook.Cell c : Notebook.cells(place, placeCode)) {
            cell++;
            String in = "In [" + cell + "]: ";
            out.println(in + c.code().replace("\n", "\n" + " ".repeat(in.length())));
            Object value = c.run().get();
            if (value != null) {
                String o = "Out[" + cell + "]: ";
                out.println(o + String.valueOf(value).replace("\n", "\n" + " ".repeat(o.length())));
            }
            out.println();
        }
    }
}
