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
    /** Replaces the text (and tags) of one of a user's facts; the earlier revisions stay in its history. */
    MEMORY_REVISED("agentstate.memory.revised"),
    /** Removes one of a user's facts, every revision and its vector. */
    MEMORY_FORGOTTEN("agentstate.memory.forgotten"),
    SUMMARY_RECORDED("agentstate.summary.recorded"),
    SESSION_ENDED("agentstate.session.ended"),
    /** Erases the session everywhere it is stored; the id may then start afresh. */
    SESSION_ERASED("agentstate.session.erased"),
    /** Starts a session as a copy of another session's state at one version ({@code POST /sessions/{id}/fork}). */
    SESSION_FORKED("agentstate.session.forked"),
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

    /**
     * Whether only the service writes this type (its own endpoints, never an agent's event): an erasure answers to
     * {@code DELETE /sessions/{id}}, a fork carries a state the service read from the source session.
     */
    public boolean serviceOnly() {
        return this == SESSION_ERASED || this == SESSION_FORKED;
    }

    /** The endpoint that writes a {@link #serviceOnly()} type. */
    public String serviceEndpoint() {
        return switch (this) {
            case SESSION_ERASED -> "DELETE /sessions/{id}";
            case SESSION_FORKED -> "POST /sessions/{id}/fork";
            case SESSION_STARTED, MESSAGE_APPENDED, TOOL_REQUESTED, TOOL_COMPLETED, STATE_PATCHED, MEMORY_RECORDED,
                    MEMORY_REVISED, MEMORY_FORGOTTEN, SUMMARY_RECORDED, SESSION_ENDED, CUSTOM ->
                throw new IllegalStateException(this + " is written by agents");
        };
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
