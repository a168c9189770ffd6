package io.agentstate.ledger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * How a session view is laid out in Redis: a meta hash, a sorted set of messages scored by version, a hash of tool-call
 * halves ({@code req:<id>}, {@code res:<id>}) and a hash of scopes. The ledger writes these pieces in place, one event at
 * a time; a rebuild writes the same pieces from a folded state; {@link #decode} turns either back into the same
 * {@link SessionState}.
 */
public final class ViewCodec {

    /**
     * Format of stored snapshots: bump it whenever the fold or the state's JSON changes, so snapshots written by an
     * older fold are ignored (and pruned) instead of being replayed onto as if they were current (I4, I6).
     */
    public static final int SNAPSHOT_FORMAT = 1;

    /** A view operation: the Lua script's opcode and its arguments. */
    public record Op(char code, String field, String value) {
    }

    // Emoji as their four UTF-8 bytes, not as escaped surrogate pairs: a view costs Redis what it holds.
    static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build())
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private ViewCodec() {
    }

    /** The shared mapper for view and snapshot JSON. */
    public static ObjectMapper json() {
        return JSON;
    }

    record ToolRequest(String callId, String tool, JsonNode arguments, long requestedVersion, String requestedBy) {
    }

    record ToolResult(JsonNode output, String error, long completedVersion, String completedBy) {
    }

    static Op message(SessionState.Message message) {
        return new Op('M', Long.toString(message.version()), write(message));
    }

    static Op toolRequest(SessionState.ToolCall call) {
        return new Op('C', "req:" + call.callId(), write(new ToolRequest(call.callId(), call.tool(), call.arguments(),
                call.requestedVersion(), call.requestedBy())));
    }

    static Op toolResult(SessionState.ToolCall call) {
        return new Op('C', "res:" + call.callId(), write(new ToolResult(call.output(), call.error(),
                call.completedVersion(), call.completedBy())));
    }

    static Op scope(String name, JsonNode document) {
        return new Op('S', name, write(document));
    }

    static Op trim(long throughVersion) {
        return new Op('T', Long.toString(throughVersion), null);
    }

    static Op meta(String field, Object value) {
        return new Op('H', field, value instanceof String s ? s : write(value));
    }

    /** Meta fields that follow the head after every batch. */
    static List<Op> headFields(SessionHead head) {
        List<Op> ops = new ArrayList<>();
        ops.add(meta("tenant", head.tenant()));
        ops.add(meta("sessionId", head.sessionId()));
        ops.add(meta("status", head.status().name()));
        if (head.userId() != null) {
            ops.add(meta("userId", head.userId()));
        }
        if (head.createdAt() != null) {
            ops.add(meta("createdAt", head.createdAt().toString()));
            ops.add(meta("updatedAt", head.updatedAt().toString()));
        }
        ops.add(meta("messageCount", Long.toString(head.messageCount())));
        ops.add(meta("bytes", Long.toString(head.bytes())));
        return ops;
    }

    /** Every piece of a folded state, for installing a rebuilt view. */
    public static List<Op> install(SessionState state) {
        List<Op> ops = new ArrayList<>(headFields(new SessionHead(state.tenant(), state.sessionId(), state.version(),
                state.status(), state.userId(), state.createdAt(), state.updatedAt(), state.messageCount(),
                state.summary() != null ? state.summary().throughVersion() : 0, state.bytes(), 0)));
        if (state.metadata() != null) {
            ops.add(meta("metadata", state.metadata()));
        }
        if (state.summary() != null) {
            ops.add(meta("summary", state.summary()));
        }
        if (state.endedReason() != null) {
            ops.add(meta("endedReason", state.endedReason()));
        }
        state.messages().forEach(m -> ops.add(message(m)));
        for (SessionState.ToolCall call : state.toolCalls().values()) {
            ops.add(toolRequest(call));
            if (call.completedVersion() != null) {
                ops.add(toolResult(call));
            }
        }
        state.scopes().forEach((name, doc) -> ops.add(scope(name, doc)));
        return ops;
    }

    /**
     * The state a view holds.
     *
     * @param meta the meta hash (with {@code version})
     * @param messages the message members in score order
     * @param tools the tool-call hash
     * @param scopes the scope hash
     */
    public static SessionState decode(Map<String, String> meta, List<String> messages, Map<String, String> tools,
            Map<String, String> scopes) {
        List<SessionState.Message> decodedMessages = new ArrayList<>(messages.size());
        for (String member : messages) {
            decodedMessages.add(read(member, SessionState.Message.class));
        }
        Map<String, SessionState.ToolCall> toolCalls = toolCalls(tools);
        Map<String, JsonNode> decodedScopes = new TreeMap<>();
        scopes.forEach((name, value) -> decodedScopes.put(name, read(value, JsonNode.class)));
        return new SessionState(meta.get("tenant"), meta.get("sessionId"), meta.get("userId"),
                SessionStatus.valueOf(meta.get("status")), Long.parseLong(meta.get("version")),
                instant(meta.get("createdAt")), instant(meta.get("updatedAt")),
                meta.containsKey("metadata") ? (ObjectNode) read(meta.get("metadata"), JsonNode.class) : null,
                meta.containsKey("summary") ? read(meta.get("summary"), SessionState.Summary.class) : null,
                decodedMessages, Long.parseLong(meta.get("messageCount")), toolCalls, decodedScopes,
                Long.parseLong(meta.get("bytes")), meta.get("endedReason"));
    }

    /** The tool calls a view's tool-call hash holds, by call id in request order. */
    public static Map<String, SessionState.ToolCall> toolCalls(Map<String, String> tools) {
        List<SessionState.ToolCall> calls = new ArrayList<>();
        tools.forEach((field, value) -> {
            if (field.startsWith("req:")) {
                ToolRequest request = read(value, ToolRequest.class);
                String result = tools.get("res:" + request.callId());
                ToolResult done = result != null ? read(result, ToolResult.class) : null;
                ToolCallStatus status = done == null ? ToolCallStatus.REQUESTED
                        : done.error() != null ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETED;
                calls.add(new SessionState.ToolCall(request.callId(), request.tool(), request.arguments(), status,
                        done != null ? done.output() : null, done != null ? done.error() : null,
                        request.requestedVersion(), done != null ? done.completedVersion() : null,
                        request.requestedBy(), done != null ? done.completedBy() : null));
            }
        });
        calls.sort(Comparator.comparingLong(SessionState.ToolCall::requestedVersion));
        Map<String, SessionState.ToolCall> toolCalls = new LinkedHashMap<>();
        calls.forEach(call -> toolCalls.put(call.callId(), call));
        return toolCalls;
    }

    private static Instant instant(String value) {
        return value == null ? null : Instant.parse(value);
    }

    static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    static <T> T read(String value, Class<T> type) {
        try {
            return JSON.readValue(value, type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
