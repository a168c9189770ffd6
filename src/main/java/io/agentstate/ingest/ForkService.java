package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventData;
import io.agentstate.event.EventType;
import io.agentstate.event.InvalidEventException;
import io.agentstate.event.Text;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.query.SessionReader;
import io.smallrye.mutiny.Uni;

/**
 * Forks a session: reads the source's state at a version and appends it to a new session as one
 * {@code agentstate.session.forked} event, through the log like any write. The source is only read. The new session's
 * first version is the source version plus one, so the versions inside the copied state (messages, summary, tool calls)
 * keep their meaning, and every later write continues from there.
 */
@ApplicationScoped
public class ForkService {

    static final String SOURCE = "agent://agent-state/api";

    // the session-id limit of the event contract (EventCodec's id pattern)
    private static final int MAX_SESSION_ID = 128;

    private final SessionReader reader;
    private final IngestService ingest;
    private final EventCodec codec;
    private final ObjectMapper mapper;

    ForkService(SessionReader reader, IngestService ingest, EventCodec codec, ObjectMapper mapper) {
        this.reader = reader;
        this.ingest = ingest;
        this.codec = codec;
        this.mapper = mapper;
    }

    /** A fork's decision (empty while pending), with the event id it was decided under. */
    public record Forked(String sessionId, String eventId, String sourceSessionId, long sourceVersion,
            Optional<Decision> decision) {
    }

    /**
     * Forks {@code sourceSessionId} at {@code version} (its current version when null) into {@code newSessionId} (a
     * fresh id when null). A repeat of an Idempotency-Key already decided answers with that decision.
     */
    public Uni<Forked> fork(String tenant, String sourceSessionId, Long version, String newSessionId,
            String idempotencyKey) {
        EventCodec.checkSessionId(sourceSessionId);
        String target = newSessionId != null ? newSessionId : freshId(sourceSessionId);
        EventCodec.checkSessionId(target);
        if (target.equals(sourceSessionId)) {
            throw ProblemException.badRequest("newSessionId must differ from the session forked");
        }
        String eventId = idempotencyKey != null ? idempotencyKey : "fork:" + UUID.randomUUID();
        Uni<Optional<Forked>> repeat = idempotencyKey == null ? Uni.createFrom().item(Optional.empty())
                : ingest.find(tenant, target, idempotencyKey).map(found -> {
                    if (found.elsewhere()) {
                        throw IngestService.keyReusedOnAnotherSession(idempotencyKey);
                    }
                    return found.here();
                })
                        .chain(found -> found.isEmpty() ? Uni.createFrom().item(Optional.<Forked> empty())
                                : repeated(tenant, target, eventId, sourceSessionId, version, found.get()).map(Optional::of));
        SessionKey source = new SessionKey(tenant, sourceSessionId);
        return repeat.chain(known -> known.isPresent() ? Uni.createFrom().item(known.get())
                : sourceState(source, version)
                        .chain(state -> append(tenant, target, eventId, state)));
    }

    // A key already decided answers with its decision, but only for the same fork: the recorded event names its source
    // and version, and a request naming others under that key is another request (422), as for any append.
    private Uni<Forked> repeated(String tenant, String target, String eventId, String sourceSessionId, Long version,
            Decision decision) {
        if (decision.firstVersion() == null) {
            return Uni.createFrom().item(new Forked(target, eventId, sourceSessionId, version != null ? version : 0,
                    Optional.of(decision.asDuplicate())));
        }
        return reader.eventAt(new SessionKey(tenant, target), decision.firstVersion())
                .map(event -> {
                    if (!(event.payload() instanceof EventData.SessionForked fork)
                            || !fork.sourceSessionId().equals(sourceSessionId)
                            || (version != null && version != fork.sourceVersion())) {
                        throw IngestService.keyReused(eventId);
                    }
                    return new Forked(target, eventId, fork.sourceSessionId(), fork.sourceVersion(),
                            Optional.of(decision.asDuplicate()));
                });
    }

    // <source>-fork-<8 hex>, or fork-<uuid> when that would pass the id limit (a fork of a fork of a fork ...)
    private static String freshId(String sourceSessionId) {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String id = sourceSessionId + "-fork-" + suffix;
        return id.length() <= MAX_SESSION_ID ? id : "fork-" + UUID.randomUUID();
    }

    private Uni<SessionState> sourceState(SessionKey source, Long version) {
        return version == null ? reader.current(source) : reader.atVersion(source, version);
    }

    private Uni<Forked> append(String tenant, String target, String eventId, SessionState state) {
        byte[] body = body(eventId, state);
        int max = codec.limits().maxEventBytes();
        if (body.length > max) {
            throw new ProblemException(Problem.of(413, "too-large", "Too large", "the state of session "
                    + Text.bounded(state.sessionId(), Text.MAX_ID) + " at version " + state.version() + " makes a fork "
                    + "event of " + body.length + " bytes, over the limit of " + max
                    + " bytes (agent-state.ingest.max-event-bytes); fork an earlier version or raise the limit"));
        }
        // expected version 0: the new session must not exist yet
        EventBatch batch;
        try {
            batch = codec.decodeRequest(target, body, tenant, null, 0L, Instant.now());
        } catch (InvalidEventException e) {
            // the fork event nests the state a few levels deeper than the events that built it
            throw ProblemException.unprocessable("not-forkable", "Not forkable", "the state of session "
                    + Text.bounded(state.sessionId(), Text.MAX_ID) + " at version " + state.version()
                    + " cannot be carried in one fork event: " + e.getMessage());
        }
        return ingest.append(batch)
                .map(result -> new Forked(target, eventId, state.sessionId(), state.version(), result.decision()));
    }

    private byte[] body(String eventId, SessionState state) {
        ObjectNode carried = mapper.createObjectNode();
        carried.put("userId", state.userId());
        carried.set("metadata", state.metadata());
        carried.set("summary", mapper.valueToTree(state.summary()));
        carried.set("messages", mapper.valueToTree(state.messages()));
        carried.put("messageCount", state.messageCount());
        carried.set("toolCalls", mapper.valueToTree(state.toolCalls()));
        carried.set("scopes", mapper.valueToTree(state.scopes()));
        ObjectNode data = mapper.createObjectNode();
        data.put("sourceSessionId", state.sessionId());
        data.put("sourceVersion", state.version());
        data.set("state", carried);
        ObjectNode event = mapper.createObjectNode();
        event.put("id", eventId);
        event.put("source", SOURCE);
        event.put("type", EventType.SESSION_FORKED.type().orElseThrow());
        event.set("data", data);
        try {
            return mapper.writeValueAsString(event).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
