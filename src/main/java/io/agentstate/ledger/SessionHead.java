package io.agentstate.ledger;

import java.time.Instant;
import java.util.Map;

import io.agentstate.event.Event;
import io.agentstate.event.EventData;
import io.agentstate.event.EventType;

/**
 * The few facts a decision needs about a session, kept small so deciding costs the event, not the session. Tool-call
 * statuses come alongside, loaded only for the calls an event names.
 *
 * @param tenant owning tenant
 * @param sessionId the session
 * @param version last applied version
 * @param status life-cycle status
 * @param userId the user named at start, or null
 * @param createdAt time of the first event
 * @param updatedAt time of the last event
 * @param messageCount messages ever appended
 * @param summaryThrough the version the latest summary covers, 0 if none
 * @param bytes archived size of every applied event
 * @param generation how many times the session id was erased: each erasure starts a new life at version 0, and the
 *        pair (generation, version) orders every state the id ever had (views and snapshots carry it)
 */
public record SessionHead(String tenant, String sessionId, long version, SessionStatus status, String userId,
        Instant createdAt, Instant updatedAt, long messageCount, long summaryThrough, long bytes, long generation) {

    public static SessionHead empty(String tenant, String sessionId) {
        return empty(tenant, sessionId, 0);
    }

    /** A session id with no event in its current life, erased {@code generation} times before. */
    public static SessionHead empty(String tenant, String sessionId, long generation) {
        return new SessionHead(tenant, sessionId, 0, SessionStatus.NEW, null, null, null, 0, 0, 0, generation);
    }

    /**
     * Why this event cannot apply at this point of the log, or null when it can.
     *
     * @param event the event
     * @param calls statuses of the tool calls the event names (absent: unknown in this session)
     */
    public String rejection(Event event, Map<String, ToolCallStatus> calls) {
        if (event.kind() == EventType.SESSION_ERASED) {
            return version == 0 ? "no such session" : null;
        }
        if (status == SessionStatus.ENDED) {
            return "session ended";
        }
        return switch (event.kind()) {
            case SESSION_STARTED -> version > 0 ? "session already started" : null;
            case SESSION_FORKED -> version > 0 ? "a fork starts a new session, and this one is at version " + version
                    : unreadableFork((EventData.SessionForked) event.payload());
            case TOOL_REQUESTED -> {
                String callId = ((EventData.ToolRequested) event.payload()).callId();
                yield calls.containsKey(callId) ? "tool call " + callId + " already requested" : null;
            }
            case TOOL_COMPLETED -> {
                String callId = ((EventData.ToolCompleted) event.payload()).callId();
                ToolCallStatus current = calls.get(callId);
                yield current == null ? "tool call " + callId + " was never requested"
                        : current != ToolCallStatus.REQUESTED ? "tool call " + callId + " already completed" : null;
            }
            case SUMMARY_RECORDED -> {
                long through = ((EventData.SummaryRecorded) event.payload()).throughVersion();
                yield through > version ? "summary covers version " + through + " but the session is at " + version
                        : through <= summaryThrough ? "versions up to " + summaryThrough + " are already summarised"
                                : null;
            }
            case MESSAGE_APPENDED, STATE_PATCHED, MEMORY_RECORDED, MEMORY_REVISED, MEMORY_FORGOTTEN, SESSION_ENDED,
                    SESSION_ERASED, CUSTOM ->
                null;
        };
    }

    private static String unreadableFork(EventData.SessionForked fork) {
        try {
            SessionState.carried(fork);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The head after an accepted event; the same transitions as {@link SessionState#apply}. */
    public SessionHead advance(Event event, long newVersion, int size) {
        SessionStatus nextStatus = status == SessionStatus.NEW ? SessionStatus.ACTIVE : status;
        String nextUser = userId;
        long messages = messageCount;
        long through = summaryThrough;
        switch (event.kind()) {
            case SESSION_STARTED -> nextUser = ((EventData.SessionStarted) event.payload()).userId();
            case MESSAGE_APPENDED -> messages++;
            case SUMMARY_RECORDED -> through = ((EventData.SummaryRecorded) event.payload()).throughVersion();
            case SESSION_ENDED -> nextStatus = SessionStatus.ENDED;
            case SESSION_ERASED -> {
                return empty(tenant, sessionId, generation + 1);
            }
            case SESSION_FORKED -> {
                SessionState carried = SessionState.carried((EventData.SessionForked) event.payload());
                nextUser = carried.userId();
                messages = carried.messageCount();
                through = carried.summary() != null ? carried.summary().throughVersion() : 0;
            }
            case TOOL_REQUESTED, TOOL_COMPLETED, STATE_PATCHED, MEMORY_RECORDED, MEMORY_REVISED, MEMORY_FORGOTTEN,
                    CUSTOM -> {
                // no head field changes
            }
        }
        return new SessionHead(tenant, sessionId, newVersion, nextStatus, nextUser,
                createdAt != null ? createdAt : event.time(), event.time(), messages, through, bytes + size, generation);
    }
}
