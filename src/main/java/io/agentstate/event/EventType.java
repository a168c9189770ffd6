package io.agentstate.event;

import java.util.Optional;

/** The event types that change session state, plus {@link #CUSTOM} for any other reverse-DNS type. */
public enum EventType {
    SESSION_STARTED("agentstate.session.started"),
    MESSAGE_APPENDED("agentstate.message.appended"),
    TOOL_REQUESTED("agentstate.tool.requested"),
    TOOL_COMPLETED("agentstate.tool.completed"),
    STATE_PATCHED("agentstate.state.patched"),
    MEMORY_RECORDED("agentstate.memory.recorded"),
    SUMMARY_RECORDED("agentstate.summary.recorded"),
    SESSION_ENDED("agentstate.session.ended"),
    /** Erases the session everywhere it is stored; the id may then start afresh. */
    SESSION_ERASED("agentstate.session.erased"),
    /** Recorded in the timeline with a version; changes no state. */
    CUSTOM(null);

    /** The namespace reserved for the types above; other types in it are rejected. */
    public static final String RESERVED_PREFIX = "agentstate.";

    private final String type;

    EventType(String type) {
        this.type = type;
    }

    /** The CloudEvents {@code type} attribute, or empty for {@link #CUSTOM}. */
    public Optional<String> type() {
        return Optional.ofNullable(type);
    }

    /** The type for a CloudEvents {@code type}; empty for an unknown type in the reserved namespace. */
    public static Optional<EventType> of(String type) {
        for (EventType candidate : values()) {
            if (candidate.type != null && candidate.type.equals(type)) {
                return Optional.of(candidate);
            }
        }
        return type.startsWith(RESERVED_PREFIX) ? Optional.empty() : Optional.of(CUSTOM);
    }
}
