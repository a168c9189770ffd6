package io.agentstate.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Latency samples in nanoseconds. One instance per thread while measuring (no locking on the hot path), merged at the
 * end; percentiles are exact (nearest rank) over every sample.
 */
final class Samples {

    private long[] values = new long[1024];
    private int size;

    void add(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    int size() {
        return size;
    }

    static Samples merge(Collection<Samples> parts) {
        Samples all = new Samples();
        for (Samples part : parts) {
            for (int i = 0; i < part.size; i++) {
                all.add(part.values[i]);
            }
        }
        Arrays.sort(all.values, 0, all.size);
        return all;
    }

    /** The nearest-rank percentile in milliseconds ({@code p} in 0..100); call on a merged (sorted) instance. */
    double percentileMillis(double p) {
        if (size == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * size);
        return values[Math.max(0, Math.min(size - 1, rank - 1))] / 1_000_000.0;
    }

    double maxMillis() {
        return size == 0 ? Double.NaN : values[size - 1] / 1_000_000.0;
    }
}
