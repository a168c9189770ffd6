package io.agentstate.memory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
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

    MemoryRepository(Pool pool) {
        this.pool = pool;
    }

    /** A user's facts, newest first, optionally only those with a tag. */
    public Uni<List<Memory>> forUser(String tenant, String userId, String tag, int limit) {
        return pool.preparedQuery("SELECT * FROM memories WHERE tenant = $1 AND user_id = $2 "
                + "AND ($3::text IS NULL OR $3 = ANY(tags)) ORDER BY recorded_at DESC, event_id LIMIT $4")
                .execute(Tuple.from(Arrays.asList(tenant, userId, tag, limit)))
                .map(rows -> {
                    List<Memory> memories = new ArrayList<>();
                    for (Row row : rows) {
                        memories.add(new Memory(row.getString("user_id"), row.getString("fact"),
                                Arrays.asList(row.getArrayOfStrings("tags")), row.getString("session_id"),
                                row.getLong("version"), row.getString("event_id"),
                                row.getOffsetDateTime("recorded_at").toInstant()));
                    }
                    return memories;
                });
    }
}
