package io.agentstate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.vertx.core.Vertx;

/**
 * Samples the service's memory twice a second: heap used (the sum of {@code jvm_memory_used_bytes{area="heap"}} from
 * {@code /q/metrics}) and resident set size ({@code VmRSS} from {@code /proc/<pid>/status}). Each scenario opens a
 * window; closing it gives the maxima seen during the scenario and one sample taken a second after it. A scenario that
 * measures the service's CPU per request pauses the sampling meanwhile, so its scrapes do not count.
 */
final class ServiceMonitor implements AutoCloseable {

    private static final double MIB = 1024.0 * 1024.0;

    private final ServiceClient http;
    private final long pid;
    private final Thread sampler;
    private volatile boolean running = true;
    private volatile boolean paused;
    private double heapMax;
    private double rssMax;
    private int samples;

    ServiceMonitor(Vertx vertx, String baseUri, long pid, String apiKey) {
        // two connections: the sampler's, and the one the end of a window measures with
        this.http = new ServiceClient(vertx, baseUri, apiKey, 2, 1);
        this.pid = pid;
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

    /** Pauses (true) or resumes (false) the sampling; the window stays open. */
    void pause(boolean pause) {
        paused = pause;
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
        while (running) {
            if (!paused) {
                double[] now = measure();
                synchronized (this) {
                    heapMax = Math.max(heapMax, now[0]);
                    rssMax = Math.max(rssMax, now[1]);
                    samples++;
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private double[] measure() {
        return new double[] { heapUsed(), rss() };
    }

    private double heapUsed() {
        try {
            ServiceClient.Response response = http.get("/q/metrics");
            double sum = 0;
            for (String line : response.text().split("\n")) {
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
        http.close();
    }
}
