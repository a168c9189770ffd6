package io.agentstate.query;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.ledger.SessionState;

/**
 * The body of {@code GET /sessions/{id}} and {@code GET /sessions/{id}/state}: a session's state as clients see it,
 * decoupled from the fold's {@link SessionState} (also the snapshot format), with statuses in lower case.
 *
 * @param sessionId the session
 * @param userId the user named by {@code session.started}
 * @param status {@code active} or {@code ended}
 * @param version the last applied version
 * @param toolCalls the tool ledger by call id, in request order
 */
public record SessionResponse(String tenant, String sessionId, String userId, String status, long version,
        Instant createdAt, Instant updatedAt, ObjectNode metadata, SessionState.Summary summary,
        List<SessionState.Message> messages, long messageCount, Map<String, ToolCallResponse> toolCalls,
        Map<String, JsonNode> scopes, long bytes, String endedReason) {

    /** The client view of a fold state. */
    public static SessionResponse from(SessionState state) {
        Map<String, ToolCallResponse> calls = new LinkedHashMap<>();
        state.toolCalls().forEach((id, call) -> calls.put(id, ToolCallResponse.from(call)));
        return new SessionResponse(state.tenant(), state.sessionId(), state.userId(),
                state.status().name().toLowerCase(Locale.ROOT), state.version(), state.createdAt(), state.updatedAt(),
                state.metadata(), state.summary(), state.messages(), state.messageCount(), calls, state.scopes(),
                state.bytes(), state.endedReason());
    }
}
