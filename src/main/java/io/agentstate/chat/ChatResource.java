package io.agentstate.chat;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.jboss.resteasy.reactive.RestStreamElementType;

import io.agentstate.security.CurrentCaller;
import io.agentstate.security.Requires;
import io.agentstate.security.Role;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/** {@code POST /sessions/{id}/chat} and {@code .../chat/stream}: one conversation turn over the session's memory. */
@Path("/sessions")
@Requires(Role.WRITER)
public class ChatResource {

    /** A user's message for one turn: {@code {"message": "..."}} (the OpenAPI schema of the body). */
    public record ChatRequest(String message) {
    }

    private final TurnRequests requests;
    private final ChatTurnService turns;
    private final ChatStreamService streams;
    private final CurrentCaller caller;

    ChatResource(TurnRequests requests, ChatTurnService turns, ChatStreamService streams, CurrentCaller caller) {
        this.requests = requests;
        this.caller = caller;
        this.turns = turns;
        this.streams = streams;
    }

    // The body is read as bytes and checked by TurnRequests, so every invalid request gets a chat problem type, in
    // the same order, whether or not a model is configured.
    @POST
    @Path("/{sessionId}/chat")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "One turn: the reply and the session version it was recorded at. Idempotency-Key makes a "
            + "retry return the same reply without calling the model again")
    public Uni<ChatReply> chat(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey,
            @RequestBody(content = @Content(schema = @Schema(implementation = ChatRequest.class))) byte[] body) {
        return turns.turn(requests.validate(caller.tenant(), sessionId, idempotencyKey, body));
    }

    @POST
    @Path("/{sessionId}/chat/stream")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    @Operation(summary = "One turn, streamed: token events, then done with the version (restart if the turn lost a race)")
    public Multi<ChatEvent> stream(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey,
            @RequestBody(content = @Content(schema = @Schema(implementation = ChatRequest.class))) byte[] body) {
        return streams.stream(requests.validate(caller.tenant(), sessionId, idempotencyKey, body));
    }
}
