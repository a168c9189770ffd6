package io.agentstate.bench;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Scenario 4, reads: {@code GET /sessions/{id}} from concurrent clients in a closed loop (the Vert.x HttpClient on the
 * harness's event loops, one keep-alive connection per client in flight), on sessions whose views are warm in Redis.
 * Two session shapes: a small state (two short messages and a state scope, about 1 KB of JSON) and the ingest shape (20
 * messages of 1 KB, about 22 KB of JSON).
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
        result.setup.put("load", "closed loop: " + sizes.readers() + " concurrent clients, each sends its next GET when "
                + "the previous one has answered");
        result.setup.put("client", "Vert.x HttpClient (HTTP/1.1, keep-alive, no pipelining) with a pool of "
                + sizes.readers() + " connections over the harness's " + Bench.EVENT_LOOPS + " event loops, "
                + "non-blocking; random session per request; body read whole");
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
        try (ServiceClient http = bench.http()) {
            return http.get("/sessions/" + session).length();
        }
    }

    private void warm(List<String> sessions) throws Exception {
        try (ServiceClient http = bench.http()) {
            for (String session : sessions) {
                if (http.get("/sessions/" + session).status() != 200) {
                    throw new IllegalStateException("session " + session + " not readable");
                }
            }
        }
    }

    /** What one run counts, from the clients' callbacks on the harness's event loops. */
    private static final class Tally {
        final Samples latencies = Samples.concurrent();
        final AtomicLong ok = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    }

    private void once(String variant, List<String> sessions) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        Tally tally = new Tally();
        CountDownLatch done = new CountDownLatch(sizes.readers());
        double seconds;
        try (ServiceClient http = bench.http(sizes.readers())) {
            long warmupEnd = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            long end = warmupEnd + Duration.ofSeconds(sizes.readSeconds()).toNanos();
            for (int c = 0; c < sizes.readers(); c++) {
                read(http, sessions, new SplittableRandom(c), warmupEnd, end, tally, done);
            }
            // each request may take up to the client's timeout; past that the run is broken, not slow
            long budget = 1 + sizes.readSeconds() + ServiceClient.TIMEOUT.toSeconds() + 10;
            if (!done.await(budget, TimeUnit.SECONDS)) {
                throw new IllegalStateException("read clients still busy " + budget + " s after the start");
            }
            seconds = (System.nanoTime() - warmupEnd) / 1e9;
        }
        if (tally.firstFailure.get() != null) {
            Bench.log("reads: %d failed requests, the first: %s", tally.errors.get(), tally.firstFailure.get());
        }
        Samples all = tally.latencies;
        if (variant == null) {
            Bench.log("reads warm-up: %.0f requests/s (not recorded)", tally.ok.get() / seconds);
            return;
        }
        result.add(variant, "requests/s", "requests/s", tally.ok.get() / seconds);
        result.add(variant, "p50", "ms", all.percentileMillis(50));
        result.add(variant, "p99", "ms", all.percentileMillis(99));
        result.add(variant, "MB/s served", "MB/s", tally.bytes.get() / seconds / 1e6);
        result.add(variant, "errors", "count", tally.errors.get());
        Bench.log("reads (%s): %.0f requests/s, p50 %.2f ms, p99 %.2f ms, errors %d", variant, tally.ok.get() / seconds,
                all.percentileMillis(50), all.percentileMillis(99), tally.errors.get());
    }

    /**
     * One client's closed loop: a GET of a random session, and the next one when it has answered, until the end. It
     * runs on the event loop that delivers the answers, so it never blocks.
     */
    private static void read(ServiceClient http, List<String> sessions, SplittableRandom random, long warmupEnd,
            long end, Tally tally, CountDownLatch done) {
        long begin = System.nanoTime();
        if (begin >= end) {
            done.countDown();
            return;
        }
        http.getAsync("/sessions/" + sessions.get(random.nextInt(sessions.size()))).onComplete(answer -> {
            long finished = System.nanoTime();
            if (answer.failed()) {
                // as a client whose connection broke: it stops (a failure can complete at once, so no retry loop)
                tally.errors.incrementAndGet();
                tally.firstFailure.compareAndSet(null, answer.cause());
                done.countDown();
                return;
            }
            boolean recorded = begin >= warmupEnd;
            if (recorded && answer.result().status() != 200) {
                tally.errors.incrementAndGet();
                tally.firstFailure.compareAndSet(null, new IllegalStateException("GET answered "
                        + answer.result().status()));
            } else if (recorded) {
                tally.latencies.add(finished - begin);
                tally.ok.incrementAndGet();
                tally.bytes.addAndGet(answer.result().length());
            }
            read(http, sessions, random, warmupEnd, end, tally, done);
        });
    }
}
