package io.sparkgrad.np;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.autograd.Function;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * In-place changes ({@code assign}) on local arrays: views follow them, snapshots (what deferred
 * work reads) never do, and the tape refuses to compute a gradient from values changed since
 * the op that needs them was recorded.
 */
class InPlaceChangeTest {
    @Test
    void aSnapshotKeepsItsValuesWhenTheArrayIsAssigned() {
        LocalArray a = (LocalArray) Np.array(1, 2, 3);
        LocalArray s = a.snapshot();
        assertSame(a.data(), s.data(), "a snapshot costs no copy until something is written");
        a.assign(Np.array(7, 8, 9));
        assertArrayEquals(new double[] {1, 2, 3}, s.toArray(), 0.0);
        assertArrayEquals(new double[] {7, 8, 9}, a.toArray(), 0.0);
        LocalArray again = a.snapshot();
        a.assign(Np.array(0, 0, 0));
        assertArrayEquals(new double[] {7, 8, 9}, again.toArray(), 0.0);
    }

    @Test
    void aSnapshotIsNotReachedThroughAViewEither() {
        LocalArray a = (LocalArray) Np.array(1, 2, 3, 4);
        NDArray view = a.reshape(2, 2);
        LocalArray s = a.snapshot();
        view.assign(Np.zeros(2, 2));
        assertArrayEquals(new double[] {0, 0, 0, 0}, a.toArray(), 0.0, "the view writes into a's values");
        assertArrayEquals(new double[] {1, 2, 3, 4}, s.toArray(), 0.0);
    }

    @Test
    void writingAfterASnapshotKeepsViewsTogether() {
        NDArray a = Np.array(1, 2, 3, 4);
        NDArray view = a.reshape(2, 2);
        NDArray detached = a.detach();
        ((LocalArray) a).snapshot();
        a.assign(Np.full(new int[] {4}, 5)); // goes to a copy: every view must follow it
        assertArrayEquals(new double[] {5, 5, 5, 5}, view.toArray(), 0.0);
        assertArrayEquals(new double[] {5, 5, 5, 5}, detached.toArray(), 0.0);
        view.assign(Np.zeros(2, 2));
        assertArrayEquals(new double[] {0, 0, 0, 0}, a.toArray(), 0.0);
    }

    @Test
    void aViewOfALazyConstantSeesAnAssignThroughTheOriginalAndBack() {
        NDArray c = Np.zeros(2, 3).onesLike(); // a lazy constant of ones
        NDArray v = c.reshape(6);
        v.assign(Np.arange(6.0));
        assertEquals(15.0, c.sum().item(), "the constant was written through its view");
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5}, c.toArray(), 0.0);
    }

    @Test
    void aPendingResultAssignedAfterAValueWasComputedFromItKeepsThatValue() {
        LocalArray p = LocalArray.pending(new int[] {3}, () -> new double[] {1, 2, 3});
        NDArray twice = p.mul(2);       // pending: reads p later
        NDArray view = p.reshape(3, 1); // a view: follows p
        p.assign(Np.zeros(3));
        assertArrayEquals(new double[] {2, 4, 6}, twice.toArray(), 0.0);
        assertArrayEquals(new double[] {0, 0, 0}, view.toArray(), 0.0);
    }

    @Test
    void aSnapshotOfAPendingArraySharesItsComputation() {
        int[] runs = {0};
        LocalArray p = LocalArray.pending(new int[] {2}, () -> {
            runs[0]++;
            return new double[] {4, 5};
        });
        LocalArray s = p.snapshot();
        assertTrue(s.isPending());
        assertArrayEquals(new double[] {4, 5}, s.toArray(), 0.0);
        assertArrayEquals(new double[] {4, 5}, p.toArray(), 0.0);
        assertEquals(1, runs[0], "computed once for both");
        p.assign(Np.array(0, 0));
        assertArrayEquals(new double[] {4, 5}, s.toArray(), 0.0);
    }

    @Test
    void versionsCountAssignsAndAreSharedByViews() {
        NDArray a = Np.array(1, 2);
        NDArray view = a.reshape(2, 1);
        assertEquals(0, a.version());
        a.assign(Np.array(3, 4));
        view.assign(Np.array(new double[][] {{5}, {6}}));
        assertEquals(2, a.version());
        assertEquals(2, view.version());
        assertEquals(0, a.mul(1).version(), "a new array starts at 0");
    }

    @Test
    void backwardRefusesAnInputChangedInPlaceThatTheRuleNeeds() {
        NDArray x = Np.array(1, 2, 3);
        x.attachGrad();
        NDArray c = Np.array(4, 5, 6);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.mul(c).sum();
        }
        c.assign(Np.zeros(3));
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().matches("backward: input 1 of mul#\\d+ \\(shape \\(3,\\)\\) was changed in place after "
            + "the op was recorded \\(version 0 then, 1 now\\).*"), e.getMessage());
    }

    @Test
    void gradRefusesAnOutputChangedInPlaceThatTheRuleNeeds() {
        NDArray x = Np.array(1, 2, 3);
        x.attachGrad();
        NDArray e;
        NDArray y;
        try (var r = Autograd.record()) {
            e = x.exp();  // the rule of exp reads its output
            y = e.sum();
        }
        e.detach().assign(Np.zeros(3)); // through a view that shares e's values
        IllegalStateException err = assertThrows(IllegalStateException.class,
            () -> Autograd.grad(List.of(y), List.of(x), null, false, false));
        assertTrue(err.getMessage().startsWith("grad: the output of exp#"), err.getMessage());
    }

    @Test
    void anInputChangedInPlaceIsFineWhenTheRuleNeedsOnlyItsShape() {
        NDArray x = Np.array(1, 2, 3);
        x.attachGrad();
        NDArray c = Np.array(4, 5, 6);
        NDArray y;
        try (var r = Autograd.record()) {
            y = x.add(c).slice(0, 1, 3).sum();
        }
        c.assign(Np.zeros(3));
        y.backward();
        assertArrayEquals(new double[] {0, 1, 1}, x.grad().toArray(), 0.0);
    }

    @Test
    void theNextBackwardOverwritesAGradientBufferAValueStillReadsTheOldOne() {
        NDArray w = Np.array(1, 2);
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = w.square().sum();
        }
        loss.backward();
        NDArray firstGrad = w.grad().mul(1.0); // a value computed from the buffer: [2, 4]
        try (var r = Autograd.record()) {
            loss = w.mul(3).sum();
        }
        loss.backward();
        assertArrayEquals(new double[] {3, 3}, w.grad().toArray(), 0.0);
        assertArrayEquals(new double[] {2, 4}, firstGrad.toArray(), 0.0);
    }

    /** x * s, saving s: its backward reads the saved array. */
    static final class Scale extends Function {
        @Override
        protected NDArray forward(NDArray... x) {
            saveForBackward(x[1]);
            return x[0].mul(x[1]);
        }

        @Override
        protected NDArray[] backward(NDArray... g) {
            return new NDArray[] {g[0].mul(savedTensors()[0]), null};
        }
    }

    @Test
    void aCustomFunctionRefusesASavedArrayChangedInPlace() {
        NDArray x = Np.array(1, 2);
        x.attachGrad();
        NDArray s = Np.array(3, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = new Scale().apply(x, s).sum();
        }
        s.assign(Np.zeros(2));
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().startsWith("Scale.backward: saved array 0 (shape (2,)) was changed in place"),
            e.getMessage());
    }

    @Test
    void aCheckpointRefusesAnInputChangedInPlace() {
        NDArray x = Np.array(1, 2);
        x.attachGrad();
        NDArray c = Np.array(3, 4);
        NDArray y;
        try (var r = Autograd.record()) {
            y = Autograd.checkpoint(xs -> xs[0].mul(xs[1]).sum(), x, c);
        }
        c.assign(Np.zeros(2));
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void assignNeverReusesTheStorageASnapshotHolds() {
        LocalArray a = (LocalArray) Np.array(1, 2);
        double[] before = a.data();
        a.snapshot();
        a.assign(Np.array(5, 6));
        assertNotSame(before, a.data());
        double[] after = a.data();
        a.assign(Np.array(7, 8)); // no snapshot since: written in place
        assertSame(after, a.data());
    }
}
