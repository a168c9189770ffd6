package io.agentstate.testsupport;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.ledger.LogEntry;

/**
 * Test-data builder for the events of one session. Every event goes through a real {@link EventCodec} (structured JSON
 * bytes, {@code decodeRecord}), so tests exercise the same parsing and schema validation as the log.
 *
 * <pre>
 * Events s1 = Events.session("s1");
 * Event hi = s1.message("user", "hi");
 * Event guarded = s1.id("e7").expected(3).patch("shared", "{\"a\":1}");
 * </pre>
 *
 * Options ({@link #id}, {@link #expected}, {@link #time}, ...) return a copy for the next event(s); the session's
 * sequence is shared, so default ids ({@code <session>-<n>}) and times ({@link #T0} plus n seconds) stay unique and
 * deterministic.
 */
public final class Events {

    public static final EventCodec CODEC = new EventCodec(new EventCodec.Limits(262144, 100, 32, 10000));
    public static final String TENANT = "acme";
    public static final String SOURCE = "agent://planner";
    public static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    private final String sessionId;
    private final AtomicInteger sequence;
    private final String tenant;
    private final String source;
    private final String id;
    private final Long expected;
    private final Instant time;

    private Events(String sessionId, AtomicInteger sequence, String tenant, String source, String id, Long expected,
            Instant time) {
        this.sessionId = sessionId;
        this.sequence = sequence;
        this.tenant = tenant;
        this.source = source;
        this.id = id;
        this.expected = expected;
        this.time = time;
    }

    /** A builder for the events of one session of tenant {@link #TENANT}. */
    public static Events session(String sessionId) {
        return new Events(sessionId, new AtomicInteger(), TENANT, SOURCE, null, null, null);
    }

    public String sessionId() {
        return sessionId;
    }

    public Events id(String eventId) {
        return new Events(sessionId, sequence, tenant, source, eventId, expected, time);
    }

    public Events expected(long version) {
        return new Events(sessionId, sequence, tenant, source, id, version, time);
    }

    public Events time(Instant at) {
        return new Events(sessionId, sequence, tenant, source, id, expected, at);
    }

    public Events time(String at) {
        return time(Instant.parse(at));
    }

    public Events source(String agent) {
        return new Events(sessionId, sequence, tenant, agent, id, expected, time);
    }

    public Events tenant(String owner) {
        return new Events(sessionId, sequence, owner, source, id, expected, time);
    }

    public Event started(String userId) {
        return event("agentstate.session.started", data().put("userId", userId));
    }

    public Event started(String userId, String metadataJson) {
        ObjectNode data = data().put("userId", userId);
        data.set("metadata", json(metadataJson));
        return event("agentstate.session.started", data);
    }

    public Event message(String role, String content) {
        return event("agentstate.message.appended", data().put("role", role).put("content", content));
    }

    public Event toolMessage(String callId, String content) {
        return event("agentstate.message.appended",
                data().put("role", "tool").put("content", content).put("toolCallId", callId));
    }

    public Event toolRequested(String callId, String tool) {
        return event("agentstate.tool.requested", data().put("callId", callId).put("tool", tool));
    }

    public Event toolRequested(String callId, String tool, String argumentsJson) {
        ObjectNode data = data().put("callId", callId).put("tool", tool);
        data.set("arguments", json(argumentsJson));
        return event("agentstate.tool.requested", data);
    }

    /** Completes a tool call with an output given as JSON text. */
    public Event toolCompleted(String callId, String outputJson) {
        ObjectNode data = data().put("callId", callId);
        data.set("output", json(outputJson));
        return event("agentstate.tool.completed", data);
    }

    public Event toolFailed(String callId, String error) {
        return event("agentstate.tool.completed", data().put("callId", callId).put("error", error));
    }

    public Event patch(String scope, String patchJson) {
        ObjectNode data = data().put("scope", scope);
        data.set("patch", json(patchJson));
        return event("agentstate.state.patched", data);
    }

    public Event summary(long throughVersion, String text) {
        return event("agentstate.summary.recorded",
                data().put("throughVersion", throughVersion).put("summary", text).put("model", "test-model"));
    }

    public Event memory(String userId, String fact) {
        return event("agentstate.memory.recorded", data().put("userId", userId).put("fact", fact));
    }

    public Event ended(String reason) {
        return event("agentstate.session.ended", reason == null ? data() : data().put("reason", reason));
    }

    public Event custom(String type) {
        return event(type, data().put("step", sequence.get() + 1));
    }

    /** Any event, its data given as JSON text (or null for none). */
    public Event event(String type, String dataJson) {
        return event(type, dataJson == null ? null : json(dataJson));
    }

    private Event event(String type, JsonNode data) {
        int n = sequence.incrementAndGet();
        ObjectNode envelope = JsonNodeFactory.instance.objectNode();
        envelope.put("specversion", "1.0");
        envelope.put("id", id != null ? id : sessionId + "-" + n);
        envelope.put("source", source);
        envelope.put("type", type);
        envelope.put("subject", sessionId);
        envelope.put("time", (time != null ? time : T0.plusSeconds(n)).toString());
        envelope.put("tenant", tenant);
        if (expected != null) {
            envelope.put("expectedversion", expected);
        }
        if (data != null) {
            envelope.set("data", data);
        }
        return decode(sessionId, bytes(envelope)).first();
    }

    /** Decodes a record value the way the ledger does (structured or batch mode). */
    public static EventBatch decode(String key, byte[] value) {
        return CODEC.decodeRecord(key, value, Map.of("content-type", EventCodec.STRUCTURED), TENANT, T0);
    }

    /** An atomic batch of events of one session, through the codec's batch mode. */
    public static EventBatch batch(Event... events) {
        EventBatch unchecked = new EventBatch(events[0].tenant(), events[0].subject(), Arrays.asList(events), true);
        return CODEC.decodeRecord(events[0].subject(), CODEC.encode(unchecked), Map.of("content-type", EventCodec.BATCH),
                TENANT, T0);
    }

    /** A log entry carrying one event. */
    public static LogEntry entry(int partition, long offset, Event event) {
        return entry(partition, offset, new EventBatch(event.tenant(), event.subject(), List.of(event), false), false);
    }

    /** A log entry carrying an atomic batch. */
    public static LogEntry atomic(int partition, long offset, Event... events) {
        return entry(partition, offset, batch(events), false);
    }

    /** A log entry with each event's archived payload, as the ledger builds it. */
    public static LogEntry entry(int partition, long offset, EventBatch batch, boolean replyRequested) {
        List<byte[]> payloads = new ArrayList<>();
        batch.events().forEach(event -> payloads.add(CODEC.encode(event)));
        return new LogEntry(partition, offset, batch, payloads, replyRequested);
    }

    /** The same entry, with a REST writer waiting for its decision. */
    public static LogEntry replying(LogEntry entry) {
        return new LogEntry(entry.partition(), entry.offset(), entry.batch(), entry.payloads(), true);
    }

    /** The archived size of an event, as the ledger counts it. */
    public static int size(Event event) {
        return CODEC.encode(event).length;
    }

    public static JsonNode json(String text) {
        try {
            return CODEC.mapper().readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("bad JSON in a test: " + text, e);
        }
    }

    public static byte[] bytes(JsonNode node) {
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A JSON array of the given nodes. */
    public static ArrayNode array(JsonNode... nodes) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        for (JsonNode node : nodes) {
            array.add(node);
        }
        return array;
    }

    private static ObjectNode data() {
        return JsonNodeFactory.instance.objectNode();
    }
}
