package io.agentstate.memory;

import java.util.List;

import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Uni;

/** {@code GET /users/{userId}/memories}: a user's long-term facts across sessions. */
@Path("/users")
@Produces(MediaType.APPLICATION_JSON)
public class MemoryResource {

    private final MemoryRepository memories;
    private final AgentStateConfig config;

    MemoryResource(MemoryRepository memories, AgentStateConfig config) {
        this.memories = memories;
        this.config = config;
    }

    @GET
    @Path("/{userId}/memories")
    @Operation(summary = "A user's long-term facts, newest first; ?tag= filters, ?limit= caps (default 100)")
    public Uni<List<MemoryRepository.Memory>> list(@PathParam("userId") String userId, @QueryParam("tag") String tag,
            @QueryParam("limit") @DefaultValue("100") int limit) {
        if (limit < 1 || limit > config.query().maxPageSize()) {
            throw ProblemException.badRequest("limit must be between 1 and " + config.query().maxPageSize());
        }
        return memories.forUser(config.tenant(), userId, tag, limit);
    }
}
