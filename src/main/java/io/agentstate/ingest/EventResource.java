package io.agentstate.ingest;

import java.net.URI;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriBuilder;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.ParameterIn;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.event.Text;
import io.agentstate.ledger.Decision;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.ProblemMapper;
import io.agentstate.security.AdminLog;
import io.agentstate.security.Caller;
import io.agentstate.security.CurrentCaller;
import io.agentstate.security.Requires;
import io.agentstate.security.Role;
import io.smallrye.mutiny.Uni;

/** {@code POST /sessions/{id}/events}: agents append one event or an atomic batch over HTTP. */
@Path("/sessions")
public class EventResource {

    private static final String JSON = MediaType.APPLICATION_JSON;

    private final IngestService ingest;
    private final AgentStateConfig config;
    private final CurrentCaller caller;
    private final AdminLog adminLog;

    EventResource(IngestService ingest, AgentStateConfig config, CurrentCaller caller, AdminLog adminLog) {
        this.caller = caller;
        this.adminLog = adminLog;
        this.ingest = ingest;
        this.config = config;
    }

    @POST
    @Path("/{sessionId}/events")
    @Requires(Role.WRITER)
    @Consumes({ MediaType.APPLICATION_JSON, "application/cloudevents+json", "application/cloudevents-batch+json" })
    @Produces({ MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE })
    @Operation(summary = "Append one event, or a JSON array as an atomic batch", description = "The body is a "
            + "structured CloudEvent whose specversion (default 1.0), id (default the Idempotency-Key), subject (the "
            + "path) and tenant (the caller's) may be left out; see GET /schemas/cloudevent-rest.")
    @APIResponse(responseCode = "201", description = "Applied; ETag is the last version, Location the decision", content = @Content(mediaType = JSON, schema = @Schema(implementation = AppendResponse.class)))
    @APIResponse(responseCode = "200", description = "A repeat of an applied write: the original decision, outcome "
            + "duplicate", content = @Content(mediaType = JSON, schema = @Schema(implementation = AppendResponse.class)))
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget; poll the Location", content = @Content(mediaType = JSON, schema = @Schema(implementation = AppendResponse.class)))
    @APIResponse(responseCode = "400", description = "Invalid event, batch or header", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "409", description = "Version conflict (currentVersion), or a repeat of one (repeat)", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "413", description = "An event over the event limit, or a body over the HTTP limit", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "415", description = "Not a JSON content type", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "422", description = "Rejected by a session rule, or a repeat of one (repeat)", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<AppendResponse>> append(@PathParam("sessionId") String sessionId,
            @Parameter(description = "The event id (for a batch, the prefix of ids key:0, key:1, ...); a repeat "
                    + "returns the original decision") @HeaderParam("Idempotency-Key") String idempotencyKey,
            @Parameter(description = "The session version the writer last saw (3, \"3\" or W/\"3\"); 0 for a new "
                    + "session") @HeaderParam("If-Match") String ifMatch,
            @RequestBody(description = "A CloudEvent: structured (application/cloudevents+json, or application/json "
                    + "with the attributes in the body), a JSON batch (an array, application/cloudevents-batch+json), or "
                    + "in binary mode the event's JSON data with its attributes in ce-* headers") byte[] body,
            @Context HttpHeaders headers) {
        checkSize(body);
        String contentType = headers.getHeaderString(HttpHeaders.CONTENT_TYPE);
        byte[] event = CloudEventsHttp.binary(headers.getRequestHeaders(), contentType)
                ? CloudEventsHttp.structured(headers.getRequestHeaders(), contentType, body, ingest.mapper())
                : body;
        return ingest.append(caller.tenant(), sessionId, event, idempotencyKey, ifMatch)
                .map(result -> result.decision().map(EventResource::respond)
                        .orElseGet(() -> RestResponse.ResponseBuilder.<AppendResponse> create(202)
                                .location(location(sessionId, result.batch().first().id()))
                                .entity(AppendResponse.pending(sessionId,
                                        result.batch().events().stream().map(e -> e.id()).toList()))
                                .build()));
    }

    @GET
    @Path("/{sessionId}/events/{eventId}")
    @Operation(summary = "The ledger's decision on one event id (the Location of a 202 and of a 201)", description = "The "
            + "same body as the POST answer; 200 once decided, whatever the outcome (accepted, conflict, rejected), "
            + "which the body carries.")
    @APIResponse(responseCode = "200", description = "The decision", content = @Content(mediaType = JSON, schema = @Schema(implementation = AppendResponse.class)))
    @APIResponse(responseCode = "404", description = "No decision on that id in this session (yet)", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<AppendResponse> decision(@PathParam("sessionId") String sessionId, @PathParam("eventId") String eventId) {
        return ingest.decision(caller.tenant(), sessionId, eventId)
                .map(decision -> decision.map(AppendResponse::from)
                        .orElseThrow(() -> ProblemException.notFound("no decision yet for event "
                                + Text.bounded(eventId, Text.MAX_ID) + " in session "
                                + Text.bounded(sessionId, Text.MAX_ID))));
    }

    @DELETE
    @Path("/{sessionId}")
    @Requires(Role.WRITER)
    @Produces({ MediaType.APPLICATION_JSON, Problem.MEDIA_TYPE })
    @Operation(summary = "Erase a session from PostgreSQL and Redis, through the log", description = "The session id "
            + "may then be used again from version 1.")
    @APIResponse(responseCode = "204", description = "Erased")
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget; poll the Location")
    @APIResponse(responseCode = "400", description = "Invalid session id or Idempotency-Key", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<AppendResponse>> erase(@PathParam("sessionId") String sessionId,
            @Parameter(in = ParameterIn.HEADER, name = "Idempotency-Key", description = "The id of the erasure "
                    + "event; a repeat with the same key answers like the original") @HeaderParam("Idempotency-Key") String idempotencyKey) {
        Caller who = caller.get();
        return ingest.erase(who.tenant(), sessionId, idempotencyKey)
                // logged once, when it happened: not for a repeat, and not yet while the ledger has not decided it
                .call(result -> result.decision().filter(d -> d.outcome() == Decision.Outcome.ACCEPTED).isPresent()
                        ? adminLog.record(who, "session.erased", sessionId)
                        : Uni.createFrom().voidItem())
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

    // The same bounds as the codec's, checked on the raw body so an oversized event is a 413 before it is parsed; the
    // codec checks again (batch elements, Kafka records) and answers those with its own 400.
    private void checkSize(byte[] body) {
        int maxEvent = config.ingest().maxEventBytes();
        boolean batch = startsWithArray(body);
        long max = batch ? (long) maxEvent * config.ingest().maxBatchEvents() : maxEvent;
        if (body.length > max) {
            throw new ProblemException(Problem.of(413, "too-large", "Too large", (batch ? "a batch of " : "an event of ")
                    + body.length + " bytes exceeds the limit of " + max + " bytes"
                    + (batch ? "" : " (agent-state.ingest.max-event-bytes)")));
        }
    }

    private static boolean startsWithArray(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return b == '[';
            }
        }
        return false;
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
