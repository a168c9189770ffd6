package io.agentstate.chat;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.memory.MemoryRecall;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.SingleFlight;
import io.smallrye.mutiny.Uni;

/**
 * Runs whole conversation turns. A turn reads the session view at version v, asks the model, then writes the user
 * message and the reply as one atomic batch conditional on v: recorded whole or not at all. Turns of one session run
 * one after the other in this process ({@link SessionTurnQueue}); a turn that still loses the race (another replica,
 * an agent writing) is rebuilt on the new state and retried until {@code agent-state.chat.turn-deadline}.
 */
@ApplicationScoped
public class ChatTurnService {

    private final TurnRecorder recorder;
    private final ModelCalls model;
    private final TurnRequests requests;
    private final SessionTurnQueue queue;
    private final SummaryScheduler summaries;
    private final MemoryRecall recall;
    private final FactExtraction extraction;
    private final Duration deadline;
    private final SingleFlight<String, ChatReply> inFlight = new SingleFlight<>();

    ChatTurnService(TurnRecorder recorder, ModelCalls model, TurnRequests requests, SessionTurnQueue queue,
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

    /** One whole turn of a validated request. */
    public Uni<ChatReply> turn(TurnRequests.TurnRequest request) {
        SessionKey session = recorder.session(request);
        String flightKey = session.tenant() + "/" + session.sessionId() + "/" + request.turnId();
        // A client retry that arrives while the first request still runs shares its answer: one model call.
        return inFlight.run(flightKey, () -> queue.run(session, () -> start(session, request)));
    }

    private Uni<ChatReply> start(SessionKey session, TurnRequests.TurnRequest request) {
        long until = System.nanoTime() + deadline.toNanos();
        return recorder.lookup(session, request.turnId())
                .chain(found -> found.recorded().isPresent() ? Uni.createFrom().item(found.recorded().get())
                        : attempt(session, request, found.nextAttempt(), 1, until));
    }

    // One attempt: read, ask, write; a lost race is answered again on the new state until the deadline.
    private Uni<ChatReply> attempt(SessionKey session, TurnRequests.TurnRequest request, int attempt, int tries,
            long until) {
        return recorder.read(session)
                .chain(state -> ask(session, state, request, attempt))
                .chain(written -> switch (written.verdict()) {
                    case RECORDED -> Uni.createFrom().item(recorded(session, request, written));
                    case REFUSED -> Uni.createFrom().failure(recorder.refused(session, written.decision()));
                    case RETRY -> System.nanoTime() - until >= 0
                            ? Uni.createFrom().failure(recorder.tooBusy(written.decision(), request.turnId(), tries))
                            : retry(session, request, attempt, tries, until);
                });
    }

    private Uni<TurnRecorder.Written> ask(SessionKey session, SessionState state, TurnRequests.TurnRequest request,
            int attempt) {
        return recall.forTurn(session.tenant(), state.userId(), request.message())
                .chain(facts -> ask(session, state, request, attempt, recorder.turn(session, state, facts)));
    }

    private Uni<TurnRecorder.Written> ask(SessionKey session, SessionState state, TurnRequests.TurnRequest request,
            int attempt, Turn turn) {
        return model.reply(turn, request.message())
                .invoke(requests::checkReply)
                .chain(reply -> recorder.write(session, turn, request.message(), reply, request.turnId(), attempt))
                .invoke(written -> {
                    if (written.verdict() == TurnRecorder.Verdict.RECORDED) {
                        summaries.afterTurn(session, state, request.message(), written.reply(),
                                written.decision().lastVersion());
                        extraction.afterTurn(session, state, turn, request, written);
                    }
                });
    }

    // The attempt's ids may have been decided elsewhere (another replica with the same key): look before re-running.
    private Uni<ChatReply> retry(SessionKey session, TurnRequests.TurnRequest request, int attempt, int tries,
            long until) {
        Duration pause = backoff(tries);
        Uni<TurnRecorder.Lookup> lookup = recorder.lookup(session, request.turnId(), attempt);
        return (pause.isZero() ? lookup : lookup.onItem().delayIt().by(pause))
                .chain(found -> found.recorded().isPresent() ? Uni.createFrom().item(found.recorded().get())
                        : attempt(session, request, found.nextAttempt(), tries + 1, until));
    }

    private static ChatReply recorded(SessionKey session, TurnRequests.TurnRequest request,
            TurnRecorder.Written written) {
        return new ChatReply(session.sessionId(), request.turnId(), written.reply(), written.decision().lastVersion(),
                false);
    }

    /** No wait after the first lost race (in-process turns are already serialised), then a growing, jittered one. */
    static Duration backoff(int tries) {
        if (tries <= 1) {
            return Duration.ZERO;
        }
        long ceiling = Math.min(1000, 25L << Math.min(tries - 2, 6));
        return Duration.ofMillis(ceiling / 2 + (long) (Math.random() * ceiling / 2));
    }
}
