package io.sparkgrad.worker;

import io.sparkgrad.np.Backend;
import io.sparkgrad.np.Csr;
import io.sparkgrad.np.LocalArray;
import io.sparkgrad.np.LocalBackend;
import io.sparkgrad.np.NDArray;

/**
 * Rows of a sparse block as a kernel argument or result: what a {@link SparseFn} kernel receives
 * for a sparse block (or chunk of one), and may return to keep its result sparse. It lives only
 * inside a task, between kernels; its dense form ({@link #toLocal()}) is what every other kernel
 * reads, which {@link BlockProgram} and {@link PartitionFn} make for them.
 */
public final class SparseRows extends NDArray {
    private final Csr csr;

    public SparseRows(Csr csr) {
        super(new long[] {csr.rows(), csr.cols()});
        this.csr = csr;
    }

    public Csr csr() {
        return csr;
    }

    /** Returns {@code a}'s dense form when it is sparse rows, else {@code a}. */
    public static NDArray dense(NDArray a) {
        return a instanceof SparseRows ? a.toLocal() : a;
    }

    @Override
    public Backend backend() {
        return LocalBackend.INSTANCE;
    }

    /** Returns the dense form (a new array each call). */
    @Override
    public NDArray toLocal() {
        return LocalArray.wrap(new int[] {csr.rows(), csr.cols()}, csr.toDense());
    }

    @Override
    public double[] toArray() {
        return csr.toDense();
    }

    @Override
    public void assign(NDArray value) {
        throw new UnsupportedOperationException("assign: the rows of a sparse block are read-only");
    }

    @Override
    public int version() {
        return 0;
    }

    @Override
    public NDArray detach() {
        return this;
    }

    @Override
    public String toString() {
        return "SparseRows(" + csr + ")";
    }
}
