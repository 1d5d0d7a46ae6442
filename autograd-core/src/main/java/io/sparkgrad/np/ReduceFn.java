package io.sparkgrad.np;

/** The reductions every backend implements, over all elements or along one axis. */
public enum ReduceFn {
    SUM, MAX, MIN
}
