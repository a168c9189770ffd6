package io.agentstate.ledger;

import java.util.List;

/**
 * The ledger's decision on one log record (an event or an atomic batch), as returned to writers.
 *
 * @param tenant owning tenant
 * @param sessionId the session
 * @param eventIds the events decided together
 * @param outcome what happened
 * @param firstVersion version of the first event when accepted, else null
 * @param lastVersion version of the last event when accepted, else null
 * @param currentVersion the session's version right after this decision
 * @param reason why it was rejected or conflicted, else null
 */
public record Decision(String tenant, String sessionId, List<String> eventIds, Outcome outcome, Long firstVersion,
        Long lastVersion, long currentVersion, String reason) {

    /** The outcome of a decision. */
    public enum Outcome {
        ACCEPTED,
        DUPLICATE,
        CONFLICT,
        REJECTED
    }

    /** For a repeat, the outcome the ids originally got; otherwise this decision's own outcome. */
    public Outcome originalOutcome() {
        if (outcome != Outcome.DUPLICATE) {
            return outcome;
        }
        if (firstVersion != null || reason == null) {
            return Outcome.ACCEPTED;
        }
        return reason.startsWith("originally conflict") ? Outcome.CONFLICT : Outcome.REJECTED;
    }

    /** The same decision as seen by a repeat of the same event ids. */
    public Decision asDuplicate() {
        return new Decision(tenant, sessionId, eventIds, Outcome.DUPLICATE, firstVersion, lastVersion, currentVersion,
                reason);
    }
}
