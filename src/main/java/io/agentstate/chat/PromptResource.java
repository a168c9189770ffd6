package io.agentstate.chat;

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

import io.agentstate.ledger.SessionKey;
import io.agentstate.platform.Problem;
import io.agentstate.platform.QueryParams;
import io.agentstate.security.CurrentCaller;
import io.smallrye.mutiny.Uni;

/** {@code GET /sessions/{id}/prompt?version=N}: what the model saw for the chat reply recorded at version N. */
@Path("/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class PromptResource {

    private final PromptRebuilder rebuilder;
    private final CurrentCaller caller;

    PromptResource(PromptRebuilder rebuilder, CurrentCaller caller) {
        this.rebuilder = rebuilder;
        this.caller = caller;
    }

    @GET
    @Path("/{sessionId}/prompt")
    @Operation(summary = "The exact prompt of a chat turn, rebuilt from the log", description = "version is the "
            + "version of the turn's reply. The window is folded again from the archive at the version the reply names, "
            + "with the summary it names and the configured system prompt, then the turn's user message.")
    @APIResponse(responseCode = "200", description = "The messages the model was sent, in order", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = PromptRebuilder.Prompt.class)))
    @APIResponse(responseCode = "400", description = "No or an invalid version", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session or version, or the version is not a chat reply", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "409", description = "The system prompt configured now is not the one of that turn", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<PromptRebuilder.Prompt> prompt(@PathParam("sessionId") String sessionId,
            @Parameter(description = "The version of the turn's reply") @QueryParam("version") String version) {
        if (version == null) {
            throw QueryParams.invalid("version", "give the version of the turn's reply, e.g. ?version=2");
        }
        long at = QueryParams.atLeast("version", version, null, 2);
        return rebuilder.rebuild(new SessionKey(caller.tenant(), sessionId), at);
    }
}
