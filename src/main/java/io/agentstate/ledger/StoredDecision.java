package io.agentstate.ledger;

/**
 * One row of the idempotency index: the decision taken for one event id.
 *
 * @param outcome accepted, conflict or rejected
 * @param version the event's own version when accepted
 * @param lastVersion the last version of its batch when accepted
 * @param currentVersion the session version right after the decision
 * @param reason why it was not accepted
 */
public record StoredDecision(String tenant, String eventId, String sessionId, Decision.Outcome outcome, Long version,
        Long lastVersion, long currentVersion, String reason) {
}
