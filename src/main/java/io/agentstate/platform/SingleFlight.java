package io.agentstate.platform;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import io.smallrye.mutiny.Uni;

/**
 * One run of some work per key at a time: callers that arrive while it runs share its outcome instead of starting it
 * again; the next caller after it ends starts a new run.
 * <p>
 * Built on a {@link CompletableFuture} rather than {@code Uni.memoize()}: Mutiny 3.1's memoize hands a subscriber
 * that joins while the upstream is completing on another thread its item before its subscription, and an operator
 * downstream that relies on the order then fails ({@code NullPointerException: The mapper returned null}; it stopped
 * the ledger's channel once). Each caller gets its own copy of the future, so one caller cancelling leaves the others
 * and the run untouched.
 */
public final class SingleFlight<K, V> {

    private final ConcurrentHashMap<K, CompletableFuture<V>> running = new ConcurrentHashMap<>();

    /** The outcome of the run under way for {@code key}, or of a new run of {@code work}. */
    public Uni<V> run(K key, Supplier<Uni<V>> work) {
        return Uni.createFrom().deferred(() -> {
            CompletableFuture<V> mine = new CompletableFuture<>();
            CompletableFuture<V> shared = running.putIfAbsent(key, mine);
            if (shared == null) {
                shared = mine;
                start(key, mine, work);
            }
            return Uni.createFrom().completionStage(shared.copy());
        });
    }

    /** How many runs are under way (for tests and gauges). */
    public int size() {
        return running.size();
    }

    // Outside the map's lock: work that completes synchronously removes its own entry.
    private void start(K key, CompletableFuture<V> flight, Supplier<Uni<V>> work) {
        Uni<V> uni;
        try {
            uni = work.get();
        } catch (RuntimeException e) {
            running.remove(key, flight);
            flight.completeExceptionally(e);
            return;
        }
        uni.subscribe().with(item -> {
            running.remove(key, flight);
            flight.complete(item);
        }, failure -> {
            running.remove(key, flight);
            flight.completeExceptionally(failure);
        });
    }
}
