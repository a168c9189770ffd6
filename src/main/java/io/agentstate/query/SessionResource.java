package io.agentstate.query;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.ingest.IngestService;
import io.agentstate.ledger.ArchiveRepository;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Uni;

/** Session reads: current state, timeline, past states, decisions and tool calls. */
@Path("/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class SessionResource {

    private final SessionReader reader;
    private final ArchiveRepository archive;
    private final IngestService ingest;
    private final AgentStateConfig config;

    SessionResource(SessionReader reader, ArchiveRepository archive, IngestService ingest, AgentStateConfig config) {
        this.reader = reader;
        this.archive = archive;
        this.ingest = ingest;
        this.config = config;
    }

    @GET
    @Path("/{sessionId}")
    @Operation(summary = "The current state of a session; ETag is its version")
    public Uni<RestResponse<SessionState>> current(@PathParam("sessionId") String sessionId) {
        return reader.current(key(sessionId))
                .map(state -> RestResponse.ResponseBuilder.ok(state).header("ETag", "\"" + state.version() + "\"")
                        .build());
    }

    @GET
    @Path("/{sessionId}/events")
    @Operation(summary = "The timeline, paged by version: accepted events, and rejected ones where they met the log")
    public Uni<ArchiveRepository.TimelinePage> timeline(@PathParam("sessionId") String sessionId,
            @QueryParam("fromVersion") @DefaultValue("1") long fromVersion, @QueryParam("limit") Integer limit,
            @QueryParam("type") String type, @QueryParam("source") String source) {
        int size = limit == null ? config.query().defaultPageSize() : limit;
        if (size < 1 || size > config.query().maxPageSize()) {
            throw ProblemException.badRequest("limit must be between 1 and " + config.query().maxPageSize());
        }
        if (fromVersion < 1) {
            throw ProblemException.badRequest("fromVersion must be 1 or more");
        }
        SessionKey session = key(sessionId);
        return archive.head(session)
                .chain(head -> head.isEmpty() ? Uni.createFrom().failure(SessionReader.notFound(session))
                        : archive.timeline(session, fromVersion, size, type, source));
    }

    @GET
    @Path("/{sessionId}/events/{eventId}")
    @Operation(summary = "The ledger's decision on one event id (the Location of a 202)")
    public Uni<Decision> decision(@PathParam("sessionId") String sessionId, @PathParam("eventId") String eventId) {
        return ingest.decision(sessionId, eventId)
                .map(decision -> decision.orElseThrow(() -> ProblemException.notFound("no decision yet for event "
                        + eventId + " in session " + sessionId)));
    }

    @GET
    @Path("/{sessionId}/state")
    @Operation(summary = "The state as it was at a version (?version=N) or a time (?at=RFC3339)")
    public Uni<SessionState> past(@PathParam("sessionId") String sessionId, @QueryParam("version") Long version,
            @QueryParam("at") String at) {
        if ((version == null) == (at == null)) {
            throw ProblemException.badRequest("give exactly one of version or at");
        }
        if (version != null) {
            return reader.atVersion(key(sessionId), version);
        }
        Instant instant;
        try {
            instant = OffsetDateTime.parse(at).toInstant();
        } catch (DateTimeParseException e) {
            throw ProblemException.badRequest("at must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z");
        }
        return reader.atTime(key(sessionId), instant);
    }

    @GET
    @Path("/{sessionId}/tools/{callId}")
    @Operation(summary = "One tool call, so a restarted agent can tell whether it already ran")
    public Uni<SessionState.ToolCall> toolCall(@PathParam("sessionId") String sessionId,
            @PathParam("callId") String callId) {
        return reader.toolCall(key(sessionId), callId);
    }

    private SessionKey key(String sessionId) {
        return new SessionKey(config.tenant(), sessionId);
    }
}
