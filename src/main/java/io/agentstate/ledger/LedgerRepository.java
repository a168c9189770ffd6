package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.event.EventData;
import io.agentstate.event.EventType;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.security.AuditChain;
import io.agentstate.security.AuditSigner;
import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The ledger's PostgreSQL side: one transaction per batch that locks the partitions' offsets, reads the context the
 * batch needs, and writes what the decider produced, with the new offsets. Arrays are sent whole ({@code unnest}), so a
 * batch costs a handful of statements whatever its size.
 */
@ApplicationScoped
public class LedgerRepository {

    /** The offsets of one partition as stored with the batches that applied it. */
    public record PartitionOffset(int partition, long nextOffset, List<SessionKey> lastSessions) {
    }

    /** What a batch transaction produced; null result when every record had been applied before. */
    public record Applied(BatchDecider.Result result, Map<Integer, Long> offsets) {
    }

    /** Another ledger owner moved this partition's offset: this batch is stale and is abandoned (I7). */
    public static class FencedException extends RuntimeException {
        public FencedException(String message) {
            super(message);
        }
    }

    private final Pool pool;
    private final Tuple timeouts;
    private final DataKeys keys;

    LedgerRepository(Pool pool, AgentStateConfig config, DataKeys keys) {
        this.keys = keys;
        this.pool = pool;
        this.timeouts = Tuple.of(millis(config.ledger().lockTimeout()), millis(config.ledger().statementTimeout()),
                millis(config.ledger().idleInTransactionTimeout()));
    }

    private static String millis(Duration duration) {
        return duration.toMillis() + "ms";
    }

    /**
     * Applies a poll batch in one transaction.
     *
     * @param group consumer group
     * @param topic the event topic
     * @param lastOffsets the last offset of the poll batch per partition (valid and poison records alike)
     * @param decide given the offsets already applied, drops applied entries, runs side effects that must precede the
     *        commit (dead letters), and decides the rest against the loaded context
     */
    public Uni<Applied> apply(String group, String topic, Map<Integer, Long> lastOffsets, Decide decide) {
        // the timeouts are set before the lock is asked for: the two statements are pipelined, in this order
        return pool.withTransaction(connection -> Uni.combine().all().unis(boundWaits(connection),
                lockOffsets(connection, group, topic, lastOffsets.keySet())).with((ignored, applied) -> applied)
                .chain(applied -> decide.filter(applied)
                        .chain(entries -> loadContext(connection, entries)
                                .map(context -> decide.decide(entries, context))
                                // the rows and the offsets go out together, one pipeline; a failing statement (a
                                // second owner's rows on a unique key) fails the join and the transaction with it
                                .chain(result -> Uni.join().all(write(connection, result), saveOffsets(connection, group,
                                        topic, applied, lastOffsets, result, decide.unpublished())).andFailFast()
                                        .replaceWith(new Applied(result, lastOffsets))))));
    }

    // Every wait inside a batch transaction is bounded, on the server's side: a lock held by a paused former owner, a
    // statement that runs away, and a transaction whose client froze (its locks are released when PostgreSQL ends it).
    private Uni<Void> boundWaits(SqlConnection connection) {
        return connection.preparedQuery("SELECT set_config('lock_timeout', $1, true), "
                + "set_config('statement_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)")
                .execute(timeouts)
                .replaceWithVoid();
    }

    /** The two steps of a batch that depend on what PostgreSQL already holds. */
    public interface Decide {
        /** Keeps the entries at or after each partition's stored next offset (and dead-letters the poison ones). */
        Uni<List<LogEntry>> filter(Map<Integer, Long> nextOffsets);

        /** Decides the kept entries. */
        BatchDecider.Result decide(List<LogEntry> entries, BatchDecider.Context context);

        /**
         * Sessions of earlier batches of these partitions that are committed but whose Redis update may not be done:
         * stored with the offsets beside this batch's own, so a next owner drops their views too.
         */
        default Map<Integer, Set<SessionKey>> unpublished() {
            return Map.of();
        }
    }

    /** The stored offsets of some partitions, for seeking on assignment. */
    public Uni<List<PartitionOffset>> offsets(String group, String topic, Collection<Integer> partitions) {
        return pool.preparedQuery("SELECT partition, next_offset, last_sessions FROM ledger_offsets "
                + "WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3)")
                .execute(Tuple.of(group, topic, partitions.toArray(new Integer[0])))
                .map(rows -> {
                    List<PartitionOffset> offsets = new ArrayList<>();
                    for (Row row : rows) {
                        List<SessionKey> sessions = new ArrayList<>();
                        for (String encoded : row.getArrayOfStrings("last_sessions")) {
                            int slash = encoded.indexOf('/');
                            sessions.add(new SessionKey(encoded.substring(0, slash), encoded.substring(slash + 1)));
                        }
                        offsets.add(new PartitionOffset(row.getInteger("partition"), row.getLong("next_offset"),
                                sessions));
                    }
                    return offsets;
                });
    }

    private Uni<Map<Integer, Long>> lockOffsets(SqlConnection connection, String group, String topic,
            Set<Integer> partitions) {
        return connection.preparedQuery("SELECT partition, next_offset FROM ledger_offsets "
                + "WHERE consumer_group = $1 AND topic = $2 AND partition = ANY($3) FOR UPDATE")
                .execute(Tuple.of(group, topic, partitions.toArray(new Integer[0])))
                .map(rows -> {
                    Map<Integer, Long> next = new HashMap<>();
                    rows.forEach(row -> next.put(row.getInteger("partition"), row.getLong("next_offset")));
                    return next;
                });
    }

    private Uni<BatchDecider.Context> loadContext(SqlConnection connection, List<LogEntry> entries) {
        Set<BatchDecider.DecisionKey> ids = new LinkedHashSet<>();
        Set<SessionKey> sessions = new LinkedHashSet<>();
        Set<BatchDecider.ToolKey> tools = new LinkedHashSet<>();
        Set<BatchDecider.ScopeKey> scopes = new LinkedHashSet<>();
        for (LogEntry entry : entries) {
            String tenant = entry.batch().tenant();
            String session = entry.batch().sessionId();
            sessions.add(new SessionKey(tenant, session));
            entry.batch().events().forEach(event -> {
                ids.add(new BatchDecider.DecisionKey(tenant, event.id()));
                if (event.payload() instanceof EventData.ToolRequested requested) {
                    tools.add(new BatchDecider.ToolKey(tenant, session, requested.callId()));
                } else if (event.payload() instanceof EventData.ToolCompleted completed) {
                    tools.add(new BatchDecider.ToolKey(tenant, session, completed.callId()));
                } else if (event.payload() instanceof EventData.StatePatched patched) {
                    scopes.add(new BatchDecider.ScopeKey(tenant, session, patched.scope()));
                }
            });
        }
        if (entries.isEmpty()) {
            return Uni.createFrom().item(new BatchDecider.Context(Map.of(), Map.of(), Map.of(), Map.of()));
        }
        // Statements on one connection run in order; started together they go out as one pipeline (one round trip).
        return Uni.combine().all().unis(loadDecisions(connection, ids), loadHeads(connection, sessions),
                loadTools(connection, tools), loadScopes(connection, scopes), loadChains(connection, sessions))
                .with((decisions, heads, calls, docs, chains) -> new BatchDecider.Context(decisions, heads, calls, docs,
                        chains));
    }

    // The latest link of each session's audit chain: the next entry needs only this, never the older rows.
    private Uni<Map<SessionKey, AuditChain.Link>> loadChains(SqlConnection connection, Set<SessionKey> sessions) {
        return connection.preparedQuery("SELECT a.tenant, a.session_id, a.chain_seq, a.chain_hash "
                + "FROM unnest($1::text[], $2::text[]) AS k(tenant, session_id) "
                + "JOIN audit_heads a ON a.tenant = k.tenant AND a.session_id = k.session_id")
                .execute(Tuple.of(column(sessions, SessionKey::tenant), column(sessions, SessionKey::sessionId)))
                .map(rows -> {
                    Map<SessionKey, AuditChain.Link> chains = new HashMap<>();
                    rows.forEach(row -> chains.put(new SessionKey(row.getString("tenant"), row.getString("session_id")),
                            new AuditChain.Link(row.getLong("chain_seq"), row.getBuffer("chain_hash").getBytes())));
                    return chains;
                });
    }

    private Uni<Map<BatchDecider.DecisionKey, StoredDecision>> loadDecisions(SqlConnection connection,
            Set<BatchDecider.DecisionKey> ids) {
        return connection.preparedQuery("SELECT d.* FROM unnest($1::text[], $2::text[]) AS k(tenant, event_id) "
                + "JOIN decisions d ON d.tenant = k.tenant AND d.event_id = k.event_id")
                .execute(Tuple.of(column(ids, BatchDecider.DecisionKey::tenant),
                        column(ids, BatchDecider.DecisionKey::eventId)))
                .map(rows -> {
                    Map<BatchDecider.DecisionKey, StoredDecision> found = new HashMap<>();
                    for (Row row : rows) {
                        StoredDecision decision = decision(row);
                        found.put(new BatchDecider.DecisionKey(decision.tenant(), decision.eventId()), decision);
                    }
                    return found;
                });
    }

    /** A decision row as a record. */
    static StoredDecision decision(Row row) {
        return new StoredDecision(row.getString("tenant"), row.getString("event_id"), row.getString("session_id"),
                Decision.Outcome.valueOf(row.getString("outcome")), row.getLong("version"), row.getLong("last_version"),
                row.getLong("current_version"), row.getString("reason"), row.getString("fingerprint"));
    }

    // A session id erased before has no head but a generation: its next life starts after it.
    private Uni<Map<SessionKey, SessionHead>> loadHeads(SqlConnection connection, Set<SessionKey> sessions) {
        return connection.preparedQuery("SELECT k.tenant, k.session_id, " + HEAD_COLUMNS + " FROM unnest($1::text[], "
                + "$2::text[]) AS k(tenant, session_id) LEFT JOIN session_heads h ON h.tenant = k.tenant AND "
                + "h.session_id = k.session_id LEFT JOIN session_generations g ON g.tenant = k.tenant AND "
                + "g.session_id = k.session_id WHERE h.tenant IS NOT NULL OR g.tenant IS NOT NULL")
                .execute(Tuple.of(column(sessions, SessionKey::tenant), column(sessions, SessionKey::sessionId)))
                .map(rows -> {
                    Map<SessionKey, SessionHead> heads = new HashMap<>();
                    for (Row row : rows) {
                        SessionHead head = head(row);
                        heads.put(new SessionKey(head.tenant(), head.sessionId()), head);
                    }
                    return heads;
                });
    }

    /** The head's columns after {@code tenant, session_id}, from {@code session_heads h} and {@code session_generations g}. */
    static final String HEAD_COLUMNS = "h.version, h.status, h.user_id, h.created_at, h.updated_at, h.message_count, "
            + "h.summary_through, h.bytes, coalesce(g.generation, 0) AS generation";

    /** A head row ({@code tenant, session_id, }{@link #HEAD_COLUMNS}) as a record; an erased id's row has no version. */
    static SessionHead head(Row row) {
        String tenant = row.getString("tenant");
        String session = row.getString("session_id");
        long generation = row.getLong("generation");
        if (row.getValue("version") == null) {
            return SessionHead.empty(tenant, session, generation);
        }
        return new SessionHead(tenant, session, row.getLong("version"),
                SessionStatus.valueOf(row.getString("status")), row.getString("user_id"),
                instant(row.getOffsetDateTime("created_at")), instant(row.getOffsetDateTime("updated_at")),
                row.getLong("message_count"), row.getLong("summary_through"), row.getLong("bytes"), generation);
    }

    private Uni<Map<BatchDecider.ToolKey, ToolCallStatus>> loadTools(SqlConnection connection,
            Set<BatchDecider.ToolKey> tools) {
        if (tools.isEmpty()) {
            return Uni.createFrom().item(Map.of());
        }
        return connection.preparedQuery("SELECT t.tenant, t.session_id, t.call_id, t.status "
                + "FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, session_id, call_id) "
                + "JOIN tool_calls t ON t.tenant = k.tenant AND t.session_id = k.session_id AND t.call_id = k.call_id")
                .execute(Tuple.of(column(tools, BatchDecider.ToolKey::tenant),
                        column(tools, BatchDecider.ToolKey::sessionId), column(tools, BatchDecider.ToolKey::callId)))
                .map(rows -> {
                    Map<BatchDecider.ToolKey, ToolCallStatus> found = new HashMap<>();
                    rows.forEach(row -> found.put(new BatchDecider.ToolKey(row.getString("tenant"),
                            row.getString("session_id"), row.getString("call_id")),
                            ToolCallStatus.valueOf(row.getString("status"))));
                    return found;
                });
    }

    private Uni<Map<BatchDecider.ScopeKey, JsonNode>> loadScopes(SqlConnection connection,
            Set<BatchDecider.ScopeKey> scopes) {
        if (scopes.isEmpty()) {
            return Uni.createFrom().item(Map.of());
        }
        return connection.preparedQuery("SELECT s.tenant, s.session_id, s.scope, s.document, s.sealed "
                + "FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, session_id, scope) "
                + "JOIN session_scopes s ON s.tenant = k.tenant AND s.session_id = k.session_id AND s.scope = k.scope")
                .execute(Tuple.of(column(scopes, BatchDecider.ScopeKey::tenant),
                        column(scopes, BatchDecider.ScopeKey::sessionId), column(scopes, BatchDecider.ScopeKey::scope)))
                .map(rows -> {
                    Map<BatchDecider.ScopeKey, JsonNode> found = new HashMap<>();
                    rows.forEach(row -> found.put(new BatchDecider.ScopeKey(row.getString("tenant"),
                            row.getString("session_id"), row.getString("scope")), scope(row)));
                    return found;
                });
    }

    // Scopes written before encryption at rest are still plaintext; every later write is sealed.
    private JsonNode scope(Row row) {
        Buffer sealed = row.getBuffer("sealed");
        if (sealed == null) {
            return ViewCodec.read(row.getString("document"), JsonNode.class);
        }
        String tenant = row.getString("tenant");
        String session = row.getString("session_id");
        byte[] json = keys.open(tenant, DataKeys.sessionOwner(session), "scope:" + row.getString("scope"),
                sealed.getBytes()).orElse(null);
        // a forgotten user's session has no key any more: its scopes start again from nothing
        return json == null ? null : ViewCodec.read(new String(json, StandardCharsets.UTF_8), JsonNode.class);
    }

    private static final List<String> ERASED_TABLES = List.of("events", "rejections", "session_heads", "tool_calls",
            "session_scopes", "snapshots", "memories", "audit_heads");
    // Decisions go too (their reasons quote content, and an erased session's ids may start again), found through the
    // session's events and rejections (decisions are keyed by event id), so before those. The erasure's own decision
    // is written after these deletes, so a repeated DELETE still answers like the first.
    private static final List<String> ERASED_DECISIONS = List.of("events", "rejections");

    private Uni<Void> write(SqlConnection connection, BatchDecider.Result result) {
        List<Uni<Void>> steps = new ArrayList<>();
        if (!result.erased().isEmpty()) {
            // Deletes first: rows the batch writes after an erasure belong to the session's new life.
            Set<SessionKey> erased = result.erased().keySet();
            for (String table : ERASED_DECISIONS) {
                steps.add(step(connection.preparedQuery("DELETE FROM decisions d USING " + table + " t, unnest("
                        + "$1::text[], $2::text[]) AS k(tenant, session_id) WHERE t.tenant = k.tenant AND t.session_id = "
                        + "k.session_id AND d.tenant = t.tenant AND d.event_id = t.event_id")
                        .execute(Tuple.of(column(erased, SessionKey::tenant), column(erased, SessionKey::sessionId)))));
            }
            for (String table : ERASED_TABLES) {
                steps.add(step(connection.preparedQuery("DELETE FROM " + table + " t USING unnest($1::text[], "
                        + "$2::text[]) AS k(tenant, session_id) WHERE t.tenant = k.tenant AND t.session_id = k.session_id")
                        .execute(Tuple.of(column(erased, SessionKey::tenant), column(erased, SessionKey::sessionId)))));
            }
            // the one row an erasure keeps: the id's generation, so no write of an earlier life can pass for the next
            List<Long> generations = new ArrayList<>();
            erased.forEach(session -> generations.add(result.erased().get(session).generation()));
            steps.add(step(connection.preparedQuery("INSERT INTO session_generations (tenant, session_id, generation) "
                    + "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT (tenant, session_id) "
                    + "DO UPDATE SET generation = EXCLUDED.generation")
                    .execute(Tuple.of(column(erased, SessionKey::tenant), column(erased, SessionKey::sessionId),
                            generations.toArray(Long[]::new)))));
        }
        if (!result.events().isEmpty()) {
            List<BatchDecider.EventRow> rows = result.events();
            steps.add(step(connection.preparedQuery("INSERT INTO events (tenant, session_id, version, event_id, type, source, "
                    + "occurred_at, log_partition, log_offset, payload, chain_seq, chain_hash) SELECT * FROM unnest("
                    + "$1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], "
                    + "$8::int[], $9::bigint[], $10::bytea[], $11::bigint[], $12::bytea[])")
                    .execute(Tuple.from(List.of(
                            strings(rows, BatchDecider.EventRow::tenant), strings(rows, BatchDecider.EventRow::sessionId),
                            longs(rows, BatchDecider.EventRow::version), strings(rows, BatchDecider.EventRow::eventId),
                            strings(rows, BatchDecider.EventRow::type), strings(rows, BatchDecider.EventRow::source),
                            times(rows, BatchDecider.EventRow::occurredAt), ints(rows, BatchDecider.EventRow::partition),
                            longs(rows, BatchDecider.EventRow::offset), buffers(rows, BatchDecider.EventRow::payload),
                            longs(rows, BatchDecider.EventRow::chainSeq),
                            buffers(rows, BatchDecider.EventRow::chainHash))))));
        }
        if (!result.decisions().isEmpty()) {
            List<StoredDecision> rows = result.decisions();
            steps.add(step(connection.preparedQuery("INSERT INTO decisions (tenant, event_id, session_id, outcome, version, "
                    + "last_version, current_version, reason, fingerprint) SELECT * FROM unnest($1::text[], $2::text[], "
                    + "$3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])")
                    .execute(Tuple.from(List.of(strings(rows, StoredDecision::tenant),
                            strings(rows, StoredDecision::eventId), strings(rows, StoredDecision::sessionId),
                            strings(rows, d -> d.outcome().name()), longs(rows, StoredDecision::version),
                            longs(rows, StoredDecision::lastVersion), longs(rows, StoredDecision::currentVersion),
                            strings(rows, StoredDecision::reason), strings(rows, StoredDecision::fingerprint))))));
        }
        if (!result.rejections().isEmpty()) {
            List<BatchDecider.RejectionRow> rows = result.rejections();
            steps.add(step(connection.preparedQuery("INSERT INTO rejections (tenant, session_id, event_id, after_version, "
                    + "outcome, reason, type, source, occurred_at, log_partition, log_offset, payload, chain_seq, "
                    + "chain_hash) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], "
                    + "$6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::int[], $11::bigint[], $12::bytea[], "
                    + "$13::bigint[], $14::bytea[])")
                    .execute(Tuple.from(List.of(strings(rows, BatchDecider.RejectionRow::tenant),
                            strings(rows, BatchDecider.RejectionRow::sessionId),
                            strings(rows, BatchDecider.RejectionRow::eventId),
                            longs(rows, BatchDecider.RejectionRow::afterVersion),
                            strings(rows, r -> r.outcome().name()), strings(rows, BatchDecider.RejectionRow::reason),
                            strings(rows, BatchDecider.RejectionRow::type), strings(rows, BatchDecider.RejectionRow::source),
                            times(rows, BatchDecider.RejectionRow::occurredAt),
                            ints(rows, BatchDecider.RejectionRow::partition),
                            longs(rows, BatchDecider.RejectionRow::offset),
                            buffers(rows, BatchDecider.RejectionRow::payload),
                            longs(rows, BatchDecider.RejectionRow::chainSeq),
                            buffers(rows, BatchDecider.RejectionRow::chainHash))))));
        }
        if (!result.heads().isEmpty()) {
            List<SessionHead> rows = new ArrayList<>(result.heads().values());
            steps.add(step(connection.preparedQuery("INSERT INTO session_heads (tenant, session_id, version, status, user_id, "
                    + "created_at, updated_at, message_count, summary_through, bytes) SELECT * FROM unnest($1::text[], "
                    + "$2::text[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], "
                    + "$8::bigint[], $9::bigint[], $10::bigint[]) ON CONFLICT (tenant, session_id) DO UPDATE SET "
                    + "version = EXCLUDED.version, status = EXCLUDED.status, user_id = EXCLUDED.user_id, "
                    + "updated_at = EXCLUDED.updated_at, message_count = EXCLUDED.message_count, "
                    + "summary_through = EXCLUDED.summary_through, bytes = EXCLUDED.bytes")
                    .execute(Tuple.from(List.of(strings(rows, SessionHead::tenant), strings(rows, SessionHead::sessionId),
                            longs(rows, SessionHead::version), strings(rows, h -> h.status().name()),
                            strings(rows, SessionHead::userId), times(rows, SessionHead::createdAt),
                            times(rows, SessionHead::updatedAt), longs(rows, SessionHead::messageCount),
                            longs(rows, SessionHead::summaryThrough), longs(rows, SessionHead::bytes))))));
        }
        if (!result.chainHeads().isEmpty()) {
            List<AuditSigner.SignedHead> rows = new ArrayList<>(result.chainHeads().values());
            steps.add(step(connection.preparedQuery("INSERT INTO audit_heads (tenant, session_id, chain_seq, chain_hash, "
                    + "key_id, signature) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], "
                    + "$5::text[], $6::bytea[]) ON CONFLICT (tenant, session_id) DO UPDATE SET "
                    + "chain_seq = EXCLUDED.chain_seq, chain_hash = EXCLUDED.chain_hash, key_id = EXCLUDED.key_id, "
                    + "signature = EXCLUDED.signature")
                    .execute(Tuple.from(List.of(strings(rows, AuditSigner.SignedHead::tenant),
                            strings(rows, AuditSigner.SignedHead::sessionId), longs(rows, h -> h.link().seq()),
                            buffers(rows, h -> h.link().hash()), strings(rows, AuditSigner.SignedHead::keyId),
                            buffers(rows, AuditSigner.SignedHead::signature))))));
        }
        if (!result.toolCalls().isEmpty()) {
            List<BatchDecider.ToolCallRow> rows = result.toolCalls();
            steps.add(step(connection.preparedQuery("INSERT INTO tool_calls (tenant, session_id, call_id, status, "
                    + "requested_version, completed_version) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                    + "$4::text[], $5::bigint[], $6::bigint[]) ON CONFLICT (tenant, session_id, call_id) DO UPDATE SET "
                    + "status = EXCLUDED.status, completed_version = EXCLUDED.completed_version")
                    .execute(Tuple.from(List.of(strings(rows, BatchDecider.ToolCallRow::tenant),
                            strings(rows, BatchDecider.ToolCallRow::sessionId),
                            strings(rows, BatchDecider.ToolCallRow::callId), strings(rows, r -> r.status().name()),
                            longs(rows, BatchDecider.ToolCallRow::requestedVersion),
                            longs(rows, BatchDecider.ToolCallRow::completedVersion))))));
        }
        if (!result.scopes().isEmpty()) {
            List<BatchDecider.ScopeRow> rows = result.scopes();
            steps.add(step(connection.preparedQuery("INSERT INTO session_scopes (tenant, session_id, scope, sealed, version) "
                    + "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bigint[]) "
                    + "ON CONFLICT (tenant, session_id, scope) DO UPDATE SET sealed = EXCLUDED.sealed, document = NULL, "
                    + "version = EXCLUDED.version")
                    .execute(Tuple.from(List.of(strings(rows, BatchDecider.ScopeRow::tenant),
                            strings(rows, BatchDecider.ScopeRow::sessionId), strings(rows, BatchDecider.ScopeRow::scope),
                            buffers(rows, r -> keys.seal(r.tenant(), DataKeys.sessionOwner(r.sessionId()),
                                    "scope:" + r.scope(), ViewCodec.write(r.document()).getBytes(StandardCharsets.UTF_8))),
                            longs(rows, BatchDecider.ScopeRow::version))))));
        }
        for (BatchDecider.MemoryRow memory : result.memories()) {
            steps.add(step(memoryStatement(connection, memory)));
        }
        // Statements on one connection run in order; starting them together pipelines them.
        if (steps.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Uni.join().all(steps).andFailFast().replaceWithVoid();
    }

    private Uni<Void> saveOffsets(SqlConnection connection, String group, String topic, Map<Integer, Long> applied,
            Map<Integer, Long> lastOffsets, BatchDecider.Result result, Map<Integer, Set<SessionKey>> unpublished) {
        Map<Integer, Set<String>> sessionsByPartition = new HashMap<>();
        List<Uni<Void>> steps = new ArrayList<>();
        Map<SessionKey, Integer> partitionOf = new LinkedHashMap<>();
        unpublished.forEach((partition, sessions) -> sessions.forEach(session -> partitionOf.put(session, partition)));
        touchedSessions(result).forEach(partitionOf::put);
        partitionOf.forEach((session, partition) -> sessionsByPartition
                .computeIfAbsent(partition, p -> new LinkedHashSet<>()).add(session.tenant() + "/" + session.sessionId()));
        for (Map.Entry<Integer, Long> last : lastOffsets.entrySet()) {
            int partition = last.getKey();
            long next = last.getValue() + 1;
            Long previous = applied.get(partition);
            if (previous != null && previous >= next) {
                continue;
            }
            String[] sessions = sessionsByPartition.getOrDefault(partition, Set.of()).toArray(new String[0]);
            Uni<?> step = previous == null
                    ? connection.preparedQuery("INSERT INTO ledger_offsets (consumer_group, topic, partition, "
                            + "next_offset, last_sessions) VALUES ($1, $2, $3, $4, $5)")
                            .execute(Tuple.of(group, topic, partition, next, sessions))
                    : connection.preparedQuery("UPDATE ledger_offsets SET next_offset = $4, last_sessions = $5 "
                            + "WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $6")
                            .execute(Tuple.from(List.of(group, topic, partition, next, sessions, previous)))
                            .invoke(rows -> {
                                if (rows.rowCount() != 1) {
                                    throw new FencedException("partition " + partition + " moved past " + previous);
                                }
                            });
            steps.add(step(step));
        }
        if (steps.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return Uni.join().all(steps).andFailFast().replaceWithVoid();
    }

    /** The sessions a decided batch changes, with the partition of each. */
    static Map<SessionKey, Integer> touchedSessions(BatchDecider.Result result) {
        Map<SessionKey, Integer> partitionOf = new LinkedHashMap<>();
        result.events().forEach(row -> partitionOf.put(new SessionKey(row.tenant(), row.sessionId()), row.partition()));
        result.erased().forEach((session, erasure) -> partitionOf.put(session, erasure.partition()));
        return partitionOf;
    }

    private static Uni<Void> step(Uni<?> statement) {
        return statement.replaceWithVoid();
    }

    private static <T> String[] column(Collection<T> keys, Function<T, String> field) {
        return keys.stream().map(field).toArray(String[]::new);
    }

    private static <T> String[] strings(List<T> rows, Function<T, String> field) {
        return rows.stream().map(field).toArray(String[]::new);
    }

    private static <T> Long[] longs(List<T> rows, Function<T, Long> field) {
        return rows.stream().map(field).toArray(Long[]::new);
    }

    private static <T> Integer[] ints(List<T> rows, Function<T, Integer> field) {
        return rows.stream().map(field).toArray(Integer[]::new);
    }

    private static <T> OffsetDateTime[] times(List<T> rows, Function<T, Instant> field) {
        return rows.stream().map(field).map(LedgerRepository::offset).toArray(OffsetDateTime[]::new);
    }

    // Arrays must hold core buffers: the client does not unwrap Mutiny ones inside arrays.
    private static <T> io.vertx.core.buffer.Buffer[] buffers(List<T> rows, Function<T, byte[]> field) {
        return rows.stream().map(field).map(io.vertx.core.buffer.Buffer::buffer)
                .toArray(io.vertx.core.buffer.Buffer[]::new);
    }

    static OffsetDateTime offset(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    static Instant instant(OffsetDateTime time) {
        return time == null ? null : time.toInstant();
    }

    // In log order. A revision applies only to a fact whose current revision is another row (a repeat finds itself),
    // and inherits the tags it does not give; forgetting a fact removes every revision and the facts found to be its
    // near-duplicates, vectors with them.
    private Uni<?> memoryStatement(SqlConnection connection, BatchDecider.MemoryRow memory) {
        if (memory.kind() == EventType.MEMORY_FORGOTTEN) {
            return connection.preparedQuery("DELETE FROM memories WHERE tenant = $1 AND user_id = $2 "
                    + "AND (memory_id = $3 OR duplicate_of = $3)")
                    .execute(Tuple.of(memory.tenant(), memory.userId(), memory.memoryId()));
        }
        io.vertx.core.buffer.Buffer sealed = io.vertx.core.buffer.Buffer.buffer(keys.seal(memory.tenant(),
                DataKeys.userOwner(memory.userId()), "memory:" + memory.eventId(),
                memory.fact().getBytes(StandardCharsets.UTF_8)));
        String[] tags = memory.tags() == null ? null : memory.tags().toArray(new String[0]);
        Tuple values = Tuple.from(Arrays.asList(memory.tenant(), memory.userId(), memory.eventId(), memory.memoryId(),
                memory.sessionId(), memory.version(), sealed, tags, offset(memory.recordedAt()), memory.source(),
                memory.distinct()));
        if (memory.kind() == EventType.MEMORY_RECORDED) {
            return connection.preparedQuery("INSERT INTO memories (tenant, user_id, event_id, memory_id, session_id, "
                    + "version, sealed, tags, recorded_at, source, distinct_fact) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                    + "COALESCE($8, '{}'::text[]), $9, $10, $11) ON CONFLICT DO NOTHING").execute(values);
        }
        return connection.preparedQuery("WITH previous AS (UPDATE memories SET superseded_by = $3 WHERE tenant = $1 "
                + "AND user_id = $2 AND memory_id = $4 AND superseded_by IS NULL AND event_id <> $3 RETURNING tags, distinct_fact) "
                + "INSERT INTO memories (tenant, user_id, event_id, memory_id, session_id, version, sealed, tags, "
                + "recorded_at, source, distinct_fact) SELECT $1, $2, $3, $4, $5, $6, $7, COALESCE($8, previous.tags), $9, "
                + "$10, previous.distinct_fact OR $11 "
                + "FROM previous ON CONFLICT DO NOTHING").execute(values);
    }
}
