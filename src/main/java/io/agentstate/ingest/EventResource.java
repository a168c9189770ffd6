package io.agentstate.ingest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriBuilder;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.ledger.Decision;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemMapper;
import io.smallrye.mutiny.Uni;

/** {@code POST /sessions/{id}/events}: agents append one event or an atomic batch over HTTP. */
@Path("/sessions")
public class EventResource {

    /** The answer to an append. */
    public record AppendResponse(String sessionId, String outcome, java.util.List<String> eventIds, Long firstVersion,
            Long version, long sessionVersion, String reason) {

        static AppendResponse from(Decision decision) {
            return new AppendResponse(decision.sessionId(), decision.outcome().name().toLowerCase(),
                    decision.eventIds(), decision.firstVersion(), decision.lastVersion(), decision.currentVersion(),
                    decision.reason());
        }
    }

    private final IngestService ingest;

    EventResource(IngestService ingest) {
        this.ingest = ingest;
    }

    @POST
    @Path("/{sessionId}/events")
    @Consumes({ MediaType.APPLICATION_JSON, "application/cloudevents+json", "application/cloudevents-batch+json" })
    @Produces({ MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE })
    @Operation(summary = "Append one event, or a JSON array as an atomic batch", description = "201 applied, 200 repeat "
            + "of a decided event id, 409 version conflict, 422 rejected by a session rule, 202 still pending")
    public Uni<RestResponse<AppendResponse>> append(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey, @HeaderParam("If-Match") String ifMatch,
            @RequestBody(description = "A CloudEvent (structured JSON) or an array of them") byte[] body) {
        return ingest.append(sessionId, body, idempotencyKey, ifMatch)
                .map(result -> result.decision().map(EventResource::respond)
                        .orElseGet(() -> RestResponse.ResponseBuilder.<AppendResponse> create(202)
                                .location(location(sessionId, result.batch().first().id()))
                                .entity(new AppendResponse(sessionId, "pending",
                                        result.batch().events().stream().map(e -> e.id()).toList(), null, null, -1,
                                        "the ledger has not decided yet; poll the Location"))
                                .build()));
    }

    @DELETE
    @Path("/{sessionId}")
    @Produces({ MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE })
    @Operation(summary = "Erase a session from PostgreSQL and Redis, through the log", description = "204 erased, "
            + "404 no such session, 202 still pending; the session id may then be used again from version 1")
    public Uni<RestResponse<AppendResponse>> erase(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey) {
        return ingest.erase(sessionId, idempotencyKey)
                .map(result -> result.decision().map(EventResource::erased)
                        .orElseGet(() -> RestResponse.ResponseBuilder.<AppendResponse> create(202)
                                .location(location(sessionId, result.batch().first().id()))
                                .build()));
    }

    private static RestResponse<AppendResponse> erased(Decision decision) {
        return switch (decision.outcome()) {
            case ACCEPTED -> RestResponse.ResponseBuilder.<AppendResponse> create(204).build();
            case DUPLICATE -> decision.originalOutcome() == Decision.Outcome.ACCEPTED
                    ? RestResponse.ResponseBuilder.<AppendResponse> create(204).build()
                    : ProblemMapper.respond(Problem.of(404, "not-found", "Not found",
                            "no session " + decision.sessionId() + " (" + decision.reason() + ")"));
            case CONFLICT, REJECTED -> ProblemMapper.respond(Problem.of(404, "not-found", "Not found",
                    "no session " + decision.sessionId() + " (" + decision.reason() + ")"));
        };
    }

    // Ids may hold characters a path cannot: each is encoded as one path segment.
    static URI location(String sessionId, String eventId) {
        return UriBuilder.fromPath("/sessions/{sessionId}/events/{eventId}").build(sessionId, eventId);
    }

    static RestResponse<AppendResponse> respond(Decision decision) {
        return switch (decision.outcome()) {
            case ACCEPTED -> RestResponse.ResponseBuilder.<AppendResponse> create(201)
                    .entity(AppendResponse.from(decision))
                    .header("ETag", "\"" + decision.lastVersion() + "\"")
                    .location(location(decision.sessionId(), decision.eventIds().get(0)))
                    .build();
            case DUPLICATE -> switch (decision.originalOutcome()) {
                // a repeat of an applied write is a success; a repeat of a refused one is refused again, marked
                case ACCEPTED, DUPLICATE -> RestResponse.ResponseBuilder.<AppendResponse> create(200)
                        .entity(AppendResponse.from(decision))
                        .build();
                case CONFLICT -> ProblemMapper.respond(Problem.of(409, "version-conflict", "Version conflict",
                        decision.reason())
                        .with("currentVersion", decision.currentVersion())
                        .with("eventIds", decision.eventIds())
                        .with("repeat", true));
                case REJECTED -> ProblemMapper.respond(Problem.of(422, "rejected", "Rejected by the session's rules",
                        decision.reason())
                        .with("currentVersion", decision.currentVersion())
                        .with("eventIds", decision.eventIds())
                        .with("repeat", true));
            };
            case CONFLICT -> ProblemMapper.respond(Problem.of(409, "version-conflict", "Version conflict",
                    decision.reason())
                    .with("currentVersion", decision.currentVersion())
                    .with("eventIds", decision.eventIds()));
            case REJECTED -> ProblemMapper.respond(Problem.of(422, "rejected", "Rejected by the session's rules",
                    decision.reason())
                    .with("currentVersion", decision.currentVersion())
                    .with("eventIds", decision.eventIds()));
        };
    }
}
