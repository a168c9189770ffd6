package io.agentstate.ledger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventData;

/**
 * The state of one session: a left fold over its accepted events. {@link #apply} is pure; it reads no clock, no
 * randomness and nothing outside its arguments (I4), so replaying the archive always gives the same state.
 *
 * @param tenant owning tenant
 * @param sessionId the session
 * @param userId the user named by {@code session.started}, or null
 * @param status life-cycle status
 * @param version the last applied version (0 for a new session)
 * @param createdAt time of the first event
 * @param updatedAt time of the last event
 * @param metadata the metadata of {@code session.started}, or null
 * @param summary the latest summary, or null
 * @param messages the messages after the summary, in version order
 * @param messageCount every message ever appended, summarised ones included
 * @param toolCalls the tool ledger by call id, in request order
 * @param scopes state scopes ({@code shared}, {@code agent:<name>}) by name
 * @param bytes the archived size of every applied event
 * @param endedReason the reason of {@code session.ended}, or null
 */
public record SessionState(String tenant, String sessionId, String userId, SessionStatus status, long version,
        Instant createdAt, Instant updatedAt, ObjectNode metadata, Summary summary, List<Message> messages,
        long messageCount, Map<String, ToolCall> toolCalls, Map<String, JsonNode> scopes, long bytes,
        String endedReason) {

    /** One conversation message. */
    public record Message(long version, String eventId, String role, String content, String name, String toolCallId,
            String source, Instant time) {
    }

    /** The summary that replaces the conversation up to {@code throughVersion} in the prompt window. */
    public record Summary(long version, long throughVersion, String text, String model, String promptVersion) {
    }

    /** One call in the tool ledger. */
    public record ToolCall(String callId, String tool, JsonNode arguments, ToolCallStatus status, JsonNode output,
            String error, long requestedVersion, Long completedVersion, String requestedBy, String completedBy) {
    }

    public SessionState {
        messages = Collections.unmodifiableList(messages);
        toolCalls = Collections.unmodifiableMap(toolCalls);
        scopes = Collections.unmodifiableMap(scopes);
    }

    /** The state of a session before its first event. */
    public static SessionState empty(String tenant, String sessionId) {
        return new SessionState(tenant, sessionId, null, SessionStatus.NEW, 0, null, null, null, null, List.of(), 0,
                Map.of(), Map.of(), 0, null);
    }

    /**
     * The state after one accepted event.
     *
     * @param event the event, already accepted by the ledger
     * @param version the version the ledger assigned to it
     * @param size its archived size in bytes
     */
    public SessionState apply(Event event, long version, int size) {
        Instant time = event.time();
        SessionState next = new SessionState(tenant, sessionId, userId,
                status == SessionStatus.NEW ? SessionStatus.ACTIVE : status, version,
                createdAt != null ? createdAt : time, time, metadata, summary, messages, messageCount, toolCalls, scopes,
                bytes + size, endedReason);
        return switch (event.kind()) {
            case SESSION_STARTED -> next.started((EventData.SessionStarted) event.payload());
            case MESSAGE_APPENDED -> next.appended((EventData.MessageAppended) event.payload(), event, version);
            case TOOL_REQUESTED -> next.requested((EventData.ToolRequested) event.payload(), event, version);
            case TOOL_COMPLETED -> next.completed((EventData.ToolCompleted) event.payload(), event, version);
            case STATE_PATCHED -> next.patched((EventData.StatePatched) event.payload());
            case SUMMARY_RECORDED -> next.summarised((EventData.SummaryRecorded) event.payload(), version);
            case SESSION_ENDED -> next.ended((EventData.SessionEnded) event.payload());
            case SESSION_FORKED -> next.forked((EventData.SessionForked) event.payload());
            // nothing of an erased session survives, so its events never reach a fold
            case SESSION_ERASED -> empty(tenant, sessionId);
            // Long-term memory lives outside the session; custom types only take a version and a timeline entry.
            case MEMORY_RECORDED, MEMORY_REVISED, MEMORY_FORGOTTEN, CUSTOM -> next;
        };
    }

    /** The state after a sequence of archived events, in version order, starting after this state's version. */
    public SessionState applyAll(List<Archived> events) {
        SessionState state = this;
        for (Archived archived : events) {
            state = state.apply(archived.event(), archived.version(), archived.size());
        }
        return state;
    }

    /** An archived event with its version and size. */
    public record Archived(Event event, long version, int size) {
    }

    private SessionState started(EventData.SessionStarted data) {
        return new SessionState(tenant, sessionId, data.userId(), status, version, createdAt, updatedAt, data.metadata(),
                summary, messages, messageCount, toolCalls, scopes, bytes, endedReason);
    }

    private SessionState appended(EventData.MessageAppended data, Event event, long version) {
        List<Message> more = new ArrayList<>(messages.size() + 1);
        more.addAll(messages);
        more.add(new Message(version, event.id(), data.role(), data.content(), data.name(), data.toolCallId(),
                event.source(), event.time()));
        return new SessionState(tenant, sessionId, userId, status, version, createdAt, updatedAt, metadata, summary, more,
                messageCount + 1, toolCalls, scopes, bytes, endedReason);
    }

    private SessionState requested(EventData.ToolRequested data, Event event, long version) {
        Map<String, ToolCall> calls = new LinkedHashMap<>(toolCalls);
        calls.put(data.callId(), new ToolCall(data.callId(), data.tool(), data.arguments(), ToolCallStatus.REQUESTED,
                null, null, version, null, event.source(), null));
        return withToolCalls(calls);
    }

    private SessionState completed(EventData.ToolCompleted data, Event event, long version) {
        Map<String, ToolCall> calls = new LinkedHashMap<>(toolCalls);
        ToolCall call = calls.get(data.callId());
        calls.put(data.callId(), new ToolCall(data.callId(), call.tool(), call.arguments(),
                data.error() != null ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETED, data.output(), data.error(),
                call.requestedVersion(), version, call.requestedBy(), event.source()));
        return withToolCalls(calls);
    }

    private SessionState withToolCalls(Map<String, ToolCall> calls) {
        return new SessionState(tenant, sessionId, userId, status, version, createdAt, updatedAt, metadata, summary,
                messages, messageCount, calls, scopes, bytes, endedReason);
    }

    private SessionState patched(EventData.StatePatched data) {
        Map<String, JsonNode> merged = new TreeMap<>(scopes);
        merged.put(data.scope(), JsonMergePatch.apply(scopes.get(data.scope()), data.patch()));
        return new SessionState(tenant, sessionId, userId, status, version, createdAt, updatedAt, metadata, summary,
                messages, messageCount, toolCalls, merged, bytes, endedReason);
    }

    private SessionState summarised(EventData.SummaryRecorded data, long version) {
        List<Message> after = messages.stream().filter(m -> m.version() > data.throughVersion()).toList();
        return new SessionState(tenant, sessionId, userId, status, version, createdAt, updatedAt, metadata,
                new Summary(version, data.throughVersion(), data.summary(), data.model(), data.promptVersion()), after,
                messageCount, toolCalls, scopes, bytes, endedReason);
    }

    // A fork starts active with the source's conversation, tool ledger and scopes; its identity, times and size are
    // its own, and an ended source's reason does not carry over (forking an ended session continues it).
    private SessionState forked(EventData.SessionForked data) {
        SessionState carried = carried(data);
        return new SessionState(tenant, sessionId, carried.userId(), status, version, createdAt, updatedAt,
                carried.metadata(), carried.summary(), carried.messages(), carried.messageCount(), carried.toolCalls(),
                new TreeMap<>(carried.scopes()), bytes, null);
    }

    /**
     * The state a fork carries (its conversation, tool ledger, scopes and user; identity fields are unset).
     *
     * @throws IllegalArgumentException when the event's state cannot be read as one
     */
    public static SessionState carried(EventData.SessionForked data) {
        if (data.state() == null) {
            throw new IllegalArgumentException("the fork carries no state");
        }
        SessionState carried;
        try {
            carried = ViewCodec.json().treeToValue(data.state(), SessionState.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException | RuntimeException e) {
            throw new IllegalArgumentException("the forked state cannot be read: " + e.getClass().getSimpleName(), e);
        }
        carried.toolCalls().forEach((id, call) -> {
            if (call == null || !id.equals(call.callId()) || call.status() == null) {
                throw new IllegalArgumentException("the forked state's tool call " + id + " has no status or another id");
            }
        });
        carried.messages().forEach(message -> {
            if (message == null || message.version() > data.sourceVersion()) {
                throw new IllegalArgumentException("the forked state holds a message after version " + data.sourceVersion());
            }
        });
        return carried;
    }

    private SessionState ended(EventData.SessionEnded data) {
        return new SessionState(tenant, sessionId, userId, SessionStatus.ENDED, version, createdAt, updatedAt, metadata,
                summary, messages, messageCount, toolCalls, scopes, bytes, data.reason());
    }
}
