package io.agentstate.memory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/** Long-term facts per user in PostgreSQL, written by the ledger from {@code memory.recorded} events. */
@ApplicationScoped
public class MemoryRepository {

    /** One long-term fact and where it was recorded. */
    public record Memory(String userId, String fact, List<String> tags, String sessionId, long version, String eventId,
            Instant recordedAt) {
    }

    private final Pool pool;
    private final DataKeys keys;

    MemoryRepository(Pool pool, DataKeys keys) {
        this.pool = pool;
        this.keys = keys;
    }

    /** A user's facts, newest first, optionally only those with a tag. */
    public Uni<List<Memory>> forUser(String tenant, String userId, String tag, int limit) {
        String owner = DataKeys.userOwner(userId);
        return keys.prepareExisting(tenant, List.of(owner))
                .chain(() -> pool.preparedQuery("SELECT * FROM memories WHERE tenant = $1 AND user_id = $2 "
                        + "AND ($3::text IS NULL OR $3 = ANY(tags)) ORDER BY recorded_at DESC, event_id LIMIT $4")
                        .execute(Tuple.from(Arrays.asList(tenant, userId, tag, limit))))
                .map(rows -> {
                    List<Memory> memories = new ArrayList<>();
                    for (Row row : rows) {
                        String fact = fact(tenant, owner, row);
                        if (fact == null) {
                            continue;
                        }
                        memories.add(new Memory(row.getString("user_id"), fact,
                                Arrays.asList(row.getArrayOfStrings("tags")), row.getString("session_id"),
                                row.getLong("version"), row.getString("event_id"),
                                row.getOffsetDateTime("recorded_at").toInstant()));
                    }
                    return memories;
                });
    }

    /** Forgets a user's facts: their rows go, and with their data key (destroyed by the caller) any copy in backups. */
    public Uni<Integer> forget(String tenant, String userId) {
        return pool.preparedQuery("DELETE FROM memories WHERE tenant = $1 AND user_id = $2")
                .execute(Tuple.of(tenant, userId))
                .map(rows -> rows.rowCount());
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
