package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Growth: what one append costs as a session grows. Sessions are prepared through the service (the Kafka path of the
 * ingest scenario) with 10, 1,000 and 10,000 messages of 1 KB, and with a state scope of 1 KB and of 1 MB, and waited
 * for until {@code GET /sessions/{id}} shows each at its version (ETag). Then each takes N REST appends one at a time: a
 * 1 KB {@code message.appended} on the message sessions, a one-field {@code state.patched} merge patch on the scope
 * sessions, and the same on fresh sessions for the ratio. Per shape: append latency (HdrHistogram) and the ledger's
 * cost per event as the service's, PostgreSQL's and Redis's CPU time over the shape's appends divided by their count.
 */
final class GrowthScenario {

    static final String ID = "growth";
    /**
     * The largest field one preparing patch adds to a scope: a 1 MB scope is built from several patches, each well under
     * the service's per-event limit ({@code agent-state.ingest.max-event-bytes}, 256 KiB by default).
     */
    private static final int PART_CHARS = 128 * 1024;
    /** How long the ledger may go without committing any preparing event before the preparation fails. */
    private static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final String SERVICE = "agent-state service (JVM)";
    private static final String POSTGRES = "PostgreSQL";
    private static final String REDIS = "Redis";

    /** What a shape's sessions hold when prepared, and so what they are appended. */
    enum Kind {
        MESSAGES,
        SCOPE
    }

    /**
     * One session shape.
     *
     * @param label the variant in the results
     * @param kind messages (appended 1 KB messages) or a scope (appended one-field patches)
     * @param size messages, or scope bytes; 0 for a fresh session
     * @param baseline the label of the fresh shape of the same kind, which the ratios divide by
     */
    record Shape(String label, Kind kind, int size, String baseline) {

        /** Events that prepare one session of this shape. */
        int preparingEvents() {
            return kind == Kind.MESSAGES ? size : (size + PART_CHARS - 1) / PART_CHARS;
        }

        String key() {
            return (kind == Kind.MESSAGES ? "m" : "p") + size;
        }
    }

    /** One prepared (or fresh) session of a shape and run, and the version it is at. */
    private static final class Session {
        final String id;
        final Shape shape;
        long version;

        Session(String id, Shape shape) {
            this.id = id;
            this.shape = shape;
            this.version = shape.preparingEvents();
        }
    }

    private final Bench bench;
    private final Results.Scenario result;
    private final CpuProbe probe;

    GrowthScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Growth: the cost of one append as a session grows");
        this.probe = new CpuProbe(bench.service.pid());
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        List<Shape> shapes = shapes(sizes);
        String prefix = Bench.prefix("gr");
        result.setup.put("shapes", shapes.stream().map(Shape::label).toList());
        result.setup.put("appendsPerSession", sizes.growthAppends());
        result.setup.put("sessionsPerShapeAndRun", sizes.growthSessions());
        result.setup.put("load", "closed loop, one client: " + sizes.growthAppends() + " REST appends per session, one "
                + "at a time (the next when the previous answered), " + sizes.growthSessions() + " sessions per shape "
                + "and run; ServiceClient (Vert.x HttpClient), one keep-alive connection");
        result.setup.put("prepared", "through the service: Kafka producer on the ingest path (" + bench.credentials
                .topic() + "), one 1 KB agentstate.message.appended per message; a scope from agentstate.state.patched "
                + "events that each add one field of at most " + PART_CHARS / 1024 + " KiB; then waited for until "
                + "session_heads and GET /sessions/{id} (ETag) show every session at its version");
        result.setup.put("appended", "message sessions and their fresh session: POST /sessions/{id}/events of one 1 KB "
                + "agentstate.message.appended; scope sessions and their fresh session: one agentstate.state.patched "
                + "{scope: shared, patch: {counter: n}}; each with Idempotency-Key and If-Match (the ETag of the "
                + "previous 201)");
        result.setup.put("cpu", "CPU time of the service JVM, PostgreSQL (its backends, exited ones included) and "
                + "Redis from /proc over one shape's measured appends, divided by its accepted appends; the memory "
                + "sampler pauses meanwhile; whatever else the processes do in that window counts too");
        if (sizes.growthAppends() % 100 == 0) {
            result.setup.put("snapshots", "the ledger writes a whole-state snapshot when a version crosses a multiple "
                    + "of agent-state.ledger.snapshot-every (100 as shipped): " + sizes.growthAppends() + " appends "
                    + "per session cross the same number of them on every shape, so each figure carries its share");
        }
        result.setup.put("order", "a CHECKPOINT and an unrecorded warm-up (" + sizes.growthAppends() + " appends of "
                + "each kind on a fresh session) after the preparation; the shapes' order rotates from run to run");
        result.details.put("shapes", shapes.stream().map(shape -> Map.of("variant", shape.label(), "baseline",
                shape.baseline(), "preparingEventsPerSession", shape.preparingEvents())).toList());

        // run 0 is the warm-up, on the fresh shapes only
        Map<String, List<Session>> byRun = new LinkedHashMap<>();
        List<Session> preparing = new ArrayList<>();
        for (int run = 0; run <= sizes.runs(); run++) {
            for (Shape shape : shapes) {
                if (run == 0 && shape.size() > 0) {
                    continue;
                }
                for (int k = 0; k < (run == 0 ? 1 : sizes.growthSessions()); k++) {
                    Session session = new Session(prefix + "-" + shape.key() + "-r" + run + "-" + k, shape);
                    byRun.computeIfAbsent(run + "/" + shape.label(), key -> new ArrayList<>()).add(session);
                    if (shape.preparingEvents() > 0) {
                        preparing.add(session);
                    }
                }
            }
        }
        prepare(prefix, preparing);
        checkpoint();
        try (ServiceClient http = bench.http()) {
            for (Shape shape : shapes) {
                if (shape.size() == 0) {
                    appendAll(http, shape, byRun.get("0/" + shape.label()), 0);
                }
            }
            for (int run = 1; run <= sizes.runs(); run++) {
                List<Shape> order = new ArrayList<>(shapes);
                Collections.rotate(order, -(run - 1));
                for (Shape shape : order) {
                    appendAll(http, shape, byRun.get(run + "/" + shape.label()), run);
                }
            }
        }
    }

    static List<Shape> shapes(BenchOptions.Sizes sizes) {
        List<Shape> shapes = new ArrayList<>();
        String freshMessages = "fresh session (1 KB messages)";
        shapes.add(new Shape(freshMessages, Kind.MESSAGES, 0, freshMessages));
        for (int messages : sizes.growthMessages()) {
            shapes.add(new Shape(String.format(Locale.ROOT, "%,d messages", messages), Kind.MESSAGES, messages,
                    freshMessages));
        }
        String freshPatches = "fresh session (one-field patches)";
        shapes.add(new Shape(freshPatches, Kind.SCOPE, 0, freshPatches));
        for (int bytes : sizes.growthScopeBytes()) {
            shapes.add(new Shape("scope " + size(bytes), Kind.SCOPE, bytes, freshPatches));
        }
        return shapes;
    }

    private static String size(int bytes) {
        return bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 ? bytes / (1024 * 1024) + " MB"
                : bytes >= 1024 && bytes % 1024 == 0 ? bytes / 1024 + " KB" : bytes + " B";
    }

    // --- preparation: produced on the ingest path, then waited for in PostgreSQL and over GET ---

    private void prepare(String prefix, List<Session> sessions) throws Exception {
        long events = sessions.stream().mapToLong(s -> s.shape.preparingEvents()).sum();
        Bench.log("growth: preparing %d sessions with %d events (%s-*)", sessions.size(), events, prefix);
        long start = System.nanoTime();
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaProducer<String, byte[]> producer = bench.producer(5, 262144)) {
            for (Session session : sessions) {
                for (int n = 1; n <= session.shape.preparingEvents() && failure.get() == null; n++) {
                    producer.send(bench.logRecord(session.id, preparing(session, n)), (metadata, e) -> {
                        if (e != null) {
                            failure.compareAndSet(null, e);
                        }
                    });
                }
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("preparing the growth sessions failed: a record was not produced",
                    failure.get());
        }
        waitCommitted(prefix, events);
        try (ServiceClient http = bench.http()) {
            for (Session session : sessions) {
                awaitVersion(http, session);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        result.details.put("preparation", Map.of("sessions", sessions.size(), "events", events, "seconds",
                CpuProbe.round(seconds)));
        Bench.log("growth: prepared in %.1f s", seconds);
    }

    /** The n-th preparing event of a session: a 1 KB message, or a patch that adds one field to the scope. */
    private byte[] preparing(Session session, int n) {
        if (session.shape.kind() == Kind.MESSAGES) {
            return Records.message(session.id, n, bench.sizes().eventBytes());
        }
        int remaining = session.shape.size() - (n - 1) * PART_CHARS;
        // the field's name and quotes take about 12 bytes of the scope
        int chars = Math.max(1, Math.min(PART_CHARS, remaining) - 12);
        String value = "{\"specversion\":\"1.0\",\"id\":\"" + session.id + "-e" + n + "\",\"source\":\"agent://bench\","
                + "\"type\":\"agentstate.state.patched\",\"subject\":\"" + session.id + "\",\"time\":\""
                + Records.T0.plusSeconds(n) + "\",\"data\":{\"scope\":\"shared\",\"patch\":{\"part" + n + "\":\""
                + Records.content(n, chars) + "\"}}}";
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private void waitCommitted(String prefix, long expected) throws SQLException {
        try (Connection db = bench.jdbc()) {
            long last = -1;
            long progressed = System.nanoTime();
            while (true) {
                long committed = bench.versionsCommitted(db, prefix);
                if (committed == expected) {
                    return;
                }
                if (committed > expected) {
                    throw new IllegalStateException("preparing the growth sessions: " + committed + " versions "
                            + "committed, more than the " + expected + " events produced");
                }
                if (committed != last) {
                    last = committed;
                    progressed = System.nanoTime();
                } else if (System.nanoTime() - progressed > STALL_NANOS) {
                    throw new IllegalStateException("preparing the growth sessions stalled: " + committed + " of "
                            + expected + " events committed, none in the last " + TimeUnit.NANOSECONDS.toSeconds(
                                    STALL_NANOS)
                            + " s (a rejected or dead-lettered record never commits; see the service log)");
                }
                Bench.sleep(100);
            }
        }
    }

    // PostgreSQL has the version; the view in Redis follows it within moments
    private void awaitVersion(ServiceClient http, Session session) throws IOException {
        long deadline = System.nanoTime() + STALL_NANOS;
        while (true) {
            ServiceClient.Response response = http.get("/sessions/" + session.id);
            if (response.status() == 200 && response.version() == session.version) {
                return;
            }
            if (response.status() == 200 && response.version() > session.version
                    || System.nanoTime() > deadline) {
                throw new IllegalStateException("growth session " + session.id + " answers "
                        + (response.status() == 200 ? "version " + response.version() : "status " + response.status())
                        + ", expected version " + session.version);
            }
            Bench.sleep(100);
        }
    }

    // the preparation leaves dirty pages behind; writing them now keeps them out of the first shape's PostgreSQL CPU
    private void checkpoint() {
        try (Connection db = bench.jdbc(); Statement statement = db.createStatement()) {
            statement.execute("CHECKPOINT");
        } catch (SQLException e) {
            Bench.log("growth: CHECKPOINT refused (%s); measuring anyway", e.getMessage());
        }
    }

    // --- measured appends ---

    /** The appends of one shape in one run (run 0: warm-up, not recorded), with the CPU they cost. */
    private void appendAll(ServiceClient http, Shape shape, List<Session> sessions, int run) throws IOException {
        int appends = bench.sizes().growthAppends();
        Samples latency = new Samples();
        long accepted = 0;
        long errors = 0;
        String firstError = null;
        CpuProbe.Snapshot before;
        CpuProbe.Snapshot after;
        bench.monitor.pause(true);
        try {
            before = probe.take();
            for (Session session : sessions) {
                for (int i = 0; i < appends; i++) {
                    long next = session.version + 1;
                    byte[] body = shape.kind() == Kind.SCOPE ? patch(next)
                            : Records.restMessage((int) next, bench.sizes().eventBytes());
                    long begin = System.nanoTime();
                    // no answer at all fails the scenario: the service is gone or stuck, not slow
                    ServiceClient.Response response = http.post("/sessions/" + session.id + "/events", Map.of(
                            "Content-Type", Records.CONTENT_TYPE,
                            "Idempotency-Key", session.id + "-e" + next,
                            "If-Match", "\"" + session.version + "\""), body);
                    long took = System.nanoTime() - begin;
                    if (response.status() == 201) {
                        latency.add(took);
                        accepted++;
                        session.version = response.version() > 0 ? response.version() : next;
                    } else {
                        errors++;
                        if (firstError == null) {
                            firstError = response.status() + " " + response.text();
                        }
                        session.version = current(http, session);
                    }
                }
            }
            after = probe.take();
        } finally {
            bench.monitor.pause(false);
        }
        if (errors > 0) {
            Bench.log("growth %s: %d appends not accepted, the first: %s", shape.label(), errors, firstError);
        }
        double wall = (after.nanoTime() - before.nanoTime()) / 1e9;
        if (run == 0) {
            Bench.log("growth warm-up (%s): p50 %.1f ms (not recorded)", shape.label(), latency.percentileMillis(50));
            return;
        }
        String variant = shape.label();
        if (accepted == 0) {
            // nothing to divide by: the shape shows its errors and no figure
            result.add(variant, "appends", "count", 0);
            result.add(variant, "errors", "count", errors);
            return;
        }
        result.add(variant, "appends", "count", accepted);
        result.add(variant, "appends/s", "appends/s", accepted / wall);
        result.add(variant, "append p50", "ms", latency.percentileMillis(50));
        result.add(variant, "append p99", "ms", latency.percentileMillis(99));
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("wallSeconds", CpuProbe.round(wall));
        for (String process : List.of(SERVICE, POSTGRES, REDIS)) {
            // absent when that server is not on this machine (an external PostgreSQL or Redis)
            if (before.processes().containsKey(process) && after.processes().containsKey(process)) {
                double seconds = after.processes().get(process) - before.processes().get(process);
                cpu.put(process, CpuProbe.round(seconds));
                result.add(variant, name(process) + " CPU per event", "ms", seconds * 1000 / accepted);
            }
        }
        result.add(variant, "errors", "count", errors);
        result.details.put(variant + ", run " + run, cpu);
        Bench.log("growth %s run %d: %d appends, p50 %.1f ms, p99 %.1f ms, service CPU %.2f ms per event", variant,
                run, accepted, latency.percentileMillis(50), latency.percentileMillis(99),
                toDouble(cpu.get(SERVICE)) * 1000 / accepted);
    }

    private static String name(String process) {
        return switch (process) {
            case SERVICE -> "service";
            case POSTGRES -> "PostgreSQL";
            default -> "Redis";
        };
    }

    private static double toDouble(Object value) {
        return value instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** A one-field merge patch of the shared scope. */
    private static byte[] patch(long n) {
        return ("{\"specversion\":\"1.0\",\"source\":\"agent://bench\",\"type\":\"agentstate.state.patched\","
                + "\"data\":{\"scope\":\"shared\",\"patch\":{\"counter\":" + n + "}}}").getBytes(StandardCharsets.UTF_8);
    }

    // after a refused or undecided append: the version the session is at now (its next If-Match)
    private static long current(ServiceClient http, Session session) throws IOException {
        ServiceClient.Response response = http.get("/sessions/" + session.id);
        return response.status() == 200 ? response.version() : session.version;
    }
}
