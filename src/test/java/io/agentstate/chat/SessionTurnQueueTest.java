package io.agentstate.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import io.agentstate.ledger.SessionKey;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.helpers.test.UniAssertSubscriber;
import io.smallrye.mutiny.subscription.Cancellable;
import io.smallrye.mutiny.subscription.UniEmitter;

/** The per-session turn queue without Quarkus: order, independence of sessions, no entry left behind. */
class SessionTurnQueueTest {

    private final SessionTurnQueue queue = new SessionTurnQueue();
    private final SessionKey one = new SessionKey("t", "one");
    private final SessionKey other = new SessionKey("t", "other");

    @Test
    void shouldRunTheTurnsOfOneSessionOneAfterTheOtherAndForgetTheSessionWhenIdle() {
        List<String> log = new CopyOnWriteArrayList<>();
        List<UniEmitter<? super String>> running = new CopyOnWriteArrayList<>();
        List<UniAssertSubscriber<String>> turns = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String name = "turn-" + i;
            turns.add(queue.run(one, () -> Uni.createFrom().<String> emitter(e -> {
                log.add("start " + name);
                running.add(e);
            })).subscribe().withSubscriber(UniAssertSubscriber.create()));
        }
        // only the first runs; the others wait without a thread
        assertThat(log).containsExactly("start turn-0");
        running.get(0).complete("a");
        assertThat(log).containsExactly("start turn-0", "start turn-1");
        running.get(1).fail(new IllegalStateException("model failed"));
        assertThat(log).containsExactly("start turn-0", "start turn-1", "start turn-2");
        running.get(2).complete("c");
        turns.get(0).assertItem("a");
        turns.get(1).assertFailedWith(IllegalStateException.class, "model failed");
        turns.get(2).assertItem("c");
        assertThat(queue.busySessions()).isZero();
    }

    @Test
    void shouldNotMakeOneSessionWaitForAnother() {
        List<UniEmitter<? super String>> running = new CopyOnWriteArrayList<>();
        queue.run(one, () -> Uni.createFrom().<String> emitter(running::add)).subscribe()
                .withSubscriber(UniAssertSubscriber.create());
        UniAssertSubscriber<String> second = queue.run(other, () -> Uni.createFrom().item("free")).subscribe()
                .withSubscriber(UniAssertSubscriber.create());
        second.assertItem("free");
        assertThat(queue.busySessions()).isEqualTo(1);
        running.get(0).complete("done");
        assertThat(queue.busySessions()).isZero();
    }

    @Test
    void shouldKeepTheOrderWhenAWaitingTurnIsCancelled() {
        List<String> log = new CopyOnWriteArrayList<>();
        List<UniEmitter<? super String>> running = new CopyOnWriteArrayList<>();
        queue.run(one, () -> Uni.createFrom().<String> emitter(e -> {
            log.add("first");
            running.add(e);
        })).subscribe().withSubscriber(UniAssertSubscriber.create());
        Cancellable waiting = queue.run(one, () -> Uni.createFrom().item(() -> {
            log.add("cancelled one ran");
            return "x";
        })).subscribe().with(item -> {
        });
        UniAssertSubscriber<String> third = queue.run(one, () -> Uni.createFrom().item(() -> {
            log.add("third");
            return "z";
        })).subscribe().withSubscriber(UniAssertSubscriber.create());
        waiting.cancel();
        // the cancelled turn gave up its place, but the third still waits for the first
        assertThat(log).containsExactly("first");
        running.get(0).complete("a");
        third.awaitItem(Duration.ofSeconds(5)).assertItem("z");
        assertThat(log).containsExactly("first", "third");
        assertThat(queue.busySessions()).isZero();
    }
}
