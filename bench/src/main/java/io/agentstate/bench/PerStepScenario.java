package io.agentstate.bench;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Per-step persistence, ours: an agent step is one {@code message.appended} of 1 KB. Through REST, a step is a
 * {@code POST /sessions/{id}/events} that returns 201 once the event is committed in PostgreSQL and visible in Redis
 * (I5). Through Kafka, a step is a send acknowledged by the broker (acks=all); the ledger applies it afterwards (see
 * visibility). Each worker writes sessions of N steps one after another, like LangGraph threads of N checkpoints.
 */
final class PerStepScenario {

    static final String ID = "per-step";

    private final Bench bench;
    private final Results.Scenario result;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    PerStepScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Per-step persistence: one event per agent step");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("concurrency", sizes.stepConcurrency());
        result.setup.put("secondsPerLevel", sizes.stepSeconds());
        result.setup.put("stepsPerSession", sizes.stepsPerSession());
        result.setup.put("stepBytes", sizes.eventBytes());
        result.setup.put("load", "closed loop: c workers per level, each sends its next step when the previous one was "
                + "acknowledged (a throughput measure; its latencies are per step as answered, not from a schedule)");
        result.setup.put("rest", "POST /sessions/{id}/events with Idempotency-Key and If-Match, java.net.http.HttpClient; "
                + "a step ends at 201 (committed in PostgreSQL, visible in Redis)");
        result.setup.put("kafka", "KafkaProducer acks=all, linger.ms=1, send().get() per step; a step ends at the ack");
        result.setup.put("bytesPerStep", "growth of the ledger tables (events, decisions, session_heads, snapshots, ...; "
                + "indexes and TOAST included) / events added, REST and Kafka steps together");
        restLevel(Bench.prefix("pw"), 8, 1);
        for (int r = 1; r <= sizes.runs(); r++) {
            long bytesBefore = bench.ledgerBytes();
            long rowsBefore = bench.eventRows();
            CpuProbe probe = new CpuProbe(bench.service.pid());
            CpuProbe.Snapshot cpuBefore = probe.take();
            long restSteps = 0;
            for (int c : sizes.stepConcurrency()) {
                restSteps += restLevel(Bench.prefix("pr"), c, sizes.stepSeconds());
            }
            CpuProbe.Snapshot cpuAfter = probe.take();
            Map<String, Object> cpu = CpuProbe.between(cpuBefore, cpuAfter);
            @SuppressWarnings("unchecked")
            Map<String, Double> processes = (Map<String, Double>) cpu.get("processCores");
            double wall = (Double) cpu.get("wallSeconds");
            result.add("agent-state REST", "PostgreSQL CPU per step", "ms",
                    processes.getOrDefault("PostgreSQL", 0.0) * wall * 1000 / restSteps);
            result.add("agent-state REST", "service CPU per step", "ms",
                    processes.getOrDefault("agent-state service (JVM)", 0.0) * wall * 1000 / restSteps);
            for (int c : sizes.stepConcurrency()) {
                kafkaLevel(Bench.prefix("pk"), c, sizes.stepSeconds());
            }
            long bytes = bench.ledgerBytes() - bytesBefore;
            long rows = bench.eventRows() - rowsBefore;
            result.add("agent-state", "bytes stored per step", "bytes", (double) bytes / rows);
            result.details.put("run" + r + "Cpu", cpu);
        }
    }

    /** One agent step: write step {@code n} of a session; true when it was acknowledged. */
    private interface Step {
        boolean write(String session, int n) throws Exception;
    }

    /** What one concurrency level of one variant measured. */
    private record Level(long steps, long errors, Samples samples, double elapsedSeconds) {
        double rate() {
            return steps / elapsedSeconds;
        }
    }

    // Workers write sessions of N steps one after another until the time is up, timing each acknowledged step.
    private Level drive(String name, String prefix, int concurrency, int seconds, Step step) throws InterruptedException {
        BenchOptions.Sizes sizes = bench.sizes();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        Map<Integer, Samples> latencies = new ConcurrentHashMap<>();
        AtomicLong steps = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        CountDownLatch done = new CountDownLatch(concurrency);
        long start = System.nanoTime();
        for (int w = 0; w < concurrency; w++) {
            int worker = w;
            Thread thread = new Thread(() -> {
                Samples samples = new Samples();
                try {
                    for (int t = 0; System.nanoTime() < end; t++) {
                        String session = prefix + "-w" + worker + "-t" + t;
                        for (int n = 1; n <= sizes.stepsPerSession() && System.nanoTime() < end; n++) {
                            long begin = System.nanoTime();
                            if (step.write(session, n)) {
                                samples.add(System.nanoTime() - begin);
                                steps.incrementAndGet();
                            } else {
                                errors.incrementAndGet();
                            }
                        }
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                    Bench.log("%s worker %d failed: %s", name, worker, e);
                } finally {
                    latencies.put(worker, samples);
                    done.countDown();
                }
            }, "bench-" + name + "-" + w);
            thread.start();
        }
        done.await();
        return new Level(steps.get(), errors.get(), Samples.merge(latencies.values()),
                (System.nanoTime() - start) / 1e9);
    }

    private void report(String variant, Level level) {
        result.add(variant, "steps/s", "steps/s", level.rate());
        result.add(variant, "p50", "ms", level.samples().percentileMillis(50));
        result.add(variant, "p99", "ms", level.samples().percentileMillis(99));
        result.add(variant, "errors", "count", level.errors());
        Bench.log("per-step %s: %.0f steps/s, p50 %.1f ms, p99 %.1f ms, errors %d", variant, level.rate(),
                level.samples().percentileMillis(50), level.samples().percentileMillis(99), level.errors());
    }

    private long restLevel(String prefix, int concurrency, int seconds) throws Exception {
        int eventBytes = bench.sizes().eventBytes();
        Level level = drive("step-rest", prefix, concurrency, seconds, (session, n) -> http.send(bench
                .request("/sessions/" + session + "/events")
                .header("Content-Type", Records.CONTENT_TYPE)
                .header("Idempotency-Key", session + "-e" + n)
                .header("If-Match", "\"" + (n - 1) + "\"")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Records.restMessage(n, eventBytes)))
                .build(), HttpResponse.BodyHandlers.ofByteArray()).statusCode() == 201);
        if (!prefix.startsWith("pw")) {
            report("agent-state REST c=" + concurrency, level);
        }
        return level.steps();
    }

    private void kafkaLevel(String prefix, int concurrency, int seconds) throws Exception {
        int eventBytes = bench.sizes().eventBytes();
        Level level;
        try (KafkaProducer<String, byte[]> producer = bench.producer(1, 65536)) {
            level = drive("step-kafka", prefix, concurrency, seconds, (session, n) -> {
                producer.send(bench.logRecord(session, Records.message(session, n, eventBytes)))
                        .get();
                return true;
            });
        }
        report("agent-state Kafka c=" + concurrency, level);
        // the ledger applies these afterwards; wait so the next level and the size measurement see them applied
        try (Connection db = bench.jdbc()) {
            long expected = level.steps();
            Bench.await(120_000, 50, () -> {
                try {
                    return bench.versionsCommitted(db, prefix) >= expected;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }
}
