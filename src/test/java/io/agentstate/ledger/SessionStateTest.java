package io.agentstate.ledger;

import static io.agentstate.testsupport.Events.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Event;
import io.agentstate.testsupport.Events;

/** The fold, event by event: each test feeds events to {@link SessionState#apply} and reads the state back. */
class SessionStateTest {

    private final Events s1 = Events.session("s1");

    /** Folds events with versions 1..n and their archived sizes, as the ledger does. */
    private static SessionState fold(Event... events) {
        return fold(SessionState.empty(Events.TENANT, "s1"), events);
    }

    private static SessionState fold(SessionState state, Event... events) {
        for (Event event : events) {
            state = state.apply(event, state.version() + 1, Events.size(event));
        }
        return state;
    }

    private static JsonNode withoutVersionTimeAndBytes(SessionState state) {
        ObjectNode tree = ViewCodec.json().valueToTree(state);
        tree.remove(List.of("version", "updatedAt", "bytes"));
        return tree;
    }

    @Test
    void shouldStartAForkAsTheStateItCopiesAndEndNothingOfIt() {
        Events src = Events.session("src");
        SessionState source = fold(SessionState.empty(Events.TENANT, "src"), src.started("u1", "{\"channel\":\"web\"}"),
                src.message("user", "hi"), src.message("assistant", "hello"), src.summary(2, "greeting"),
                src.toolRequested("c1", "geo"), src.patch("shared", "{\"city\":\"Oslo\"}"), src.ended("done"));
        ObjectNode carried = ViewCodec.json().valueToTree(source);
        ObjectNode data = ViewCodec.json().createObjectNode().put("sourceSessionId", "src").put("sourceVersion", 7);
        data.set("state", carried);

        SessionState fork = SessionState.empty(Events.TENANT, "s1")
                .apply(s1.event("agentstate.session.forked", data.toString()), 8, 100);

        assertThat(fork).extracting(SessionState::sessionId, SessionState::version, SessionState::status,
                SessionState::endedReason, SessionState::bytes).containsExactly("s1", 8L, SessionStatus.ACTIVE, null, 100L);
        assertThat(fork).extracting(SessionState::userId, SessionState::metadata, SessionState::summary,
                SessionState::messages, SessionState::messageCount, SessionState::toolCalls, SessionState::scopes)
                .containsExactly(source.userId(), source.metadata(), source.summary(), source.messages(),
                        source.messageCount(), source.toolCalls(), source.scopes());
        // a later summary in the fork covers the copied messages by their own versions
        SessionState summarised = fold(fork, s1.message("user", "more"), s1.summary(3, "all of it"));
        assertThat(summarised.messages()).extracting(SessionState.Message::version, SessionState.Message::content)
                .containsExactly(tuple(9L, "more"));
    }

    @Test
    void shouldStartEmptyWithVersionZero() {
        SessionState state = SessionState.empty("acme", "s1");

        assertThat(state.status()).isEqualTo(SessionStatus.NEW);
        assertThat(state.version()).isZero();
        assertThat(state.messages()).isEmpty();
        assertThat(state.toolCalls()).isEmpty();
        assertThat(state.scopes()).isEmpty();
        assertThat(state.createdAt()).isNull();
        assertThat(state.bytes()).isZero();
    }

    @Test
    void shouldOpenSessionWithUserAndMetadataWhenStarted() {
        SessionState state = fold(s1.started("u1", "{\"channel\":\"web\",\"tags\":[\"a\"]}"));

        assertThat(state.status()).isEqualTo(SessionStatus.ACTIVE);
        assertThat(state.version()).isEqualTo(1);
        assertThat(state.userId()).isEqualTo("u1");
        assertThat(state.metadata()).isEqualTo(json("{\"channel\":\"web\",\"tags\":[\"a\"]}"));
        assertThat(state.tenant()).isEqualTo("acme");
        assertThat(state.sessionId()).isEqualTo("s1");
    }

    @Test
    void shouldBecomeActiveWhenFirstEventIsNotStarted() {
        SessionState state = fold(s1.message("user", "hi"));

        assertThat(state.status()).isEqualTo(SessionStatus.ACTIVE);
        assertThat(state.userId()).isNull();
        assertThat(state.version()).isEqualTo(1);
    }

    @Test
    void shouldAppendMessagesWithTheirVersions() {
        Event hi = s1.id("m1").source("agent://user-proxy").message("user", "hi");
        Event hello = s1.id("m2").message("assistant", "hello");
        Event result = s1.id("m3").toolMessage("c1", "42");

        SessionState state = fold(s1.started("u1"), hi, hello, result);

        assertThat(state.version()).isEqualTo(4);
        assertThat(state.messageCount()).isEqualTo(3);
        assertThat(state.messages())
                .extracting(SessionState.Message::version, SessionState.Message::eventId, SessionState.Message::role,
                        SessionState.Message::content, SessionState.Message::toolCallId, SessionState.Message::source)
                .containsExactly(
                        tuple(2L, "m1", "user", "hi", null, "agent://user-proxy"),
                        tuple(3L, "m2", "assistant", "hello", null, Events.SOURCE),
                        tuple(4L, "m3", "tool", "42", "c1", Events.SOURCE));
        assertThat(state.messages().get(0).time()).isEqualTo(hi.time());
    }

    @Test
    void shouldOpenToolCallWhenRequested() {
        SessionState state = fold(s1.started("u1"), s1.toolRequested("c1", "search", "{\"q\":\"kafka\"}"));

        SessionState.ToolCall call = state.toolCalls().get("c1");
        assertThat(call.status()).isEqualTo(ToolCallStatus.REQUESTED);
        assertThat(call.tool()).isEqualTo("search");
        assertThat(call.arguments()).isEqualTo(json("{\"q\":\"kafka\"}"));
        assertThat(call.requestedVersion()).isEqualTo(2);
        assertThat(call.completedVersion()).isNull();
        assertThat(call.output()).isNull();
        assertThat(call.requestedBy()).isEqualTo(Events.SOURCE);
    }

    @Test
    void shouldCloseToolCallWithOutputWhenCompleted() {
        SessionState state = fold(s1.started("u1"), s1.toolRequested("c1", "search"),
                s1.source("agent://searcher").toolCompleted("c1", "{\"hits\":[1,2]}"));

        SessionState.ToolCall call = state.toolCalls().get("c1");
        assertThat(call.status()).isEqualTo(ToolCallStatus.COMPLETED);
        assertThat(call.output()).isEqualTo(json("{\"hits\":[1,2]}"));
        assertThat(call.error()).isNull();
        assertThat(call.requestedVersion()).isEqualTo(2);
        assertThat(call.completedVersion()).isEqualTo(3);
        assertThat(call.tool()).isEqualTo("search");
        assertThat(call.requestedBy()).isEqualTo(Events.SOURCE);
        assertThat(call.completedBy()).isEqualTo("agent://searcher");
    }

    @Test
    void shouldMarkToolCallFailedWhenCompletedWithError() {
        SessionState state = fold(s1.toolRequested("c1", "search"), s1.toolFailed("c1", "timeout"));

        SessionState.ToolCall call = state.toolCalls().get("c1");
        assertThat(call.status()).isEqualTo(ToolCallStatus.FAILED);
        assertThat(call.error()).isEqualTo("timeout");
        assertThat(call.output()).isNull();
        assertThat(call.completedVersion()).isEqualTo(2);
    }

    @Test
    void shouldKeepToolCallsInRequestOrder() {
        SessionState state = fold(s1.toolRequested("zeta", "a"), s1.toolRequested("alpha", "b"),
                s1.toolCompleted("zeta", "1"), s1.toolRequested("mid", "c"));

        assertThat(state.toolCalls().keySet()).containsExactly("zeta", "alpha", "mid");
        assertThat(state.toolCalls().values()).extracting(SessionState.ToolCall::status)
                .containsExactly(ToolCallStatus.COMPLETED, ToolCallStatus.REQUESTED, ToolCallStatus.REQUESTED);
    }

    @Test
    void shouldMergePatchesIntoScopeRecursively() {
        SessionState state = fold(
                s1.patch("shared", "{\"plan\":{\"step\":1,\"owner\":\"planner\"},\"done\":false}"),
                s1.patch("shared", "{\"plan\":{\"step\":2},\"notes\":[\"a\"]}"));

        assertThat(state.scopes()).containsOnlyKeys("shared");
        assertThat(state.scopes().get("shared"))
                .isEqualTo(json("{\"plan\":{\"step\":2,\"owner\":\"planner\"},\"done\":false,\"notes\":[\"a\"]}"));
    }

    @Test
    void shouldRemoveMemberWhenPatchSetsNull() {
        SessionState state = fold(s1.patch("shared", "{\"a\":1,\"b\":{\"c\":2,\"d\":3}}"),
                s1.patch("shared", "{\"a\":null,\"b\":{\"c\":null}}"));

        assertThat(state.scopes().get("shared")).isEqualTo(json("{\"b\":{\"d\":3}}"));
    }

    @Test
    void shouldKeepScopesApartPerAgent() {
        SessionState state = fold(s1.patch("shared", "{\"a\":1}"), s1.patch("agent:planner", "{\"a\":2}"),
                s1.patch("agent:coder", "{\"b\":3}"));

        assertThat(state.scopes()).containsOnlyKeys("shared", "agent:planner", "agent:coder");
        assertThat(state.scopes().get("shared")).isEqualTo(json("{\"a\":1}"));
        assertThat(state.scopes().get("agent:planner")).isEqualTo(json("{\"a\":2}"));
        assertThat(state.scopes().get("agent:coder")).isEqualTo(json("{\"b\":3}"));
        assertThat(state.version()).isEqualTo(3);
    }

    @Test
    void shouldDropSummarisedMessagesAndKeepCounts() {
        SessionState state = fold(s1.started("u1"), s1.message("user", "one"), s1.message("assistant", "two"),
                s1.message("user", "three"), s1.summary(3, "one and two"));

        assertThat(state.version()).isEqualTo(5);
        assertThat(state.messageCount()).isEqualTo(3);
        assertThat(state.messages()).extracting(SessionState.Message::version, SessionState.Message::content)
                .containsExactly(tuple(4L, "three"));
        assertThat(state.summary()).isEqualTo(new SessionState.Summary(5, 3, "one and two", "test-model", null));
    }

    @Test
    void shouldReplaceSummaryAndKeepLaterMessagesWhenSummarisedAgain() {
        SessionState state = fold(s1.message("user", "one"), s1.summary(1, "first"), s1.message("user", "two"),
                s1.message("user", "three"), s1.summary(3, "second"), s1.message("assistant", "four"));

        assertThat(state.summary().throughVersion()).isEqualTo(3);
        assertThat(state.summary().version()).isEqualTo(5);
        assertThat(state.summary().text()).isEqualTo("second");
        assertThat(state.messages()).extracting(SessionState.Message::version).containsExactly(4L, 6L);
        assertThat(state.messageCount()).isEqualTo(4);
    }

    @Test
    void shouldEndSessionWithReason() {
        SessionState state = fold(s1.started("u1"), s1.message("user", "bye"), s1.ended("done"));

        assertThat(state.status()).isEqualTo(SessionStatus.ENDED);
        assertThat(state.endedReason()).isEqualTo("done");
        assertThat(state.version()).isEqualTo(3);
        assertThat(state.messageCount()).isEqualTo(1);
    }

    @Test
    void shouldEndSessionWithoutReason() {
        SessionState state = fold(s1.ended(null));

        assertThat(state.status()).isEqualTo(SessionStatus.ENDED);
        assertThat(state.endedReason()).isNull();
    }

    @Test
    void shouldOnlyAdvanceVersionTimeAndBytesWhenCustomOrMemory() {
        SessionState before = fold(s1.started("u1"), s1.message("user", "hi"), s1.patch("shared", "{\"a\":1}"),
                s1.toolRequested("c1", "search"));
        Event custom = s1.time("2025-03-01T10:00:00Z").custom("com.example.step");
        Event memory = s1.time("2025-03-01T11:00:00Z").memory("u1", "likes tea");

        SessionState afterCustom = fold(before, custom);
        SessionState afterMemory = fold(afterCustom, memory);

        assertThat(afterCustom.version()).isEqualTo(5);
        assertThat(afterCustom.updatedAt()).isEqualTo(Instant.parse("2025-03-01T10:00:00Z"));
        assertThat(afterCustom.bytes()).isEqualTo(before.bytes() + Events.size(custom));
        assertThat(afterMemory.version()).isEqualTo(6);
        assertThat(afterMemory.updatedAt()).isEqualTo(Instant.parse("2025-03-01T11:00:00Z"));
        assertThat(afterMemory.bytes()).isEqualTo(afterCustom.bytes() + Events.size(memory));
        assertThat(withoutVersionTimeAndBytes(afterMemory)).isEqualTo(withoutVersionTimeAndBytes(before));
    }

    @Test
    void shouldTakeCreatedAndUpdatedFromEventTimes() {
        SessionState state = fold(s1.time("2025-02-01T08:00:00Z").started("u1"),
                s1.time("2025-02-01T09:30:00Z").message("user", "hi"),
                // an agent's clock may run behind: the fold takes the event time as given, never a clock
                s1.time("2025-02-01T09:00:00Z").message("assistant", "hello"));

        assertThat(state.createdAt()).isEqualTo(Instant.parse("2025-02-01T08:00:00Z"));
        assertThat(state.updatedAt()).isEqualTo(Instant.parse("2025-02-01T09:00:00Z"));
    }

    @Test
    void shouldSumArchivedSizesInBytes() {
        SessionState state = SessionState.empty("acme", "s1")
                .apply(s1.message("user", "a"), 1, 100)
                .apply(s1.custom("com.example.step"), 2, 23);

        assertThat(state.bytes()).isEqualTo(123);
    }

    @Test
    void shouldTakeTheVersionItIsGiven() {
        SessionState state = SessionState.empty("acme", "s1").apply(s1.message("user", "a"), 41, 10);

        assertThat(state.version()).isEqualTo(41);
        assertThat(state.messages().get(0).version()).isEqualTo(41);
    }

    @Test
    void shouldLeavePreviousStateUnchangedWhenApplying() {
        SessionState before = fold(s1.started("u1", "{\"k\":\"v\"}"), s1.message("user", "one"),
                s1.toolRequested("c1", "search"), s1.patch("shared", "{\"a\":{\"b\":1}}"));
        JsonNode beforeJson = ViewCodec.json().valueToTree(before);

        SessionState after = fold(before, s1.message("assistant", "two"), s1.toolCompleted("c1", "\"ok\""),
                s1.patch("shared", "{\"a\":{\"b\":null,\"c\":2}}"), s1.patch("agent:x", "{\"y\":1}"),
                s1.summary(2, "one"), s1.ended("done"));

        assertThat(ViewCodec.json().<JsonNode> valueToTree(before)).isEqualTo(beforeJson);
        assertThat(before.version()).isEqualTo(4);
        assertThat(before.messages()).hasSize(1);
        assertThat(before.toolCalls().get("c1").status()).isEqualTo(ToolCallStatus.REQUESTED);
        assertThat(before.scopes().get("shared")).isEqualTo(json("{\"a\":{\"b\":1}}"));
        assertThat(before.status()).isEqualTo(SessionStatus.ACTIVE);
        assertThat(after.scopes().get("shared")).isEqualTo(json("{\"a\":{\"c\":2}}"));
        assertThat(after.status()).isEqualTo(SessionStatus.ENDED);
    }

    @Test
    void shouldGiveEqualStatesWhenFoldingTheSameEventsTwice() {
        Event[] events = { s1.started("u1"), s1.message("user", "hi"), s1.toolRequested("c1", "t"),
                s1.toolCompleted("c1", "[1]"), s1.patch("shared", "{\"a\":1}"), s1.summary(2, "hi") };

        assertThat(fold(events)).isEqualTo(fold(events));
    }

    @Test
    void shouldApplyArchivedEventsInOrder() {
        Event one = s1.message("user", "one");
        Event two = s1.message("user", "two");

        SessionState state = SessionState.empty("acme", "s1")
                .applyAll(List.of(new SessionState.Archived(one, 1, 10), new SessionState.Archived(two, 2, 20)));

        assertThat(state).isEqualTo(SessionState.empty("acme", "s1").apply(one, 1, 10).apply(two, 2, 20));
        assertThat(state.bytes()).isEqualTo(30);
    }
}
