package io.agentstate.ledger;

/** A session is identified by its tenant and id; every key, row and view carries both. */
public record SessionKey(String tenant, String sessionId) {
}
