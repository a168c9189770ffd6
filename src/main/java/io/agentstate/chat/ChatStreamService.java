package io.agentstate.chat;

import java.time.Duration;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.memory.MemoryRecall;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Runs streamed turns: the tokens as the model sends them, then {@code done} with the recorded version. The turn is
 * serialised and written like a whole turn; when it loses the race, a {@code restart} event tells the client to drop
 * the text so far and the turn is answered again on the new state, until the deadline.
 */
@ApplicationScoped
public class ChatStreamService {

    private final TurnRecorder recorder;
    private final ModelCalls model;
    private final TurnRequests requests;
    private final SessionTurnQueue queue;
    private final SummaryScheduler summaries;
    private final MemoryRecall recall;
    private final FactExtraction extraction;
    private final Duration deadline;

    ChatStreamService(TurnRecorder recorder, ModelCalls model, TurnRequests requests, SessionTurnQueue queue,
            SummaryScheduler summaries, MemoryRecall recall, FactExtraction extraction, AgentStateConfig config) {
        this.recall = recall;
        this.extraction = extraction;
        this.recorder = recorder;
        this.model = model;
        this.requests = requests;
        this.queue = queue;
        this.summaries = summaries;
        this.deadline = config.chat().turnDeadline();
    }

    /** One streamed turn of a validated request. */
    public Multi<ChatEvent> stream(TurnRequests.TurnRequest request) {
        SessionKey session = recorder.session(request);
        return queue.stream(session, () -> start(session, request))
                .onFailure().recoverWithItem(failure -> ChatEvent.error(problem(failure)));
    }

    private Multi<ChatEvent> start(SessionKey session, TurnRequests.TurnRequest request) {
        long until = System.nanoTime() + deadline.toNanos();
        return recorder.lookup(session, request.turnId()).toMulti()
                .flatMap(found -> found.recorded().isPresent()
                        ? Multi.createFrom().items(ChatEvent.token(found.recorded().get().reply()),
                                ChatEvent.done(found.recorded().get()))
                        : attempt(session, request, found.nextAttempt(), 1, until));
    }

    private Multi<ChatEvent> attempt(SessionKey session, TurnRequests.TurnRequest request, int attempt, int tries,
            long until) {
        return recorder.read(session)
                .chain(state -> recall.forTurn(session.tenant(), state.userId(), request.message())
                        .map(facts -> Map.entry(state, recorder.turn(session, state, facts))))
                .toMulti().flatMap(read -> {
                    SessionState state = read.getKey();
                    Turn turn = read.getValue();
                    StringBuilder reply = new StringBuilder();
                    Multi<ChatEvent> tokens = model.replyStreaming(turn, request.message())
                            .onItem().invoke(reply::append)
                            .map(ChatEvent::token);
                    Multi<ChatEvent> end = Multi.createFrom().deferred(
                            () -> record(session, state, turn, request, reply.toString(), attempt, tries, until));
                    return Multi.createBy().concatenating().streams(tokens, end);
                });
    }

    private Multi<ChatEvent> record(SessionKey session, SessionState state, Turn turn, TurnRequests.TurnRequest request,
            String reply, int attempt, int tries, long until) {
        if (reply.isBlank()) {
            return Multi.createFrom().failure(model.malformed());
        }
        requests.checkReply(reply);
        return recorder.write(session, turn, request.message(), reply, request.turnId(), attempt).toMulti()
                .flatMap(written -> switch (written.verdict()) {
                    case RECORDED -> {
                        summaries.afterTurn(session, state, request.message(), reply, written.decision().lastVersion());
                        extraction.afterTurn(session, state, turn, request, written);
                        yield Multi.createFrom().item(ChatEvent.done(new ChatReply(session.sessionId(),
                                request.turnId(), reply, written.decision().lastVersion(), false)));
                    }
                    case REFUSED -> Multi.createFrom().failure(recorder.refused(session, written.decision()));
                    case RETRY -> System.nanoTime() - until >= 0
                            ? Multi.createFrom().failure(recorder.tooBusy(written.decision(), request.turnId(), tries))
                            : retry(session, request, attempt, tries, until);
                });
    }

    private Multi<ChatEvent> retry(SessionKey session, TurnRequests.TurnRequest request, int attempt, int tries,
            long until) {
        Duration pause = ChatTurnService.backoff(tries);
        Uni<TurnRecorder.Lookup> lookup = recorder.lookup(session, request.turnId(), attempt);
        return (pause.isZero() ? lookup : lookup.onItem().delayIt().by(pause)).toMulti()
                .flatMap(found -> found.recorded().isPresent()
                        // another request with this key was recorded first: its reply is the turn's
                        ? Multi.createFrom().item(ChatEvent.done(found.recorded().get()))
                        : Multi.createBy().concatenating().streams(
                                Multi.createFrom().item(ChatEvent.restart(request.turnId())),
                                attempt(session, request, found.nextAttempt(), tries + 1, until)));
    }

    private static Problem problem(Throwable failure) {
        return failure instanceof ProblemException p ? p.problem()
                : Problem.of(500, "internal", "Internal error", "the turn failed; see the service log");
    }
}
