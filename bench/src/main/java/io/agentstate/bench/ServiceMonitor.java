package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Samples the service's memory twice a second: heap used (the sum of {@code jvm_memory_used_bytes{area="heap"}} from
 * {@code /q/metrics}) and resident set size ({@code VmRSS} from {@code /proc/<pid>/status}). Each scenario opens a
 * window; closing it gives the maxima seen during the scenario and one sample taken a second after it.
 */
final class ServiceMonitor implements AutoCloseable {

    private static final double MIB = 1024.0 * 1024.0;

    private final String baseUri;
    private final long pid;
    private final String apiKey;
    private final Thread sampler;
    private volatile boolean running = true;
    private double heapMax;
    private double rssMax;
    private int samples;

    ServiceMonitor(String baseUri, long pid, String apiKey) {
        this.baseUri = baseUri;
        this.pid = pid;
        this.apiKey = apiKey;
        this.sampler = new Thread(this::sample, "bench-memory-sampler");
        this.sampler.setDaemon(true);
        this.sampler.start();
    }

    /** Starts a new window. */
    synchronized void begin() {
        heapMax = 0;
        rssMax = 0;
        samples = 0;
    }

    /** Ends the window: maxima during it, and a sample a second later. */
    Results.Memory end() {
        double heap;
        double rss;
        int count;
        synchronized (this) {
            heap = heapMax;
            rss = rssMax;
            count = samples;
        }
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double[] after = measure();
        return new Results.Memory(round(Math.max(heap, after[0]) / MIB), round(Math.max(rss, after[1]) / MIB),
                round(after[0] / MIB), round(after[1] / MIB), count + 1);
    }

    private void sample() {
        try (HttpConnection http = HttpConnection.to(baseUri, apiKey)) {
            while (running) {
                double[] now = measure(http);
                synchronized (this) {
                    heapMax = Math.max(heapMax, now[0]);
                    rssMax = Math.max(rssMax, now[1]);
                    samples++;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private double[] measure() {
        try (HttpConnection http = HttpConnection.to(baseUri, apiKey)) {
            return measure(http);
        }
    }

    private double[] measure(HttpConnection http) {
        return new double[] { heapUsed(http), rss() };
    }

    private static double heapUsed(HttpConnection http) {
        try {
            HttpConnection.Response response = http.get("/q/metrics");
            double sum = 0;
            for (String line : new String(response.body(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private double rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the service is gone
        }
        return 0;
    }

    private static double round(double value) {
        return Math.round(value * 10) / 10.0;
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }
}
