package io.agentstate.query;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NameBinding;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.ledger.SessionKey;
import io.agentstate.platform.ProblemException;
import io.agentstate.security.CurrentCaller;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * {@code GET /sessions/{id}/stream}: server-sent events of a session's versions, fed by the instance's one
 * {@link VersionFeed}. Each event's id is its version, so a client that reconnects with {@code Last-Event-ID} resumes
 * without a gap or a repeat.
 */
@Path("/sessions")
public class SessionStreamResource {

    /** A version of a session, as streamed in an event's data. */
    public record VersionNotice(String sessionId, long version) {
    }

    /** A refused write, as streamed in a {@code refused} event's data: the version the session was at. */
    public record RefusalNotice(String sessionId, long sessionVersion) {
    }

    /** Marks an endpoint whose session must exist before its response starts. */
    @NameBinding
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ ElementType.TYPE, ElementType.METHOD })
    @interface KnownSession {
    }

    private final SessionReader reader;
    private final VersionFeed feed;
    private final ObjectMapper json;
    private final CurrentCaller caller;

    SessionStreamResource(SessionReader reader, VersionFeed feed, ObjectMapper json, CurrentCaller caller) {
        this.caller = caller;
        this.reader = reader;
        this.feed = feed;
        this.json = json;
    }

    // The framework commits 200 and the SSE headers before it subscribes to the stream, so a failure from the stream
    // itself could no longer become a 404: the session is checked here, before the endpoint runs.
    @ServerRequestFilter
    @KnownSession
    Uni<Void> requireSession(UriInfo uri) {
        return reader.current(new SessionKey(caller.tenant(), uri.getPathParameters().getFirst("sessionId")))
                .replaceWithVoid();
    }

    @GET
    @Path("/{sessionId}/stream")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @KnownSession
    @Operation(summary = "Server-sent events: the current version first (or the versions after Last-Event-ID), then one "
            + "per new version; each event's id is its version; a 'refused' event (no id) when writes were refused, "
            + "with the version they met; a ': keepalive' comment between; 404 for an unknown session")
    public Multi<OutboundSseEvent> stream(@PathParam("sessionId") String sessionId,
            @HeaderParam("Last-Event-ID") String lastEventIdHeader, @QueryParam("lastEventId") String lastEventIdParam,
            @Context Sse sse) {
        Long lastEventId = lastEventId(lastEventIdHeader != null ? lastEventIdHeader : lastEventIdParam);
        return feed.follow(new SessionKey(caller.tenant(), sessionId), lastEventId)
                .map(signal -> event(sse, sessionId, signal));
    }

    private OutboundSseEvent event(Sse sse, String sessionId, VersionFeed.Signal signal) {
        if (signal instanceof VersionFeed.Version version) {
            return sse.newEventBuilder()
                    .id(Long.toString(version.version()))
                    .data(String.class, write(new VersionNotice(sessionId, version.version())))
                    .build();
        }
        if (signal instanceof VersionFeed.Refused refused) {
            // a named event with no id: an EventSource's onmessage never sees it, and a resuming client's
            // Last-Event-ID stays the last version
            return sse.newEventBuilder()
                    .name("refused")
                    .data(String.class, write(new RefusalNotice(sessionId, refused.sessionVersion())))
                    .build();
        }
        // the framework writes ":" then the comment, so the line reads ": keepalive"
        return sse.newEventBuilder().comment(" keepalive").build();
    }

    private String write(Record notice) {
        try {
            return json.writeValueAsString(notice);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a notice is always serialisable", e);
        }
    }

    private static Long lastEventId(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            long version = Long.parseLong(value.trim());
            if (version < 0) {
                throw ProblemException.badRequest("Last-Event-ID must be a version of 0 or more");
            }
            return version;
        } catch (NumberFormatException e) {
            throw ProblemException.badRequest("Last-Event-ID must be a session version such as 3");
        }
    }
}
