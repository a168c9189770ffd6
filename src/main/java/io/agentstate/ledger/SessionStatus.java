package io.agentstate.ledger;

/** Where a session is in its life: no event yet, open, or closed by {@code session.ended}. */
public enum SessionStatus {
    NEW,
    ACTIVE,
    ENDED
}
