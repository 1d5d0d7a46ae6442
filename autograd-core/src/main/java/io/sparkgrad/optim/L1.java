package io.sparkgrad.optim;

import io.sparkgrad.np.NDArray;

import java.util.Arrays;
import java.util.List;

/** An L1 penalty {@code strength * sum |p|} over some of the parameters (none listed: all). */
final class L1 {
    final double strength;
    private final int[] params;

    L1(String who, double strength, int[] params) {
        if (!(strength >= 0) || Double.isInfinite(strength)) {
            throw new IllegalArgumentException(who + ": the L1 strength must be 0 or more and finite, got " + strength);
        }
        for (int p : params) {
            if (p < 0) {
                throw new IllegalArgumentException(who + ": parameter indices must be 0 or more, got " + p);
            }
        }
        this.strength = strength;
        this.params = params.clone();
    }

    boolean on() {
        return strength > 0;
    }

    /** True when parameter {@code i} is penalised. */
    boolean applies(int i) {
        return params.length == 0 || Arrays.stream(params).anyMatch(p -> p == i);
    }

    void check(String who, int count) {
        for (int p : params) {
            if (p >= count) {
                throw new IllegalArgumentException(who + ": L1 on parameter " + p + ", but there are " + count);
            }
        }
    }

    /** The penalty at the parameters' values. */
    double penalty(List<NDArray> ps) {
        double s = 0;
        for (int i = 0; i < ps.size(); i++) {
            if (applies(i)) {
                for (double v : ps.get(i).toArray()) {
                    s += Math.abs(v);
                }
            }
        }
        return strength * s;
    }

    /**
     * The pseudo-gradient of {@code f + penalty} at {@code x} (flat), {@code mask[i]} true where
     * the penalty applies: the gradient where {@code x} is not 0, and at 0 the one-sided
     * derivative that descends, or 0 when neither does (then 0 is optimal for that element).
     */
    double[] pseudoGradient(double[] x, double[] g, boolean[] mask) {
        double[] pg = g.clone();
        double l = strength;
        for (int i = 0; i < x.length; i++) {
            if (!mask[i]) {
                continue;
            }
            if (x[i] > 0) {
                pg[i] = g[i] + l;
            } else if (x[i] < 0) {
                pg[i] = g[i] - l;
            } else if (g[i] + l < 0) {
                pg[i] = g[i] + l;
            } else if (g[i] - l > 0) {
                pg[i] = g[i] - l;
            } else {
                pg[i] = 0;
            }
        }
        return pg;
    }

    /** Which elements of the flattened parameters are penalised. */
    boolean[] mask(List<NDArray> ps) {
        int n = 0;
        for (NDArray p : ps) {
            n += Math.toIntExact(p.size());
        }
        boolean[] m = new boolean[n];
        int pos = 0;
        for (int i = 0; i < ps.size(); i++) {
            int len = Math.toIntExact(ps.get(i).size());
            Arrays.fill(m, pos, pos + len, applies(i));
            pos += len;
        }
        return m;
    }
}
