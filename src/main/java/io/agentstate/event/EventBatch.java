package io.agentstate.event;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * What one log record carries: a single event, or an atomic batch whose events are all accepted with consecutive
 * versions or none is. The batch's expected version is its first event's.
 */
public record EventBatch(String tenant, String sessionId, List<Event> events, boolean atomic) {

    public EventBatch {
        events = List.copyOf(events);
    }

    public Event first() {
        return events.get(0);
    }

    public Long expectedVersion() {
        return first().expectedVersion();
    }

    /**
     * SHA-256 (hex) of what a writer means by this record: each event's type, source, session, links, extensions and
     * data, but not its id (the key itself), time or expected version (filled in or moved by retries), so a retry of the
     * same request matches and a different body under the same key does not.
     */
    public String fingerprint() {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Event event : events) {
            for (Object part : new Object[] { event.type(), event.source(), sessionId, event.causationId(),
                    event.correlationId(), event.extensions(), event.data() }) {
                digest.update(String.valueOf(part).getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
