package io.agentstate.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.smallrye.mutiny.Uni;

class SingleFlightTest {

    private final ExecutorService threads = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    @Test
    void shouldShareOneRunBetweenCallersThatArriveWhileItRuns() {
        SingleFlight<String, Integer> flight = new SingleFlight<>();
        AtomicInteger runs = new AtomicInteger();
        CompletableFuture<Integer> gate = new CompletableFuture<>();
        Uni<Integer> first = flight.run("k", () -> {
            runs.incrementAndGet();
            return Uni.createFrom().completionStage(gate);
        });
        CompletableFuture<Integer> a = first.subscribeAsCompletionStage();
        CompletableFuture<Integer> b = flight.run("k", () -> {
            runs.incrementAndGet();
            return Uni.createFrom().item(-1);
        }).subscribeAsCompletionStage();
        assertThat(flight.size()).isEqualTo(1);
        gate.complete(7);
        assertThat(a.join()).isEqualTo(7);
        assertThat(b.join()).isEqualTo(7);
        assertThat(runs).hasValue(1);
        assertThat(flight.size()).isZero();
        // the run ended: the next caller starts another one
        assertThat(flight.run("k", () -> Uni.createFrom().item(8)).await().atMost(Duration.ofSeconds(5))).isEqualTo(8);
    }

    @Test
    void shouldLeaveTheRunToOthersWhenOneCallerCancels() {
        SingleFlight<String, Integer> flight = new SingleFlight<>();
        CompletableFuture<Integer> gate = new CompletableFuture<>();
        CompletableFuture<Integer> leaving = flight.run("k", () -> Uni.createFrom().completionStage(gate))
                .subscribeAsCompletionStage();
        CompletableFuture<Integer> staying = flight.run("k", () -> Uni.createFrom().item(-1))
                .subscribeAsCompletionStage();
        leaving.cancel(false);
        gate.complete(3);
        assertThat(staying.join()).isEqualTo(3);
    }

    @Test
    void shouldShareAFailureAndStartAfreshAfterIt() {
        SingleFlight<String, Integer> flight = new SingleFlight<>();
        CompletableFuture<Integer> failed = flight
                .run("k", () -> Uni.createFrom().failure(new IllegalStateException("down")))
                .subscribeAsCompletionStage();
        assertThat(failed).isCompletedExceptionally();
        assertThat(flight.size()).isZero();
        assertThat(flight.run("k", () -> {
            throw new IllegalArgumentException("refused");
        }).onFailure().recoverWithItem(f -> f.getMessage().length()).await().atMost(Duration.ofSeconds(5)))
                .isEqualTo("refused".length());
        assertThat(flight.size()).isZero();
    }

    /**
     * The shape that stopped the ledger: a caller joins from one thread while the run completes on another, and the
     * caller's result goes through {@code transformToUni} (as SmallRye Reactive Messaging does with a method's Uni).
     * An item delivered before the subscription makes that operator call its mapper a second time with the item and
     * fail with "The mapper returned null"; every join must instead see the item exactly once.
     */
    @Test
    void shouldHandEveryJoiningCallerItsItemAfterItsSubscription() throws Exception {
        SingleFlight<Integer, String> flight = new SingleFlight<>();
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger answered = new AtomicInteger();
        int rounds = 50_000;
        for (int round = 0; round < rounds; round++) {
            CompletableFuture<String> gate = new CompletableFuture<>();
            Integer key = round;
            flight.run(key, () -> Uni.createFrom().completionStage(gate)).subscribe().with(item -> {
            });
            CountDownLatch started = new CountDownLatch(2);
            threads.execute(() -> {
                started.countDown();
                gate.complete("done");
            });
            threads.execute(() -> {
                started.countDown();
                Uni.createFrom().item(flight.run(key, () -> Uni.createFrom().item("second run")))
                        .onItem().transformToUni(uni -> uni)
                        .subscribe().with(item -> answered.incrementAndGet(), failures::add);
            });
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        }
        threads.shutdown();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(failures).isEmpty();
        assertThat(answered).hasValue(rounds);
    }
}
