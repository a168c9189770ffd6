package io.agentstate.event;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The typed {@code data} of an event, one record per {@link EventType}. */
public sealed interface EventData {

    /** Opens the session. */
    record SessionStarted(String userId, ObjectNode metadata) implements EventData {
    }

    /** Appends to the conversation. */
    record MessageAppended(String role, String content, String name, String toolCallId) implements EventData {
    }

    /** Opens a tool call. */
    record ToolRequested(String callId, String tool, JsonNode arguments) implements EventData {
    }

    /** Closes a tool call with an output or an error. */
    record ToolCompleted(String callId, JsonNode output, String error) implements EventData {
    }

    /** Merges a JSON Merge Patch (RFC 7386) into a state scope. */
    record StatePatched(String scope, ObjectNode patch) implements EventData {
    }

    /** Data about one user's long-term facts: sealed under the user's data key, wherever the event is stored. */
    sealed interface UserFact extends EventData permits MemoryRecorded, MemoryRevised, MemoryForgotten {
        String userId();
    }

    /**
     * Adds a long-term fact for a user, outside the session; the event's id is the fact's id. A {@code distinct} fact
     * is never marked as a near-duplicate of another: each one stays searchable.
     */
    record MemoryRecorded(String userId, String fact, List<String> tags, boolean distinct) implements UserFact {
    }

    /** Replaces fact {@code memoryId}'s text, and its tags when given (null keeps them). */
    record MemoryRevised(String userId, String memoryId, String fact, List<String> tags) implements UserFact {
    }

    /** Removes fact {@code memoryId}, with every revision and vector. */
    record MemoryForgotten(String userId, String memoryId, String reason) implements UserFact {
    }

    /** Replaces the conversation prefix up to {@code throughVersion} in the prompt window. */
    record SummaryRecorded(long throughVersion, String summary, String model, String promptVersion) implements EventData {
    }

    /** Closes the session. */
    record SessionEnded(String reason) implements EventData {
    }

    /** Erases the session from every store. */
    record SessionErased(String reason) implements EventData {
    }

    /**
     * Starts a session as a copy of {@code sourceSessionId} at {@code sourceVersion}: {@code state} holds that state's
     * user, metadata, summary, messages, message count, tool calls and scopes, and the new session's versions continue
     * from {@code sourceVersion}.
     */
    record SessionForked(String sourceSessionId, long sourceVersion, ObjectNode state) implements EventData {
    }

    /** Any other reverse-DNS type: kept as it came. */
    record Custom(JsonNode data) implements EventData {
    }
}
