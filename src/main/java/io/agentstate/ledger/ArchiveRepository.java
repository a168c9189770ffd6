package io.agentstate.ledger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.security.AuditChain;
import io.agentstate.security.AuditSigner;
import io.agentstate.security.AuditVerifier;
import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Reads of the durable record in PostgreSQL: heads, the archive, snapshots and decisions. This is where a view is
 * rebuilt from (latest snapshot plus later events, I6) and where the past is read.
 */
@ApplicationScoped
public class ArchiveRepository {

    /**
     * One timeline entry: an accepted event with its version, or a refused one (conflict, rejected) with the version the
     * session was at when it was refused.
     *
     * @param eventId the event id
     * @param version the event's version when accepted, else null
     * @param sessionVersion the session's version right after the decision: the event's own version, or for a refusal
     *        the version it was refused at
     * @param outcome {@code accepted}, {@code conflict} or {@code rejected}
     * @param reason why it was refused, else null
     * @param event the archived CloudEvent
     * @param logPartition the Kafka partition of its record
     * @param logOffset the Kafka offset of its record
     */
    public record TimelineEntry(String eventId, Long version, long sessionVersion, String outcome, String reason,
            JsonNode event, int logPartition, long logOffset) {

        /** The position right after this entry. */
        public TimelinePosition next() {
            return version != null ? TimelinePosition.afterVersion(version)
                    : new TimelinePosition(sessionVersion + 1, sessionVersion, logPartition, logOffset, eventId);
        }

        /** The position right before this entry, for reading newest first. */
        public TimelineBefore before() {
            return version != null ? TimelineBefore.version(version)
                    : new TimelineBefore(sessionVersion + 1, sessionVersion, logPartition, logOffset, eventId);
        }
    }

    /**
     * A position in a session's timeline read newest first (the same order as {@link TimelinePosition}, backwards): what
     * comes before it is every accepted version below {@code acceptedBelow}, and the refusals before the refusal
     * ({@code refusedAt}, {@code logPartition}, {@code logOffset}, {@code eventId}), or when that refusal is absent
     * (null partition) every refusal made at a version up to {@code refusedAt}.
     */
    public record TimelineBefore(long acceptedBelow, long refusedAt, Integer logPartition, Long logOffset,
            String eventId) {

        /** The newest end of the timeline. */
        public static final TimelineBefore END = new TimelineBefore(Long.MAX_VALUE, Long.MAX_VALUE, null, null, null);

        /** Up to a version: that version and everything before it. */
        public static TimelineBefore upTo(long version) {
            return new TimelineBefore(version + 1, version - 1, null, null, null);
        }

        /** Right before an accepted version: the refusals made before it, then the versions below it. */
        static TimelineBefore version(long version) {
            return new TimelineBefore(version, version - 1, null, null, null);
        }
    }

    /**
     * A position in a session's timeline, whose order is: the refusals made at version 0 (in log order, then by event id
     * within one record), version 1, the refusals made at version 1, version 2, and so on. A position names what comes
     * after it: accepted events from {@code acceptedFrom}, and refusals after the refusal
     * ({@code refusedAt}, {@code logPartition}, {@code logOffset}, {@code eventId}), or when that refusal is absent
     * (null partition) every refusal made at a version above {@code refusedAt}.
     */
    public record TimelinePosition(long acceptedFrom, long refusedAt, Integer logPartition, Long logOffset,
            String eventId) {

        /** The start of the timeline at a version: the refusals that preceded it, then the version itself. */
        public static TimelinePosition fromVersion(long version) {
            return new TimelinePosition(version, version - 2, null, null, null);
        }

        /** Right after an accepted version: the refusals made at it, then the next version. */
        public static TimelinePosition afterVersion(long version) {
            return new TimelinePosition(version + 1, version - 1, null, null, null);
        }
    }

    private final Pool pool;
    private final EventCodec codec;
    private final DataKeys keys;

    ArchiveRepository(Pool pool, EventCodec codec, DataKeys keys) {
        this.pool = pool;
        this.codec = codec;
        this.keys = keys;
    }

    public Uni<Optional<SessionHead>> head(SessionKey session) {
        return pool.preparedQuery("SELECT h.tenant, h.session_id, " + LedgerRepository.HEAD_COLUMNS + " FROM "
                + "session_heads h LEFT JOIN session_generations g ON g.tenant = h.tenant AND g.session_id = h.session_id "
                + "WHERE h.tenant = $1 AND h.session_id = $2")
                .execute(Tuple.of(session.tenant(), session.sessionId()))
                .map(rows -> rows.size() == 0 ? Optional.<SessionHead> empty()
                        : Optional.of(LedgerRepository.head(rows.iterator().next())));
    }

    /** The state at a version: the latest snapshot at or before it, then the archived events up to it, folded. */
    public Uni<SessionState> stateAt(SessionKey session, long version) {
        // a snapshot of another format was written by another fold: replaying from an older base is always right (I4)
        // and only a snapshot of the id's current life (one folded just before an erasure may have been stored after it)
        return prepared(session).chain(() -> pool.preparedQuery("SELECT version, state FROM snapshots WHERE tenant = $1 "
                + "AND session_id = $2 AND version <= $3 AND format = $4 AND generation = " + GENERATION
                + " ORDER BY version DESC LIMIT 1")
                .execute(Tuple.of(session.tenant(), session.sessionId(), version, ViewCodec.SNAPSHOT_FORMAT)))
                .map(rows -> rows.size() == 0 ? SessionState.empty(session.tenant(), session.sessionId())
                        : snapshot(session, rows.iterator().next()))
                .chain(base -> events(session, base.version(), version).map(base::applyAll));
    }

    /** The versions of the session's stored snapshots (current format and life), oldest first. */
    public Uni<List<Long>> snapshotVersions(SessionKey session) {
        return pool.preparedQuery("SELECT version FROM snapshots WHERE tenant = $1 AND session_id = $2 AND format = $3 "
                + "AND generation = " + GENERATION + " ORDER BY version")
                .execute(Tuple.of(session.tenant(), session.sessionId(), ViewCodec.SNAPSHOT_FORMAT))
                .map(rows -> {
                    List<Long> versions = new ArrayList<>(rows.size());
                    rows.forEach(row -> versions.add(row.getLong("version")));
                    return versions;
                });
    }

    /** The first archived version of the session's current life: 1, or for a fork its source version plus one. */
    public Uni<Long> firstVersion(SessionKey session) {
        return pool.preparedQuery("SELECT min(version) AS first FROM events WHERE tenant = $1 AND session_id = $2")
                .execute(Tuple.of(session.tenant(), session.sessionId()))
                .map(rows -> {
                    Long first = rows.iterator().next().getLong("first");
                    return first != null ? first : 1L;
                });
    }

    /** The archived events in (after, through], in version order. */
    public Uni<List<SessionState.Archived>> events(SessionKey session, long after, long through) {
        return prepared(session).chain(() -> pool.preparedQuery("SELECT version, event_id, type, source, occurred_at, "
                + "payload FROM events WHERE tenant = $1 AND session_id = $2 AND version > $3 AND version <= $4 "
                + "ORDER BY version")
                .execute(Tuple.of(session.tenant(), session.sessionId(), after, through)))
                .call(rows -> ownersIn(session, rows))
                .map(rows -> {
                    List<SessionState.Archived> events = new ArrayList<>(rows.size());
                    for (Row row : rows) {
                        byte[] stored = row.getBuffer("payload").getBytes();
                        Optional<byte[]> payload = open(session, row.getString("event_id"), stored);
                        // a forgotten user's event keeps its version, type and time, and no content (I1 still holds)
                        Event event = payload.map(codec::decodeArchived).orElseGet(() -> erased(session, row));
                        events.add(new SessionState.Archived(event, row.getLong("version"),
                                DataKeys.plaintextLength(stored)));
                    }
                    return events;
                });
    }

    /** The last version whose event time is at or before {@code at}, or 0 when none is. */
    public Uni<Long> versionAt(SessionKey session, Instant at) {
        return pool.preparedQuery("SELECT coalesce(max(version), 0) AS version FROM events WHERE tenant = $1 "
                + "AND session_id = $2 AND occurred_at <= $3")
                .execute(Tuple.of(session.tenant(), session.sessionId(), LedgerRepository.offset(at)))
                .map(rows -> rows.iterator().next().getLong("version"));
    }

    // The type and source filters, spelled out per call rather than as "($9 IS NULL OR type = $9)": a generic plan of
    // that form could not use events_by_type. Each filter keeps its parameter referenced, so the four variants are four
    // prepared statements with the same parameters.
    private static final String FILTERS = "@FILTERS@";

    private static String filtered(String sql, String type, String source) {
        return sql.replace(FILTERS, (type == null ? "AND $9::text IS NULL" : "AND type = $9") + " AND "
                + (source == null ? "$10::text IS NULL" : "source = $10"));
    }

    /**
     * Up to {@code limit} timeline entries after a position, accepted and refused together in timeline order, filtered
     * by type and source when given.
     */
    public Uni<List<TimelineEntry>> timeline(SessionKey session, TimelinePosition from, int limit, String type,
            String source) {
        // One statement, so both halves come from one snapshot: read apart, a refusal made at version n could be seen
        // while version n itself (committed just before it) was not, and the cursor would then step over version n.
        // The refusals are paged by keyset over (after_version, log_partition, log_offset, event_id).
        return prepared(session).chain(() -> pool.preparedQuery(filtered("SELECT * FROM ((SELECT 0 AS kind, "
                + "row_number() OVER (ORDER BY version) AS ord, "
                + "version, version AS session_version, event_id, NULL AS outcome, NULL AS reason, log_partition, "
                + "log_offset, payload, type, source, occurred_at FROM events WHERE tenant = $1 AND session_id = $2 AND version >= $3 "
                + FILTERS + " ORDER BY version LIMIT $8) "
                + "UNION ALL (SELECT 1, row_number() OVER (ORDER BY after_version, log_partition, log_offset, event_id), "
                + "NULL, after_version, event_id, outcome, reason, log_partition, log_offset, payload, type, source, "
                + "occurred_at "
                + "FROM rejections WHERE tenant = $1 AND session_id = $2 AND (after_version > $4 OR (after_version = $4 "
                + "AND (log_partition, log_offset, event_id) > ($5::int, $6::bigint, $7::text))) "
                + FILTERS + " "
                + "ORDER BY after_version, log_partition, log_offset, event_id LIMIT $8)) AS page ORDER BY kind, ord",
                type, source))
                .execute(Tuple.from(Arrays.asList(session.tenant(), session.sessionId(), from.acceptedFrom(),
                        from.refusedAt(), from.logPartition(), from.logOffset(), from.eventId(), limit, type, source))))
                .call(rows -> ownersIn(session, rows))
                // a refusal made at version a comes before version a + 1 and after version a
                .map(rows -> merge(session, rows, limit, (refusedAt, version) -> refusedAt < version));
    }

    /**
     * The timeline read newest first: at most {@code limit} entries before {@code before}, newest first, with the same
     * filters and the same single snapshot as {@link #timeline}. The refusals made at version n come after version n and
     * before version n + 1, so read backwards they come before version n.
     */
    public Uni<List<TimelineEntry>> timelineBackwards(SessionKey session, TimelineBefore before, int limit, String type,
            String source) {
        return prepared(session).chain(() -> pool.preparedQuery(filtered("SELECT * FROM ((SELECT 0 AS kind, "
                + "row_number() OVER (ORDER BY version DESC) AS ord, "
                + "version, version AS session_version, event_id, NULL AS outcome, NULL AS reason, log_partition, "
                + "log_offset, payload, type, source, occurred_at FROM events WHERE tenant = $1 AND session_id = $2 "
                + "AND version < $3 " + FILTERS + " "
                + "ORDER BY version DESC LIMIT $8) "
                + "UNION ALL (SELECT 1, row_number() OVER (ORDER BY after_version DESC, log_partition DESC, "
                + "log_offset DESC, event_id DESC), NULL, after_version, event_id, outcome, reason, log_partition, "
                + "log_offset, payload, type, source, occurred_at "
                + "FROM rejections WHERE tenant = $1 AND session_id = $2 AND (after_version < $4 OR (after_version = $4 "
                + "AND ($5::int IS NULL OR (log_partition, log_offset, event_id) < ($5::int, $6::bigint, $7::text)))) "
                + FILTERS + " "
                + "ORDER BY after_version DESC, log_partition DESC, log_offset DESC, event_id DESC LIMIT $8)) AS page "
                + "ORDER BY kind, ord", type, source))
                .execute(Tuple.from(Arrays.asList(session.tenant(), session.sessionId(), before.acceptedBelow(),
                        before.refusedAt(), before.logPartition(), before.logOffset(), before.eventId(), limit, type,
                        source))))
                .call(rows -> ownersIn(session, rows))
                // read backwards, a refusal made at version a comes before version a and after version a + 1
                .map(rows -> merge(session, rows, limit, (refusedAt, version) -> refusedAt >= version));
    }

    private TimelineEntry entry(SessionKey session, Row row) {
        Long version = row.getLong("version");
        String outcome = row.getString("outcome");
        return new TimelineEntry(row.getString("event_id"), version, row.getLong("session_version"),
                version != null ? "accepted" : outcome.toLowerCase(Locale.ROOT), row.getString("reason"),
                timelineEvent(session, row), row.getInteger("log_partition"), row.getLong("log_offset"));
    }

    /** How {@link #sessions} orders a tenant's sessions. */
    public enum SessionOrder {
        /** by session id (the database's collation), ascending */
        ID,
        /** most recently updated first, then by session id */
        RECENT
    }

    /** Where a page of {@link #sessions} starts: after this session (and, newest first, this update time). */
    public record SessionsAfter(String sessionId, Instant updatedAt) {
    }

    /**
     * One page of a tenant's sessions (heads), optionally only ids starting with {@code prefix} and of one user.
     *
     * @param after the last session of the previous page, or null for the first page
     */
    public Uni<List<SessionHead>> sessions(String tenant, String prefix, String userId, SessionOrder order,
            SessionsAfter after, int limit) {
        StringBuilder sql = new StringBuilder("SELECT h.tenant, h.session_id, " + LedgerRepository.HEAD_COLUMNS
                + " FROM session_heads h LEFT JOIN session_generations g ON g.tenant = h.tenant AND g.session_id = "
                + "h.session_id WHERE h.tenant = $1");
        List<Object> params = new ArrayList<>(List.of(tenant));
        if (prefix != null && !prefix.isEmpty()) {
            params.add(prefix);
            sql.append(" AND starts_with(h.session_id, $").append(params.size()).append(')');
        }
        if (userId != null) {
            params.add(userId);
            sql.append(" AND h.user_id = $").append(params.size());
        }
        if (after != null && order == SessionOrder.ID) {
            params.add(after.sessionId());
            sql.append(" AND h.session_id > $").append(params.size());
        } else if (after != null) {
            params.add(LedgerRepository.offset(after.updatedAt()));
            params.add(after.sessionId());
            sql.append(" AND (h.updated_at < $").append(params.size() - 1).append(" OR (h.updated_at = $")
                    .append(params.size() - 1).append(" AND h.session_id > $").append(params.size()).append("))");
        }
        sql.append(order == SessionOrder.ID ? " ORDER BY h.session_id" : " ORDER BY h.updated_at DESC, h.session_id");
        params.add(limit);
        sql.append(" LIMIT $").append(params.size());
        return pool.preparedQuery(sql.toString()).execute(Tuple.from(params))
                .map(rows -> {
                    List<SessionHead> heads = new ArrayList<>(rows.size());
                    rows.forEach(row -> heads.add(LedgerRepository.head(row)));
                    return heads;
                });
    }

    /** Whether a session has anything to show in its timeline: a head, or refusals of a session that never began. */
    public Uni<Boolean> hasTimeline(SessionKey session) {
        return pool.preparedQuery("SELECT EXISTS (SELECT 1 FROM session_heads WHERE tenant = $1 AND session_id = $2) "
                + "OR EXISTS (SELECT 1 FROM rejections WHERE tenant = $1 AND session_id = $2) AS found")
                .execute(Tuple.of(session.tenant(), session.sessionId()))
                .map(rows -> rows.iterator().next().getBoolean("found"));
    }

    // The accepted and refused rows of one page, each list already in the page's order, merged into it:
    // refusalFirst(refusedAt, version) says whether a refusal made at refusedAt comes before the accepted version.
    private List<TimelineEntry> merge(SessionKey session, RowSet<Row> rows, int limit,
            java.util.function.BiPredicate<Long, Long> refusalFirst) {
        List<TimelineEntry> accepted = new ArrayList<>();
        List<TimelineEntry> refused = new ArrayList<>();
        for (Row row : rows) {
            TimelineEntry entry = entry(session, row);
            (entry.version() != null ? accepted : refused).add(entry);
        }
        List<TimelineEntry> merged = new ArrayList<>(Math.min(limit, accepted.size() + refused.size()));
        int a = 0;
        int r = 0;
        while (merged.size() < limit && (a < accepted.size() || r < refused.size())) {
            boolean refusal = a == accepted.size() || r < refused.size()
                    && refusalFirst.test(refused.get(r).sessionVersion(), accepted.get(a).version());
            merged.add(refusal ? refused.get(r++) : accepted.get(a++));
        }
        return merged;
    }

    /**
     * Verifies a session's audit chain from one consistent snapshot: the signed head and the facts it is checked
     * against, then the chained entries in chain order, {@code pageSize} at a time, until the last one or the first
     * break. Empty when the session has nothing at all: no head, no chain, no row.
     */
    public Uni<Optional<AuditVerifier.Verdict>> audit(SessionKey session, AuditSigner signer, int pageSize) {
        // Repeatable read: pages read apart would see a concurrent erasure as deleted entries.
        return pool.withTransaction(connection -> connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, "
                + "READ ONLY").execute()
                .chain(() -> auditFacts(connection, session))
                .chain(facts -> {
                    AuditVerifier verifier = new AuditVerifier(signer, facts);
                    AtomicLong read = new AtomicLong();
                    return auditEntries(connection, session, verifier, pageSize, read)
                            .map(ignored -> facts.head() != null || facts.sessionVersion() != null
                                    || facts.unchained() > 0 || read.get() > 0
                                            ? Optional.of(verifier.finish())
                                            : Optional.<AuditVerifier.Verdict> empty());
                }));
    }

    private Uni<AuditVerifier.Facts> auditFacts(SqlConnection connection, SessionKey session) {
        return connection.preparedQuery("SELECT a.chain_seq, a.chain_hash, a.key_id, a.signature, "
                + "(SELECT version FROM session_heads WHERE tenant = $1 AND session_id = $2) AS session_version, "
                + "e.n AS unchained_events, e.last AS last_unchained_version, "
                + "r.n AS unchained_refusals, r.last AS last_unchained_refusal "
                + "FROM (VALUES (1)) AS one (x) LEFT JOIN audit_heads a ON a.tenant = $1 AND a.session_id = $2 "
                + "CROSS JOIN (SELECT count(*) AS n, max(version) AS last FROM events WHERE tenant = $1 "
                + "AND session_id = $2 AND chain_seq IS NULL) AS e "
                + "CROSS JOIN (SELECT count(*) AS n, max(after_version) AS last FROM rejections WHERE tenant = $1 "
                + "AND session_id = $2 AND chain_seq IS NULL) AS r")
                .execute(Tuple.of(session.tenant(), session.sessionId()))
                .map(rows -> {
                    Row row = rows.iterator().next();
                    Long seq = row.getLong("chain_seq");
                    AuditSigner.SignedHead head = seq == null ? null
                            : new AuditSigner.SignedHead(session.tenant(), session.sessionId(),
                                    new AuditChain.Link(seq, bytes(row.getBuffer("chain_hash"))), row.getString("key_id"),
                                    bytes(row.getBuffer("signature")));
                    return new AuditVerifier.Facts(head, row.getLong("session_version"),
                            row.getLong("unchained_events") + row.getLong("unchained_refusals"),
                            row.getLong("last_unchained_version"), row.getLong("last_unchained_refusal"));
                });
    }

    // Keyset pages over (chain_seq, table): a rejection that claims the place of an archived event is read too.
    private Uni<Void> auditEntries(SqlConnection connection, SessionKey session, AuditVerifier verifier, int pageSize,
            AtomicLong read) {
        long[] after = { Long.MIN_VALUE, 1 };
        return Multi.createBy().repeating()
                .uni(() -> connection.preparedQuery("SELECT * FROM ((SELECT 0 AS kind, chain_seq, chain_hash, "
                        + "version, event_id, NULL AS outcome, NULL AS reason, type, source, occurred_at, payload "
                        + "FROM events WHERE tenant = $1 AND session_id = $2 AND chain_seq > $3 "
                        + "ORDER BY chain_seq LIMIT $5) UNION ALL (SELECT 1, chain_seq, chain_hash, after_version, "
                        + "event_id, outcome, reason, type, source, occurred_at, payload FROM rejections "
                        + "WHERE tenant = $1 AND session_id = $2 AND (chain_seq > $3 OR (chain_seq = $3 AND $4 = 0)) "
                        + "ORDER BY chain_seq LIMIT $5)) AS page ORDER BY chain_seq, kind LIMIT $5")
                        .execute(Tuple.of(session.tenant(), session.sessionId(), after[0], (int) after[1], pageSize))
                        // hashing a page of payloads is CPU work: off the event loop
                        .emitOn(Infrastructure.getDefaultWorkerPool())
                        .map(rows -> verifyPage(session, rows, verifier, after, read) && rows.size() == pageSize))
                .whilst(more -> more)
                .collect().last()
                .replaceWithVoid();
    }

    private static boolean verifyPage(SessionKey session, RowSet<Row> rows, AuditVerifier verifier, long[] after,
            AtomicLong read) {
        for (Row row : rows) {
            read.incrementAndGet();
            long seq = row.getLong("chain_seq");
            boolean accepted = row.getInteger("kind") == 0;
            byte[] payload = bytes(row.getBuffer("payload"));
            Instant occurredAt = LedgerRepository.instant(row.getOffsetDateTime("occurred_at"));
            AuditChain.Entry entry = accepted
                    ? AuditChain.Entry.accepted(session.tenant(), session.sessionId(), seq, row.getLong("version"),
                            row.getString("event_id"), row.getString("type"), row.getString("source"), occurredAt,
                            payload)
                    : AuditChain.Entry.refused(session.tenant(), session.sessionId(), seq, row.getString("outcome"),
                            row.getLong("version"), row.getString("event_id"), row.getString("type"),
                            row.getString("source"), occurredAt, row.getString("reason"), payload);
            after[0] = seq;
            after[1] = accepted ? 0 : 1;
            if (!verifier.accept(new AuditVerifier.Stored(entry, bytes(row.getBuffer("chain_hash"))))) {
                return false;
            }
        }
        return true;
    }

    private static byte[] bytes(Buffer buffer) {
        return buffer == null ? null : buffer.getBytes();
    }

    // the id's current generation, in a statement whose $1 and $2 are the tenant and the session
    private static final String GENERATION = "coalesce((SELECT generation FROM session_generations WHERE tenant = $1 "
            + "AND session_id = $2), 0)";

    /** The decision taken for an event id, if any. */
    public Uni<Optional<StoredDecision>> decision(String tenant, String eventId) {
        return pool.preparedQuery("SELECT * FROM decisions WHERE tenant = $1 AND event_id = $2")
                .execute(Tuple.of(tenant, eventId))
                .map(rows -> rows.size() == 0 ? Optional.<StoredDecision> empty()
                        : Optional.of(LedgerRepository.decision(rows.iterator().next())));
    }

    /**
     * Stores a whole-state snapshot (a repeat of the same version is ignored), then drops all but the session's newest
     * {@code kept} snapshots of the current format: storage stays proportional to the session, not to its square, and
     * an older version is read from an older snapshot or from the start of the archive.
     */
    public Uni<Void> saveSnapshot(SessionState state, long generation, int kept) {
        // only while the session's life still holds that version: a snapshot of a life erased during the fold is not
        // stored (and one stored by a race with the erasure's commit is of an older generation, which reads ignore);
        // and only under the key it had: a user forgotten meanwhile must not get their content back in a snapshot sealed
        // with a key made for it (no key is made here, and the row must still exist when the snapshot is stored)
        String owner = DataKeys.sessionOwner(state.sessionId());
        return keys.prepareExisting(state.tenant(), List.of(owner)).chain(() -> !keys.present(state.tenant(), owner)
                ? Uni.createFrom().voidItem()
                : pool.preparedQuery("INSERT INTO snapshots (tenant, session_id, version, state, format, generation) "
                        + "SELECT $1, $2, $3, $4, $6, $5 WHERE EXISTS (SELECT 1 FROM session_heads WHERE tenant = $1 "
                        + "AND session_id = $2 AND version >= $3) AND " + GENERATION + " = $5 AND EXISTS (SELECT 1 FROM "
                        + "data_keys WHERE tenant = $1 AND owner = $7) ON CONFLICT DO NOTHING")
                        .execute(Tuple.from(java.util.Arrays.asList(state.tenant(), state.sessionId(), state.version(),
                                io.vertx.core.buffer.Buffer.buffer(keys.seal(state.tenant(), owner,
                                        "snapshot:" + state.version(),
                                        ViewCodec.write(state).getBytes(java.nio.charset.StandardCharsets.UTF_8))),
                                generation, ViewCodec.SNAPSHOT_FORMAT, owner)))
                        .replaceWithVoid())
                .chain(() -> pool.preparedQuery("DELETE FROM snapshots WHERE tenant = $1 AND session_id = $2 "
                        + "AND (format <> $3 OR generation <> " + GENERATION + " OR version < (SELECT min(version) "
                        + "FROM (SELECT version FROM snapshots WHERE tenant = $1 AND session_id = $2 AND format = $3 "
                        + "AND generation = " + GENERATION + " ORDER BY version DESC LIMIT $4) newest))")
                        .execute(Tuple.of(state.tenant(), state.sessionId(), ViewCodec.SNAPSHOT_FORMAT, kept)))
                .replaceWithVoid();
    }

    // facts archived in a session are sealed for their user: those keys are loaded (when they still exist) as well
    private Uni<Void> ownersIn(SessionKey session, RowSet<Row> rows) {
        Set<String> owners = new LinkedHashSet<>();
        for (Row row : rows) {
            DataKeys.embeddedOwner(row.getBuffer("payload").getBytes()).ifPresent(owners::add);
        }
        return owners.isEmpty() ? Uni.createFrom().voidItem() : keys.prepareExisting(session.tenant(), owners);
    }

    private Uni<Void> prepared(SessionKey session) {
        return keys.prepareExisting(session.tenant(), List.of(DataKeys.sessionOwner(session.sessionId())));
    }

    private Optional<byte[]> open(SessionKey session, String eventId, byte[] stored) {
        if (stored.length > 0 && stored[0] == '{') {
            // archived before encryption at rest: plain structured JSON
            return Optional.of(stored);
        }
        return keys.open(session.tenant(), DataKeys.sessionOwner(session.sessionId()), ArchiveSeal.eventRow(eventId),
                stored);
    }

    // A snapshot that no longer opens (its session's key destroyed) is no base: the events are folded from the start.
    private SessionState snapshot(SessionKey session, Row row) {
        long version = row.getLong("version");
        return keys.open(session.tenant(), DataKeys.sessionOwner(session.sessionId()), "snapshot:" + version,
                row.getBuffer("state").getBytes())
                .map(ArchiveRepository::readState)
                .orElseGet(() -> SessionState.empty(session.tenant(), session.sessionId()));
    }

    private JsonNode timelineEvent(SessionKey session, Row row) {
        Optional<byte[]> payload = open(session, row.getString("event_id"), row.getBuffer("payload").getBytes());
        if (payload.isPresent()) {
            return json(payload.get());
        }
        ObjectNode erased = ViewCodec.json().createObjectNode();
        erased.put("id", row.getString("event_id"));
        erased.put("source", row.getString("source"));
        erased.put("type", row.getString("type"));
        erased.put("subject", session.sessionId());
        erased.put("time", row.getOffsetDateTime("occurred_at").toInstant().toString());
        erased.put("erased", true);
        return erased;
    }

    private static Event erased(SessionKey session, Row row) {
        return new Event(row.getString("event_id"), row.getString("source"), row.getString("type"), EventType.CUSTOM,
                session.sessionId(), row.getOffsetDateTime("occurred_at").toInstant(), session.tenant(), null, null, null,
                null, null, null);
    }

    private static SessionState readState(byte[] json) {
        try {
            return ViewCodec.json().readValue(json, SessionState.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode json(byte[] payload) {
        try {
            return ViewCodec.json().readTree(payload);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
