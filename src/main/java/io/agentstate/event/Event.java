package io.agentstate.event;

import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One CloudEvent as the ledger sees it: the envelope attributes of DESIGN §3 with the typed data.
 *
 * @param id the idempotency key, unique per tenant
 * @param source the agent, as a URI
 * @param type the CloudEvents type
 * @param kind the parsed type
 * @param subject the session id
 * @param time when the agent saw it happen; never read by the fold for decisions
 * @param tenant the owning tenant
 * @param expectedVersion the version the writer last saw, or null
 * @param causationId optional link to the event that caused this one
 * @param correlationId optional link across agents and sessions
 * @param data the raw {@code data} value (null when absent)
 * @param payload the typed data
 * @param extensions any other envelope attributes (traceparent, tracestate, custom extensions), kept as they came;
 *        null when there are none
 */
public record Event(String id, String source, String type, EventType kind, String subject, Instant time, String tenant,
        Long expectedVersion, String causationId, String correlationId, JsonNode data, EventData payload,
        ObjectNode extensions) {

    /** This event with the tenant and time the log assigned (when the writer gave none). */
    public Event withDefaults(String defaultTenant, Instant defaultTime) {
        return new Event(id, source, type, kind, subject, time != null ? time : defaultTime,
                tenant != null ? tenant : defaultTenant, expectedVersion, causationId, correlationId, data, payload,
                extensions);
    }

    /** This event with another expected version (a batch carries it on its first event only). */
    public Event withExpectedVersion(Long expected) {
        return new Event(id, source, type, kind, subject, time, tenant, expected, causationId, correlationId, data,
                payload, extensions);
    }
}
