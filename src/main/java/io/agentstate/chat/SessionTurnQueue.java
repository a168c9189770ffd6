package io.agentstate.chat;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import io.agentstate.ledger.SessionKey;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Serialises the turns of one session inside this process, without blocking a thread: each turn waits, asynchronously,
 * for the one queued before it. The map holds only the tail of each busy session's queue; the last turn to finish
 * removes its entry, so an idle session costs nothing.
 */
@ApplicationScoped
public class SessionTurnQueue {

    private final Map<SessionKey, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();

    /** Runs a turn once every earlier turn of its session has finished. */
    public <T> Uni<T> run(SessionKey session, Supplier<Uni<T>> turn) {
        return Uni.createFrom().deferred(() -> {
            Slot slot = enqueue(session);
            return Uni.createFrom().completionStage(slot.gate())
                    .invoke(slot::started)
                    .chain(ignored -> turn.get())
                    .onTermination().invoke(slot::finished);
        });
    }

    /** Streams a turn once every earlier turn of its session has finished; the slot is held until the stream ends. */
    public <T> Multi<T> stream(SessionKey session, Supplier<Multi<T>> turn) {
        return Multi.createFrom().deferred(() -> {
            Slot slot = enqueue(session);
            return Uni.createFrom().completionStage(slot.gate())
                    .invoke(slot::started)
                    .onItem().transformToMulti(ignored -> turn.get())
                    .onTermination().invoke(slot::finished);
        });
    }

    /** Sessions with a turn running or queued (for tests and diagnostics). */
    int busySessions() {
        return tails.size();
    }

    private Slot enqueue(SessionKey session) {
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> previous = tails.put(session, mine);
        return new Slot(session, mine, previous != null ? previous : CompletableFuture.completedFuture(null));
    }

    private final class Slot {
        private final SessionKey session;
        private final CompletableFuture<Void> mine;
        private final CompletableFuture<Void> previous;
        private final AtomicBoolean running = new AtomicBoolean();

        Slot(SessionKey session, CompletableFuture<Void> mine, CompletableFuture<Void> previous) {
            this.session = session;
            this.mine = mine;
            this.previous = previous;
        }

        // A copy: cancelling a waiting turn cancels the stage it waits on, which must not be the earlier turn's own.
        CompletableFuture<Void> gate() {
            return previous.copy();
        }

        void started() {
            running.set(true);
        }

        void finished() {
            // A turn cancelled while still waiting must not let its successor overtake the turn it waited for.
            if (running.get()) {
                release();
            } else {
                previous.whenComplete((ignored, failure) -> release());
            }
        }

        private void release() {
            tails.remove(session, mine);
            mine.complete(null);
        }
    }
}
