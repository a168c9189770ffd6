package io.agentstate.ledger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.event.EventCodec;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Reads of the durable record in PostgreSQL: heads, the archive, snapshots and decisions. This is where a view is
 * rebuilt from (latest snapshot plus later events, I6) and where the past is read.
 */
@ApplicationScoped
public class ArchiveRepository {

    /** One timeline entry: an accepted event with its version, or a rejected one after the version it met. */
    public record TimelineEntry(Long version, long sessionVersion, String outcome, String reason, JsonNode event) {
    }

    /** A page of the timeline; {@code nextFromVersion} is null on the last page. */
    public record TimelinePage(List<TimelineEntry> entries, Long nextFromVersion) {
    }

    private final Pool pool;
    private final EventCodec codec;

    ArchiveRepository(Pool pool, EventCodec codec) {
        this.pool = pool;
        this.codec = codec;
    }

    public Uni<Optional<SessionHead>> head(SessionKey session) {
        return pool.preparedQuery("SELECT * FROM session_heads WHERE tenant = $1 AND session_id = $2")
                .execute(Tuple.of(session.tenant(), session.sessionId()))
                .map(rows -> rows.size() == 0 ? Optional.<SessionHead> empty()
                        : Optional.of(LedgerRepository.head(rows.iterator().next())));
    }

    /** The state at a version: the latest snapshot at or before it, then the archived events up to it, folded. */
    public Uni<SessionState> stateAt(SessionKey session, long version) {
        // a snapshot of another format was written by another fold: replaying from an older base is always right (I4)
        return pool.preparedQuery("SELECT version, state FROM snapshots WHERE tenant = $1 AND session_id = $2 "
                + "AND version <= $3 AND format = $4 ORDER BY version DESC LIMIT 1")
                .execute(Tuple.of(session.tenant(), session.sessionId(), version, ViewCodec.SNAPSHOT_FORMAT))
                .map(rows -> rows.size() == 0 ? SessionState.empty(session.tenant(), session.sessionId())
                        : readState(rows.iterator().next().getBuffer("state").getBytes()))
                .chain(base -> events(session, base.version(), version).map(base::applyAll));
    }

    /** The archived events in (after, through], in version order. */
    public Uni<List<SessionState.Archived>> events(SessionKey session, long after, long through) {
        return pool.preparedQuery("SELECT version, payload FROM events WHERE tenant = $1 AND session_id = $2 "
                + "AND version > $3 AND version <= $4 ORDER BY version")
                .execute(Tuple.of(session.tenant(), session.sessionId(), after, through))
                .map(rows -> {
                    List<SessionState.Archived> events = new ArrayList<>(rows.size());
                    for (Row row : rows) {
                        byte[] payload = row.getBuffer("payload").getBytes();
                        events.add(new SessionState.Archived(codec.decodeArchived(payload), row.getLong("version"),
                                payload.length));
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

    /**
     * A page of the timeline from a version: accepted events in version order, and each rejection placed before the
     * version that followed it.
     */
    public Uni<TimelinePage> timeline(SessionKey session, long fromVersion, int limit, String type, String source) {
        return pool.preparedQuery("SELECT version, payload FROM events WHERE tenant = $1 AND session_id = $2 "
                + "AND version >= $3 AND ($5::text IS NULL OR type = $5) AND ($6::text IS NULL OR source = $6) "
                + "ORDER BY version LIMIT $4")
                .execute(Tuple.from(java.util.Arrays.asList(session.tenant(), session.sessionId(), fromVersion, limit,
                        type, source)))
                .chain(rows -> {
                    List<TimelineEntry> entries = new ArrayList<>();
                    long last = fromVersion - 1;
                    for (Row row : rows) {
                        long version = row.getLong("version");
                        last = version;
                        entries.add(new TimelineEntry(version, version, "accepted", null, json(row.getBuffer("payload"))));
                    }
                    boolean finalPage = rows.size() < limit;
                    long lastSeen = last;
                    return rejections(session, fromVersion - 1, finalPage ? Long.MAX_VALUE : last - 1, limit, type,
                            source)
                            .map(rejected -> {
                                List<TimelineEntry> merged = new ArrayList<>(entries);
                                merged.addAll(rejected);
                                // a rejection met version n and precedes version n + 1
                                merged.sort(Comparator.comparingDouble(e -> e.version() != null ? e.version()
                                        : e.sessionVersion() + 0.5));
                                return new TimelinePage(merged, finalPage ? null : lastSeen + 1);
                            });
                });
    }

    private Uni<List<TimelineEntry>> rejections(SessionKey session, long fromAfter, long toAfter, int limit,
            String type, String source) {
        return pool.preparedQuery("SELECT after_version, outcome, reason, payload FROM rejections WHERE tenant = $1 "
                + "AND session_id = $2 AND after_version >= $3 AND after_version <= $4 "
                + "AND ($6::text IS NULL OR type = $6) AND ($7::text IS NULL OR source = $7) "
                + "ORDER BY after_version, log_offset LIMIT $5")
                .execute(Tuple.from(java.util.Arrays.asList(session.tenant(), session.sessionId(), fromAfter, toAfter,
                        limit, type, source)))
                .map(rows -> {
                    List<TimelineEntry> entries = new ArrayList<>();
                    for (Row row : rows) {
                        entries.add(new TimelineEntry(null, row.getLong("after_version"),
                                row.getString("outcome").toLowerCase(), row.getString("reason"),
                                json(row.getBuffer("payload"))));
                    }
                    return entries;
                });
    }

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
    public Uni<Void> saveSnapshot(SessionState state, int kept) {
        // only while the session still holds that version: an erasure during the fold must not leave a snapshot behind
        return pool.preparedQuery("INSERT INTO snapshots (tenant, session_id, version, state, format) "
                + "SELECT $1, $2, $3, $4, $6 WHERE EXISTS (SELECT 1 FROM session_heads WHERE tenant = $1 "
                + "AND session_id = $2 AND version >= $3 AND created_at = $5) ON CONFLICT DO NOTHING")
                .execute(Tuple.from(java.util.Arrays.asList(state.tenant(), state.sessionId(), state.version(),
                        io.vertx.core.buffer.Buffer.buffer(ViewCodec.write(state)),
                        LedgerRepository.offset(state.createdAt()), ViewCodec.SNAPSHOT_FORMAT)))
                .chain(() -> pool.preparedQuery("DELETE FROM snapshots WHERE tenant = $1 AND session_id = $2 "
                        + "AND (format <> $3 OR version < (SELECT min(version) FROM (SELECT version FROM snapshots "
                        + "WHERE tenant = $1 AND session_id = $2 AND format = $3 ORDER BY version DESC LIMIT $4) newest))")
                        .execute(Tuple.of(state.tenant(), state.sessionId(), ViewCodec.SNAPSHOT_FORMAT, kept)))
                .replaceWithVoid();
    }

    private static SessionState readState(byte[] json) {
        try {
            return ViewCodec.json().readValue(json, SessionState.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode json(Buffer payload) {
        try {
            return ViewCodec.json().readTree(payload.getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
