package io.agentstate.event;

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
}
