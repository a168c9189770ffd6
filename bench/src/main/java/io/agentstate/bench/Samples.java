package io.agentstate.bench;

import java.util.Collection;

import org.HdrHistogram.AbstractHistogram;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Latency samples in nanoseconds, kept in an HdrHistogram (3 significant digits: a percentile is within 0.1% of the
 * recorded value, and every sample counts, the slowest included). One plain instance per thread while measuring,
 * merged at the end; {@link #concurrent()} for callbacks that run on several event loops.
 */
final class Samples {

    private static final int DIGITS = 3;

    private final AbstractHistogram histogram;

    Samples() {
        this(new Histogram(DIGITS));
    }

    private Samples(AbstractHistogram histogram) {
        this.histogram = histogram;
    }

    /** Samples that several threads may add to at once (callbacks of the Vert.x clients). */
    static Samples concurrent() {
        return new Samples(new ConcurrentHistogram(DIGITS));
    }

    void add(long nanos) {
        // a clock that steps back must not make a negative latency (HdrHistogram refuses those)
        histogram.recordValue(Math.max(0, nanos));
    }

    long size() {
        return histogram.getTotalCount();
    }

    static Samples merge(Collection<Samples> parts) {
        Samples all = new Samples();
        for (Samples part : parts) {
            all.histogram.add(part.histogram);
        }
        return all;
    }

    /** The percentile in milliseconds ({@code p} in 0..100), NaN without samples. */
    double percentileMillis(double p) {
        if (size() == 0) {
            return Double.NaN;
        }
        return histogram.getValueAtPercentile(p) / 1_000_000.0;
    }

    double maxMillis() {
        return size() == 0 ? Double.NaN : histogram.getMaxValue() / 1_000_000.0;
    }
}
