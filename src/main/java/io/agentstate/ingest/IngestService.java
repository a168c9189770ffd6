package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventTooLargeException;
import io.agentstate.event.EventType;
import io.agentstate.event.Text;
import io.agentstate.ledger.ArchiveRepository;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionViewStore;
import io.agentstate.ledger.StoredDecision;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Uni;

/**
 * Appends events for REST writers (and the chat endpoint): validates with the same codec as the ledger, answers a repeat
 * from the stored decision, otherwise publishes with acks=all and waits, within a budget, for the ledger's decision.
 */
@ApplicationScoped
public class IngestService {

    /** A decision, or none yet when the budget ran out (the writer polls {@code Location}). */
    public record AppendResult(EventBatch batch, Optional<Decision> decision) {
    }

    private final EventCodec codec;
    private final EventPublisher publisher;
    private final DecisionWaiter waiter;
    private final ArchiveRepository archive;
    private final SessionViewStore views;
    private final AgentStateConfig config;

    IngestService(EventCodec codec, EventPublisher publisher, DecisionWaiter waiter, ArchiveRepository archive,
            SessionViewStore views, AgentStateConfig config) {
        this.codec = codec;
        this.publisher = publisher;
        this.waiter = waiter;
        this.archive = archive;
        this.views = views;
        this.config = config;
    }

    /** The codec's JSON mapper, with its input limits. */
    ObjectMapper mapper() {
        return codec.mapper();
    }

    /** Decodes and appends a REST body for a session of the caller's tenant. */
    public Uni<AppendResult> append(String tenant, String sessionId, byte[] body, String idempotencyKey,
            String ifMatch) {
        EventBatch batch = codec.decodeRequest(sessionId, body, tenant, idempotencyKey, expectedVersion(ifMatch),
                Instant.now());
        for (Event event : batch.events()) {
            if (event.kind().serviceOnly()) {
                // an erasure answers 204 and is idempotent per key, a fork copies a state the service reads itself:
                // through this route either would be an agent's claim
                throw ProblemException.badRequest("reserved type " + event.type() + ": only the service writes it; use "
                        + event.kind().serviceEndpoint().replace("{id}", sessionId));
            }
        }
        return append(batch);
    }

    /** Appends an already built batch (the chat endpoint writes its turns this way). */
    public Uni<AppendResult> append(EventBatch batch) {
        for (Event event : batch.events()) {
            int size = codec.encode(event).length;
            if (size > codec.limits().maxEventBytes()) {
                throw new EventTooLargeException(
                        "event " + Text.quote(event.id()) + " of " + size + " bytes exceeds the limit of "
                                + codec.limits().maxEventBytes());
            }
        }
        String firstId = batch.first().id();
        String fingerprint = batch.fingerprint();
        // A repeat is answered from the record before anything is published. (The ledger would deduplicate it too, but
        // a waiter that then fell back to a look-up could not tell the original's decision from its repeat's.)
        return archive.decision(batch.tenant(), firstId)
                .chain(stored -> stored.isPresent() ? Uni.createFrom().item(new AppendResult(batch,
                        Optional.of(repeat(batch, stored.get(), fingerprint)))) : publishAndWait(batch, fingerprint));
    }

    private static Decision repeat(EventBatch batch, StoredDecision stored, String fingerprint) {
        checkSameRequest(batch, stored, fingerprint);
        return repeatOf(batch, stored);
    }

    // An id names one event of one session: the same key on another session is a client bug, never a duplicate.
    private static void checkSameRequest(EventBatch batch, StoredDecision stored, String fingerprint) {
        if (!stored.sessionId().equals(batch.sessionId())) {
            throw keyReusedOnAnotherSession(batch.first().id());
        }
        if (stored.fingerprint() != null && !stored.fingerprint().equals(fingerprint)) {
            throw keyReused(batch.first().id());
        }
    }

    /** The answer to a request that reused the key of another request with a different body (422). */
    static ProblemException keyReused(String eventId) {
        return ProblemException.unprocessable("idempotency-key-reused", "Idempotency-Key reused",
                "event id " + Text.quote(eventId) + " was already used with a different body; "
                        + "a retry must repeat the original request, a new event needs a new key");
    }

    /** The answer to a request that reused the key of an event of another session (422). */
    static ProblemException keyReusedOnAnotherSession(String eventId) {
        return new ProblemException(Problem.of(422, "idempotency-key-reused", "Idempotency-Key reused",
                "event id " + Text.quote(eventId) + " was already used on another session; "
                        + "use a new key for a new event")
                .with(ANOTHER_SESSION, true));
    }

    /** The extension of a 422 {@code idempotency-key-reused} that says the key belongs to another session. */
    public static final String ANOTHER_SESSION = "anotherSession";

    /**
     * The decision on this request's first event, or empty while there is none: like {@link #decision}, but a decision
     * taken for another request under the same key (two writers racing with different bodies) is a 422, never this
     * request's answer.
     */
    private Uni<Optional<Decision>> decisionFor(EventBatch batch, String fingerprint) {
        SessionKey session = new SessionKey(batch.tenant(), batch.sessionId());
        String eventId = batch.first().id();
        return views.announced(session, eventId)
                .onFailure().recoverWithItem(Optional.empty())
                .chain(cached -> {
                    // the copy in Redis answers only when it is this request's; anything else (another request's, one
                    // from before an erasure, one without a fingerprint) is settled by PostgreSQL, the record
                    if (cached.isPresent() && fingerprint.equals(cached.get().fingerprint())) {
                        return Uni.createFrom().item(Optional.of(cached.get().decision()));
                    }
                    return archive.decision(batch.tenant(), eventId).map(stored -> stored.map(s -> {
                        checkSameRequest(batch, s, fingerprint);
                        return asDecision(s, List.of(eventId));
                    }));
                });
    }

    /** The decision on an event id, from Redis while it is fresh, else from PostgreSQL. */
    public Uni<Optional<Decision>> decision(String tenant, String sessionId, String eventId) {
        return find(tenant, sessionId, eventId).map(Found::here);
    }

    /**
     * What is known of an event id of this tenant: its decision in this session, or that it was decided in another.
     *
     * @param here the decision in this session
     * @param elsewhere true when the id was decided for another session
     */
    public record Found(Optional<Decision> here, boolean elsewhere) {
    }

    /** The decision on an event id in this session, and whether the id belongs to another session instead. */
    public Uni<Found> find(String tenant, String sessionId, String eventId) {
        SessionKey session = new SessionKey(tenant, sessionId);
        // Redis only holds a copy: while it is out of reach the decision comes from PostgreSQL, so an append the ledger
        // committed is still answered 201 (and 202 when not decided yet) instead of failing after its publish
        return views.decision(session, eventId)
                .onFailure().recoverWithItem(Optional.empty())
                .chain(cached -> cached.isPresent() ? Uni.createFrom().item(new Found(cached, false))
                        : archive.decision(tenant, eventId).map(stored -> stored.isEmpty()
                                ? new Found(Optional.empty(), false)
                                : stored.get().sessionId().equals(sessionId)
                                        ? new Found(Optional.of(asDecision(stored.get(), List.of(eventId))), false)
                                        : new Found(Optional.empty(), true)));
    }

    /** Erases a session everywhere, through the log; 404 when it has no event. */
    public Uni<AppendResult> erase(String tenant, String sessionId, String idempotencyKey) {
        EventCodec.checkSessionId(sessionId);
        SessionKey session = new SessionKey(tenant, sessionId);
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        event.put("id", idempotencyKey != null ? idempotencyKey : "erase:" + UUID.randomUUID());
        event.put("source", "agent://agent-state/api");
        event.put("type", EventType.SESSION_ERASED.type().orElseThrow());
        byte[] body = event.toString().getBytes(StandardCharsets.UTF_8);
        // A repeat with the same key answers like the original, even though the session is gone by now.
        Uni<Boolean> repeat = idempotencyKey == null ? Uni.createFrom().item(false)
                : archive.decision(tenant, idempotencyKey).map(Optional::isPresent);
        EventBatch erasure = codec.decodeRequest(sessionId, body, tenant, null, null, Instant.now());
        return repeat.chain(known -> known ? append(erasure)
                : archive.head(session)
                        .chain(head -> head.isEmpty()
                                ? Uni.createFrom().failure(ProblemException.notFound("no session " + sessionId))
                                : append(erasure)));
    }

    private Uni<AppendResult> publishAndWait(EventBatch batch, String fingerprint) {
        DecisionWaiter.Registration registration = waiter.register(batch.tenant(), batch.sessionId(),
                batch.first().id(), fingerprint);
        return publisher.publish(batch, true)
                .onTermination().invoke((item, failure, cancelled) -> {
                    if (failure != null || cancelled) {
                        registration.cancel();
                    }
                })
                // the announcement is a shortcut: without it the decision is looked up (Redis, then PostgreSQL)
                .chain(() -> registration.await(config.ingest().decisionWait(), () -> decisionFor(batch, fingerprint)))
                .map(decision -> new AppendResult(batch, decision.map(d -> withIds(d, batch))));
    }

    private static Decision repeatOf(EventBatch batch, StoredDecision stored) {
        Decision original = asDecision(stored, batch.events().stream().map(Event::id).toList());
        // the same decision as the ledger gives a repeat, so a repeat of a refused write keeps its original status
        return Decision.repeat(original.tenant(), original.sessionId(), original.eventIds(), stored.outcome(),
                original.firstVersion(), original.lastVersion(), original.currentVersion(), stored.reason());
    }

    private static Decision asDecision(StoredDecision stored, List<String> ids) {
        boolean accepted = stored.outcome() == Decision.Outcome.ACCEPTED;
        return new Decision(stored.tenant(), stored.sessionId(), ids, stored.outcome(),
                accepted ? stored.version() : null, accepted ? stored.lastVersion() : null, stored.currentVersion(),
                stored.reason());
    }

    private static Decision withIds(Decision decision, EventBatch batch) {
        return new Decision(decision.tenant(), decision.sessionId(), batch.events().stream().map(Event::id).toList(),
                decision.outcome(), decision.firstVersion(), decision.lastVersion(), decision.currentVersion(),
                decision.reason(), decision.original());
    }

    /** {@code If-Match: 3}, {@code "3"} or {@code W/"3"}: the version the writer last saw. */
    static Long expectedVersion(String ifMatch) {
        if (ifMatch == null || ifMatch.isBlank()) {
            return null;
        }
        String value = ifMatch.trim();
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        value = value.replace("\"", "");
        try {
            long version = Long.parseLong(value);
            if (version < 0) {
                throw ProblemException.badRequest("If-Match must be a version of 0 or more");
            }
            return version;
        } catch (NumberFormatException e) {
            throw ProblemException.badRequest("If-Match must be a session version such as 3 or \"3\", not " + ifMatch);
        }
    }
}
