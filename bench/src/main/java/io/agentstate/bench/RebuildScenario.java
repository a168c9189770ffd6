package io.agentstate.bench;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.vertx.redis.client.Command;

/**
 * Scenario 5, rebuild: every session in PostgreSQL is rebuilt into an empty Redis. Up to the target count, the events
 * the ledger wrote during the other scenarios are used; the rest are generated in PostgreSQL with set-based SQL in
 * exactly the rows the ledger writes (events, decisions, session heads; 20 {@code message.appended} of 1 KB per
 * session, payloads byte-identical to what the codec archives, checked). Each run flushes Redis, then reads every
 * session with {@code GET /sessions/{id}} from concurrent clients, which rebuilds its view from PostgreSQL.
 */
final class RebuildScenario {

    static final String ID = "rebuild";
    private static final int PER_SESSION = 20;

    private final Bench bench;
    private final Results.Scenario result;

    RebuildScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Rebuild: every session from PostgreSQL into an empty Redis");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        long fromLedger = bench.queryLong("SELECT count(*) FROM events WHERE tenant = '" + Bench.TENANT + "'");
        long generated = 0;
        if (fromLedger < sizes.rebuildEvents()) {
            generated = generate(sizes.rebuildEvents() - fromLedger);
        }
        Map<String, Long> sessions = new LinkedHashMap<>();
        try (Connection db = bench.jdbc();
                Statement statement = db.createStatement();
                ResultSet rows = statement.executeQuery("SELECT session_id, version FROM session_heads WHERE tenant = '"
                        + Bench.TENANT + "'")) {
            while (rows.next()) {
                sessions.put(rows.getString(1), rows.getLong(2));
            }
        }
        long events = sessions.values().stream().mapToLong(Long::longValue).sum();
        result.setup.put("events", events);
        result.setup.put("eventsWrittenByTheLedger", fromLedger);
        result.setup.put("eventsGeneratedInSql", generated);
        result.setup.put("sessions", sessions.size());
        result.setup.put("snapshots", bench.queryLong("SELECT count(*) FROM snapshots"));
        result.setup.put("clients", sizes.rebuildConcurrency());
        result.setup.put("load", "closed loop: " + sizes.rebuildConcurrency() + " client threads, each reads the next "
                + "session when the previous read answered");
        result.setup.put("how", "FLUSHALL, then GET /sessions/{id} for every session from concurrent client threads "
                + "(closed loop; Vert.x HttpClient, one keep-alive connection per client); each miss reads the head, the "
                + "latest snapshot and later events, folds, installs the view");
        List<String> ids = new ArrayList<>(sessions.keySet());
        for (int r = 1; r <= sizes.runs(); r++) {
            try (RedisClient redis = bench.redis()) {
                redis.call(Command.FLUSHALL);
            }
            AtomicInteger next = new AtomicInteger();
            AtomicLong wrong = new AtomicLong();
            CountDownLatch done = new CountDownLatch(sizes.rebuildConcurrency());
            long start;
            try (ServiceClient http = bench.http(sizes.rebuildConcurrency())) {
                start = System.nanoTime();
                for (int c = 0; c < sizes.rebuildConcurrency(); c++) {
                    Thread thread = new Thread(() -> {
                        try {
                            for (int i = next.getAndIncrement(); i < ids.size(); i = next.getAndIncrement()) {
                                String session = ids.get(i);
                                ServiceClient.Response response = http.get("/sessions/" + session);
                                if (response.status() != 200 || response.version() != sessions.get(session)) {
                                    wrong.incrementAndGet();
                                }
                            }
                        } catch (Exception e) {
                            wrong.incrementAndGet();
                            Bench.log("rebuild client failed: %s", e);
                        } finally {
                            done.countDown();
                        }
                    }, "bench-rebuild-" + c);
                    thread.setDaemon(true);
                    thread.start();
                }
                done.await();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long views;
            long redisBytes;
            try (RedisClient redis = bench.redis()) {
                views = redis.call(Command.DBSIZE).toLong();
                String info = redis.call(Command.INFO, "memory").toString(StandardCharsets.UTF_8);
                redisBytes = info.lines().filter(line -> line.startsWith("used_memory:"))
                        .mapToLong(line -> Long.parseLong(line.substring("used_memory:".length()).trim())).findFirst()
                        .orElse(0);
            }
            result.add("rebuild", "seconds", "s", seconds);
            result.add("rebuild", "events/s", "events/s", events / seconds);
            result.add("rebuild", "sessions/s", "sessions/s", sessions.size() / seconds);
            result.add("rebuild", "wrong or failed reads", "count", wrong.get());
            result.details.put("redisUsedMemoryBytesAfterRebuild", redisBytes);
            result.details.put("redisKeysAfterRebuild", views);
            result.details.put("redisBytesPerEvent", redisBytes / Math.max(1, events));
            Bench.log("rebuild run %d: %d events of %d sessions in %.1f s = %.0f events/s (%d wrong)", r, events,
                    sessions.size(), seconds, events / seconds, wrong.get());
        }
        result.details.put("postgresDatabaseBytes", bench.queryLong("SELECT pg_database_size(current_database())"));
        result.details.put("ledgerTableBytes", bench.ledgerBytes());
    }

    /** Generates about {@code count} events in whole sessions of 20, exactly as the ledger stores them. */
    private long generate(long count) throws Exception {
        int sessionCount = (int) ((count + PER_SESSION - 1) / PER_SESSION);
        String prefix = Bench.prefix("g");
        int bytes = bench.sizes().eventBytes();
        EventCodec codec = new EventCodec(new EventCodec.Limits(262144, 100, 32, 10000));
        String[] contents = new String[PER_SESSION];
        String[] times = new String[PER_SESSION];
        for (int v = 1; v <= PER_SESSION; v++) {
            // content sized for the first session (ids of later sessions are a few characters longer)
            String sample = Records.session(prefix, 0);
            contents[v - 1] = Results.JSON.readTree(Records.message(sample, v, bytes)).path("data").path("content")
                    .asText();
            times[v - 1] = Records.T0.plusSeconds(v).toString();
        }
        Bench.log("rebuild: generating %d events in %d sessions (%s-*) with SQL", (long) sessionCount * PER_SESSION,
                sessionCount, prefix);
        long start = System.nanoTime();
        int chunk = 5000;
        try (Connection db = bench.jdbc()) {
            for (int from = 0; from < sessionCount; from += chunk) {
                int to = Math.min(sessionCount, from + chunk) - 1;
                // the archived form: the codec's field order, with the tenant and datacontenttype it adds
                try (PreparedStatement insert = db.prepareStatement("""
                        WITH s AS (SELECT ? || '-s' || i AS id FROM generate_series(?, ?) AS g(i)),
                             c AS (SELECT v::int, content, at FROM unnest(?::text[], ?::text[])
                                   WITH ORDINALITY AS c(content, at, v))
                        INSERT INTO events (tenant, session_id, version, event_id, type, source, occurred_at,
                                            log_partition, log_offset, payload)
                        SELECT 'default', s.id, c.v, s.id || '-e' || c.v, 'agentstate.message.appended',
                               'agent://bench', c.at::timestamptz, -1, -1,
                               convert_to('{"specversion":"1.0","id":"' || s.id || '-e' || c.v
                                   || '","source":"agent://bench","type":"agentstate.message.appended","subject":"'
                                   || s.id || '","time":"' || c.at || '","tenant":"default",'
                                   || '"datacontenttype":"application/json","data":{"role":"'
                                   || CASE WHEN c.v % 2 = 1 THEN 'user' ELSE 'assistant' END
                                   || '","content":"' || c.content || '"}}', 'UTF8')
                        FROM s CROSS JOIN c""")) {
                    insert.setString(1, prefix);
                    insert.setInt(2, from);
                    insert.setInt(3, to);
                    insert.setArray(4, db.createArrayOf("text", contents));
                    insert.setArray(5, db.createArrayOf("text", times));
                    insert.executeUpdate();
                }
                try (PreparedStatement decisions = db.prepareStatement("""
                        INSERT INTO decisions (tenant, event_id, session_id, outcome, version, last_version,
                                               current_version, reason)
                        SELECT 'default', ? || '-s' || i || '-e' || v, ? || '-s' || i, 'ACCEPTED', v, v, v, NULL
                        FROM generate_series(?, ?) AS g(i) CROSS JOIN generate_series(1, ?) AS n(v)""")) {
                    decisions.setString(1, prefix);
                    decisions.setString(2, prefix);
                    decisions.setInt(3, from);
                    decisions.setInt(4, to);
                    decisions.setInt(5, PER_SESSION);
                    decisions.executeUpdate();
                }
            }
            try (Statement statement = db.createStatement()) {
                statement.executeUpdate("""
                        INSERT INTO session_heads (tenant, session_id, version, status, user_id, created_at,
                                                   updated_at, message_count, summary_through, bytes)
                        SELECT tenant, session_id, max(version), 'ACTIVE', NULL, min(occurred_at), max(occurred_at),
                               count(*), 0, sum(octet_length(payload))
                        FROM events WHERE tenant = 'default' AND session_id LIKE '%s-%%'
                        GROUP BY tenant, session_id""".formatted(prefix));
                statement.execute("VACUUM ANALYZE events");
                statement.execute("VACUUM ANALYZE decisions");
                statement.execute("VACUUM ANALYZE session_heads");
                statement.execute("CHECKPOINT");
            }
            result.details.put("generatedPayloadMatchesCodec", matchesCodec(db, prefix, bytes));
        }
        Bench.log("rebuild: generated in %.1f s", (System.nanoTime() - start) / 1e9);
        result.details.put("generationSeconds", CpuProbe.round((System.nanoTime() - start) / 1e9));
        return (long) sessionCount * PER_SESSION;
    }

    // The generated payload must be byte for byte what the ledger archives for the same record.
    private static boolean matchesCodec(Connection db, String prefix, int bytes) throws Exception {
        EventCodec codec = new EventCodec(new EventCodec.Limits(262144, 100, 32, 10000));
        String session = Records.session(prefix, 0);
        for (int v : new int[] { 1, 2 }) {
            EventBatch batch = codec.decodeRecord(session, Records.message(session, v, bytes),
                    Map.of("content-type", EventCodec.STRUCTURED), Bench.TENANT, Instant.EPOCH);
            byte[] expected = codec.encode(batch.first());
            try (PreparedStatement select = db.prepareStatement("SELECT payload FROM events WHERE tenant = 'default' "
                    + "AND session_id = ? AND version = ?")) {
                select.setString(1, session);
                select.setInt(2, v);
                try (ResultSet rows = select.executeQuery()) {
                    if (!rows.next() || !Arrays.equals(rows.getBytes(1), expected)) {
                        Bench.log("rebuild: generated payload differs from the codec's:%n  %s",
                                new String(expected, StandardCharsets.UTF_8));
                        return false;
                    }
                }
            }
        }
        return true;
    }
}
