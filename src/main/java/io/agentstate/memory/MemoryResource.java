package io.agentstate.memory;

import java.net.URI;
import java.util.List;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriBuilder;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.resteasy.reactive.RestResponse;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.agentstate.ledger.Decision;
import io.agentstate.ledger.UserForgetting;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.ProblemMapper;
import io.agentstate.platform.QueryParams;
import io.agentstate.security.AdminLog;
import io.agentstate.security.Caller;
import io.agentstate.security.CurrentCaller;
import io.agentstate.security.Requires;
import io.agentstate.security.Role;
import io.smallrye.mutiny.Uni;

/**
 * Long-term memory: {@code /users/{userId}/memories} (a user's facts: newest first, or ranked by meaning with
 * {@code ?query=}; recorded, revised and forgotten one by one), {@code /memories} (a search across the tenant) and
 * forgetting a whole user.
 */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
public class MemoryResource {

    private static final String JSON = MediaType.APPLICATION_JSON;
    /** How many of the facts searched are not embedded yet (a search does not see them until they are). */
    public static final String UNINDEXED = "Memory-Unindexed";

    private final MemoryService memories;
    private final AgentStateConfig config;
    private final CurrentCaller caller;
    private final UserForgetting forgetting;
    private final AdminLog adminLog;

    /** What forgetting a user did. */
    public record ForgottenResponse(String userId, List<String> sessions, int facts) {
    }

    /**
     * A fact to record or a revision of one.
     *
     * @param fact the text
     * @param tags labels (a revision without tags keeps the current ones)
     * @param sessionId the session the event is appended to, its provenance; for a revision, absent means the session
     *        of the current revision
     */
    public record FactRequest(String fact, List<String> tags, String sessionId) {
    }

    /**
     * The answer to a write.
     *
     * @param outcome {@code recorded}, {@code revised}, {@code forgotten}, {@code repeat} (the same Idempotency-Key
     *        again), {@code duplicate} (nothing written: {@code duplicateOf} already says it) or {@code pending}
     * @param memoryId the fact's id
     * @param eventId the event written, absent for a duplicate
     * @param sessionId the session it was appended to
     * @param version its version in that session, absent while pending and for a duplicate
     * @param duplicateOf the user's existing fact that means the same
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record WriteResponse(String outcome, String memoryId, String eventId, String sessionId, Long version,
            MemoryRepository.Memory duplicateOf) {
    }

    /** A fact's current revision and every revision, oldest first. */
    public record FactHistory(String memoryId, MemoryRepository.Memory current, List<MemoryRepository.Memory> revisions) {
    }

    /** What a memory rebuild started. */
    public record RebuildResponse(String tenant, int revisions, String model) {
    }

    MemoryResource(MemoryService memories, AgentStateConfig config, CurrentCaller caller, UserForgetting forgetting,
            AdminLog adminLog) {
        this.memories = memories;
        this.config = config;
        this.caller = caller;
        this.forgetting = forgetting;
        this.adminLog = adminLog;
    }

    @GET
    @Path("users/{userId}/memories")
    @Operation(summary = "A user's long-term facts: newest first, or with ?query= ranked by similarity of meaning", description = "With a query each fact carries its cosine similarity (score), best first, and near-duplicates "
            + "are left out; the Memory-Unindexed header counts the user's facts not embedded yet.")
    @APIResponse(responseCode = "200", description = "The facts")
    @APIResponse(responseCode = "400", description = "Invalid user id, limit or query", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<List<MemoryRepository.Memory>>> list(@PathParam("userId") String userId,
            @Parameter(description = "Rank by similarity to this text") @QueryParam("query") String query,
            @Parameter(description = "Only facts with this tag") @QueryParam("tag") String tag,
            @Parameter(description = "Most facts; default 100 (10 with a query), at most 1000") @QueryParam("limit") String limit) {
        checkUser(userId);
        String tenant = caller.tenant();
        if (query == null) {
            int size = QueryParams.integer("limit", limit, 100, 1, config.query().maxPageSize());
            return memories.newest(tenant, userId, tag, size).map(RestResponse::ok);
        }
        int size = QueryParams.integer("limit", limit, 10, 1, config.query().maxPageSize());
        return memories.search(tenant, userId, checkQuery(query), tag, size)
                .chain(found -> memories.unindexed(tenant, userId).map(unindexed -> RestResponse.ResponseBuilder
                        .ok(found).header(UNINDEXED, unindexed).build()));
    }

    @GET
    @Path("memories")
    @Operation(summary = "Search the facts of every user of the caller's tenant by meaning", description = "Ranked by "
            + "cosine similarity, best first; with pgvector through an HNSW index (approximate), without it by an "
            + "exact scan.")
    @APIResponse(responseCode = "200", description = "The facts, best first")
    @APIResponse(responseCode = "400", description = "Missing query, or invalid limit", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<List<MemoryRepository.Memory>>> searchTenant(
            @Parameter(description = "The text to rank by (required)") @QueryParam("query") String query,
            @Parameter(description = "Only facts with this tag") @QueryParam("tag") String tag,
            @Parameter(description = "Most facts; default 10, at most 1000") @QueryParam("limit") String limit) {
        if (query == null) {
            throw ProblemException.badRequest("query is required: GET /memories?query=...");
        }
        int size = QueryParams.integer("limit", limit, 10, 1, config.query().maxPageSize());
        String tenant = caller.tenant();
        return memories.searchTenant(tenant, checkQuery(query), tag, size)
                .chain(found -> memories.unindexed(tenant, null).map(unindexed -> RestResponse.ResponseBuilder
                        .ok(found).header(UNINDEXED, unindexed).build()));
    }

    @GET
    @Path("users/{userId}/memories/{memoryId}")
    @Operation(summary = "One fact: its current revision and every revision, oldest first")
    @APIResponse(responseCode = "200", description = "The fact")
    @APIResponse(responseCode = "404", description = "No such fact (never recorded, or forgotten)", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<FactHistory> fact(@PathParam("userId") String userId, @PathParam("memoryId") String memoryId) {
        checkUser(userId);
        return memories.history(caller.tenant(), userId, memoryId).map(revisions -> {
            MemoryRepository.Memory current = revisions.stream().filter(m -> m.supersededBy() == null).findFirst()
                    .orElseThrow(() -> ProblemException.notFound("user " + userId + " has no fact " + memoryId
                            + " (never recorded, or forgotten)"));
            return new FactHistory(memoryId, current, revisions);
        });
    }

    @POST
    @Path("users/{userId}/memories")
    @Requires(Role.WRITER)
    @Consumes(JSON)
    @Operation(summary = "Record a fact about a user, appended to a session as agentstate.memory.recorded", description = "Unless the user already has a fact that means the same (cosine similarity at or above "
            + "agent-state.memory.duplicate-threshold, or the same text): then nothing is written and the "
            + "answer names it.")
    @APIResponse(responseCode = "201", description = "Recorded; Location is the fact")
    @APIResponse(responseCode = "200", description = "A duplicate of an existing fact (nothing written), or a repeat")
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget; poll the Location")
    @APIResponse(responseCode = "400", description = "Invalid user, fact, tags or session id", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "409", description = "The session refused it (ended)", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<WriteResponse>> record(@PathParam("userId") String userId,
            @Parameter(description = "The event id; a repeat answers like the original") @HeaderParam("Idempotency-Key") String key,
            FactRequest request) {
        checkUser(userId);
        FactRequest body = checkFact(request);
        if (body.sessionId() == null) {
            throw ProblemException.badRequest("sessionId is required: the session the fact is recorded in");
        }
        return memories.record(caller.tenant(), userId, body.fact(), body.tags(), body.sessionId(), origin(key))
                .map(written -> written.duplicateOf() != null
                        ? RestResponse.ok(new WriteResponse("duplicate", written.memoryId(), null,
                                written.sessionId(), null, written.duplicateOf()))
                        : respond(userId, written, "recorded", 201));
    }

    @PUT
    @Path("users/{userId}/memories/{memoryId}")
    @Requires(Role.WRITER)
    @Consumes(JSON)
    @Operation(summary = "Revise a fact: agentstate.memory.revised replaces its text (and tags, when given); its "
            + "history keeps every revision")
    @APIResponse(responseCode = "200", description = "Revised, or a repeat")
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget")
    @APIResponse(responseCode = "400", description = "Invalid fact, tags or session id", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such fact", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<WriteResponse>> revise(@PathParam("userId") String userId,
            @PathParam("memoryId") String memoryId,
            @Parameter(description = "The event id; a repeat answers like the original") @HeaderParam("Idempotency-Key") String key,
            FactRequest request) {
        checkUser(userId);
        FactRequest body = checkFact(request);
        return memories.revise(caller.tenant(), userId, memoryId, body.fact(), body.tags(), body.sessionId(),
                origin(key)).map(written -> respond(userId, written, "revised", 200));
    }

    @DELETE
    @Path("users/{userId}/memories/{memoryId}")
    @Requires(Role.WRITER)
    @Operation(summary = "Forget one fact: agentstate.memory.forgotten removes every revision, its near-duplicates "
            + "and their vectors")
    @APIResponse(responseCode = "200", description = "Forgotten, or a repeat")
    @APIResponse(responseCode = "202", description = "Not decided within the wait budget")
    @APIResponse(responseCode = "404", description = "No such fact", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<WriteResponse>> forgetFact(@PathParam("userId") String userId,
            @PathParam("memoryId") String memoryId,
            @Parameter(description = "The session to append to; default the fact's") @QueryParam("sessionId") String sessionId,
            @Parameter(description = "Why, kept in the timeline") @QueryParam("reason") String reason,
            @Parameter(description = "The event id; a repeat answers like the original") @HeaderParam("Idempotency-Key") String key) {
        checkUser(userId);
        return memories.forget(caller.tenant(), userId, memoryId, reason, sessionId, origin(key))
                .map(written -> respond(userId, written, "forgotten", 200));
    }

    @POST
    @Path("memories/rebuild")
    @Requires(Role.ADMIN)
    @Operation(summary = "Rebuild the memory index of the caller's tenant: drop every vector and embed every fact "
            + "again in the background (after a model change, or to prove the projection is derived)")
    @APIResponse(responseCode = "202", description = "Started; Memory-Unindexed on searches counts down to 0")
    public Uni<RestResponse<RebuildResponse>> rebuild() {
        Caller admin = caller.get();
        return memories.rebuild(admin.tenant())
                .call(count -> adminLog.record(admin, "memories.rebuilt", admin.tenant()))
                .map(count -> RestResponse.ResponseBuilder.<RebuildResponse> create(202)
                        .entity(new RebuildResponse(admin.tenant(), count, memories.model())).build());
    }

    @DELETE
    @Path("users/{userId}")
    @Requires(Role.ADMIN)
    @Operation(summary = "Forget a user: destroy the data keys of their facts and sessions (crypto-shredding), delete "
            + "their facts and vectors and drop their views", description = "Their sessions keep their versions, with "
                    + "content marked erased; the audit chain still verifies. Events produced straight to Kafka in "
                    + "plaintext stay there until the topic's retention removes them.")
    @APIResponse(responseCode = "200", description = "What was forgotten; forgetting again finds nothing")
    public Uni<ForgottenResponse> forget(@PathParam("userId") String userId) {
        checkUser(userId);
        Caller admin = caller.get();
        return forgetting.forget(admin.tenant(), userId)
                .call(forgotten -> adminLog.record(admin, "user.forgotten", userId))
                .map(forgotten -> new ForgottenResponse(userId, forgotten.sessions(), forgotten.facts()));
    }

    private RestResponse<WriteResponse> respond(String userId, MemoryService.Written written, String done,
            int created) {
        URI fact = UriBuilder.fromPath("/users/{userId}/memories/{memoryId}").build(userId, written.memoryId());
        if (written.decision().isEmpty()) {
            return RestResponse.ResponseBuilder.<WriteResponse> create(202)
                    .location(UriBuilder.fromPath("/sessions/{sessionId}/events/{eventId}")
                            .build(written.sessionId(), written.eventId()))
                    .entity(new WriteResponse("pending", written.memoryId(), written.eventId(), written.sessionId(),
                            null, null))
                    .build();
        }
        Decision decision = written.decision().get();
        return switch (decision.originalOutcome()) {
            case ACCEPTED, DUPLICATE -> {
                boolean repeat = decision.outcome() == Decision.Outcome.DUPLICATE;
                yield RestResponse.ResponseBuilder.<WriteResponse> create(repeat ? 200 : created)
                        .location(fact)
                        .entity(new WriteResponse(repeat ? "repeat" : done, written.memoryId(), written.eventId(),
                                written.sessionId(), decision.lastVersion(), null))
                        .build();
            }
            case CONFLICT, REJECTED -> ProblemMapper.respond(Problem.of(409, "rejected", "Refused by the session",
                    "session " + written.sessionId() + " refused the event: " + decision.reason()));
        };
    }

    private static MemoryService.Origin origin(String key) {
        if (key != null && (key.isBlank() || key.length() > 256)) {
            throw ProblemException.badRequest("Idempotency-Key is 1 to 256 characters");
        }
        return new MemoryService.Origin(null, key, null, null);
    }

    private static void checkUser(String userId) {
        if (userId == null || userId.isBlank() || userId.length() > 256) {
            throw ProblemException.badRequest("a user id is 1 to 256 characters");
        }
    }

    private static String checkQuery(String query) {
        if (query.isBlank() || query.length() > 2000) {
            throw ProblemException.badRequest("query is 1 to 2000 characters");
        }
        return query;
    }

    private static FactRequest checkFact(FactRequest request) {
        if (request == null || request.fact() == null || request.fact().isBlank()) {
            throw ProblemException.badRequest("fact is required and not blank");
        }
        return request;
    }
}
