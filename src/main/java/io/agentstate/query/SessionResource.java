package io.agentstate.query;

import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;

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
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.event.Text;
import io.agentstate.ledger.ArchiveRepository;
import io.agentstate.ledger.ArchiveRepository.TimelineBefore;
import io.agentstate.ledger.ArchiveRepository.TimelineEntry;
import io.agentstate.ledger.ArchiveRepository.TimelinePosition;
import io.agentstate.ledger.SessionHead;
import io.agentstate.ledger.SessionKey;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.QueryParams;
import io.agentstate.security.CurrentCaller;
import io.smallrye.mutiny.Uni;

/** Session reads: the tenant's sessions, current state, timeline, past states and tool calls. */
@Path("/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class SessionResource {

    private static final String JSON = MediaType.APPLICATION_JSON;
    private static final String PROBLEM = Problem.MEDIA_TYPE;

    private final SessionReader reader;
    private final ArchiveRepository archive;
    private final AgentStateConfig config;
    private final CurrentCaller caller;

    SessionResource(SessionReader reader, ArchiveRepository archive, AgentStateConfig config, CurrentCaller caller) {
        this.caller = caller;
        this.reader = reader;
        this.archive = archive;
        this.config = config;
    }

    @GET
    @Operation(summary = "The tenant's sessions, paged", description = "By session id (order=id, the default) or most "
            + "recently updated first (order=recent); only ids starting with prefix, only sessions of userId. Follow "
            + "next with ?cursor= (and the same filters) until it is absent. Erased sessions are not listed.")
    @APIResponse(responseCode = "200", description = "A page of sessions", content = @Content(mediaType = JSON, schema = @Schema(implementation = SessionListResponse.class)))
    @APIResponse(responseCode = "400", description = "Invalid prefix, userId, order, limit or cursor", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<SessionListResponse> list(
            @Parameter(description = "Only session ids starting with this") @QueryParam("prefix") String prefix,
            @Parameter(description = "Only sessions started for this user") @QueryParam("userId") String userId,
            @Parameter(description = "id (default) or recent") @QueryParam("order") String order,
            @Parameter(description = "The next value of the previous page") @QueryParam("cursor") String cursor,
            @Parameter(description = "Most sessions on the page; default 100, at most 1000") @QueryParam("limit") String limit) {
        int size = QueryParams.integer("limit", limit, config.query().defaultPageSize(), 1, config.query().maxPageSize());
        if (prefix != null && !PREFIX.matcher(prefix).matches()) {
            throw QueryParams.invalid("prefix", "prefix must match " + PREFIX.pattern() + " (session ids do)");
        }
        if (userId != null && (userId.isEmpty() || userId.length() > Text.MAX_ID || !Text.storable(userId))) {
            throw QueryParams.invalid("userId", "userId must be 1 to " + Text.MAX_ID + " characters of well-formed text");
        }
        ArchiveRepository.SessionOrder sort = sessionOrder(order);
        ArchiveRepository.SessionsAfter after = cursor == null ? null : SessionListCursor.decode(cursor, sort);
        // one session more than the page tells whether another page follows
        return archive.sessions(caller.tenant(), prefix, userId, sort, after, size + 1)
                .map(heads -> {
                    boolean more = heads.size() > size;
                    List<SessionHead> shown = more ? heads.subList(0, size) : heads;
                    String next = more ? SessionListCursor.encode(sort, shown.get(shown.size() - 1)) : null;
                    return new SessionListResponse(shown.stream().map(SessionListResponse.Item::from).toList(), next);
                });
    }

    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:@-]{0,128}");

    private static ArchiveRepository.SessionOrder sessionOrder(String order) {
        if (order == null || order.equals("id")) {
            return ArchiveRepository.SessionOrder.ID;
        }
        if (order.equals("recent")) {
            return ArchiveRepository.SessionOrder.RECENT;
        }
        throw QueryParams.invalid("order", "order must be id or recent");
    }

    @GET
    @Path("/{sessionId}")
    @Operation(summary = "The current state of a session; ETag is its version")
    @APIResponse(responseCode = "200", description = "The current state", content = @Content(mediaType = JSON, schema = @Schema(implementation = SessionResponse.class)))
    @APIResponse(responseCode = "400", description = "Invalid session id", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<byte[]>> current(@PathParam("sessionId") String sessionId) {
        // the body is written from the cached view as stored (SessionJson); its schema is SessionResponse's
        return reader.currentJson(key(sessionId))
                .map(served -> RestResponse.ResponseBuilder.ok(served.json(), MediaType.APPLICATION_JSON_TYPE)
                        .header("ETag", "\"" + served.version() + "\"")
                        .build());
    }

    @GET
    @Path("/{sessionId}/events")
    @Operation(summary = "The timeline: accepted and refused events together, paged", description = "Entries come in "
            + "timeline order: the refusals made while the session was at version n-1 (in log order), then version n. "
            + "Follow next with ?cursor= until it is absent to see every entry exactly once; keep type, source and "
            + "order the same on every page. order=desc reads newest first: the tail of the timeline, then back; with "
            + "fromVersion it starts at that version and goes back.")
    @APIResponse(responseCode = "200", description = "A page of the timeline", content = @Content(mediaType = JSON, schema = @Schema(implementation = TimelineResponse.class)))
    @APIResponse(responseCode = "400", description = "Invalid limit, fromVersion or cursor", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session (no event accepted or refused)", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<TimelineResponse> timeline(@PathParam("sessionId") String sessionId,
            @Parameter(description = "Start at this version, after the refusals that preceded it; default 1") @QueryParam("fromVersion") String fromVersion,
            @Parameter(description = "The next value of the previous page; not with fromVersion") @QueryParam("cursor") String cursor,
            @Parameter(description = "Most entries on the page, accepted and refused alike; default 100, at most 1000") @QueryParam("limit") String limit,
            @Parameter(description = "Only events of this type") @QueryParam("type") String type,
            @Parameter(description = "Only events from this source") @QueryParam("source") String source,
            @Parameter(description = "asc (default): oldest first; desc: newest first") @QueryParam("order") String order) {
        int size = QueryParams.integer("limit", limit, config.query().defaultPageSize(), 1, config.query().maxPageSize());
        if (fromVersion != null && cursor != null) {
            throw QueryParams.invalid("cursor", "give fromVersion or cursor, not both");
        }
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw QueryParams.invalid("order", "order must be asc or desc");
        }
        boolean backwards = "desc".equals(order);
        SessionKey session = key(sessionId);
        // one entry more than the page tells whether another page follows
        Uni<List<TimelineEntry>> read;
        if (backwards) {
            TimelineBefore before = cursor != null ? TimelineCursor.decodeBackwards(cursor)
                    : fromVersion != null ? TimelineBefore.upTo(QueryParams.atLeast("fromVersion", fromVersion, 1L, 1))
                            : TimelineBefore.END;
            read = archive.timelineBackwards(session, before, size + 1, type, source);
        } else {
            TimelinePosition from = cursor != null ? TimelineCursor.decode(cursor)
                    : TimelinePosition.fromVersion(QueryParams.atLeast("fromVersion", fromVersion, 1L, 1));
            read = archive.timeline(session, from, size + 1, type, source);
        }
        return read.chain(entries -> entries.isEmpty()
                ? archive.hasTimeline(session)
                        .map(found -> {
                            if (!found) {
                                throw SessionReader.notFound(session);
                            }
                            return page(sessionId, entries, size, backwards);
                        })
                : Uni.createFrom().item(page(sessionId, entries, size, backwards)));
    }

    @GET
    @Path("/{sessionId}/state")
    @Operation(summary = "The state as it was at a version (?version=N) or a time (?at=RFC3339)")
    @APIResponse(responseCode = "200", description = "The past state", content = @Content(mediaType = JSON, schema = @Schema(implementation = SessionResponse.class)))
    @APIResponse(responseCode = "400", description = "Neither or both of version and at, or a malformed one", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "404", description = "No such session, version out of range, or no event by then", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<SessionResponse> past(@PathParam("sessionId") String sessionId,
            @Parameter(description = "A version, 1 or more") @QueryParam("version") String version,
            @Parameter(description = "An RFC 3339 time; URL-encode a '+' offset as %2B") @QueryParam("at") String at) {
        if ((version == null) == (at == null)) {
            throw ProblemException.badRequest("give exactly one of version or at");
        }
        if (version != null) {
            return reader.atVersion(key(sessionId), QueryParams.atLeast("version", version, null, 1))
                    .map(SessionResponse::from);
        }
        Instant instant = QueryParams.instant("at", at);
        return reader.atTime(key(sessionId), instant)
                .map(SessionResponse::from);
    }

    /**
     * A session's stored snapshots.
     *
     * @param versions the versions snapshotted, oldest first (only the newest {@code kept} are kept)
     * @param every a snapshot is taken when a version is a multiple of this
     * @param kept how many snapshots a session keeps
     */
    public record SnapshotsResponse(String sessionId, List<Long> versions, int every, int kept) {
    }

    @GET
    @Path("/{sessionId}/snapshots")
    @Operation(summary = "The versions of a session's stored whole-state snapshots", description = "A past state is "
            + "read from the newest snapshot at or before it plus the events after; the inspector marks them on its "
            + "growth chart.")
    @APIResponse(responseCode = "200", description = "The snapshots", content = @Content(mediaType = JSON, schema = @Schema(implementation = SnapshotsResponse.class)))
    @APIResponse(responseCode = "404", description = "No such session", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<SnapshotsResponse> snapshots(@PathParam("sessionId") String sessionId) {
        SessionKey session = key(sessionId);
        return archive.head(session)
                .map(head -> head.orElseThrow(() -> SessionReader.notFound(session)))
                .chain(head -> archive.snapshotVersions(session))
                .map(versions -> new SnapshotsResponse(sessionId, versions, config.ledger().snapshotEvery(),
                        config.ledger().snapshotsKept()));
    }

    @GET
    @Path("/{sessionId}/tools/{callId}")
    @Operation(summary = "One tool call, so a restarted agent can tell whether it already ran")
    @APIResponse(responseCode = "200", description = "The tool call", content = @Content(mediaType = JSON, schema = @Schema(implementation = ToolCallResponse.class)))
    @APIResponse(responseCode = "404", description = "No such session or tool call", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<ToolCallResponse> toolCall(@PathParam("sessionId") String sessionId,
            @PathParam("callId") String callId) {
        return reader.toolCall(key(sessionId), callId)
                .map(ToolCallResponse::from);
    }

    private static TimelineResponse page(String sessionId, List<TimelineEntry> entries, int size, boolean backwards) {
        boolean more = entries.size() > size;
        List<TimelineEntry> shown = more ? entries.subList(0, size) : entries;
        String next = !more ? null
                : backwards ? TimelineCursor.encode(shown.get(shown.size() - 1).before())
                        : TimelineCursor.encode(shown.get(shown.size() - 1).next());
        return new TimelineResponse(sessionId, shown.stream().map(TimelineResponse.Entry::from).toList(), next);
    }

    private SessionKey key(String sessionId) {
        return new SessionKey(caller.tenant(), sessionId);
    }
}
