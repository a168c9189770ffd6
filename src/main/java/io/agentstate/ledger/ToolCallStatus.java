package io.agentstate.ledger;

/** A tool call's status in the tool ledger. */
public enum ToolCallStatus {
    REQUESTED,
    COMPLETED,
    FAILED
}
