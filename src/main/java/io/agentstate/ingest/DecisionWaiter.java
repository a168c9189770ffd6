package io.agentstate.ingest;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.agentstate.ledger.Decision;
import io.agentstate.ledger.ViewCodec;
import io.agentstate.platform.RedisKeys;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;

/**
 * Lets a REST writer wait for the ledger's decision: the ledger announces decisions on a Redis channel after its
 * PostgreSQL commit (I5); each instance listens once and completes its local waiters.
 */
@ApplicationScoped
public class DecisionWaiter {

    private static final Logger LOG = Logger.getLogger(DecisionWaiter.class);

    private record Key(String tenant, String eventId) {
    }

    private final ReactiveRedisDataSource redis;
    private final Map<Key, CompletableFuture<Decision>> waiting = new ConcurrentHashMap<>();

    DecisionWaiter(ReactiveRedisDataSource redis) {
        this.redis = redis;
    }

    void listen(@Observes StartupEvent event) {
        redis.pubsub(String.class).subscribe(RedisKeys.DECISIONS_CHANNEL)
                .onFailure().invoke(failure -> LOG.warnf("Decision channel failed, resubscribing: %s", failure.getMessage()))
                .onFailure().retry().withBackOff(Duration.ofMillis(100), Duration.ofSeconds(5)).indefinitely()
                .subscribe().with(this::onDecision);
    }

    private void onDecision(String json) {
        Decision decision;
        try {
            decision = ViewCodec.json().readValue(json, Decision.class);
        } catch (IOException e) {
            LOG.warnf("Unreadable decision announcement ignored: %s", e.getMessage());
            return;
        }
        CompletableFuture<Decision> waiter = waiting.remove(new Key(decision.tenant(), decision.eventIds().get(0)));
        if (waiter != null) {
            waiter.complete(decision);
        }
    }

    /** Registers interest before publishing, so a fast decision is not missed. */
    public Registration register(String tenant, String eventId) {
        Key key = new Key(tenant, eventId);
        CompletableFuture<Decision> future = waiting.computeIfAbsent(key, k -> new CompletableFuture<>());
        return new Registration(key, future);
    }

    /** A registered wait for one decision. */
    public final class Registration {
        private final Key key;
        private final CompletableFuture<Decision> future;

        private Registration(Key key, CompletableFuture<Decision> future) {
            this.key = key;
            this.future = future;
        }

        /** The decision, or empty if it did not come within the budget. */
        public Uni<Optional<Decision>> await(Duration budget) {
            return Uni.createFrom().completionStage(future)
                    .map(Optional::of)
                    .ifNoItem().after(budget).recoverWithItem(Optional.empty())
                    .eventually(this::cancel);
        }

        /** Stops waiting. */
        public void cancel() {
            waiting.remove(key, future);
        }
    }
}
