package io.agentstate.chat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.ingest.IngestService;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.memory.MemoryRecall;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.query.SessionReader;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * What the turn and the stream share: the session read (through {@code query}), the attempt's event ids, the
 * conditional write of a turn (through {@code ingest}) and the lookup of a key's recorded reply.
 *
 * <p>
 * Attempt n of a turn writes {@code <key>:n:user} and {@code <key>:n:assistant}. Attempt n + 1 is written only after n
 * was decided, so the decided attempts of a key are 1, 2, ... without a gap: a lookup walks them until the first
 * undecided one, and that is where a new attempt starts. A key is never burned by a lost race.
 */
@ApplicationScoped
public class TurnRecorder {

    /** The source of the events chat writes. */
    public static final String SOURCE = "agent://agent-state/chat";
    // Far above anything a deadline allows; only guards the walk against a corrupt history.
    private static final int MAX_WALK = 10_000;

    /** What the log says about a key: its recorded reply, or the attempt a new try must use. */
    public record Lookup(Optional<ChatReply> recorded, int nextAttempt) {
    }

    /** How a write ended: recorded, the attempt must be re-run on the new state, or refused for good. */
    public enum Verdict {
        RECORDED,
        RETRY,
        REFUSED
    }

    /** The result of one conditional write. */
    public record Written(Verdict verdict, Decision decision, String reply) {
    }

    private final SessionReader reader;
    private final IngestService ingest;
    private final AgentStateConfig config;
    private final MeterRegistry meters;

    TurnRecorder(SessionReader reader, IngestService ingest, AgentStateConfig config, MeterRegistry meters) {
        this.reader = reader;
        this.ingest = ingest;
        this.config = config;
        this.meters = meters;
    }

    /** The session a turn request means: its id in the caller's tenant. */
    public SessionKey session(TurnRequests.TurnRequest request) {
        return new SessionKey(request.tenant(), request.sessionId());
    }

    /** The current view, or an empty state at version 0 for a session with no event yet. */
    public Uni<SessionState> read(SessionKey session) {
        return reader.current(session)
                .onFailure(ProblemException.class).recoverWithUni(failure -> {
                    if (((ProblemException) failure).problem().status() == 404) {
                        return Uni.createFrom().item(SessionState.empty(session.tenant(), session.sessionId()));
                    }
                    return Uni.createFrom().failure(failure);
                });
    }

    /** The memory id of one attempt: the window of the state it read, with the user's facts recalled for it. */
    public Turn turn(SessionKey session, SessionState state, List<MemoryRecall.Recalled> facts) {
        String systemPrompt = config.chat().systemPrompt();
        return new Turn(UUID.randomUUID().toString(), session.tenant(), session.sessionId(), state.version(),
                PromptWindow.of(state, systemPrompt, facts.stream().map(MemoryRecall.Recalled::fact).toList()),
                state.summary() != null ? state.summary().version() : null, PromptWindow.promptVersion(systemPrompt),
                facts);
    }

    /** The recorded reply of a key, if any attempt of it was accepted in this session. */
    public Uni<Lookup> lookup(SessionKey session, String turnId) {
        return lookup(session, turnId, 1);
    }

    /** The same lookup, from an attempt known to be decided or the first one not yet tried. */
    public Uni<Lookup> lookup(SessionKey session, String turnId, int attempt) {
        if (attempt > MAX_WALK) {
            return Uni.createFrom().item(new Lookup(Optional.empty(), attempt));
        }
        String id = assistantId(turnId, attempt);
        return ingest.find(session.tenant(), session.sessionId(), id)
                .chain(found -> {
                    if (found.elsewhere()) {
                        // a key already used for a turn of another session is refused before the model is asked
                        throw anotherSession();
                    }
                    Optional<Decision> stored = found.here();
                    if (stored.isEmpty()) {
                        return Uni.createFrom().item(new Lookup(Optional.empty(), attempt));
                    }
                    if (stored.get().outcome() != Decision.Outcome.ACCEPTED) {
                        return lookup(session, turnId, attempt + 1);
                    }
                    long version = stored.get().firstVersion();
                    return reader.eventAt(session, version)
                            .onFailure(ProblemException.class).recoverWithNull()
                            // after an erasure the version may hold another event: then the reply is gone
                            .map(event -> event != null && event.id().equals(id)
                                    ? new Lookup(Optional.of(new ChatReply(session.sessionId(), turnId,
                                            event.data().get("content").asText(), version, true)), attempt + 1)
                                    : new Lookup(Optional.empty(), attempt + 1));
                });
    }

    /** The user message and the reply, one atomic batch conditional on the version the prompt was built from. */
    public Uni<Written> write(SessionKey session, Turn turn, String message, String reply, String turnId, int attempt) {
        ArrayNode batch = JsonNodeFactory.instance.arrayNode();
        batch.add(event(userId(turnId, attempt), "user", message, turnId));
        ObjectNode assistant = event(assistantId(turnId, attempt), "assistant", reply, turnId);
        // what the prompt was built from, so the exact window can be rebuilt from the log alone (PromptRebuilder)
        ObjectNode prompt = ((ObjectNode) assistant.get("data")).putObject("prompt");
        prompt.put("windowVersion", turn.version());
        if (turn.summaryVersion() != null) {
            prompt.put("summaryVersion", turn.summaryVersion());
        } else {
            prompt.putNull("summaryVersion");
        }
        prompt.put("promptVersion", turn.promptVersion());
        if (!turn.facts().isEmpty()) {
            // the exact revisions recalled, in prompt order: the inspector rebuilds the system part from them
            ArrayNode used = prompt.putArray("memories");
            turn.facts().forEach(fact -> used.add(fact.eventId()));
        }
        batch.add(assistant);
        byte[] body = batch.toString().getBytes(StandardCharsets.UTF_8);
        return ingest.append(session.tenant(), session.sessionId(), body, null, Long.toString(turn.version()))
                .map(result -> judge(session, result.decision().orElseThrow(() -> busy(turnId)), reply))
                // the key names a turn of another session: no retry can record this one, and asking again would only
                // call the model again
                .onFailure(TurnRecorder::keyOfAnotherSession).transform(failure -> anotherSession())
                // This attempt's ids were decided meanwhile with another reply (a repeat after a 503 ledger-busy asked
                // the model again): the turn's lookup finds what was recorded.
                .onFailure(TurnRecorder::keyReused).recoverWithUni(() -> ingest.decision(session.tenant(), session.sessionId(),
                        assistantId(turnId, attempt))
                        .map(decided -> new Written(Verdict.RETRY, decided.orElseThrow(() -> busy(turnId)), reply)));
    }

    private static boolean keyOfAnotherSession(Throwable failure) {
        return keyReused(failure) && Boolean.TRUE.equals(((ProblemException) failure).problem().extensions()
                .get(IngestService.ANOTHER_SESSION));
    }

    private static boolean keyReused(Throwable failure) {
        return failure instanceof ProblemException problem && problem.problem().type().endsWith("/idempotency-key-reused");
    }

    private Written judge(SessionKey session, Decision decision, String reply) {
        switch (decision.outcome()) {
            case ACCEPTED -> {
                meters.counter("agentstate.chat.turns", "outcome", "recorded").increment();
                return new Written(Verdict.RECORDED, decision, reply);
            }
            case CONFLICT -> {
                meters.counter("agentstate.chat.turns", "outcome", "retried").increment();
                return new Written(Verdict.RETRY, decision, reply);
            }
            case REJECTED -> {
                meters.counter("agentstate.chat.turns", "outcome", "rejected").increment();
                return new Written(Verdict.REFUSED, decision, reply);
            }
            case DUPLICATE -> {
                // These attempt ids were decided before (another replica, or an earlier request with this key).
                if (!decision.sessionId().equals(session.sessionId())) {
                    return new Written(Verdict.REFUSED, decision, reply);
                }
                return switch (decision.originalOutcome()) {
                    // accepted: the caller reads the recorded reply; conflict: that attempt is spent, try the next
                    case ACCEPTED, CONFLICT, DUPLICATE -> new Written(Verdict.RETRY, decision, reply);
                    case REJECTED -> new Written(Verdict.REFUSED, decision, reply);
                };
            }
        }
        throw new IllegalStateException("unknown outcome " + decision.outcome());
    }

    /** The 409 of a refused turn. */
    public ProblemException refused(SessionKey session, Decision decision) {
        if (!decision.sessionId().equals(session.sessionId())) {
            return anotherSession();
        }
        return new ProblemException(Problem.of(409, "turn-refused", "Turn refused",
                decision.reason() != null ? decision.reason() : "the ledger refused the turn")
                .with("currentVersion", decision.currentVersion()));
    }

    private static ProblemException anotherSession() {
        return new ProblemException(Problem.of(409, "turn-refused", "Turn refused",
                "this Idempotency-Key was already used for a turn of another session; use a new key"));
    }

    /** The 409 of a turn that kept losing the race until its deadline; the key stays usable. */
    public ProblemException tooBusy(Decision decision, String turnId, int attempts) {
        return new ProblemException(Problem.of(409, "version-conflict", "Session too busy",
                "the session kept moving: " + attempts + " attempts lost the race for its version before the deadline"
                        + " (agent-state.chat.turn-deadline); nothing was recorded; repeat with Idempotency-Key "
                        + turnId)
                .with("currentVersion", decision.currentVersion()));
    }

    private static ProblemException busy(String turnId) {
        return new ProblemException(Problem.of(503, "ledger-busy", "Turn not yet recorded",
                "the ledger did not decide within the wait budget; repeat the request with Idempotency-Key " + turnId
                        + " to get its answer"));
    }

    private static ObjectNode event(String id, String role, String content, String turnId) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        event.put("id", id);
        event.put("source", SOURCE);
        event.put("type", "agentstate.message.appended");
        event.put("correlationid", turnId);
        ObjectNode data = event.putObject("data");
        data.put("role", role);
        data.put("content", content);
        return event;
    }

    static String userId(String turnId, int attempt) {
        return turnId + ":" + attempt + ":user";
    }

    static String assistantId(String turnId, int attempt) {
        return turnId + ":" + attempt + ":assistant";
    }
}
