package io.agentstate.query;

import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.event.Event;
import io.agentstate.event.Text;
import io.agentstate.ledger.ArchiveRepository;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.ledger.SessionViewStore;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.SingleFlight;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * Reads session state: the current state from its Redis view, rebuilt from PostgreSQL (latest snapshot plus later
 * events) when the view is missing (I6); past states straight from PostgreSQL.
 */
@ApplicationScoped
public class SessionReader {

    private final SessionViewStore views;
    private final ArchiveRepository archive;
    private final MeterRegistry meters;

    private final ObjectMapper mapper;

    SessionReader(SessionViewStore views, ArchiveRepository archive, MeterRegistry meters, ObjectMapper mapper) {
        this.views = views;
        this.archive = archive;
        this.meters = meters;
        this.mapper = mapper;
    }

    /** A session's current state as the JSON body of {@code GET /sessions/{id}}, with its version (the ETag). */
    public record Served(long version, byte[] json) {
    }

    /**
     * The current state as JSON: a cached view is copied as stored ({@link SessionJson}), a missing one is rebuilt and
     * serialised; 404 when the session has no event.
     */
    public Uni<Served> currentJson(SessionKey session) {
        return views.readRaw(session)
                .onFailure().recoverWithItem(Optional.empty())
                .chain(view -> {
                    if (view.isPresent()) {
                        try {
                            Served served = new Served(Long.parseLong(view.get().meta().get("version")),
                                    SessionJson.write(view.get(), mapper));
                            meters.counter("agentstate.query.views", "result", "hit").increment();
                            return Uni.createFrom().item(served);
                        } catch (RuntimeException e) {
                            // Redis is a cache (I6): a view it holds that cannot be served is answered from
                            // PostgreSQL instead, never passed on
                            meters.counter("agentstate.query.views", "result", "unreadable").increment();
                            return rehydrate(session).map(this::served);
                        }
                    }
                    meters.counter("agentstate.query.views", "result", "miss").increment();
                    return rehydrate(session).map(this::served);
                });
    }

    private Served served(SessionState state) {
        try {
            return new Served(state.version(), mapper.writeValueAsBytes(SessionResponse.from(state)));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The current state; 404 when the session has no event. */
    private final SingleFlight<SessionKey, SessionState> rebuilding = new SingleFlight<>();

    public Uni<SessionState> current(SessionKey session) {
        // Redis is a cache (I6): while it is out of reach, reads fold PostgreSQL instead of failing
        return views.read(session)
                .onFailure().recoverWithItem(Optional.empty())
                .chain(view -> {
                    if (view.isPresent()) {
                        meters.counter("agentstate.query.views", "result", "hit").increment();
                        return Uni.createFrom().item(view.get());
                    }
                    meters.counter("agentstate.query.views", "result", "miss").increment();
                    return rehydrate(session);
                });
    }

    /**
     * Rebuilds a view from PostgreSQL and caches it. Single-flight per session: readers that miss while a rebuild is
     * under way share its result instead of each folding the archive again.
     */
    public Uni<SessionState> rehydrate(SessionKey session) {
        return rebuilding.run(session, () -> rebuild(session));
    }

    // A rebuild Redis refuses was overtaken by a commit (a writer may already hold its 201): the newer view, or one
    // more fold at the newer head, answers instead, so a reader never gets less than what was acknowledged.
    private Uni<SessionState> rebuild(SessionKey session) {
        return fold(session)
                .chain(folded -> views.installRebuilt(folded.state(), folded.generation(),
                        () -> stillCurrent(session, folded))
                        // no Redis: the fold is exact at the head it read, and nothing was cached
                        .onFailure().recoverWithItem(true)
                        .chain(current -> current ? Uni.createFrom().item(folded.state())
                                : views.read(session)
                                        .chain(view -> view.isPresent() ? Uni.createFrom().item(view.get())
                                                : fold(session).map(Folded::state))))
                .invoke(() -> meters.counter("agentstate.query.rehydrations").increment());
    }

    // A state folded from PostgreSQL, with the generation (the life of the session id) it belongs to.
    private record Folded(SessionState state, long generation) {
    }

    private Uni<Folded> fold(SessionKey session) {
        return archive.head(session)
                .map(head -> head.orElseThrow(() -> notFound(session)))
                .chain(head -> archive.stateAt(session, head.version()).map(state -> new Folded(state, head.generation())));
    }

    // Redis refuses an install the ledger has already overtaken, in this life or a later one (its floor); the head read
    // once more after the install catches a commit that raced it.
    private Uni<Boolean> stillCurrent(SessionKey session, Folded installed) {
        return archive.head(session)
                .map(head -> head.isPresent() && head.get().generation() == installed.generation()
                        && head.get().version() <= installed.state().version());
    }

    /** The state right after a version; 404 outside the session's versions (a fork's start after 1). */
    public Uni<SessionState> atVersion(SessionKey session, long version) {
        return archive.head(session)
                .map(head -> head.orElseThrow(() -> notFound(session)))
                .chain(head -> version < 1 || version > head.version() ? outOfRange(session, version, head.version())
                        : archive.stateAt(session, version)
                                .chain(state -> state.version() == 0 ? outOfRange(session, version, head.version())
                                        : Uni.createFrom().item(state)));
    }

    /** The session's first version: 1, or for a fork the version after the one it copied. */
    public Uni<Long> firstVersion(SessionKey session) {
        return archive.firstVersion(session);
    }

    private Uni<SessionState> outOfRange(SessionKey session, long version, long last) {
        return archive.firstVersion(session)
                .chain(first -> Uni.createFrom().failure(ProblemException.notFound("session "
                        + Text.bounded(session.sessionId(), Text.MAX_ID) + " has versions " + first + " to " + last
                        + ", not " + version + (first > 1 ? " (it is a fork: earlier versions are its source's)" : ""))));
    }

    /** The state after the last event whose time is at or before {@code at}. */
    public Uni<SessionState> atTime(SessionKey session, Instant at) {
        return archive.head(session)
                .map(head -> head.orElseThrow(() -> notFound(session)))
                .chain(head -> archive.versionAt(session, at))
                .chain(version -> version == 0
                        ? Uni.createFrom()
                                .failure(ProblemException.notFound("session " + Text.bounded(session.sessionId(), Text.MAX_ID)
                                        + " had no event at or before " + at))
                        : archive.stateAt(session, version));
    }

    /** One tool call of the current state. */
    public Uni<SessionState.ToolCall> toolCall(SessionKey session, String callId) {
        return current(session)
                .map(state -> Optional.ofNullable(state.toolCalls().get(callId))
                        .orElseThrow(() -> ProblemException.notFound("session " + Text.bounded(session.sessionId(), Text.MAX_ID)
                                + " has no tool call " + Text.bounded(callId, Text.MAX_ID))));
    }

    /** The archived event at a version, as a structured CloudEvent. */
    public Uni<Event> eventAt(SessionKey session, long version) {
        return archive.events(session, version - 1, version)
                .map(events -> {
                    if (events.isEmpty()) {
                        throw ProblemException.notFound(
                                "session " + Text.bounded(session.sessionId(), Text.MAX_ID) + " has no version " + version);
                    }
                    return events.get(0).event();
                });
    }

    static ProblemException notFound(SessionKey session) {
        return ProblemException.notFound("no session " + Text.bounded(session.sessionId(), Text.MAX_ID));
    }
}
