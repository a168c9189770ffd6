package io.agentstate.event;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;

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
     * SHA-256 (hex) of what a writer means by this record: each event's type, source, session, links and data (object
     * members in name order, so a client that serialises a map in another order still matches), but not its id (the
     * key itself), time or expected version (filled in or moved by retries), nor extension attributes (a tracing SDK
     * gives every retry a new traceparent). A retry of the same request matches; a different body under the same key
     * does not.
     */
    public String fingerprint() {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Event event : events) {
            for (String part : new String[] { event.type(), event.source(), sessionId, event.causationId(),
                    event.correlationId(), canonical(event.data(), new StringBuilder()).toString() }) {
                digest.update(String.valueOf(part).getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static StringBuilder canonical(JsonNode node, StringBuilder out) {
        if (node == null) {
            return out.append("null");
        }
        if (node.isObject()) {
            List<String> names = new ArrayList<>();
            node.fieldNames().forEachRemaining(names::add);
            Collections.sort(names);
            out.append('{');
            for (String name : names) {
                out.append(TextNode.valueOf(name)).append(':');
                canonical(node.get(name), out).append(',');
            }
            return out.append('}');
        }
        if (node.isArray()) {
            out.append('[');
            node.forEach(element -> canonical(element, out).append(','));
            return out.append(']');
        }
        // numbers by value: 1.0 and 1.00 are one number
        return out.append(node.isNumber() ? node.decimalValue().stripTrailingZeros().toPlainString() : node.toString());
    }
}
