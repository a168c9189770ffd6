package io.agentstate.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.agentstate.event.Event;
import io.agentstate.platform.RedisKeys;
import io.agentstate.testsupport.Events;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The view script's floor on the real Redis (I6): a session id's states are ordered by (generation, version), and
 * whatever order the ledger's publishes and the readers' installs arrive in, a view only ever moves forward. The
 * publishes are written as the ledger would have sent them; the late ones are those of a paused former owner.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class ViewFloorTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Inject
    SessionViewStore views;

    @Inject
    RedisDataSource redis;

    private final SessionKey session = new SessionKey("default", "floor-" + UUID.randomUUID());

    @Test
    void shouldNeverLetALateWriteOfAnErasedLifeBringItBack() {
        publish(apply(0, 0, 3, "old life"));
        assertThat(messages()).containsExactly("old life 1", "old life 2", "old life 3");

        publish(erasure(1));
        assertThat(view()).isEmpty();
        assertThat(floor()).isEqualTo("1:0");

        // a paused owner wakes up and publishes the old life's first batch: the erased content must not come back
        publish(apply(0, 0, 3, "old life"));
        assertThat(view()).isEmpty();

        publish(apply(1, 0, 2, "new life"));
        assertThat(messages()).containsExactly("new life 1", "new life 2");
        assertThat(floor()).isEqualTo("1:2");

        // the same zombie's next batch lines up with the new life's version: it must not be stitched onto it
        publish(apply(0, 2, 4, "old life"));
        assertThat(messages()).containsExactly("new life 1", "new life 2");
        // nor a rebuild that read the old life before the erasure, however far it got
        assertThat(install(0, 9, "old life")).isFalse();
        // nor a retried publish of the erasure itself
        publish(erasure(1));
        assertThat(messages()).containsExactly("new life 1", "new life 2");

        publish(apply(1, 2, 3, "new life"));
        assertThat(messages()).containsExactly("new life 1", "new life 2", "new life 3");
    }

    @Test
    void shouldRefuseAnInstallBelowWhatTheLedgerCommitted() {
        publish(apply(0, 0, 4, "m"));
        redis.key().del(RedisKeys.view(session.tenant(), session.sessionId()));

        // a reader folded version 2 before the ledger committed 4: its install is refused, one at 4 is taken
        assertThat(install(0, 2, "m")).isFalse();
        assertThat(view()).isEmpty();
        assertThat(install(0, 4, "m")).isTrue();
        assertThat(messages()).hasSize(4);

        // a view left from an earlier life is replaced by any state of a later one, never extended by it
        publish(erasure(1));
        publish(apply(1, 0, 1, "n"));
        assertThat(messages()).containsExactly("n 1");
    }

    @Test
    void shouldReadAFloorWrittenBeforeGenerationsAsTheFirstLife() {
        redis.value(String.class).set(RedisKeys.floor(session.tenant(), session.sessionId()), "5");

        publish(apply(0, 0, 3, "late"));
        assertThat(view()).isEmpty();
        publish(apply(0, 0, 6, "m"));
        assertThat(messages()).hasSize(6);
        // the first life's floor keeps the plain form, which replicas older than generations read
        assertThat(floor()).isEqualTo("6");
    }

    @Test
    void shouldNeverExtendAViewOfAnEarlierLife() {
        publish(apply(0, 0, 2, "old"));
        // the erasure's own publish was lost (Redis restarted between the two pipelines): the next life's first batch
        // still replaces the old life's view instead of being stitched onto it at a matching version
        publish(apply(1, 2, 3, "new"));
        assertThat(view()).isEmpty();
        publish(apply(0, 0, 2, "old"));
        assertThat(view()).isEmpty();

        publish(apply(0, 0, 2, "first"));
        assertThat(view()).isEmpty();
        assertThat(install(1, 3, "rebuilt")).isTrue();
        assertThat(messages()).containsExactly("rebuilt 1", "rebuilt 2", "rebuilt 3");
        assertThat(floor()).isEqualTo("1:3");
    }

    @Test
    void shouldReplaceAnOlderLifesViewWithAnInstallOfTheNext() {
        publish(apply(0, 0, 5, "old"));
        assertThat(install(1, 2, "next")).isTrue();
        assertThat(messages()).containsExactly("next 1", "next 2");
        assertThat(install(0, 7, "old")).isFalse();
        publish(apply(0, 5, 7, "old"));
        assertThat(messages()).containsExactly("next 1", "next 2");

        // with the view gone (evicted, expired), the floor alone still refuses the older life
        dropView();
        assertThat(floor()).isEqualTo("1:2");
        assertThat(install(0, 7, "old")).isFalse();
        publish(apply(0, 0, 7, "old"));
        assertThat(view()).isEmpty();
    }

    @Test
    void shouldRaiseTheFloorWithAnInstallAndKeepItWithTheView() {
        publish(apply(0, 0, 2, "m"));
        dropView();
        redis.key().del(RedisKeys.floor(session.tenant(), session.sessionId()));

        // a rebuild installs version 5 (committed meanwhile, its publish not yet arrived): the floor follows it
        assertThat(install(0, 5, "m")).isTrue();
        assertThat(floor()).isEqualTo("5");
        dropView();
        publish(apply(0, 0, 3, "late"));
        assertThat(view()).isEmpty();

        // a read refreshes the floor's time to live along with the view's
        assertThat(install(0, 5, "m")).isTrue();
        redis.key().pexpire(RedisKeys.floor(session.tenant(), session.sessionId()), 60_000);
        assertThat(view()).isPresent();
        assertThat(redis.key().pttl(RedisKeys.floor(session.tenant(), session.sessionId()))).isGreaterThan(60_000);
    }

    private void dropView() {
        redis.key().del(RedisKeys.view(session.tenant(), session.sessionId()));
    }

    private void publish(BatchDecider.Result result) {
        views.publish(result).await().atMost(WAIT);
    }

    private boolean install(long generation, long version, String text) {
        return views.install(state(version, text), generation).await().atMost(WAIT);
    }

    private Optional<SessionState> view() {
        return views.read(session).await().atMost(WAIT);
    }

    private List<String> messages() {
        return view().orElseThrow(() -> new AssertionError("no view of " + session)).messages().stream()
                .map(SessionState.Message::content).toList();
    }

    private String floor() {
        return redis.value(String.class).get(RedisKeys.floor(session.tenant(), session.sessionId()));
    }

    // The state after `version` messages "text 1" … "text n".
    private SessionState state(long version, String text) {
        Events events = Events.session(session.sessionId());
        SessionState state = SessionState.empty(session.tenant(), session.sessionId());
        for (long v = 1; v <= version; v++) {
            Event event = events.message("user", text + " " + v);
            state = state.apply(event, v, Events.size(event));
        }
        return state;
    }

    private SessionState.Message message(long version, String text) {
        return new SessionState.Message(version, "e" + version, "user", text + " " + version, null, null, "agent://t",
                Instant.parse("2026-01-01T00:00:00Z").plusSeconds(version));
    }

    // One batch of the ledger: messages from+1..to of one life, as its view update.
    private BatchDecider.Result apply(long generation, long from, long to, String text) {
        List<ViewCodec.Op> ops = new ArrayList<>();
        for (long v = from + 1; v <= to; v++) {
            ops.add(ViewCodec.message(message(v, text)));
        }
        ops.addAll(ViewCodec.headFields(new SessionHead(session.tenant(), session.sessionId(), to,
                SessionStatus.ACTIVE, null, null, null, to, 0, 0, generation)));
        return result(List.of(new BatchDecider.ViewUpdate(session, generation, from, to, ops)), Map.of());
    }

    private BatchDecider.Result erasure(long generation) {
        return result(List.of(), Map.of(session, new BatchDecider.Erasure(0, generation)));
    }

    private static BatchDecider.Result result(List<BatchDecider.ViewUpdate> updates,
            Map<SessionKey, BatchDecider.Erasure> erased) {
        return new BatchDecider.Result(List.of(), List.of(), List.of(), Map.of(), List.of(), List.of(), List.of(),
                updates, List.of(), Map.of(), List.of(), erased, Map.of());
    }
}
