package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Scenario 1, ingest: 1 KB {@code message.appended} events for many sessions, produced to Kafka as fast as a plain
 * producer goes (acks=all, linger 5 ms, 256 KB batches); timed from the first send until every event is committed in
 * PostgreSQL (the sum of the sessions' head versions equals the events sent) and every view in Redis is at its final
 * version. Each run then checks the invariants on what it wrote.
 */
final class IngestScenario {

    static final String ID = "ingest";

    /** What one ingest run did. */
    record Run(String prefix, long events, double seconds, double eventsPerSecond, Map<String, Object> cpu) {
    }

    private final Bench bench;
    private final Results.Scenario result;

    IngestScenario(Bench bench) {
        this(bench, bench.results.scenario(ID, "Ingest: Kafka producer to PostgreSQL and Redis"));
    }

    /** Ingest runs reported by another scenario (which records their figures itself). */
    IngestScenario(Bench bench, Results.Scenario result) {
        this.bench = bench;
        this.result = result;
    }

    /** Runs the warm-up and the measured runs; returns the prefix of the first measured run (the baselines' records). */
    String run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("sessions", sizes.ingestSessions());
        result.setup.put("eventsPerSession", sizes.ingestEventsPerSession());
        result.setup.put("eventsPerRun", sizes.ingestEvents());
        result.setup.put("recordBytes", sizes.eventBytes());
        result.setup.put("partitions", 6);
        result.setup.put("producer", "acks=all, idempotent, linger.ms=5, batch.size=262144");
        result.setup.put("load", "throughput burst: every event produced as fast as the producer goes (bounded by its "
                + "buffer, not paced), timed until the last is applied");
        result.setup.put("warmupEvents", sizes.ingestWarmupEvents());
        result.setup.put("end", "sum(version) of the run's session_heads = events sent, then every Redis view at its "
                + "final version");
        if (sizes.ingestWarmupEvents() > 0) {
            int sessions = Math.max(1, sizes.ingestWarmupEvents() / sizes.ingestEventsPerSession());
            Bench.log("ingest: warm-up with %d events", sessions * sizes.ingestEventsPerSession());
            once(Bench.prefix("iw"), sessions, sizes.ingestEventsPerSession(), false);
        }
        String first = null;
        List<Map<String, Object>> runs = new ArrayList<>();
        for (int r = 1; r <= sizes.runs(); r++) {
            String prefix = Bench.prefix("i");
            first = first == null ? prefix : first;
            Run run = once(prefix, sizes.ingestSessions(), sizes.ingestEventsPerSession(), r == 1);
            result.add("agent-state", "events/s", "events/s", run.eventsPerSecond());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("prefix", prefix);
            summary.put("seconds", CpuProbe.round(run.seconds()));
            summary.put("eventsPerSecond", Math.round(run.eventsPerSecond()));
            summary.put("cpu", run.cpu());
            runs.add(summary);
        }
        result.details.put("runs", runs);
        return first;
    }

    /** One ingest burst, timed until applied everywhere, its invariants then checked. */
    Run once(String prefix, int sessionCount, int perSession, boolean snapshotTop) throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        List<String> sessions = Bench.sessions(prefix, sessionCount);
        long total = (long) sessionCount * perSession;
        long deadLettersBefore = bench.endOffsets(Records.DEAD_LETTER_TOPIC);
        Map<String, Double> metricsBefore = bench.serviceMetrics();
        CpuProbe probe = new CpuProbe(bench.service.pid());
        AtomicReference<Exception> failure = new AtomicReference<>();
        AtomicLong acked = new AtomicLong();
        Thread top = snapshotTop ? topLater(3000) : null;
        CpuProbe.Snapshot cpuBefore = probe.take();
        long start = System.nanoTime();
        long produced;
        try (KafkaProducer<String, byte[]> producer = bench.producer(5, 262144)) {
            for (int n = 1; n <= perSession; n++) {
                for (String session : sessions) {
                    producer.send(bench.logRecord(session,
                            Records.message(session, n, sizes.eventBytes())), (metadata, e) -> {
                                if (e != null) {
                                    failure.compareAndSet(null, e);
                                } else {
                                    acked.incrementAndGet();
                                }
                            });
                }
            }
            producer.flush();
            produced = System.nanoTime();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("producing failed", failure.get());
        }
        long committed = waitCommitted(prefix, total, start);
        long visible;
        try (RedisClient redis = bench.redis()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (bench.viewsAt(redis, sessions, perSession) < sessions.size()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Redis views of " + prefix + " not at version " + perSession);
                }
                Thread.sleep(20);
            }
            visible = System.nanoTime();
        }
        CpuProbe.Snapshot cpuAfter = probe.take();
        double seconds = (visible - start) / 1e9;
        Map<String, Object> cpu = CpuProbe.between(cpuBefore, cpuAfter);
        cpu.put("producedSeconds", CpuProbe.round((produced - start) / 1e9));
        cpu.put("committedSeconds", CpuProbe.round((committed - start) / 1e9));
        cpu.put("ledgerMetrics", Bench.growth(metricsBefore, bench.serviceMetrics(), "agentstate_ledger_batch"));
        if (top != null) {
            top.join(10_000);
            result.details.put("topDuringFirstRun", topOutput);
        }
        Bench.log("ingest %s: %d events in %.2f s = %.0f events/s (produced in %.2f s, committed at %.2f s)", prefix,
                total, seconds, total / seconds, (produced - start) / 1e9, (committed - start) / 1e9);
        check(prefix, sessions, perSession, total, deadLettersBefore);
        return new Run(prefix, total, seconds, total / seconds, cpu);
    }

    private long waitCommitted(String prefix, long total, long start) throws SQLException, InterruptedException {
        try (Connection db = bench.jdbc()) {
            long last = -1;
            long progressed = System.nanoTime();
            while (true) {
                long committed = bench.versionsCommitted(db, prefix);
                if (committed == total) {
                    return System.nanoTime();
                }
                if (committed > total) {
                    throw new IllegalStateException("more versions than events sent: " + committed + " > " + total);
                }
                if (committed != last) {
                    last = committed;
                    progressed = System.nanoTime();
                } else if (System.nanoTime() - progressed > TimeUnit.SECONDS.toNanos(60)) {
                    throw new IllegalStateException("the ledger stalled: " + committed + " of " + total
                            + " events committed after " + (System.nanoTime() - start) / 1_000_000_000
                            + " s, none in the last 60 s; see the service log");
                }
                Thread.sleep(50);
            }
        }
    }

    /** The invariants on this run's sessions (DESIGN §2): counts, versions, no rejection, no dead letter, and views. */
    private void check(String prefix, List<String> sessions, int perSession, long total, long deadLettersBefore)
            throws IOException {
        Map<String, Object> checks = new LinkedHashMap<>();
        String like = "tenant = '" + Bench.TENANT + "' AND session_id LIKE '" + prefix + "-%'";
        long events = bench.queryLong("SELECT count(*) FROM events WHERE " + like);
        long distinct = bench.queryLong("SELECT count(*) FROM (SELECT DISTINCT session_id, version FROM events WHERE "
                + like + ") v");
        long maxVersionGap = bench.queryLong("SELECT count(*) FROM (SELECT session_id FROM events WHERE " + like
                + " GROUP BY session_id HAVING max(version) <> count(*) OR min(version) <> 1) g");
        long wrongHeads = bench.queryLong("SELECT count(*) FROM session_heads WHERE " + like + " AND version <> "
                + perSession);
        long rejections = bench.queryLong("SELECT count(*) FROM rejections WHERE " + like);
        long deadLetters = bench.endOffsets(Records.DEAD_LETTER_TOPIC) - deadLettersBefore;
        checks.put("eventRows", events);
        checks.put("distinctVersions", distinct);
        checks.put("sessionsWithGaps", maxVersionGap);
        checks.put("headsNotAtFinalVersion", wrongHeads);
        checks.put("rejections", rejections);
        checks.put("deadLetters", deadLetters);
        int sample = Math.min(100, sessions.size());
        int good = 0;
        try (ServiceClient http = bench.http()) {
            for (int i = 0; i < sample; i++) {
                String session = sessions.get(i * sessions.size() / sample);
                ServiceClient.Response response = http.get("/sessions/" + session);
                JsonNode body = Results.JSON.readTree(response.bytes());
                if (response.status() == 200 && response.version() == perSession
                        && body.path("messageCount").asLong() == perSession
                        && body.path("messages").size() == perSession) {
                    good++;
                }
            }
        }
        checks.put("sampledViewsChecked", sample);
        checks.put("sampledViewsCorrect", good);
        boolean ok = events == total && distinct == total && maxVersionGap == 0 && wrongHeads == 0 && rejections == 0
                && deadLetters == 0 && good == sample;
        checks.put("ok", ok);
        if (!ok) {
            Bench.log("ingest %s: INVARIANT CHECK FAILED %s", prefix, checks);
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> all = (List<Map<String, Object>>) result.details.computeIfAbsent("checks",
                k -> new ArrayList<Map<String, Object>>());
        all.add(checks);
    }

    private volatile List<String> topOutput;

    private Thread topLater(long delayMillis) {
        Thread thread = new Thread(() -> {
            try {
                Thread.sleep(delayMillis);
                // the first frame of top has no CPU deltas; the second covers one second of the run
                Process top = new ProcessBuilder("top", "-b", "-n", "2", "-d", "1", "-w", "160")
                        .redirectErrorStream(true).start();
                List<String> lines = new String(top.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                        .toList();
                top.waitFor();
                int second = 0;
                for (int i = 1; i < lines.size(); i++) {
                    if (lines.get(i).startsWith("top - ")) {
                        second = i;
                    }
                }
                topOutput = lines.subList(second, Math.min(lines.size(), second + 17));
            } catch (IOException | InterruptedException e) {
                topOutput = List.of("top failed: " + e.getMessage());
            }
        }, "bench-top");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
