package io.agentstate.bench;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Scenario 4, reads: {@code GET /sessions/{id}} from concurrent clients, each on its own keep-alive connection, on
 * sessions whose views are warm in Redis. Two session shapes: a small state (two short messages and a state scope,
 * about 1 KB of JSON) and the ingest shape (20 messages of 1 KB, about 22 KB of JSON).
 */
final class ReadScenario {

    static final String ID = "reads";

    private final Bench bench;
    private final Results.Scenario result;

    ReadScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Reads: GET /sessions/{id} on warm sessions");
    }

    void run(String ingestPrefix) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("clients", sizes.readers());
        result.setup.put("sessions", sizes.readSessions());
        result.setup.put("secondsPerRun", sizes.readSeconds());
        result.setup.put("warmupSeconds", 1);
        result.setup.put("warmupRun", "one unrecorded run on the small sessions first (full mode)");
        result.setup.put("client", "one blocking HTTP/1.1 keep-alive socket per client thread (HttpConnection); "
                + "random session per request; body read whole");
        List<String> small = smallSessions(sizes.readSessions());
        List<String> large = ingestPrefix == null ? List.of()
                : Bench.sessions(ingestPrefix, Math.min(sizes.readSessions(), sizes.ingestSessions()));
        result.setup.put("smallStateBytes", bodySize(small.get(0)));
        if (!large.isEmpty()) {
            result.setup.put("ingestShapeStateBytes", bodySize(large.get(0)));
        }
        warm(small);
        warm(large);
        if (sizes.runs() > 1) {
            once(null, small);
        }
        for (int r = 1; r <= sizes.runs(); r++) {
            once("small state (" + size(bodySize(small.get(0))) + ")", small);
            if (!large.isEmpty()) {
                once("ingest shape: " + sizes.ingestEventsPerSession() + " x 1 KB messages ("
                        + size(bodySize(large.get(0))) + ")", large);
            }
        }
    }

    private List<String> smallSessions(int count) throws Exception {
        String prefix = Bench.prefix("r");
        List<String> sessions = Bench.sessions(prefix, count);
        try (KafkaProducer<String, byte[]> producer = bench.producer(5, 262144)) {
            for (String session : sessions) {
                for (int n = 1; n <= 3; n++) {
                    String data = n < 3
                            ? "{\"role\":\"" + (n == 1 ? "user" : "assistant") + "\",\"content\":\""
                                    + Records.content(n, 120) + "\"}"
                            : "{\"scope\":\"shared\",\"patch\":{\"plan\":\"search then summarise\",\"step\":2}}";
                    String type = n < 3 ? "agentstate.message.appended" : "agentstate.state.patched";
                    String value = "{\"specversion\":\"1.0\",\"id\":\"" + session + "-e" + n + "\",\"source\":"
                            + "\"agent://bench\",\"type\":\"" + type + "\",\"subject\":\"" + session + "\",\"time\":\""
                            + Records.T0.plusSeconds(n) + "\",\"data\":" + data + "}";
                    producer.send(bench.logRecord(session, value.getBytes(StandardCharsets.UTF_8)));
                }
            }
            producer.flush();
        }
        try (Connection db = bench.jdbc()) {
            long expected = 3L * count;
            boolean done = Bench.await(120_000, 50, () -> {
                try {
                    return bench.versionsCommitted(db, prefix) == expected;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            if (!done) {
                throw new IllegalStateException("read sessions " + prefix + " not applied");
            }
        }
        return sessions;
    }

    private static String size(int bytes) {
        return bytes < 1024 ? bytes + " B" : Math.round(bytes / 1024.0) + " KB";
    }

    private int bodySize(String session) throws Exception {
        try (HttpConnection http = bench.http()) {
            return http.get("/sessions/" + session).body().length;
        }
    }

    private void warm(List<String> sessions) throws Exception {
        try (HttpConnection http = bench.http()) {
            for (String session : sessions) {
                if (http.get("/sessions/" + session).status() != 200) {
                    throw new IllegalStateException("session " + session + " not readable");
                }
            }
        }
    }

    private void once(String variant, List<String> sessions) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        long warmupEnd = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        long end = warmupEnd + Duration.ofSeconds(sizes.readSeconds()).toNanos();
        Map<Integer, Samples> latencies = new ConcurrentHashMap<>();
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        CountDownLatch done = new CountDownLatch(sizes.readers());
        List<Thread> readers = new ArrayList<>();
        for (int c = 0; c < sizes.readers(); c++) {
            int client = c;
            Thread thread = new Thread(() -> {
                Samples samples = new Samples();
                SplittableRandom random = new SplittableRandom(client);
                try (HttpConnection http = bench.http()) {
                    while (true) {
                        long begin = System.nanoTime();
                        if (begin >= end) {
                            break;
                        }
                        HttpConnection.Response response = http.get("/sessions/"
                                + sessions.get(random.nextInt(sessions.size())));
                        long finished = System.nanoTime();
                        if (begin < warmupEnd) {
                            continue;
                        }
                        if (response.status() == 200) {
                            samples.add(finished - begin);
                            ok.incrementAndGet();
                            bytes.addAndGet(response.body().length);
                        } else {
                            errors.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                    Bench.log("reader %d failed: %s", client, e);
                } finally {
                    latencies.put(client, samples);
                    done.countDown();
                }
            }, "bench-reader-" + c);
            readers.add(thread);
            thread.start();
        }
        done.await();
        double seconds = (System.nanoTime() - warmupEnd) / 1e9;
        Samples all = Samples.merge(latencies.values());
        if (variant == null) {
            Bench.log("reads warm-up: %.0f requests/s (not recorded)", ok.get() / seconds);
            return;
        }
        result.add(variant, "requests/s", "requests/s", ok.get() / seconds);
        result.add(variant, "p50", "ms", all.percentileMillis(50));
        result.add(variant, "p99", "ms", all.percentileMillis(99));
        result.add(variant, "MB/s served", "MB/s", bytes.get() / seconds / 1e6);
        result.add(variant, "errors", "count", errors.get());
        Bench.log("reads (%s): %.0f requests/s, p50 %.2f ms, p99 %.2f ms, errors %d", variant, ok.get() / seconds,
                all.percentileMillis(50), all.percentileMillis(99), errors.get());
    }
}
