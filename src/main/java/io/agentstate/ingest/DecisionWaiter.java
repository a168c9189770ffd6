package io.agentstate.ingest;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionViewStore;
import io.agentstate.platform.LogSafe;
import io.agentstate.platform.RedisKeys;
import io.agentstate.platform.RedisSubscription;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;

/**
 * Lets a REST writer wait for the ledger's decision: the ledger announces decisions on a Redis channel after its
 * PostgreSQL commit (I5); each instance listens once and completes its local waiters, and hears its own ledger's
 * decisions in process, before Redis repeats them. The announcement is only a
 * shortcut: a writer that hears nothing looks the decision up itself, so a lost announcement costs a lookup.
 */
@ApplicationScoped
public class DecisionWaiter {

    private static final Logger LOG = Logger.getLogger(DecisionWaiter.class);

    /** The first lookup when no announcement came; later ones double the interval. */
    static final Duration FIRST_LOOKUP = Duration.ofMillis(200);

    // Writers of one event id with different bodies (or sessions) are different requests under a reused key: the
    // fingerprint keeps each from being told the other's decision.
    private record Key(String tenant, String eventId, String fingerprint) {
    }

    // the writer's session (a repeat of an id decided in another session is told so, not "another body") and the
    // event loop its request runs on, where its answer is handed over (never on the ledger's or the subscriber's)
    private record Waiting(String sessionId, CompletableFuture<Decision> future, Context context) {
        void complete(Decision decision) {
            hand(() -> future.complete(decision));
        }

        void fail(RuntimeException failure) {
            hand(() -> future.completeExceptionally(failure));
        }

        private void hand(Runnable completion) {
            if (context == null) {
                completion.run();
            } else {
                context.runOnContext(ignored -> completion.run());
            }
        }
    }

    private final RedisSubscription subscription;
    private final Map<Key, Waiting> waiting = new ConcurrentHashMap<>();

    DecisionWaiter(Redis redis, Vertx vertx, SessionViewStore views) {
        this.subscription = RedisSubscription.channels("decisions", redis, vertx, List.of(RedisKeys.DECISIONS_CHANNEL),
                (channel, json) -> onDecision(json), () -> {
                });
        // decisions of this instance's own ledger come straight from it; Redis then repeats them, to no one
        views.hearLocally(this::onAnnouncement);
    }

    void listen(@Observes StartupEvent event) {
        subscription.start();
    }

    void stop(@Observes ShutdownEvent event) {
        subscription.stop();
    }

    /** Whether the decision channel is subscribed right now (tests wait for it after killing the connection). */
    public boolean listening() {
        return subscription.subscribed();
    }

    private void onDecision(String json) {
        SessionViewStore.Announcement announcement;
        try {
            announcement = SessionViewStore.announcement(json);
        } catch (RuntimeException e) {
            LOG.warnf("Unreadable decision announcement ignored: %s", LogSafe.failure(e));
            return;
        }
        onAnnouncement(announcement);
    }

    private void onAnnouncement(SessionViewStore.Announcement announcement) {
        Decision decision = announcement.decision();
        String eventId = decision.eventIds().get(0);
        if (announcement.fingerprint() == null) {
            // from a replica that predates fingerprints (a rolling upgrade): every waiter on the id, as it did then
            waiting.keySet().removeIf(key -> {
                if (key.tenant().equals(decision.tenant()) && key.eventId().equals(eventId)) {
                    Waiting waiter = waiting.get(key);
                    if (waiter != null) {
                        waiter.complete(decision);
                    }
                    return true;
                }
                return false;
            });
            return;
        }
        Waiting waiter = waiting.remove(new Key(decision.tenant(), eventId, announcement.fingerprint()));
        if (waiter != null) {
            if (announcement.sameRequest()) {
                waiter.complete(decision);
            } else {
                waiter.fail(waiter.sessionId().equals(decision.sessionId())
                        ? IngestService.keyReused(eventId)
                        : IngestService.keyReusedOnAnotherSession(eventId));
            }
        }
    }

    /**
     * Registers interest before publishing, so a fast decision is not missed; {@code fingerprint} is the record's
     * ({@link io.agentstate.event.EventBatch#fingerprint()}).
     */
    public Registration register(String tenant, String sessionId, String eventId, String fingerprint) {
        Key key = new Key(tenant, eventId, fingerprint);
        Waiting entry = waiting.computeIfAbsent(key, k -> new Waiting(sessionId, new CompletableFuture<>(),
                io.vertx.core.Vertx.currentContext()));
        return new Registration(key, entry);
    }

    /** A registered wait for one decision. */
    public final class Registration {
        private final Key key;
        private final Waiting entry;

        private Registration(Key key, Waiting entry) {
            this.key = key;
            this.entry = entry;
        }

        /**
         * The decision, from its announcement or else from {@code lookup}, which runs when no announcement came within
         * a short interval and again at doubling intervals until the budget is spent; empty if neither had it.
         */
        public Uni<Optional<Decision>> await(Duration budget, Supplier<Uni<Optional<Decision>>> lookup) {
            long deadline = System.nanoTime() + budget.toNanos();
            return attempt(deadline, FIRST_LOOKUP, lookup)
                    .eventually(this::cancel);
        }

        private Uni<Optional<Decision>> attempt(long deadline, Duration interval,
                Supplier<Uni<Optional<Decision>>> lookup) {
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            Duration wait = interval.compareTo(left) < 0 ? interval : left;
            return announced(wait)
                    .chain(decision -> decision.isPresent() ? Uni.createFrom().item(decision) : lookup.get())
                    .chain(decision -> decision.isPresent() || System.nanoTime() >= deadline
                            ? Uni.createFrom().item(decision)
                            : attempt(deadline, interval.multipliedBy(2), lookup));
        }

        // a dependent stage per attempt, so timing out one attempt never cancels the future the channel completes
        private Uni<Optional<Decision>> announced(Duration wait) {
            CompletableFuture<Decision> future = entry.future();
            if ((wait.isNegative() || wait.isZero()) && !future.isDone()) {
                return Uni.createFrom().item(Optional.empty());
            }
            Uni<Optional<Decision>> heard = Uni.createFrom().completionStage(() -> future.thenApply(Function.identity()))
                    // a refusal the channel announced (another request's key) fails the wait with its own problem
                    .onFailure(CompletionException.class).transform(Throwable::getCause)
                    .map(Optional::of);
            return future.isDone() ? heard : heard.ifNoItem().after(wait).recoverWithItem(Optional.empty());
        }

        /** Stops waiting. */
        public void cancel() {
            waiting.remove(key, entry);
        }
    }
}
