package io.agentstate.ingest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriBuilder;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.ledger.Decision;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.ProblemMapper;
import io.agentstate.security.CurrentCaller;
import io.agentstate.security.Requires;
import io.agentstate.security.Role;
import io.smallrye.mutiny.Uni;

/** {@code POST /sessions/{id}/fork}: a new session that starts as this one's state at a version. */
@Path("/sessions")
public class ForkResource {

    private static final String JSON = MediaType.APPLICATION_JSON;

    private final ForkService forks;
    private final CurrentCaller caller;

    ForkResource(ForkService forks, CurrentCaller caller) {
        this.forks = forks;
        this.caller = caller;
    }

    /**
     * The body of a fork request.
     *
     * @param version the source version to copy; the current version when absent
     * @param newSessionId the new session's id; {@code <id>-fork-<uuid>} when absent
     */
    public record ForkSessionRequest(Long version, String newSessionId) {
    }

    /**
     * The answer to a fork.
     *
     * @param sessionId the new session
     * @param outcome {@code accepted}, {@code duplicate} (a repeat of an accepted fork) or {@code pending}
     * @param eventId the id of its {@code agentstate.session.forked} event
     * @param version the new session's first version (the source version plus one); absent while pending
     * @param forkedFrom the session and version it copies
     */
    public record ForkResponse(String sessionId, String outcome, String eventId, Long version, Source forkedFrom) {
    }

    /** Where a fork comes from. */
    public record Source(String sessionId, long version) {
    }

    @POST
    @Path("/{sessionId}/fork")
    @Requires(Role.WRITER)
    @Consumes(JSON)
    @Produces({ JSON, Problem.MEDIA_TYPE })
    @Operation(summary = "Fork a session at a version", description = "Creates a session whose state starts as this "
            + "session's state at the version (conversation, summary, tool ledger, scopes, user), recorded as its first "
            + "event, agentstate.session.forked, with the source and version. The fork's versions continue from the "
            + "source version (its first is version + 1); the source is only read.")
    @APIResponse(responseCode = "201", description = "Forked; Location is the new session", content = @Content(mediaType = JSON, schema = @Schema(implementation = ForkResponse.class)))
    @APIResponse(responseCode = "200", description = "A repeat of a fork (same Idempotency-Key)", content = @Content(mediaType = JSON, schema = @Schema(implementation = ForkResponse.class)))
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget; poll the Location", content = @Content(mediaType = JSON, schema = @Schema(implementation = ForkResponse.class)))
    @APIResponse(responseCode = "400", description = "Invalid session id, version or body", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session, or no such version of it", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "409", description = "The new session id is taken", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "413", description = "The state at that version is over the event limit", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "422", description = "An Idempotency-Key used for another request", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<ForkResponse>> fork(@PathParam("sessionId") String sessionId,
            @Parameter(description = "The id of the fork event; a repeat with the same key and newSessionId answers "
                    + "like the original") @HeaderParam("Idempotency-Key") String idempotencyKey,
            ForkSessionRequest request) {
        ForkSessionRequest body = request != null ? request : new ForkSessionRequest(null, null);
        if (body.version() != null && body.version() < 1) {
            throw ProblemException.badRequest("version must be 1 or more");
        }
        return forks.fork(caller.tenant(), sessionId, body.version(), body.newSessionId(), idempotencyKey)
                .map(ForkResource::respond);
    }

    private static RestResponse<ForkResponse> respond(ForkService.Forked forked) {
        Source source = new Source(forked.sourceSessionId(), forked.sourceVersion());
        if (forked.decision().isEmpty()) {
            return RestResponse.ResponseBuilder.<ForkResponse> create(202)
                    .location(EventResource.location(forked.sessionId(), forked.eventId()))
                    .entity(new ForkResponse(forked.sessionId(), "pending", forked.eventId(), null, source))
                    .build();
        }
        Decision decision = forked.decision().get();
        return switch (decision.originalOutcome()) {
            case ACCEPTED, DUPLICATE -> RestResponse.ResponseBuilder
                    .<ForkResponse> create(decision.outcome() == Decision.Outcome.DUPLICATE ? 200 : 201)
                    .location(session(forked.sessionId()))
                    .header("ETag", "\"" + decision.lastVersion() + "\"")
                    .entity(new ForkResponse(forked.sessionId(),
                            decision.outcome() == Decision.Outcome.DUPLICATE ? "duplicate" : "accepted",
                            forked.eventId(), decision.lastVersion(), source))
                    .build();
            case CONFLICT -> ProblemMapper.respond(Problem.of(409, "session-exists", "Session exists",
                    "session " + forked.sessionId() + " already exists (at version " + decision.currentVersion()
                            + "); a fork needs a new session id")
                    .with("currentVersion", decision.currentVersion()));
            case REJECTED -> ProblemMapper.respond(Problem.of(422, "rejected", "Rejected by the session's rules",
                    decision.reason()));
        };
    }

    private static URI session(String sessionId) {
        return UriBuilder.fromPath("/sessions/{sessionId}").build(sessionId);
    }
}
