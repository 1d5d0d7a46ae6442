package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import io.sparkgrad.tour.Notebook;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MXNet walk-through with {@code x} distributed over two blocks: the same printed outputs. */
class DistWalkthroughTest {

    @BeforeAll
    static void spark() {
        SparkTests.session();
    }

    /** Distributes an array's rows over up to 2 blocks; a 0-d scalar becomes a 1-element vector. */
    static NDArray distribute(NDArray a) {
        NDArray rows = a.ndim() == 0 ? a.reshape(1) : a;
        return Dist.fromLocal(rows, (int) Math.min(2, rows.dim(0)));
    }

    @Test
    void cellsPrintWhatTheNotebookPrinted() {
        List<String> printed = Notebook.run(DistWalkthroughTest::distribute);
        assertEquals(Notebook.OUTPUTS, printed.subList(0, Notebook.OUTPUTS.size()));
        assertEquals(printed.get(printed.size() - 2), printed.get(printed.size() - 1));
    }

    @Test
    void distributedVariablesGetDistributedGradients() {
        NDArray x = distribute(Np.arange(4.0));
        x.attachGrad();
        assertTrue(x.grad().isDistributed());
        NDArray y;
        try (var r = Autograd.record()) {
            y = Np.dot(x, x).mul(2);
        }
        y.backward();
        assertTrue(x.grad().isDistributed());
        assertEquals("array([ 0.,  4.,  8., 12.])", x.grad().toString());
    }

    @Test
    void gradientThroughControlFlowOnADistributedScalar() {
        for (long seed = 0; seed < 4; seed++) {
            Np.seed(seed);
            NDArray a = Dist.fromLocal(Np.randomNormal(0, 1, 1), 1);
            a.attachGrad();
            NDArray d;
            try (var r = Autograd.record()) {
                d = Notebook.f(a);
            }
            d.backward();
            assertTrue(a.grad().isDistributed());
            assertEquals(d.item() / a.item(), a.grad().item(), 1e-9 * Math.abs(d.item() / a.item()));
        }
    }
}
