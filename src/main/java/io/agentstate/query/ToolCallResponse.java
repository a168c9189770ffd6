package io.agentstate.query;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.ledger.SessionState;

/**
 * One call of the tool ledger ({@code GET /sessions/{id}/tools/{callId}}, and each entry of a session's
 * {@code toolCalls}).
 *
 * @param status {@code requested}, {@code completed} or {@code failed}
 * @param requestedVersion the version of its {@code tool.requested}
 * @param completedVersion the version of its {@code tool.completed}, once closed
 */
public record ToolCallResponse(String callId, String tool, JsonNode arguments, String status, JsonNode output,
        String error, long requestedVersion, Long completedVersion, String requestedBy, String completedBy) {

    static ToolCallResponse from(SessionState.ToolCall call) {
        return new ToolCallResponse(call.callId(), call.tool(), call.arguments(),
                call.status().name().toLowerCase(Locale.ROOT), call.output(), call.error(), call.requestedVersion(),
                call.completedVersion(), call.requestedBy(), call.completedBy());
    }
}
