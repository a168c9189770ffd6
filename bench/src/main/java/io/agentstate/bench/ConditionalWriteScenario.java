package io.agentstate.bench;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scenario 3, conditional writes: concurrent writers, each in a loop of read-modify-write: {@code GET /sessions/{id}}
 * for the version (ETag), then {@code POST /sessions/{id}/events} with {@code If-Match} and a fresh
 * {@code Idempotency-Key}. The event is a small {@code state.patched} (a counter), the read-modify-write agents do on
 * shared state. Variant "own": each writer has its own session (no conflict expected); variant "shared": the writers
 * share a few sessions, so most attempts lose the race and get 409.
 */
final class ConditionalWriteScenario {

    static final String ID = "conditional-writes";

    private final Bench bench;
    private final Results.Scenario result;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    ConditionalWriteScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Conditional writes: GET then POST with If-Match");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("writers", sizes.writers());
        result.setup.put("secondsPerRun", sizes.writeSeconds());
        result.setup.put("warmupSeconds", 1);
        result.setup.put("sharedSessions", sizes.sharedSessions());
        result.setup.put("event", "agentstate.state.patched, scope shared, {\"counter\": n, \"writer\": w} (~200 B)");
        result.setup.put("client", "java.net.http.HttpClient (HTTP/1.1), one platform thread per writer");
        String own = "own session per writer";
        String shared = "shared: " + sizes.writers() + " writers on " + sizes.sharedSessions() + " sessions";
        if (sizes.runs() > 1) {
            // unrecorded: the state.patched path (scope loads, merge patch) is not warmed by the ingest scenarios
            result.setup.put("warmup", "one unrecorded run of each variant first");
            once(own, sizes.writers(), false);
            once(shared, sizes.sharedSessions(), false);
        }
        for (int r = 1; r <= sizes.runs(); r++) {
            once(own, sizes.writers(), true);
            once(shared, sizes.sharedSessions(), true);
        }
    }

    private void once(String variant, int sessionCount, boolean record) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        List<String> sessions = Bench.sessions(Bench.prefix("w"), sessionCount);
        long warmupEnd = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        long end = warmupEnd + Duration.ofSeconds(sizes.writeSeconds()).toNanos();
        Map<Integer, Samples> posts = new ConcurrentHashMap<>();
        Map<Integer, Samples> cycles = new ConcurrentHashMap<>();
        AtomicLong accepted = new AtomicLong();
        AtomicLong conflicts = new AtomicLong();
        AtomicLong pending = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        CountDownLatch done = new CountDownLatch(sizes.writers());
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < sizes.writers(); w++) {
            int writer = w;
            String session = sessions.get(w % sessions.size());
            Thread thread = new Thread(() -> {
                Samples post = new Samples();
                Samples cycle = new Samples();
                long n = 0;
                try {
                    while (System.nanoTime() < end) {
                        long begin = System.nanoTime();
                        HttpResponse<byte[]> read = http.send(bench.request("/sessions/" + session)
                                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
                        long version = read.statusCode() == 404 ? 0
                                : Long.parseLong(read.headers().firstValue("ETag").orElse("0").replace("\"", ""));
                        n++;
                        byte[] body = ("{\"specversion\":\"1.0\",\"source\":\"agent://writer-" + writer + "\","
                                + "\"type\":\"agentstate.state.patched\",\"data\":{\"scope\":\"shared\",\"patch\":"
                                + "{\"counter\":" + (version + 1) + ",\"writer\":\"w" + writer + "\",\"note\":"
                                + "\"read-modify-write from the benchmark harness\"}}}").getBytes(StandardCharsets.UTF_8);
                        long posted = System.nanoTime();
                        HttpResponse<byte[]> write = http.send(bench.request("/sessions/" + session
                                + "/events")
                                .header("Content-Type", Records.CONTENT_TYPE)
                                .header("Idempotency-Key", session + "-w" + writer + "-" + n)
                                .header("If-Match", "\"" + version + "\"")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                                HttpResponse.BodyHandlers.ofByteArray());
                        long finished = System.nanoTime();
                        if (posted < warmupEnd) {
                            continue;
                        }
                        post.add(finished - posted);
                        switch (write.statusCode()) {
                            case 201 -> {
                                accepted.incrementAndGet();
                                cycle.add(finished - begin);
                            }
                            case 409 -> conflicts.incrementAndGet();
                            case 202 -> pending.incrementAndGet();
                            default -> errors.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                    Bench.log("writer %d failed: %s", writer, e);
                } finally {
                    posts.put(writer, post);
                    cycles.put(writer, cycle);
                    done.countDown();
                }
            }, "bench-writer-" + w);
            writers.add(thread);
            thread.start();
        }
        done.await();
        // writers finish the cycle they are in when time is up
        double seconds = (System.nanoTime() - warmupEnd) / 1e9;
        Samples post = Samples.merge(posts.values());
        Samples cycle = Samples.merge(cycles.values());
        if (!record) {
            Bench.log("conditional writes warm-up (%s): %.0f accepted/s (not recorded)", variant,
                    accepted.get() / seconds);
            return;
        }
        result.add(variant, "accepted writes/s", "writes/s", accepted.get() / seconds);
        result.add(variant, "POST p50", "ms", post.percentileMillis(50));
        result.add(variant, "POST p99", "ms", post.percentileMillis(99));
        result.add(variant, "GET+POST p50 (accepted)", "ms", cycle.percentileMillis(50));
        result.add(variant, "GET+POST p99 (accepted)", "ms", cycle.percentileMillis(99));
        result.add(variant, "conflicts (409)/s", "1/s", conflicts.get() / seconds);
        result.add(variant, "errors + 202", "count", errors.get() + pending.get());
        Bench.log("conditional writes (%s): %.0f accepted/s, %.0f conflicts/s, POST p50 %.1f ms p99 %.1f ms, errors %d, "
                + "202 %d", variant, accepted.get() / seconds, conflicts.get() / seconds, post.percentileMillis(50),
                post.percentileMillis(99), errors.get(), pending.get());
    }
}
