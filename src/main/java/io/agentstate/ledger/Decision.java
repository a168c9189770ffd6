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
 * @param original for a repeat ({@code DUPLICATE}), the outcome the ids originally got; otherwise the outcome itself
 */
public record Decision(String tenant, String sessionId, List<String> eventIds, Outcome outcome, Long firstVersion,
        Long lastVersion, long currentVersion, String reason, Outcome original) {

    public Decision {
        if (original == null) {
            // a first decision is its own original; a repeat without one was accepted unless a reason says otherwise
            original = outcome != Outcome.DUPLICATE ? outcome : reason == null ? Outcome.ACCEPTED : Outcome.REJECTED;
        }
    }

    /** A first decision, or an accepted one's repeat. */
    public Decision(String tenant, String sessionId, List<String> eventIds, Outcome outcome, Long firstVersion,
            Long lastVersion, long currentVersion, String reason) {
        this(tenant, sessionId, eventIds, outcome, firstVersion, lastVersion, currentVersion, reason, null);
    }

    /** The repeat of ids that were decided before. */
    public static Decision repeat(String tenant, String sessionId, List<String> eventIds, Outcome original,
            Long firstVersion, Long lastVersion, long currentVersion, String originalReason) {
        String reason = original == Outcome.ACCEPTED ? null
                : "originally " + original.name().toLowerCase(java.util.Locale.ROOT) + ": " + originalReason;
        return new Decision(tenant, sessionId, eventIds, Outcome.DUPLICATE, firstVersion, lastVersion, currentVersion,
                reason, original);
    }

    /** The outcome of a decision. */
    public enum Outcome {
        ACCEPTED,
        DUPLICATE,
        CONFLICT,
        REJECTED
    }

    /** For a repeat, the outcome the ids originally got; otherwise this decision's own outcome. */
    public Outcome originalOutcome() {
        return original;
    }

    /** The same decision as seen by a repeat of the same event ids. */
    public Decision asDuplicate() {
        return new Decision(tenant, sessionId, eventIds, Outcome.DUPLICATE, firstVersion, lastVersion, currentVersion,
                reason, original);
    }
}
