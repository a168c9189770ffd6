package io.agentstate.query;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

import io.agentstate.ledger.SessionHead;

/**
 * A page of {@code GET /sessions}: the tenant's sessions with what a list shows of each. Follow {@code next}
 * ({@code ?cursor=}) until it is absent to see every session once (sessions created meanwhile may or may not appear).
 *
 * @param sessions the sessions of this page, at most {@code limit}
 * @param next the cursor of the following page, absent on the last page
 */
public record SessionListResponse(List<Item> sessions, String next) {

    /**
     * One session.
     *
     * @param sessionId the session id
     * @param status {@code active} or {@code ended}
     * @param version its last version
     * @param userId the user named when it started, if any
     * @param createdAt time of its first event
     * @param updatedAt time of its last event
     * @param messageCount messages ever appended
     * @param bytes archived size of its events
     */
    public record Item(String sessionId, String status, long version, String userId, Instant createdAt,
            Instant updatedAt, long messageCount, long bytes) {

        static Item from(SessionHead head) {
            return new Item(head.sessionId(), head.status().name().toLowerCase(Locale.ROOT), head.version(),
                    head.userId(), head.createdAt(), head.updatedAt(), head.messageCount(), head.bytes());
        }
    }
}
