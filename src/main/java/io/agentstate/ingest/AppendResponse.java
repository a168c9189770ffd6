package io.agentstate.ingest;

import java.util.List;
import java.util.Locale;

import io.agentstate.ledger.Decision;

/**
 * The answer to an append ({@code POST /sessions/{id}/events}) and to a poll of its decision
 * ({@code GET /sessions/{id}/events/{eventId}}): one shape and one casing for both.
 *
 * @param sessionId the session
 * @param outcome {@code accepted}, {@code duplicate} (a repeat of an accepted write), {@code conflict},
 *        {@code rejected}, or {@code pending} while the ledger has not decided
 * @param eventIds the events decided together
 * @param firstVersion the version of the first event, when accepted
 * @param version the version of the last event, when accepted
 * @param sessionVersion the session's version right after the decision; absent while pending
 * @param reason why the write was refused, or what to do while pending
 */
public record AppendResponse(String sessionId, String outcome, List<String> eventIds, Long firstVersion, Long version,
        Long sessionVersion, String reason) {

    /** The answer for a decision. */
    public static AppendResponse from(Decision decision) {
        return new AppendResponse(decision.sessionId(), decision.outcome().name().toLowerCase(Locale.ROOT),
                decision.eventIds(), decision.firstVersion(), decision.lastVersion(), decision.currentVersion(),
                decision.reason());
    }

    /** The answer while the ledger has not decided. */
    public static AppendResponse pending(String sessionId, List<String> eventIds) {
        return new AppendResponse(sessionId, "pending", eventIds, null, null, null,
                "the ledger has not decided yet; poll the Location");
    }
}
