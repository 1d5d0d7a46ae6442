package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.tour.Notebook;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MXNet autograd notebook that sparkgrad grew from, cell by cell, with its printed outputs. */
class WalkthroughTest {

    @Test
    void cellsPrintWhatTheNotebookPrinted() {
        List<String> printed = Notebook.run(a -> a);
        assertEquals(Notebook.OUTPUTS, printed.subList(0, Notebook.OUTPUTS.size()));
        // the random cells: d / a and a.grad() print the same value
        assertEquals(printed.get(printed.size() - 2), printed.get(printed.size() - 1));
    }

    /** The notebook's piecewise-linear function with a data-dependent loop and branch. */
    static NDArray f(NDArray a) {
        return Notebook.f(a);
    }

    @Test
    void controlFlowFunctionValueMatchesNotebook() {
        assertEquals("array([1029.12])", f(Np.array(2.01)).toString());
    }

    @Test
    void gradientThroughDataDependentControlFlowIsCOverA() {
        for (long seed = 0; seed < 20; seed++) {
            Np.seed(seed);
            NDArray a = Np.randomNormal(0, 1);
            assertEquals(0, a.ndim());
            a.attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = f(a);
            }
            d.backward();
            // f is linear in a on the branch taken, so its gradient is f(a) / a: a power of two,
            // times 100 when a < 0.
            double expected = d.item() / a.item();
            assertEquals(expected, a.grad().item(), 1e-9 * Math.abs(expected));
            double k = Math.log(Math.abs(expected) / (a.item() < 0 ? 100 : 1)) / Math.log(2);
            assertEquals(Math.rint(k), k, 1e-9);
            assertTrue(Math.abs(d.item()) >= 1000 || a.item() < 0);
        }
    }
}
