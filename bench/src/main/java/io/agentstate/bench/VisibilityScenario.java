package io.agentstate.bench;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Scenario 2, visibility: events produced open loop, at a fixed rate, to a set of sessions; for one event in N, a
 * poller thread reads {@code GET /sessions/{id}} every 2 ms from the moment the broker acknowledged the event until the
 * session's ETag reaches the event's version. Latency is acknowledgement to first read that sees it, and also from the
 * send and from the event's intended send time on the fixed schedule (so a producer that falls behind shows in the
 * figures); percentiles from HdrHistogram.
 */
final class VisibilityScenario {

    static final String ID = "visibility";
    /** Pause between two reads of a watched session: fine enough for the targets, light enough not to load the service. */
    private static final long POLL_NANOS = 2_000_000;
    private static final int POLLERS = 16;

    private final Bench bench;
    private final Results.Scenario result;

    VisibilityScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Visibility: produce-ack to GET sees the version");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("ratePerSecond", sizes.visibilityRate());
        result.setup.put("sessions", sizes.visibilitySessions());
        result.setup.put("secondsPerRun", sizes.visibilitySeconds());
        result.setup.put("warmupSecondsPerRun", 2);
        result.setup.put("sampledOneIn", sizes.visibilitySampleEvery());
        result.setup.put("recordBytes", sizes.eventBytes());
        result.setup.put("load", "open loop: " + sizes.visibilityRate() + " events/s on a fixed schedule (a late send is "
                + "not waited for, it goes at once and its lateness counts from the intended send time)");
        result.setup.put("poll", "GET /sessions/{id} every 2 ms per sampled event (16 poller threads, Vert.x HttpClient "
                + "with 16 keep-alive connections), from the ack");
        result.setup.put("percentiles", "HdrHistogram, 3 significant digits, every sample");
        result.setup.put("producer", "acks=all, idempotent, linger.ms=1");
        result.setup.put("warmupRun", sizes.runs() > 1 ? "one unrecorded run first" : "none");
        for (int r = sizes.runs() > 1 ? 0 : 1; r <= sizes.runs(); r++) {
            once(r);
        }
    }

    /** One run; run 0 is the unrecorded warm-up (JIT of the small-batch path, PostgreSQL settling). */
    private void once(int run) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        String prefix = Bench.prefix("v");
        List<String> sessions = Bench.sessions(prefix, sizes.visibilitySessions());
        long warmup = 2L * sizes.visibilityRate();
        long measured = (long) sizes.visibilitySeconds() * sizes.visibilityRate();
        long total = warmup + measured;
        Map<Thread, Samples> fromAck = new ConcurrentHashMap<>();
        Map<Thread, Samples> fromSend = new ConcurrentHashMap<>();
        Map<Thread, Samples> fromIntended = new ConcurrentHashMap<>();
        AtomicInteger timeouts = new AtomicInteger();
        AtomicLong errors = new AtomicLong();
        ServiceClient http = bench.http(POLLERS);
        AtomicInteger threads = new AtomicInteger();
        ExecutorService pollers = Executors.newFixedThreadPool(POLLERS, task -> {
            Thread thread = new Thread(task, "bench-visibility-poller-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        long interval = 1_000_000_000L / sizes.visibilityRate();
        long start;
        long producedNanos;
        long behind = 0;
        try (http; KafkaProducer<String, byte[]> producer = bench.producer(1, 65536)) {
            start = System.nanoTime();
            for (long i = 0; i < total; i++) {
                long due = start + i * interval;
                behind = Math.max(behind, Bench.awaitDue(due));
                String session = sessions.get((int) (i % sessions.size()));
                long version = i / sessions.size() + 1;
                boolean watched = i >= warmup && i % sizes.visibilitySampleEvery() == 0;
                long sent = System.nanoTime();
                Watch watch = new Watch(session, version, due, sent);
                producer.send(bench.logRecord(session,
                        Records.message(session, (int) version, sizes.eventBytes())), (metadata, e) -> {
                            if (e != null) {
                                errors.incrementAndGet();
                            } else if (watched) {
                                long acked = System.nanoTime();
                                pollers.execute(() -> watch(http, watch, acked, fromAck, fromSend, fromIntended,
                                        timeouts));
                            }
                        });
            }
            producer.flush();
            producedNanos = System.nanoTime() - start;
            pollers.shutdown();
            if (!pollers.awaitTermination(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("visibility pollers still running 60 s after the last event");
            }
        } finally {
            pollers.shutdownNow();
        }
        Samples ack = Samples.merge(fromAck.values());
        Samples send = Samples.merge(fromSend.values());
        Samples intended = Samples.merge(fromIntended.values());
        double achievedRate = total / (producedNanos / 1e9);
        if (run == 0) {
            Bench.log("visibility warm-up: p50 %.1f ms, p99 %.1f ms (not recorded)", ack.percentileMillis(50),
                    ack.percentileMillis(99));
            return;
        }
        result.add("ack to visible", "p50", "ms", ack.percentileMillis(50));
        result.add("ack to visible", "p99", "ms", ack.percentileMillis(99));
        result.add("ack to visible", "p99.9", "ms", ack.percentileMillis(99.9));
        result.add("ack to visible", "max", "ms", ack.maxMillis());
        result.add("send to visible", "p50", "ms", send.percentileMillis(50));
        result.add("send to visible", "p99", "ms", send.percentileMillis(99));
        result.add("intended send to visible", "p50", "ms", intended.percentileMillis(50));
        result.add("intended send to visible", "p99", "ms", intended.percentileMillis(99));
        result.add("intended send to visible", "p99.9", "ms", intended.percentileMillis(99.9));
        result.add("intended send to visible", "max", "ms", intended.maxMillis());
        result.add("producer", "achieved rate", "events/s", achievedRate);
        result.add("producer", "samples", "events", ack.size());
        result.details.put("run" + run, Map.of("prefix", prefix, "timeouts", timeouts.get(), "produceErrors",
                errors.get(), "maxScheduleLagMs", behind / 1_000_000.0));
        Bench.log("visibility run %d: %d samples, p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms at %.0f events/s", run,
                ack.size(), ack.percentileMillis(50), ack.percentileMillis(99), ack.percentileMillis(99.9),
                achievedRate);
    }

    /** A watched event: its session and version, when it was due on the schedule and when it was sent. */
    private record Watch(String session, long version, long due, long sent) {
    }

    private static void watch(ServiceClient http, Watch watch, long acked, Map<Thread, Samples> fromAck,
            Map<Thread, Samples> fromSend, Map<Thread, Samples> fromIntended, AtomicInteger timeouts) {
        long deadline = acked + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
            try {
                ServiceClient.Response response = http.get("/sessions/" + watch.session());
                if (response.status() == 200 && response.version() >= watch.version()) {
                    long seen = System.nanoTime();
                    fromAck.computeIfAbsent(Thread.currentThread(), t -> new Samples()).add(seen - acked);
                    fromSend.computeIfAbsent(Thread.currentThread(), t -> new Samples()).add(seen - watch.sent());
                    fromIntended.computeIfAbsent(Thread.currentThread(), t -> new Samples()).add(seen - watch.due());
                    return;
                }
            } catch (IOException e) {
                // counted as a timeout if it never succeeds within the deadline
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        timeouts.incrementAndGet();
    }
}
