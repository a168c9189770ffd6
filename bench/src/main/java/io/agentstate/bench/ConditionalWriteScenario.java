package io.agentstate.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.Future;

/**
 * Scenario 3, conditional writes, open loop: writes arrive at a fixed rate whatever the service's latency, each a
 * read-modify-write: {@code GET /sessions/{id}} for the version (ETag), then {@code POST /sessions/{id}/events} with
 * {@code If-Match} and a fresh {@code Idempotency-Key}. The event is a small {@code state.patched} (a counter), the
 * read-modify-write agents do on shared state. Latency counts from each arrival's intended send time on the schedule,
 * so a slow answer delays no later measurement (no coordinated omission); percentiles from HdrHistogram. Variant "own":
 * the arrivals spread over one session per former writer (a conflict only when two writes of a session overlap);
 * variant "shared": the same rate on a few sessions, so many arrivals lose the race and get 409, which is counted and
 * not retried.
 */
final class ConditionalWriteScenario {

    static final String ID = "conditional-writes";
    private static final Duration WARMUP = Duration.ofSeconds(1);
    /** How long the writes still in flight at the end of a run may take to answer (each is bounded by its timeout). */
    private static final Duration DRAIN = ServiceClient.TIMEOUT.multipliedBy(2).plusSeconds(10);

    private final Bench bench;
    private final Results.Scenario result;

    ConditionalWriteScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Conditional writes: GET then POST with If-Match");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("load", "open loop: " + sizes.writeRate() + " writes/s at fixed intervals in both variants, "
                + "each a GET then a POST with If-Match, sent without waiting for earlier ones; a 409 is a lost race, "
                + "counted and not retried; at most " + sizes.writeMaxInFlight() + " writes in flight, an arrival beyond "
                + "that is not sent and is counted as 'over in-flight bound'");
        result.setup.put("ratePerSecond", sizes.writeRate());
        result.setup.put("maxInFlight", sizes.writeMaxInFlight());
        result.setup.put("writers", sizes.writers());
        result.setup.put("ownSessions", sizes.writers());
        result.setup.put("sharedSessions", sizes.sharedSessions());
        result.setup.put("secondsPerRun", sizes.writeSeconds());
        result.setup.put("warmupSeconds", WARMUP.toSeconds());
        result.setup.put("latency", "POST: from its send (right after the GET answered) to its answer; GET+POST: from "
                + "the arrival's intended send time to the POST's answer; HdrHistogram, 3 significant digits");
        result.setup.put("event", "agentstate.state.patched, scope shared, {\"counter\": n, \"writer\": a} (~200 B)");
        result.setup.put("client", "Vert.x HttpClient (HTTP/1.1, keep-alive), non-blocking, a pool of "
                + sizes.writeMaxInFlight() + " connections over the harness's " + Bench.EVENT_LOOPS + " event loops; "
                + "one scheduler thread");
        String own = "own: " + sizes.writers() + " sessions";
        String shared = "shared: " + sizes.sharedSessions() + " sessions";
        if (sizes.runs() > 1) {
            // unrecorded: the state.patched path (scope loads, merge patch) is not warmed by the ingest scenarios
            result.setup.put("warmup", "one unrecorded run of each variant first");
            once(own, sizes.writers(), 0);
            once(shared, sizes.sharedSessions(), 0);
        }
        for (int r = 1; r <= sizes.runs(); r++) {
            once(own, sizes.writers(), r);
            once(shared, sizes.sharedSessions(), r);
        }
    }

    /** What one run counts; the callbacks run on the harness's event loops. */
    private static final class Tally {
        final Samples posts = Samples.concurrent();
        final Samples cycles = Samples.concurrent();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong conflicts = new AtomicLong();
        final AtomicLong pending = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong sent = new AtomicLong();
        final AtomicLong overBound = new AtomicLong();
        final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    }

    /** One arrival: its session, its number, its intended send time, and whether it is measured. */
    private record Arrival(String session, long number, long intended, boolean measured) {
    }

    /** The POST's answer and when it was sent. */
    private record Written(int status, long posted) {
    }

    /** One run of a variant; run 0 is the unrecorded warm-up. */
    private void once(String variant, int sessionCount, int run) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        List<String> sessions = Bench.sessions(Bench.prefix("w"), sessionCount);
        long interval = 1_000_000_000L / sizes.writeRate();
        long warmupArrivals = WARMUP.toNanos() / interval;
        long total = warmupArrivals + (long) sizes.writeSeconds() * sizes.writeRate();
        Tally tally = new Tally();
        long behind = 0;
        try (ServiceClient http = bench.http(sizes.writeMaxInFlight())) {
            long start = System.nanoTime();
            for (long i = 0; i < total; i++) {
                long intended = start + i * interval;
                behind = Math.max(behind, Bench.awaitDue(intended));
                if (Thread.currentThread().isInterrupted()) {
                    throw new IllegalStateException("interrupted (the scenario's deadline)");
                }
                Arrival arrival = new Arrival(sessions.get((int) (i % sessions.size())), i, intended,
                        i >= warmupArrivals);
                if (tally.inFlight.get() >= sizes.writeMaxInFlight()) {
                    // the service is not keeping up with the rate: counted and reported, never waited for
                    if (arrival.measured()) {
                        tally.overBound.incrementAndGet();
                    }
                    continue;
                }
                tally.inFlight.incrementAndGet();
                if (arrival.measured()) {
                    tally.sent.incrementAndGet();
                }
                write(http, arrival, tally);
            }
            if (!Bench.await(DRAIN.toMillis(), 5, () -> tally.inFlight.get() == 0)) {
                throw new IllegalStateException(tally.inFlight.get() + " conditional writes still unanswered "
                        + DRAIN.toSeconds() + " s after the last arrival");
            }
        }
        double seconds = sizes.writeSeconds();
        if (tally.firstFailure.get() != null) {
            Bench.log("conditional writes (%s): %d errors, the first: %s", variant, tally.errors.get(),
                    tally.firstFailure.get());
        }
        if (run == 0) {
            Bench.log("conditional writes warm-up (%s): %.0f accepted/s (not recorded)", variant,
                    tally.accepted.get() / seconds);
            return;
        }
        Samples post = tally.posts;
        Samples cycle = tally.cycles;
        result.add(variant, "accepted writes/s", "writes/s", tally.accepted.get() / seconds);
        result.add(variant, "offered writes/s", "writes/s", sizes.writeRate());
        result.add(variant, "POST p50", "ms", post.percentileMillis(50));
        result.add(variant, "POST p99", "ms", post.percentileMillis(99));
        result.add(variant, "POST p99.9", "ms", post.percentileMillis(99.9));
        result.add(variant, "POST max", "ms", post.maxMillis());
        result.add(variant, "GET+POST p50 (accepted)", "ms", cycle.percentileMillis(50));
        result.add(variant, "GET+POST p99 (accepted)", "ms", cycle.percentileMillis(99));
        result.add(variant, "GET+POST p99.9 (accepted)", "ms", cycle.percentileMillis(99.9));
        result.add(variant, "GET+POST max (accepted)", "ms", cycle.maxMillis());
        result.add(variant, "conflicts (409)/s", "1/s", tally.conflicts.get() / seconds);
        result.add(variant, "errors + 202", "count", tally.errors.get() + tally.pending.get());
        result.add(variant, "over in-flight bound", "count", tally.overBound.get());
        result.details.put(variant + ", run " + run, Map.of("sent",
                tally.sent.get(), "errors", tally.errors.get(), "202", tally.pending.get(), "maxScheduleLagMs",
                behind / 1_000_000.0));
        Bench.log("conditional writes (%s): %.0f accepted/s of %d offered, %.0f conflicts/s, POST p50 %.1f ms p99 %.1f "
                + "ms, GET+POST p99 %.1f ms from the intended send, errors %d, 202 %d, over the in-flight bound %d",
                variant, tally.accepted.get() / seconds, sizes.writeRate(), tally.conflicts.get() / seconds,
                post.percentileMillis(50), post.percentileMillis(99), cycle.percentileMillis(99), tally.errors.get(),
                tally.pending.get(), tally.overBound.get());
    }

    /** Sends one arrival's GET, then its POST, without blocking; the answer is counted on the event loop. */
    private void write(ServiceClient http, Arrival arrival, Tally tally) {
        String session = arrival.session();
        http.getAsync("/sessions/" + session)
                .compose(read -> {
                    if (read.status() != 200 && read.status() != 404) {
                        return Future.<Written> failedFuture("GET /sessions/{id} answered " + read.status());
                    }
                    long version = read.status() == 404 ? 0 : read.version();
                    byte[] body = ("{\"specversion\":\"1.0\",\"source\":\"agent://writer\","
                            + "\"type\":\"agentstate.state.patched\",\"data\":{\"scope\":\"shared\",\"patch\":"
                            + "{\"counter\":" + (version + 1) + ",\"writer\":\"a" + arrival.number() + "\",\"note\":"
                            + "\"read-modify-write from the benchmark harness\"}}}").getBytes(StandardCharsets.UTF_8);
                    long posted = System.nanoTime();
                    return http.postAsync("/sessions/" + session + "/events", Map.of(
                            "Content-Type", Records.CONTENT_TYPE,
                            "Idempotency-Key", session + "-a" + arrival.number(),
                            "If-Match", "\"" + version + "\""), body)
                            .map(write -> new Written(write.status(), posted));
                })
                .onComplete(answer -> {
                    long finished = System.nanoTime();
                    try {
                        if (!arrival.measured()) {
                            return;
                        }
                        if (answer.failed()) {
                            tally.errors.incrementAndGet();
                            tally.firstFailure.compareAndSet(null, answer.cause());
                            return;
                        }
                        Written written = answer.result();
                        tally.posts.add(finished - written.posted());
                        switch (written.status()) {
                            case 201 -> {
                                tally.accepted.incrementAndGet();
                                tally.cycles.add(finished - arrival.intended());
                            }
                            case 409 -> tally.conflicts.incrementAndGet();
                            case 202 -> tally.pending.incrementAndGet();
                            default -> {
                                tally.errors.incrementAndGet();
                                tally.firstFailure.compareAndSet(null,
                                        new IllegalStateException("POST answered " + written.status()));
                            }
                        }
                    } finally {
                        tally.inFlight.decrementAndGet();
                    }
                });
    }
}
