package io.agentstate.ledger;

/**
 * One row of the idempotency index: the decision taken for one event id.
 *
 * @param outcome accepted, conflict or rejected
 * @param version the event's own version when accepted
 * @param lastVersion the last version of its batch when accepted
 * @param currentVersion the session version right after the decision
 * @param reason why it was not accepted
 * @param fingerprint {@link io.agentstate.event.EventBatch#fingerprint()} of the record decided, so a key reused with
 *        another body is told apart from a retry; null for rows written before fingerprints were kept
 */
public record StoredDecision(String tenant, String eventId, String sessionId, Decision.Outcome outcome, Long version,
        Long lastVersion, long currentVersion, String reason, String fingerprint) {

    /** A decision with no fingerprint. */
    public StoredDecision(String tenant, String eventId, String sessionId, Decision.Outcome outcome, Long version,
            Long lastVersion, long currentVersion, String reason) {
        this(tenant, eventId, sessionId, outcome, version, lastVersion, currentVersion, reason, null);
    }
}
