package io.agentstate.memory;

import java.util.List;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import io.agentstate.ledger.UserForgetting;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.QueryParams;
import io.agentstate.security.AdminLog;
import io.agentstate.security.Caller;
import io.agentstate.security.CurrentCaller;
import io.agentstate.security.Requires;
import io.agentstate.security.Role;
import io.smallrye.mutiny.Uni;

/** {@code GET /users/{userId}/memories}: a user's long-term facts across sessions. */
@Path("/users")
@Produces(MediaType.APPLICATION_JSON)
public class MemoryResource {

    private final MemoryRepository memories;
    private final AgentStateConfig config;
    private final CurrentCaller caller;
    private final UserForgetting forgetting;
    private final AdminLog adminLog;

    /** What forgetting a user did. */
    public record ForgottenResponse(String userId, List<String> sessions, int facts) {
    }

    MemoryResource(MemoryRepository memories, AgentStateConfig config, CurrentCaller caller, UserForgetting forgetting,
            AdminLog adminLog) {
        this.caller = caller;
        this.forgetting = forgetting;
        this.adminLog = adminLog;
        this.memories = memories;
        this.config = config;
    }

    @GET
    @Path("/{userId}/memories")
    @Operation(summary = "A user's long-term facts, newest first; ?tag= filters, ?limit= caps (default 100)")
    @APIResponse(responseCode = "200", description = "The facts")
    @APIResponse(responseCode = "400", description = "Invalid limit", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<List<MemoryRepository.Memory>> list(@PathParam("userId") String userId,
            @Parameter(description = "Only facts with this tag") @QueryParam("tag") String tag,
            @Parameter(description = "Most facts; default 100, at most 1000") @QueryParam("limit") String limit) {
        int size = QueryParams.integer("limit", limit, 100, 1, config.query().maxPageSize());
        return memories.forUser(caller.tenant(), userId, tag, size);
    }

    @DELETE
    @Path("/{userId}")
    @Requires(Role.ADMIN)
    @Operation(summary = "Forget a user: destroy the data keys of their facts and sessions (crypto-shredding), delete "
            + "their facts and drop their views", description = "Their sessions keep their versions, with content "
                    + "marked erased; the audit chain still verifies. Events produced straight to Kafka in plaintext "
                    + "stay there until the topic's retention removes them.")
    @APIResponse(responseCode = "200", description = "What was forgotten; forgetting again finds nothing")
    public Uni<ForgottenResponse> forget(@PathParam("userId") String userId) {
        if (userId == null || userId.isBlank() || userId.length() > 256) {
            throw ProblemException.badRequest("a user id is 1 to 256 characters");
        }
        Caller admin = caller.get();
        return forgetting.forget(admin.tenant(), userId)
                .call(forgotten -> adminLog.record(admin, "user.forgotten", userId))
                .map(forgotten -> new ForgottenResponse(userId, forgotten.sessions(), forgotten.facts()));
    }
}
