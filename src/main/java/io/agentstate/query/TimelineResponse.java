package io.agentstate.query;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.ledger.ArchiveRepository;

/**
 * A page of {@code GET /sessions/{id}/events}: accepted and refused entries together, in timeline order. Follow
 * {@code next} ({@code ?cursor=}) until it is absent to see every entry exactly once.
 *
 * @param sessionId the session
 * @param entries the entries of this page, at most {@code limit}
 * @param next the cursor of the following page, absent on the last page
 */
public record TimelineResponse(String sessionId, List<Entry> entries, String next) {

    /**
     * One entry.
     *
     * @param eventId the event id
     * @param outcome {@code accepted}, {@code conflict} or {@code rejected}
     * @param version the version the event was given, for accepted entries only
     * @param sessionVersion the session's version right after the decision: the event's own version when accepted, the
     *        version the session was at (and stayed at) when refused
     * @param reason why the event was refused, for refused entries only
     * @param event the CloudEvent as archived
     */
    public record Entry(String eventId, String outcome, Long version, long sessionVersion, String reason,
            JsonNode event) {

        static Entry from(ArchiveRepository.TimelineEntry entry) {
            return new Entry(entry.eventId(), entry.outcome(), entry.version(), entry.sessionVersion(), entry.reason(),
                    entry.event());
        }
    }
}
