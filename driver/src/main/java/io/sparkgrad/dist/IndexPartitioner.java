package io.sparkgrad.dist;

import org.apache.spark.Partitioner;

/** Sends key {@code k} (an Integer: a block or a group of blocks) to partition {@code k}. */
final class IndexPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;

    IndexPartitioner(int partitions) {
        this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
        return partitions;
    }

    @Override
    public int getPartition(Object key) {
        return (Integer) key;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IndexPartitioner && ((IndexPartitioner) o).partitions == partitions;
    }

    @Override
    public int hashCode() {
        return partitions;
    }
}
