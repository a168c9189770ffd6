package io.agentstate.chat;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.RestStreamElementType;

import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/** {@code POST /sessions/{id}/chat} and {@code .../chat/stream}: one conversation turn over the session's memory. */
@Path("/sessions")
public class ChatResource {

    /** A user's message for one turn. */
    public record ChatRequest(@NotBlank String message) {
    }

    private final ChatService chat;

    ChatResource(ChatService chat) {
        this.chat = chat;
    }

    @POST
    @Path("/{sessionId}/chat")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "One turn: the reply and the session version it was recorded at. Idempotency-Key makes a "
            + "retry return the same reply without calling the model again")
    public Uni<ChatService.ChatReply> chat(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey, @Valid ChatRequest request) {
        return chat.turn(sessionId, message(request), idempotencyKey);
    }

    @POST
    @Path("/{sessionId}/chat/stream")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    @Operation(summary = "One turn, streamed: token events, then done with the version (restart if the turn lost a race)")
    public Multi<ChatService.ChatEvent> stream(@PathParam("sessionId") String sessionId,
            @HeaderParam("Idempotency-Key") String idempotencyKey, @Valid ChatRequest request) {
        return chat.stream(sessionId, message(request), idempotencyKey);
    }

    private static String message(ChatRequest request) {
        if (request == null) {
            throw ProblemException.badRequest("body must be {\"message\": \"...\"}");
        }
        return request.message();
    }
}
