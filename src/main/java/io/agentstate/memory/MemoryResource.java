package io.agentstate.memory;

import java.util.List;

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

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.QueryParams;
import io.agentstate.security.CurrentCaller;
import io.smallrye.mutiny.Uni;

/** {@code GET /users/{userId}/memories}: a user's long-term facts across sessions. */
@Path("/users")
@Produces(MediaType.APPLICATION_JSON)
public class MemoryResource {

    private final MemoryRepository memories;
    private final AgentStateConfig config;
    private final CurrentCaller caller;

    MemoryResource(MemoryRepository memories, AgentStateConfig config, CurrentCaller caller) {
        this.caller = caller;
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
}
