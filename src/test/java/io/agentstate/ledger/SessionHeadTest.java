package io.agentstate.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.agentstate.event.Event;
import io.agentstate.event.EventData;
import io.agentstate.testsupport.Events;

/** The decision rules of {@link SessionHead}, and that its transitions agree with the fold. */
class SessionHeadTest {

    private final Events s1 = Events.session("s1");

    private static SessionHead head(long version, SessionStatus status, long summaryThrough) {
        return new SessionHead("acme", "s1", version, status, "u1", Events.T0, Events.T0, 0, summaryThrough, 0, 0);
    }

    private static final Map<String, ToolCallStatus> NO_CALLS = Map.of();

    @Test
    void shouldAcceptStartedAsFirstEvent() {
        assertThat(SessionHead.empty("acme", "s1").rejection(s1.started("u1"), NO_CALLS)).isNull();
    }

    @Test
    void shouldRejectStartedWhenSessionHasEvents() {
        assertThat(head(1, SessionStatus.ACTIVE, 0).rejection(s1.started("u1"), NO_CALLS))
                .isEqualTo("session already started");
    }

    @Test
    void shouldRejectEveryEventWhenSessionEnded() {
        SessionHead ended = head(7, SessionStatus.ENDED, 0);
        List<Event> events = List.of(s1.started("u1"), s1.message("user", "hi"), s1.toolRequested("c1", "t"),
                s1.toolCompleted("c1", "1"), s1.patch("shared", "{\"a\":1}"), s1.memory("u1", "fact"),
                s1.summary(3, "s"), s1.ended("again"), s1.custom("com.example.step"));

        for (Event event : events) {
            assertThat(ended.rejection(event, Map.of("c1", ToolCallStatus.REQUESTED)))
                    .as(event.type()).isEqualTo("session ended");
        }
    }

    @Test
    void shouldAcceptOrdinaryEventsOnActiveSession() {
        SessionHead active = head(3, SessionStatus.ACTIVE, 0);

        assertThat(active.rejection(s1.message("user", "hi"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.patch("shared", "{\"a\":1}"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.memory("u1", "fact"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.custom("com.example.step"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.ended("done"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.toolRequested("c1", "t"), NO_CALLS)).isNull();
    }

    @Test
    void shouldRejectToolRequestWhenCallIdAlreadyRequested() {
        SessionHead active = head(3, SessionStatus.ACTIVE, 0);

        assertThat(active.rejection(s1.toolRequested("c1", "t"), Map.of("c1", ToolCallStatus.REQUESTED)))
                .isEqualTo("tool call c1 already requested");
        assertThat(active.rejection(s1.toolRequested("c1", "t"), Map.of("c1", ToolCallStatus.COMPLETED)))
                .isEqualTo("tool call c1 already requested");
    }

    @Test
    void shouldAcceptCompletionOfRequestedCall() {
        SessionHead active = head(3, SessionStatus.ACTIVE, 0);

        assertThat(active.rejection(s1.toolCompleted("c1", "1"), Map.of("c1", ToolCallStatus.REQUESTED))).isNull();
        assertThat(active.rejection(s1.toolFailed("c1", "boom"), Map.of("c1", ToolCallStatus.REQUESTED))).isNull();
    }

    @Test
    void shouldRejectCompletionWhenCallWasNeverRequested() {
        SessionHead active = head(3, SessionStatus.ACTIVE, 0);

        assertThat(active.rejection(s1.toolCompleted("c9", "1"), Map.of("c1", ToolCallStatus.REQUESTED)))
                .isEqualTo("tool call c9 was never requested");
    }

    @Test
    void shouldRejectSecondCompletionOfCall() {
        SessionHead active = head(3, SessionStatus.ACTIVE, 0);

        assertThat(active.rejection(s1.toolCompleted("c1", "1"), Map.of("c1", ToolCallStatus.COMPLETED)))
                .isEqualTo("tool call c1 already completed");
        assertThat(active.rejection(s1.toolFailed("c1", "late"), Map.of("c1", ToolCallStatus.FAILED)))
                .isEqualTo("tool call c1 already completed");
    }

    @Test
    void shouldAcceptSummaryUpToCurrentVersion() {
        SessionHead active = head(5, SessionStatus.ACTIVE, 2);

        assertThat(active.rejection(s1.summary(5, "all"), NO_CALLS)).isNull();
        assertThat(active.rejection(s1.summary(3, "some"), NO_CALLS)).isNull();
    }

    @Test
    void shouldRejectSummaryBeyondCurrentVersion() {
        assertThat(head(5, SessionStatus.ACTIVE, 0).rejection(s1.summary(6, "future"), NO_CALLS))
                .isEqualTo("summary covers version 6 but the session is at 5");
    }

    @Test
    void shouldRejectSummaryNotBeyondPreviousSummary() {
        SessionHead summarised = head(9, SessionStatus.ACTIVE, 4);

        assertThat(summarised.rejection(s1.summary(4, "same"), NO_CALLS))
                .isEqualTo("versions up to 4 are already summarised");
        assertThat(summarised.rejection(s1.summary(2, "older"), NO_CALLS))
                .isEqualTo("versions up to 4 are already summarised");
    }

    @Test
    void shouldTrackVersionCountsAndTimesWhenAdvancing() {
        SessionHead head = SessionHead.empty("acme", "s1")
                .advance(s1.time("2025-05-01T00:00:00Z").started("u7"), 1, 100)
                .advance(s1.time("2025-05-01T00:01:00Z").message("user", "hi"), 2, 50)
                .advance(s1.time("2025-05-01T00:02:00Z").summary(2, "hi"), 3, 25)
                .advance(s1.time("2025-05-01T00:03:00Z").ended("done"), 4, 5);

        assertThat(head).isEqualTo(new SessionHead("acme", "s1", 4, SessionStatus.ENDED, "u7",
                Instant.parse("2025-05-01T00:00:00Z"), Instant.parse("2025-05-01T00:03:00Z"), 1, 2, 180, 0));
    }

    /**
     * A property-style check with a fixed seed: for random sequences of valid events, the compact head and the full fold
     * agree on every field they share. The ledger decides with heads and rebuilds with the fold, so a divergence would
     * make a rebuilt view differ from the one the ledger maintained.
     */
    @Test
    void shouldAgreeWithFoldOnSharedFieldsForRandomValidSequences() {
        Random random = new Random(20250101L);
        int checked = 0;
        for (int run = 0; run < 25; run++) {
            Events session = Events.session("prop-" + run);
            SessionHead head = SessionHead.empty("acme", session.sessionId());
            SessionState state = SessionState.empty("acme", session.sessionId());
            Map<String, ToolCallStatus> calls = new HashMap<>();
            List<String> open = new ArrayList<>();
            int length = 5 + random.nextInt(40);
            for (int i = 0; i < length; i++) {
                boolean last = i == length - 1;
                Event event = randomEvent(random, session, head, open, calls.size(), last && run % 2 == 0);
                assertThat(head.rejection(event, calls)).as("run %d event %d %s", run, i, event.type()).isNull();
                int size = Events.size(event);
                long version = head.version() + 1;
                head = head.advance(event, version, size);
                state = state.apply(event, version, size);
                track(event, calls, open);
                assertAgree(head, state, "run " + run + " event " + i + " " + event.type());
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(400);
    }

    private static Event randomEvent(Random random, Events session, SessionHead head, List<String> open, int callCount,
            boolean end) {
        // agents' clocks are not monotonic: times jump both ways
        Events at = session.time(Events.T0.plusSeconds(random.nextInt(100_000)));
        if (end) {
            return at.ended(random.nextBoolean() ? "done" : null);
        }
        if (head.version() == 0 && random.nextBoolean()) {
            return at.started("user-" + random.nextInt(5));
        }
        return switch (random.nextInt(8)) {
            case 0, 1 -> at.message(random.nextBoolean() ? "user" : "assistant", "text " + random.nextInt(1000));
            case 2 -> at.toolRequested("call-" + callCount, "tool-" + random.nextInt(3));
            case 3 -> open.isEmpty() ? at.message("system", "nothing open")
                    : random.nextBoolean() ? at.toolCompleted(open.get(0), "{\"n\":" + random.nextInt(9) + "}")
                            : at.toolFailed(open.get(0), "failed");
            case 4 -> at.patch(random.nextBoolean() ? "shared" : "agent:a" + random.nextInt(2),
                    "{\"k" + random.nextInt(4) + "\":" + (random.nextInt(3) == 0 ? "null" : random.nextInt(50)) + "}");
            case 5 -> head.version() > head.summaryThrough()
                    ? at.summary(head.summaryThrough() + 1 + random.nextInt((int) (head.version() - head.summaryThrough())),
                            "summary")
                    : at.custom("com.example.noop");
            case 6 -> at.memory("user-1", "fact " + random.nextInt(100));
            default -> at.custom("com.example.step");
        };
    }

    private static void track(Event event, Map<String, ToolCallStatus> calls, List<String> open) {
        if (event.payload() instanceof EventData.ToolRequested requested) {
            calls.put(requested.callId(), ToolCallStatus.REQUESTED);
            open.add(requested.callId());
        } else if (event.payload() instanceof EventData.ToolCompleted completed) {
            calls.put(completed.callId(), completed.error() != null ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETED);
            open.remove(completed.callId());
        }
    }

    private static void assertAgree(SessionHead head, SessionState state, String step) {
        assertThat(head.tenant()).as(step).isEqualTo(state.tenant());
        assertThat(head.sessionId()).as(step).isEqualTo(state.sessionId());
        assertThat(head.version()).as(step).isEqualTo(state.version());
        assertThat(head.status()).as(step).isEqualTo(state.status());
        assertThat(head.userId()).as(step).isEqualTo(state.userId());
        assertThat(head.messageCount()).as(step).isEqualTo(state.messageCount());
        assertThat(head.summaryThrough()).as(step)
                .isEqualTo(state.summary() == null ? 0 : state.summary().throughVersion());
        assertThat(head.bytes()).as(step).isEqualTo(state.bytes());
        assertThat(head.createdAt()).as(step).isEqualTo(state.createdAt());
        assertThat(head.updatedAt()).as(step).isEqualTo(state.updatedAt());
    }
}
