package io.agentstate.memory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Long-term facts per user in PostgreSQL, written by the ledger from the {@code memory.*} events, their text sealed
 * under the user's data key. A fact is its current revision; {@link #history} gives every revision.
 */
@ApplicationScoped
public class MemoryRepository {

    /**
     * One revision of a long-term fact and where it was recorded.
     *
     * @param memoryId the fact's id (the id of the event that first recorded it), the same across revisions
     * @param eventId the id of the event that wrote this revision
     * @param source the CloudEvents source of that event: the agent (or the service) that wrote it
     * @param duplicateOf the fact this one was found to be a near-duplicate of, or null
     * @param supersededBy the revision that replaced this one, or null for the current revision
     * @param score the cosine similarity to the query, in a search; null otherwise
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Memory(String memoryId, String userId, String fact, List<String> tags, String sessionId, long version,
            String eventId, String source, Instant recordedAt, String duplicateOf, String supersededBy, Double score) {

        Memory scored(double value) {
            return new Memory(memoryId, userId, fact, tags, sessionId, version, eventId, source, recordedAt,
                    duplicateOf, supersededBy, value);
        }
    }

    /**
     * A current revision the projector must embed: its text decrypted, and {@code first}: it never had a vector and is
     * not distinct, so it is checked for being a near-duplicate.
     */
    record ToEmbed(String tenant, String userId, String eventId, String memoryId, String fact, boolean first) {
    }

    private static final String COLUMNS = "memory_id, user_id, event_id, session_id, version, sealed, fact, tags, "
            + "source, recorded_at, duplicate_of, superseded_by";

    private final Pool pool;
    private final DataKeys keys;

    MemoryRepository(Pool pool, DataKeys keys) {
        this.pool = pool;
        this.keys = keys;
    }

    /** A user's current facts, newest first, optionally only those with a tag. */
    public Uni<List<Memory>> forUser(String tenant, String userId, String tag, int limit) {
        return read(tenant, userId, "SELECT " + COLUMNS + " FROM memories WHERE tenant = $1 AND user_id = $2 "
                + "AND superseded_by IS NULL AND ($3::text IS NULL OR $3 = ANY(tags)) "
                + "ORDER BY recorded_at DESC, event_id LIMIT $4", Tuple.from(Arrays.asList(tenant, userId, tag, limit)));
    }

    /** A user's current facts without a vector of this model yet, newest first (at most the projector's backlog). */
    public Uni<List<Memory>> unembedded(String tenant, String userId, String model) {
        return read(tenant, userId, "SELECT " + COLUMNS + " FROM memories WHERE tenant = $1 AND user_id = $2 "
                + "AND superseded_by IS NULL AND (embedding IS NULL OR embedding_model <> $3) "
                + "ORDER BY recorded_at DESC LIMIT 1000", Tuple.of(tenant, userId, model));
    }

    /** The current revision of one fact. */
    public Uni<Optional<Memory>> current(String tenant, String userId, String memoryId) {
        return read(tenant, userId, "SELECT " + COLUMNS + " FROM memories WHERE tenant = $1 AND user_id = $2 "
                + "AND memory_id = $3 AND superseded_by IS NULL", Tuple.of(tenant, userId, memoryId))
                .map(found -> found.stream().findFirst());
    }

    /** Every revision of one fact, oldest first; empty for a fact never recorded or forgotten. */
    public Uni<List<Memory>> history(String tenant, String userId, String memoryId) {
        return read(tenant, userId, "SELECT " + COLUMNS + " FROM memories WHERE tenant = $1 AND user_id = $2 "
                + "AND memory_id = $3 ORDER BY recorded_at, version", Tuple.of(tenant, userId, memoryId));
    }

    /** The revisions with these event ids, of any users of a tenant, by event id. */
    public Uni<Map<String, Memory>> byEventIds(String tenant, List<String> eventIds) {
        if (eventIds.isEmpty()) {
            return Uni.createFrom().item(Map.of());
        }
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM memories WHERE tenant = $1 AND event_id = ANY($2)")
                .execute(Tuple.of(tenant, eventIds.toArray(new String[0])))
                .chain(rows -> {
                    List<Row> all = new ArrayList<>();
                    List<String> owners = new ArrayList<>();
                    for (Row row : rows) {
                        all.add(row);
                        owners.add(DataKeys.userOwner(row.getString("user_id")));
                    }
                    return keys.prepareExisting(tenant, owners).map(ready -> {
                        Map<String, Memory> found = new HashMap<>();
                        for (Row row : all) {
                            Memory memory = memory(tenant, row);
                            if (memory != null) {
                                found.put(memory.eventId(), memory);
                            }
                        }
                        return found;
                    });
                });
    }

    /** Current facts of a user (or of a whole tenant, userId null) not yet embedded by this model. */
    public Uni<Long> unindexed(String tenant, String userId, String model) {
        return pool.preparedQuery("SELECT count(*) FROM memories WHERE tenant = $1 AND ($2::text IS NULL OR "
                + "user_id = $2) AND superseded_by IS NULL AND (embedding IS NULL OR embedding_model <> $3)")
                .execute(Tuple.of(tenant, userId, model))
                .map(rows -> rows.iterator().next().getLong(0));
    }

    /**
     * Current revisions without a vector, oldest first, their text decrypted (a fact whose key is destroyed is skipped:
     * its rows are going); with {@code otherModels}, also those embedded by another model.
     */
    Uni<List<ToEmbed>> toEmbed(String model, int limit, boolean otherModels) {
        String sql = "SELECT tenant, user_id, event_id, memory_id, sealed, fact, embedding IS NULL AND NOT distinct_fact AS first "
                + "FROM memories WHERE superseded_by IS NULL AND "
                + (otherModels ? "(embedding IS NULL OR embedding_model <> $1) "
                        : "embedding IS NULL AND $1::text IS NOT NULL ")
                + "ORDER BY recorded_at, event_id LIMIT $2";
        return pool.preparedQuery(sql).execute(Tuple.of(model, limit))
                .chain(rows -> {
                    List<Row> all = new ArrayList<>();
                    Map<String, List<String>> owners = new HashMap<>();
                    for (Row row : rows) {
                        all.add(row);
                        owners.computeIfAbsent(row.getString("tenant"), t -> new ArrayList<>())
                                .add(DataKeys.userOwner(row.getString("user_id")));
                    }
                    Uni<Void> ready = Uni.createFrom().voidItem();
                    for (Map.Entry<String, List<String>> tenant : owners.entrySet()) {
                        ready = ready.chain(() -> keys.prepareExisting(tenant.getKey(), tenant.getValue()));
                    }
                    return ready.map(done -> {
                        List<ToEmbed> pending = new ArrayList<>();
                        for (Row row : all) {
                            String tenant = row.getString("tenant");
                            String fact = fact(tenant, DataKeys.userOwner(row.getString("user_id")), row);
                            if (fact != null) {
                                pending.add(new ToEmbed(tenant, row.getString("user_id"), row.getString("event_id"),
                                        row.getString("memory_id"), fact, row.getBoolean("first")));
                            }
                        }
                        return pending;
                    });
                });
    }

    /** Forgets a user's facts: their rows go, vectors included, and with their data key any copy in backups. */
    public Uni<Integer> forget(String tenant, String userId) {
        return pool.preparedQuery("DELETE FROM memories WHERE tenant = $1 AND user_id = $2")
                .execute(Tuple.of(tenant, userId))
                .map(rows -> rows.rowCount());
    }

    private Uni<List<Memory>> read(String tenant, String userId, String sql, Tuple arguments) {
        return keys.prepareExisting(tenant, List.of(DataKeys.userOwner(userId)))
                .chain(() -> pool.preparedQuery(sql).execute(arguments))
                .map(rows -> {
                    List<Memory> memories = new ArrayList<>();
                    for (Row row : rows) {
                        Memory memory = memory(tenant, row);
                        if (memory != null) {
                            memories.add(memory);
                        }
                    }
                    return memories;
                });
    }

    private Memory memory(String tenant, Row row) {
        String fact = fact(tenant, DataKeys.userOwner(row.getString("user_id")), row);
        if (fact == null) {
            return null;
        }
        return new Memory(row.getString("memory_id"), row.getString("user_id"), fact,
                Arrays.asList(row.getArrayOfStrings("tags")), row.getString("session_id"), row.getLong("version"),
                row.getString("event_id"), row.getString("source"), row.getOffsetDateTime("recorded_at").toInstant(),
                row.getString("duplicate_of"), row.getString("superseded_by"), null);
    }

    // Facts written before encryption at rest are plaintext; a fact whose key is destroyed is gone (null).
    private String fact(String tenant, String owner, Row row) {
        Buffer sealed = row.getBuffer("sealed");
        if (sealed == null) {
            return row.getString("fact");
        }
        return keys.open(tenant, owner, "memory:" + row.getString("event_id"), sealed.getBytes())
                .map(bytes -> new String(bytes, StandardCharsets.UTF_8))
                .orElse(null);
    }
}
