package io.agentstate.ledger;

import static io.agentstate.testsupport.Events.atomic;
import static io.agentstate.testsupport.Events.entry;
import static io.agentstate.testsupport.Events.json;
import static io.agentstate.testsupport.Events.replying;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.ledger.BatchDecider.Context;
import io.agentstate.ledger.BatchDecider.DecisionKey;
import io.agentstate.ledger.BatchDecider.EventRow;
import io.agentstate.ledger.BatchDecider.RejectionRow;
import io.agentstate.ledger.BatchDecider.Result;
import io.agentstate.ledger.BatchDecider.ScopeKey;
import io.agentstate.ledger.BatchDecider.ToolKey;
import io.agentstate.ledger.Decision.Outcome;
import io.agentstate.security.AuditChain;
import io.agentstate.security.AuditSigner;
import io.agentstate.testsupport.Events;

/** The ledger's decisions for a poll batch, against a hand-made context of what PostgreSQL knew. */
class BatchDeciderTest {

    private static final String T = Events.TENANT;
    private static final Context EMPTY = new Context(Map.of(), Map.of(), Map.of(), Map.of());
    private static final AuditSigner SIGNER = AuditSigner.of("a test key of thirty-two bytes!!".getBytes(
            java.nio.charset.StandardCharsets.US_ASCII));

    private final BatchDecider decider = new BatchDecider(100, SIGNER);
    private final Events s1 = Events.session("s1");
    private final Events s2 = Events.session("s2");

    private static SessionKey key(String sessionId) {
        return new SessionKey(T, sessionId);
    }

    private static SessionHead headAt(String sessionId, long version) {
        return new SessionHead(T, sessionId, version, SessionStatus.ACTIVE, "u1", Events.T0, Events.T0, 0, 0, 0, 0);
    }

    private static Context withHead(String sessionId, long version) {
        return new Context(Map.of(), Map.of(key(sessionId), headAt(sessionId, version)), Map.of(), Map.of());
    }

    @Test
    void shouldAssignVersionsInLogOrderAcrossEntriesAndSessions() {
        List<LogEntry> entries = List.of(
                entry(0, 10, s1.started("u1")),
                entry(0, 11, s2.started("u2")),
                entry(0, 12, s1.message("user", "a")),
                atomic(0, 13, s1.message("user", "b"), s1.message("assistant", "c")),
                entry(1, 5, s2.message("user", "x")));

        Result result = decider.decide(entries, EMPTY);

        assertThat(result.events())
                .extracting(EventRow::sessionId, EventRow::version, EventRow::eventId, EventRow::partition,
                        EventRow::offset)
                .containsExactly(
                        tuple("s1", 1L, "s1-1", 0, 10L),
                        tuple("s2", 1L, "s2-1", 0, 11L),
                        tuple("s1", 2L, "s1-2", 0, 12L),
                        tuple("s1", 3L, "s1-3", 0, 13L),
                        tuple("s1", 4L, "s1-4", 0, 13L),
                        tuple("s2", 2L, "s2-2", 1, 5L));
        assertThat(result.heads().get(key("s1")).version()).isEqualTo(4);
        assertThat(result.heads().get(key("s2")).version()).isEqualTo(2);
        assertThat(result.heads().get(key("s1")).messageCount()).isEqualTo(3);
        assertThat(result.counts()).containsExactly(Map.entry(Outcome.ACCEPTED, 6));
        assertThat(result.rejections()).isEmpty();
    }

    @Test
    void shouldArchiveEachEventWithItsPayloadTypeSourceAndTime() {
        Event hi = s1.source("agent://user-proxy").time("2025-06-01T12:00:00Z").message("user", "hi");

        EventRow row = decider.decide(List.of(entry(3, 42, hi)), EMPTY).events().get(0);

        assertThat(row).extracting(EventRow::tenant, EventRow::sessionId, EventRow::version, EventRow::eventId,
                EventRow::type, EventRow::source, EventRow::partition, EventRow::offset)
                .containsExactly(T, "s1", 1L, hi.id(), "agentstate.message.appended", "agent://user-proxy", 3, 42L);
        assertThat(row.occurredAt()).isEqualTo(hi.time());
        assertThat(Arrays.equals(row.payload(), Events.CODEC.encode(hi))).isTrue();
    }

    @Test
    void shouldAnswerOriginalDecisionWhenEventIsRepeatedInSamePollBatch() {
        Event start = s1.id("s1-1").started("u1");
        Event hi = s1.id("m1").message("user", "hi");
        List<LogEntry> entries = List.of(replying(entry(0, 1, start)), replying(entry(0, 2, hi)),
                replying(entry(0, 3, hi)));

        Result result = decider.decide(entries, EMPTY);

        assertThat(result.replies()).containsExactly(
                new Decision(T, "s1", List.of("s1-1"), Outcome.ACCEPTED, 1L, 1L, 1, null),
                new Decision(T, "s1", List.of("m1"), Outcome.ACCEPTED, 2L, 2L, 2, null),
                new Decision(T, "s1", List.of("m1"), Outcome.DUPLICATE, 2L, 2L, 2, null));
        assertThat(result.events()).extracting(EventRow::eventId, EventRow::version)
                .containsExactly(tuple("s1-1", 1L), tuple("m1", 2L));
        assertThat(result.decisions()).extracting(StoredDecision::eventId).containsExactly("s1-1", "m1");
        assertThat(result.counts()).containsEntry(Outcome.ACCEPTED, 2).containsEntry(Outcome.DUPLICATE, 1);
    }

    @Test
    void shouldAnswerOriginalDecisionWhenEventWasDecidedInEarlierBatch() {
        Context context = new Context(
                Map.of(new DecisionKey(T, "m1"), new StoredDecision(T, "m1", "s1", Outcome.ACCEPTED, 7L, 7L, 7, null)),
                Map.of(key("s1"), headAt("s1", 9)), Map.of(), Map.of());

        Result result = decider.decide(List.of(replying(entry(0, 20, s1.id("m1").message("user", "hi")))), context);

        assertThat(result.replies())
                .containsExactly(new Decision(T, "s1", List.of("m1"), Outcome.DUPLICATE, 7L, 7L, 7, null));
        assertThat(result.events()).isEmpty();
        assertThat(result.decisions()).isEmpty();
        assertThat(result.rejections()).isEmpty();
        assertThat(result.heads()).isEmpty();
        assertThat(result.views()).isEmpty();
        assertThat(result.counts()).containsExactly(Map.entry(Outcome.DUPLICATE, 1));
    }

    @Test
    void shouldAnswerOriginalConflictWhenConflictingEventIsRepeated() {
        String reason = "expected version 1 but the session is at 3";
        Context context = new Context(
                Map.of(new DecisionKey(T, "w1"), new StoredDecision(T, "w1", "s1", Outcome.CONFLICT, null, null, 3,
                        reason)),
                Map.of(key("s1"), headAt("s1", 5)), Map.of(), Map.of());

        Result result = decider.decide(List.of(replying(entry(0, 9, s1.id("w1").expected(1).message("user", "x")))),
                context);

        assertThat(result.replies()).containsExactly(new Decision(T, "s1", List.of("w1"), Outcome.DUPLICATE, null, null,
                3, "originally conflict: " + reason, Outcome.CONFLICT));
        assertThat(result.replies().get(0).originalOutcome()).isEqualTo(Outcome.CONFLICT);
        assertThat(result.rejections()).isEmpty();
        assertThat(result.decisions()).isEmpty();
    }

    /**
     * Which answered record is the request its first id was decided for: the one that decided it, and its true
     * repeats; not a different body, another session or an overlapping batch under the same key.
     */
    @Test
    void shouldTellTheOriginalRequestAndItsRepeatsFromOthersUnderTheSameKey() {
        Result result = decider.decide(List.of(
                replying(entry(0, 1, s1.id("k").message("user", "first body"))),
                replying(entry(0, 2, s1.id("k").message("user", "first body"))),
                replying(entry(0, 3, s1.id("k").message("user", "second body"))),
                replying(entry(0, 4, s2.id("k").message("user", "first body"))),
                replying(atomic(0, 5, s1.id("k").message("user", "first body"), s1.id("k2").message("user", "more")))),
                EMPTY);

        assertThat(result.answers()).extracting(a -> a.decision().outcome(), BatchDecider.Reply::sameRequest)
                .containsExactly(
                        tuple(Outcome.ACCEPTED, true),
                        tuple(Outcome.DUPLICATE, true),
                        tuple(Outcome.DUPLICATE, false),
                        tuple(Outcome.DUPLICATE, false),
                        tuple(Outcome.REJECTED, false));
        // each answer carries its own record's fingerprint, so waiters of different requests are told apart
        assertThat(result.answers().get(0).fingerprint()).isEqualTo(result.answers().get(1).fingerprint())
                .isNotEqualTo(result.answers().get(2).fingerprint())
                .isNotEqualTo(result.answers().get(3).fingerprint());
        // a record that was new when decided is its own request, whatever its outcome
        Result conflict = decider.decide(List.of(replying(entry(0, 6, s1.id("c").expected(7).message("user", "x")))),
                EMPTY);
        assertThat(conflict.answers()).extracting(a -> a.decision().outcome(), BatchDecider.Reply::sameRequest)
                .containsExactly(tuple(Outcome.CONFLICT, true));
    }

    @Test
    void shouldRejectBatchThatOverlapsAnEventDecidedEarlier() {
        Context context = new Context(
                Map.of(new DecisionKey(T, "m1"), new StoredDecision(T, "m1", "s1", Outcome.ACCEPTED, 2L, 2L, 2, null)),
                Map.of(key("s1"), headAt("s1", 2)), Map.of(), Map.of());

        Result result = decider.decide(List.of(replying(atomic(0, 9, s1.id("m1").message("user", "hi"),
                s1.id("m2").message("user", "again")))), context);

        assertThat(result.replies()).containsExactly(new Decision(T, "s1", List.of("m1", "m2"), Outcome.REJECTED, null,
                null, 2, "the batch overlaps event m1, decided earlier"));
        assertThat(result.decisions()).extracting(StoredDecision::eventId, StoredDecision::outcome)
                .containsExactly(tuple("m2", Outcome.REJECTED));
        assertThat(result.events()).isEmpty();
    }

    @Test
    void shouldRecordConflictWhenExpectedVersionDiffers() {
        Event late = s1.id("w1").expected(1).message("user", "late");
        String reason = "expected version 1 but the session is at 2";

        Result result = decider.decide(List.of(replying(entry(0, 5, late))), withHead("s1", 2));

        assertThat(result.replies())
                .containsExactly(new Decision(T, "s1", List.of("w1"), Outcome.CONFLICT, null, null, 2, reason));
        assertThat(result.decisions()).usingRecursiveFieldByFieldElementComparatorIgnoringFields("fingerprint")
                .containsExactly(new StoredDecision(T, "w1", "s1", Outcome.CONFLICT, null, null, 2, reason));
        assertThat(result.decisions().get(0).fingerprint()).hasSize(64);
        assertThat(result.rejections()).hasSize(1);
        RejectionRow row = result.rejections().get(0);
        assertThat(row).extracting(RejectionRow::tenant, RejectionRow::sessionId, RejectionRow::eventId,
                RejectionRow::afterVersion, RejectionRow::outcome, RejectionRow::reason, RejectionRow::type,
                RejectionRow::source, RejectionRow::partition, RejectionRow::offset)
                .containsExactly(T, "s1", "w1", 2L, Outcome.CONFLICT, reason, "agentstate.message.appended",
                        Events.SOURCE, 0, 5L);
        assertThat(row.occurredAt()).isEqualTo(late.time());
        assertThat(Arrays.equals(row.payload(), Events.CODEC.encode(late))).isTrue();
        assertThat(result.events()).isEmpty();
        assertThat(result.heads()).isEmpty();
        assertThat(result.views()).isEmpty();
        assertThat(result.counts()).containsExactly(Map.entry(Outcome.CONFLICT, 1));
    }

    @Test
    void shouldCheckExpectedVersionAgainstEventsEarlierInSamePollBatch() {
        List<LogEntry> entries = List.of(
                replying(entry(0, 1, s1.id("a").expected(0).started("u1"))),
                replying(entry(0, 2, s1.id("b").expected(1).message("user", "first writer"))),
                replying(entry(0, 3, s1.id("c").expected(1).message("user", "second writer"))));

        Result result = decider.decide(entries, EMPTY);

        assertThat(result.replies()).extracting(Decision::outcome, Decision::firstVersion, Decision::currentVersion,
                Decision::reason)
                .containsExactly(
                        tuple(Outcome.ACCEPTED, 1L, 1L, null),
                        tuple(Outcome.ACCEPTED, 2L, 2L, null),
                        tuple(Outcome.CONFLICT, null, 2L, "expected version 1 but the session is at 2"));
        assertThat(result.rejections()).extracting(RejectionRow::eventId, RejectionRow::afterVersion)
                .containsExactly(tuple("c", 2L));
    }

    @Test
    void shouldRejectWholeAtomicBatchWhenThirdEventIsInvalid() {
        LogEntry batch = replying(atomic(0, 7, s1.id("b1").message("user", "q"), s1.id("b2").toolRequested("c1", "search"),
                s1.id("b3").toolCompleted("c9", "1"), s1.id("b4").message("assistant", "a")));
        String reason = "event b3: tool call c9 was never requested";

        Result result = decider.decide(List.of(batch), withHead("s1", 1));

        assertThat(result.replies()).containsExactly(
                new Decision(T, "s1", List.of("b1", "b2", "b3", "b4"), Outcome.REJECTED, null, null, 1, reason));
        assertThat(result.events()).isEmpty();
        assertThat(result.decisions())
                .extracting(StoredDecision::eventId, StoredDecision::outcome, StoredDecision::version,
                        StoredDecision::currentVersion, StoredDecision::reason)
                .containsExactly(
                        tuple("b1", Outcome.REJECTED, null, 1L, reason),
                        tuple("b2", Outcome.REJECTED, null, 1L, reason),
                        tuple("b3", Outcome.REJECTED, null, 1L, reason),
                        tuple("b4", Outcome.REJECTED, null, 1L, reason));
        assertThat(result.rejections()).extracting(RejectionRow::eventId, RejectionRow::afterVersion, RejectionRow::offset)
                .containsExactly(tuple("b1", 1L, 7L), tuple("b2", 1L, 7L), tuple("b3", 1L, 7L), tuple("b4", 1L, 7L));
        for (int i = 0; i < 4; i++) {
            assertThat(Arrays.equals(result.rejections().get(i).payload(), batch.payloads().get(i))).isTrue();
        }
        assertThat(result.toolCalls()).isEmpty();
        assertThat(result.heads()).isEmpty();
        assertThat(result.views()).isEmpty();
        assertThat(result.counts()).containsExactly(Map.entry(Outcome.REJECTED, 4));
    }

    @Test
    void shouldNotLetRejectedBatchLeakIntoLaterDecisions() {
        // c1 was requested inside a rejected batch: a later completion of c1 must still find it unknown
        List<LogEntry> entries = List.of(
                atomic(0, 1, s1.toolRequested("c1", "search"), s1.toolCompleted("c9", "1")),
                replying(entry(0, 2, s1.id("done").toolCompleted("c1", "1"))));

        Result result = decider.decide(entries, withHead("s1", 1));

        assertThat(result.replies()).extracting(Decision::outcome, Decision::reason)
                .containsExactly(tuple(Outcome.REJECTED, "tool call c1 was never requested"));
        assertThat(result.events()).isEmpty();
    }

    @Test
    void shouldGiveAcceptedBatchConsecutiveVersions() {
        LogEntry batch = replying(atomic(0, 8, s1.id("b1").expected(4).message("user", "run it"),
                s1.id("b2").toolRequested("c1", "search"), s1.id("b3").toolCompleted("c1", "{\"hits\":3}")));

        Result result = decider.decide(List.of(batch), withHead("s1", 4));

        assertThat(result.replies())
                .containsExactly(new Decision(T, "s1", List.of("b1", "b2", "b3"), Outcome.ACCEPTED, 5L, 7L, 7, null));
        // one fingerprint for the whole record: a key reused with another batch is told apart from a retry
        assertThat(result.decisions()).extracting(StoredDecision::fingerprint).containsOnly(batch.batch().fingerprint());
        assertThat(result.decisions()).usingRecursiveFieldByFieldElementComparatorIgnoringFields("fingerprint")
                .containsExactly(
                        new StoredDecision(T, "b1", "s1", Outcome.ACCEPTED, 5L, 7L, 7, null),
                        new StoredDecision(T, "b2", "s1", Outcome.ACCEPTED, 6L, 7L, 7, null),
                        new StoredDecision(T, "b3", "s1", Outcome.ACCEPTED, 7L, 7L, 7, null));
        assertThat(result.events()).extracting(EventRow::eventId, EventRow::version)
                .containsExactly(tuple("b1", 5L), tuple("b2", 6L), tuple("b3", 7L));
        assertThat(result.toolCalls()).containsExactly(
                new BatchDecider.ToolCallRow(T, "s1", "c1", ToolCallStatus.COMPLETED, 6, 7L));
        assertThat(result.views()).extracting(BatchDecider.ViewUpdate::fromVersion, BatchDecider.ViewUpdate::toVersion)
                .containsExactly(tuple(4L, 7L));
    }

    @Test
    void shouldProduceToolCallAndScopeRows() {
        Context context = new Context(Map.of(), Map.of(key("s1"), headAt("s1", 3)),
                Map.of(new ToolKey(T, "s1", "old"), ToolCallStatus.REQUESTED),
                Map.of(new ScopeKey(T, "s1", "shared"), json("{\"keep\":true,\"n\":1}")));
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.toolRequested("c1", "search", "{\"q\":\"x\"}")),
                entry(0, 2, s1.toolCompleted("old", "\"result\"")),
                entry(0, 3, s1.patch("shared", "{\"n\":2}")),
                entry(0, 4, s1.patch("agent:coder", "{\"a\":{\"b\":1}}")),
                entry(0, 5, s1.patch("shared", "{\"keep\":null}")),
                entry(0, 6, s1.toolFailed("c1", "boom")));

        Result result = decider.decide(entries, context);

        assertThat(result.counts()).containsExactly(Map.entry(Outcome.ACCEPTED, 6));
        assertThat(result.toolCalls())
                .extracting(BatchDecider.ToolCallRow::callId, BatchDecider.ToolCallRow::status,
                        BatchDecider.ToolCallRow::completedVersion)
                .containsExactly(tuple("c1", ToolCallStatus.FAILED, 9L), tuple("old", ToolCallStatus.COMPLETED, 5L));
        assertThat(result.toolCalls().get(0).requestedVersion()).isEqualTo(4);
        assertThat(result.scopes())
                .extracting(BatchDecider.ScopeRow::scope, BatchDecider.ScopeRow::document, BatchDecider.ScopeRow::version)
                .containsExactly(tuple("shared", json("{\"n\":2}"), 8L), tuple("agent:coder", json("{\"a\":{\"b\":1}}"), 7L));
    }

    @Test
    void shouldRejectSecondCompletionOfCallCompletedInEarlierBatch() {
        Context context = new Context(Map.of(), Map.of(key("s1"), headAt("s1", 3)),
                Map.of(new ToolKey(T, "s1", "c1"), ToolCallStatus.COMPLETED), Map.of());

        Result result = decider.decide(List.of(replying(entry(0, 1, s1.toolCompleted("c1", "2")))), context);

        assertThat(result.replies()).extracting(Decision::outcome, Decision::reason)
                .containsExactly(tuple(Outcome.REJECTED, "tool call c1 already completed"));
    }

    @Test
    void shouldRecordMemoryRowsForLongTermFacts() {
        Event fact = s1.time("2025-04-01T00:00:00Z").memory("u1", "prefers tea");

        Result result = decider.decide(List.of(entry(0, 1, s1.started("u1")), entry(0, 2, fact)), EMPTY);

        assertThat(result.memories()).containsExactly(new BatchDecider.MemoryRow(EventType.MEMORY_RECORDED, T, "u1",
                fact.id(), fact.id(), "s1", 2, "prefers tea", List.of(), fact.source(), fact.time(), false));
    }

    @Test
    void shouldRejectEveryWriteAfterSessionEnded() {
        List<LogEntry> entries = List.of(entry(0, 1, s1.ended("done")),
                replying(entry(0, 2, s1.id("late").message("user", "anyone?"))));

        Result result = decider.decide(entries, withHead("s1", 4));

        assertThat(result.replies())
                .containsExactly(new Decision(T, "s1", List.of("late"), Outcome.REJECTED, null, null, 5, "session ended"));
        assertThat(result.heads().get(key("s1")).status()).isEqualTo(SessionStatus.ENDED);
    }

    @Test
    void shouldListSnapshotsDueWhenCrossingMultiplesOfSnapshotEvery() {
        BatchDecider everyThree = new BatchDecider(3, SIGNER);
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.message("user", "v3")),
                atomic(0, 2, s1.message("user", "v4"), s1.message("user", "v5"), s1.message("user", "v6"),
                        s1.message("user", "v7")),
                entry(0, 3, s1.expected(1).message("user", "conflict")),
                entry(0, 4, s1.message("user", "v8")),
                entry(0, 5, s2.message("user", "s2 v1")));

        Result result = everyThree.decide(entries, withHead("s1", 2));

        assertThat(result.snapshotsDue()).extracting(SessionHead::sessionId, SessionHead::version)
                .containsExactly(tuple("s1", 3L), tuple("s1", 6L));
        assertThat(result.snapshotsDue().get(1).messageCount()).isEqualTo(4);
    }

    @Test
    void shouldNotListSnapshotsWhenSnapshotsAreOff() {
        Result result = new BatchDecider(0, SIGNER).decide(List.of(entry(0, 1, s1.message("user", "a"))), EMPTY);

        assertThat(result.snapshotsDue()).isEmpty();
    }

    @Test
    void shouldReplyOnlyToEntriesWithWaitingWriters() {
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.id("quiet").message("user", "a")),
                replying(entry(0, 2, s1.id("waiting").message("user", "b"))),
                entry(0, 3, s1.id("quiet-conflict").expected(0).message("user", "c")));

        Result result = decider.decide(entries, EMPTY);

        assertThat(result.replies())
                .containsExactly(new Decision(T, "s1", List.of("waiting"), Outcome.ACCEPTED, 2L, 2L, 2, null));
        assertThat(result.counts()).containsEntry(Outcome.ACCEPTED, 2).containsEntry(Outcome.CONFLICT, 1);
    }

    @Test
    void shouldLeaveContextUntouched() {
        Map<DecisionKey, StoredDecision> decisions = new HashMap<>();
        Map<SessionKey, SessionHead> heads = new HashMap<>(Map.of(key("s1"), headAt("s1", 1)));
        Map<ToolKey, ToolCallStatus> tools = new HashMap<>();
        Map<ScopeKey, JsonNode> scopes = new HashMap<>(Map.of(new ScopeKey(T, "s1", "shared"), json("{\"a\":1}")));
        Context context = new Context(decisions, heads, tools, scopes);

        decider.decide(List.of(entry(0, 1, s1.toolRequested("c1", "t")), entry(0, 2, s1.patch("shared", "{\"a\":2}"))),
                context);

        assertThat(decisions).isEmpty();
        assertThat(heads).containsExactly(Map.entry(key("s1"), headAt("s1", 1)));
        assertThat(tools).isEmpty();
        assertThat(scopes).containsExactly(Map.entry(new ScopeKey(T, "s1", "shared"), json("{\"a\":1}")));
    }

    @Test
    void shouldChainAcceptedAndRefusedEntriesOfASessionInLogOrder() {
        AuditChain.Link s2Before = AuditChain.append(AuditChain.Link.GENESIS, AuditChain.Entry.accepted(T, "s2", 1, 1,
                "old", "agentstate.session.started", "agent://x", Events.T0, new byte[] { 1 }));
        Context context = new Context(Map.of(), Map.of(key("s2"), headAt("s2", 1)), Map.of(), Map.of(),
                Map.of(key("s2"), s2Before));
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.started("u1")),
                entry(0, 2, s2.message("user", "x")),
                entry(0, 3, s1.id("stale").expected(0).message("user", "late")),
                entry(0, 4, s1.message("user", "a")),
                atomic(0, 5, s1.id("b1").message("user", "b"), s1.id("b2").toolCompleted("nope", "1")));

        Result result = decider.decide(entries, context);

        assertThat(result.events()).extracting(EventRow::sessionId, EventRow::version, EventRow::chainSeq)
                .containsExactly(tuple("s1", 1L, 1L), tuple("s2", 2L, 2L), tuple("s1", 2L, 3L));
        assertThat(result.rejections()).extracting(RejectionRow::eventId, RejectionRow::afterVersion,
                RejectionRow::chainSeq)
                .containsExactly(tuple("stale", 1L, 2L), tuple("b1", 2L, 4L), tuple("b2", 2L, 5L));
        // each stored hash is the chain over the rows as stored, accepted and refused in one sequence
        List<AuditChain.Entry> s1Chain = List.of(result.events().get(0).auditEntry(),
                result.rejections().get(0).auditEntry(), result.events().get(2).auditEntry(),
                result.rejections().get(1).auditEntry(), result.rejections().get(2).auditEntry());
        List<byte[]> s1Hashes = List.of(result.events().get(0).chainHash(), result.rejections().get(0).chainHash(),
                result.events().get(2).chainHash(), result.rejections().get(1).chainHash(),
                result.rejections().get(2).chainHash());
        AuditChain.Link link = AuditChain.Link.GENESIS;
        for (int i = 0; i < s1Chain.size(); i++) {
            link = AuditChain.append(link, s1Chain.get(i));
            assertThat(s1Hashes.get(i)).as("hash of s1's entry %d", i + 1).isEqualTo(link.hash());
        }
        AuditChain.Link s2After = AuditChain.append(s2Before, result.events().get(1).auditEntry());
        assertThat(result.events().get(1).chainHash()).isEqualTo(s2After.hash());
        assertThat(result.chainHeads()).containsOnlyKeys(key("s1"), key("s2"));
        assertThat(result.chainHeads().get(key("s1")).link()).isEqualTo(link);
        assertThat(result.chainHeads().get(key("s2")).link()).isEqualTo(s2After);
        assertThat(result.chainHeads().values()).allSatisfy(head -> {
            assertThat(head.keyId()).isEqualTo(SIGNER.keyId());
            assertThat(SIGNER.verify(head)).isTrue();
        });
        assertThat(context.chains()).containsExactly(Map.entry(key("s2"), s2Before));
    }

    @Test
    void shouldSignTheHeadOfASessionThatOnlyRefused() {
        Result result = decider.decide(List.of(entry(0, 1, s1.toolCompleted("never", "1"))), EMPTY);

        assertThat(result.heads()).isEmpty();
        assertThat(result.rejections()).extracting(RejectionRow::chainSeq).containsExactly(1L);
        assertThat(result.chainHeads().get(key("s1")).link().seq()).isEqualTo(1);
    }

    @Test
    void shouldStartANewChainAfterAnErasure() {
        AuditChain.Link before = new AuditChain.Link(9, new byte[AuditChain.HASH_BYTES]);
        Context context = new Context(Map.of(), Map.of(key("s1"), headAt("s1", 7)), Map.of(), Map.of(),
                Map.of(key("s1"), before));
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.message("user", "old life")),
                entry(0, 2, s1.event("agentstate.session.erased", "{}")),
                entry(0, 3, s1.message("user", "new life")));

        Result result = decider.decide(entries, context);

        assertThat(result.erased()).containsExactly(Map.entry(key("s1"), new BatchDecider.Erasure(0, 1)));
        // the next life is the next generation, in its head and in its view, so no write of the old one passes for it
        assertThat(result.heads().get(key("s1"))).extracting(SessionHead::version, SessionHead::generation)
                .containsExactly(1L, 1L);
        assertThat(result.views()).extracting(BatchDecider.ViewUpdate::generation, BatchDecider.ViewUpdate::fromVersion,
                BatchDecider.ViewUpdate::toVersion).containsExactly(tuple(1L, 0L, 1L));
        assertThat(result.events()).extracting(EventRow::version, EventRow::chainSeq).containsExactly(tuple(1L, 1L));
        assertThat(result.events().get(0).chainHash())
                .isEqualTo(AuditChain.append(AuditChain.Link.GENESIS, result.events().get(0).auditEntry()).hash());
        assertThat(result.chainHeads().get(key("s1")).link().seq()).isEqualTo(1);
    }

    @Test
    void shouldLeaveNoChainHeadForASessionErasedLast() {
        Context context = new Context(Map.of(), Map.of(key("s1"), headAt("s1", 1)), Map.of(), Map.of(),
                Map.of(key("s1"), new AuditChain.Link(1, new byte[AuditChain.HASH_BYTES])));

        Result result = decider.decide(List.of(entry(0, 1, s1.message("user", "x")),
                entry(0, 2, s1.event("agentstate.session.erased", "{}"))), context);

        assertThat(result.chainHeads()).isEmpty();
        assertThat(result.events()).isEmpty();
    }

    private static final String FORKED_STATE = """
            {"sourceSessionId":"src","sourceVersion":6,"state":{"userId":"u9","messageCount":3,
             "summary":{"version":3,"throughVersion":2,"text":"earlier"},
             "messages":[{"version":4,"eventId":"m4","role":"user","content":"open question"}],
             "toolCalls":{"c1":{"callId":"c1","tool":"geo","status":"REQUESTED","requestedVersion":5}},
             "scopes":{"shared":{"city":"Oslo"}}}}""";

    @Test
    void shouldContinueAForkFromTheVersionItCopied() {
        List<LogEntry> entries = List.of(
                entry(0, 1, s1.expected(0).event("agentstate.session.forked", FORKED_STATE)),
                entry(0, 2, s1.toolCompleted("c1", "\"sunny\"")),
                entry(0, 3, s1.toolCompleted("c1", "\"again\"")));

        Result result = decider.decide(entries, EMPTY);

        assertThat(result.events()).extracting(EventRow::version).containsExactly(7L, 8L);
        SessionHead head = result.heads().get(key("s1"));
        assertThat(head).extracting(SessionHead::version, SessionHead::userId, SessionHead::messageCount,
                SessionHead::summaryThrough).containsExactly(8L, "u9", 3L, 2L);
        // the carried open call is the fork's own: completed once, refused the second time
        assertThat(result.rejections()).extracting(RejectionRow::reason).containsExactly("tool call c1 already completed");
        assertThat(result.toolCalls()).extracting(BatchDecider.ToolCallRow::callId,
                BatchDecider.ToolCallRow::status, BatchDecider.ToolCallRow::requestedVersion,
                BatchDecider.ToolCallRow::completedVersion).containsExactly(tuple("c1", ToolCallStatus.COMPLETED, 5L, 8L));
        assertThat(result.scopes()).extracting(BatchDecider.ScopeRow::scope, BatchDecider.ScopeRow::version)
                .containsExactly(tuple("shared", 7L));
        assertThat(result.views()).extracting(BatchDecider.ViewUpdate::fromVersion, BatchDecider.ViewUpdate::toVersion)
                .containsExactly(tuple(0L, 8L));
        assertThat(result.views().get(0).ops()).extracting(ViewCodec.Op::code, ViewCodec.Op::field)
                .contains(tuple('M', "4"), tuple('C', "req:c1"), tuple('S', "shared"));
    }

    @Test
    void shouldRefuseAForkOntoASessionThatExistsOrInsideABatch() {
        Result result = decider.decide(List.of(
                entry(0, 1, s1.event("agentstate.session.forked", FORKED_STATE)),
                atomic(0, 2, s2.event("agentstate.session.forked", FORKED_STATE), s2.message("user", "x")),
                entry(0, 3, s1.event("agentstate.session.forked", FORKED_STATE))),
                withHead("s1", 2));

        assertThat(result.events()).isEmpty();
        assertThat(result.rejections()).extracting(RejectionRow::sessionId, RejectionRow::reason).containsExactly(
                tuple("s1", "a fork starts a new session, and this one is at version 2"),
                tuple("s2", "a fork cannot be part of a batch"),
                tuple("s2", "a fork cannot be part of a batch"),
                tuple("s1", "a fork starts a new session, and this one is at version 2"));
    }

    @Test
    void shouldRefuseAForkWhoseStateCannotBeRead() {
        Result result = decider.decide(List.of(entry(0, 1,
                s1.event("agentstate.session.forked", FORKED_STATE.replace("\"role\":\"user\"",
                        "\"role\":\"user\",\"time\":\"not a time\"")))),
                EMPTY);

        assertThat(result.events()).isEmpty();
        assertThat(result.rejections()).extracting(RejectionRow::reason)
                .allSatisfy(reason -> assertThat(reason).startsWith("the forked state cannot be read"));
    }

    /** I4: the log alone decides. Two replays of the same records, decoded afresh, give equal results. */
    @Test
    void shouldDecideSameLogIdenticallyWhenReplayed() {
        Events s3 = Events.session("s3");
        List<byte[]> log = new ArrayList<>();
        List<Event> events = List.of(s1.started("u1"), s2.started("u2"), s1.message("user", "hi"),
                s1.toolRequested("c1", "search"), s2.patch("shared", "{\"a\":{\"b\":[1,2,3]}}"),
                s1.expected(1).message("user", "conflict"), s1.toolCompleted("c1", "{\"n\":1}"),
                s1.toolCompleted("c1", "{\"n\":2}"), s3.message("user", "dup me"), s1.summary(2, "hello"),
                s1.memory("u1", "fact"), s1.custom("com.example.step"));
        events.forEach(event -> log.add(Events.CODEC.encode(event)));
        log.add(Events.CODEC.encode(events.get(8)));
        log.add(Events.CODEC.encode(Events.batch(s2.message("user", "b1"), s2.toolRequested("x", "t"),
                s2.toolCompleted("nope", "1"))));
        log.add(Events.CODEC.encode(Events.batch(s2.message("user", "b2"), s2.patch("agent:w", "{\"k\":\"v\"}"))));
        log.add(Events.CODEC.encode(s2.ended("bye")));
        Context context = new Context(
                Map.of(new DecisionKey(T, "old"), new StoredDecision(T, "old", "s1", Outcome.ACCEPTED, 1L, 1L, 1, null)),
                Map.of(), Map.of(), Map.of());

        Result first = new BatchDecider(4, SIGNER).decide(replay(log), context);
        Result second = new BatchDecider(4, SIGNER).decide(replay(log), context);

        assertThat(first.counts()).containsEntry(Outcome.ACCEPTED, 13).containsEntry(Outcome.CONFLICT, 1)
                .containsEntry(Outcome.REJECTED, 4).containsEntry(Outcome.DUPLICATE, 1);
        assertThat(first.events().get(0).payload()).isNotSameAs(second.events().get(0).payload());
        assertThat(first.events()).hasSameSizeAs(second.events());
        for (int i = 0; i < first.events().size(); i++) {
            EventRow a = first.events().get(i);
            EventRow b = second.events().get(i);
            assertThat(List.of(a.tenant(), a.sessionId(), a.version(), a.eventId(), a.type(), a.source(), a.occurredAt(),
                    a.partition(), a.offset()))
                    .isEqualTo(List.of(b.tenant(), b.sessionId(), b.version(), b.eventId(), b.type(), b.source(),
                            b.occurredAt(), b.partition(), b.offset()));
            assertThat(Arrays.equals(a.payload(), b.payload())).as("payload of row %d", i).isTrue();
        }
        assertThat(first.rejections()).hasSameSizeAs(second.rejections());
        for (int i = 0; i < first.rejections().size(); i++) {
            RejectionRow a = first.rejections().get(i);
            RejectionRow b = second.rejections().get(i);
            assertThat(List.of(a.eventId(), a.afterVersion(), a.outcome(), a.reason(), a.type(), a.offset()))
                    .isEqualTo(List.of(b.eventId(), b.afterVersion(), b.outcome(), b.reason(), b.type(), b.offset()));
            assertThat(Arrays.equals(a.payload(), b.payload())).as("payload of rejection %d", i).isTrue();
        }
        assertThat(second.decisions()).isEqualTo(first.decisions());
        assertThat(second.replies()).isEqualTo(first.replies());
        assertThat(second.heads()).isEqualTo(first.heads());
        assertThat(second.toolCalls()).isEqualTo(first.toolCalls());
        assertThat(second.scopes()).isEqualTo(first.scopes());
        assertThat(second.memories()).isEqualTo(first.memories());
        assertThat(second.views()).isEqualTo(first.views());
        assertThat(second.counts()).isEqualTo(first.counts());
        assertThat(second.snapshotsDue()).isEqualTo(first.snapshotsDue());
        for (int i = 0; i < first.events().size(); i++) {
            assertThat(second.events().get(i).chainSeq()).isEqualTo(first.events().get(i).chainSeq());
            assertThat(second.events().get(i).chainHash()).as("chain hash of row %d", i)
                    .isEqualTo(first.events().get(i).chainHash());
        }
        for (int i = 0; i < first.rejections().size(); i++) {
            assertThat(second.rejections().get(i).chainHash()).as("chain hash of rejection %d", i)
                    .isEqualTo(first.rejections().get(i).chainHash());
        }
        assertThat(second.chainHeads().keySet()).containsExactlyElementsOf(first.chainHeads().keySet());
        first.chainHeads().forEach((session, head) -> {
            assertThat(second.chainHeads().get(session).link()).isEqualTo(head.link());
            assertThat(second.chainHeads().get(session).signature()).isEqualTo(head.signature());
        });
    }

    private static String subjectOf(byte[] value) {
        try {
            JsonNode tree = ViewCodec.json().readTree(value);
            return (tree.isArray() ? tree.get(0) : tree).get("subject").asText();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Decodes the record values afresh, each at its own offset, every one with a waiting writer. */
    private static List<LogEntry> replay(List<byte[]> log) {
        List<LogEntry> entries = new ArrayList<>();
        for (int offset = 0; offset < log.size(); offset++) {
            byte[] value = log.get(offset).clone();
            EventBatch batch = Events.CODEC.decodeRecord(subjectOf(value), value,
                    Map.of("content-type", value[0] == '[' ? EventCodec.BATCH : EventCodec.STRUCTURED), T, Events.T0);
            entries.add(entry(0, offset, batch, true));
        }
        return entries;
    }

    /**
     * I6: a view maintained in place by the ledger's ops equals the view installed from the fold of the archive, and both
     * decode to the folded state. The Redis script is simulated by {@link RedisView}.
     */
    @Test
    void shouldMaintainViewThatEqualsRebuiltViewAndFold() {
        List<List<LogEntry>> polls = List.of(
                List.of(
                        entry(0, 0, s1.started("u1", "{\"channel\":\"web\",\"score\":1.50,\"nested\":{\"x\":[1,2]}}")),
                        entry(0, 1, s1.id("m-hi").message("user", "hi")),
                        entry(0, 2, s2.started("u2")),
                        entry(0, 3, s1.toolRequested("c1", "search", "{\"q\":\"kafka\",\"limit\":5}")),
                        entry(0, 4, s2.message("user", "other session"))),
                List.of(
                        entry(0, 5, s1.source("agent://searcher").toolCompleted("c1", "{\"hits\":[1,2.5]}")),
                        entry(0, 6, s1.patch("shared", "{\"a\":{\"b\":1},\"x\":1}")),
                        atomic(0, 7, s1.message("assistant", "calling"), s1.toolRequested("c2", "fetch"),
                                s1.toolFailed("c2", "boom")),
                        entry(0, 8, s1.expected(1).message("user", "stale")),
                        entry(0, 9, s1.id("m-hi").message("user", "hi")),
                        atomic(0, 10, s1.message("user", "x"), s1.toolCompleted("c404", "1")),
                        entry(0, 11, s2.patch("agent:w", "{\"k\":\"v\"}"))),
                List.of(
                        entry(0, 12, s1.patch("shared", "{\"a\":{\"b\":null,\"c\":[1,2]},\"x\":null}")),
                        entry(0, 13, s1.toolMessage("c1", "two hits")),
                        entry(0, 14, s1.summary(4, "greeted, searched")),
                        entry(0, 15, s1.message("user", "after summary")),
                        entry(0, 16, s1.custom("com.example.step")),
                        entry(0, 17, s1.memory("u1", "likes kafka")),
                        entry(0, 18, s1.toolRequested("c3", "noop")),
                        entry(0, 19, s1.toolCompleted("c3", "null")),
                        entry(0, 20, s1.toolRequested("c4", "open"))),
                List.of(
                        entry(0, 21, s1.summary(10, "all of it")),
                        entry(0, 22, s1.message("assistant", "bye")),
                        entry(0, 23, s1.patch("shared", "{\"d\":true}")),
                        entry(0, 24, s1.ended("done")),
                        entry(0, 25, s2.ended(null))));

        Ledger ledger = new Ledger(decider);
        polls.forEach(ledger::poll);

        Map<SessionKey, SessionState> folded = ledger.folded;
        SessionState s1State = folded.get(key("s1"));
        assertThat(s1State.version()).isEqualTo(21);
        assertThat(s1State.status()).isEqualTo(SessionStatus.ENDED);
        assertThat(s1State.messages()).extracting(SessionState.Message::version).containsExactly(12L, 19L);
        assertThat(s1State.toolCalls().keySet()).containsExactly("c1", "c2", "c3", "c4");
        assertThat(s1State.scopes().get("shared")).isEqualTo(json("{\"a\":{\"c\":[1,2]},\"d\":true}"));
        assertThat(s1State.endedReason()).isEqualTo("done");
        assertThat(folded.get(key("s2")).version()).isEqualTo(4);
    }

    /**
     * I6 across PostgreSQL: session heads come back from {@code timestamptz} columns, which keep microseconds. An agent
     * clock with nanoseconds (Go's RFC3339Nano, for one) must not make the maintained view differ from a rebuild, which
     * folds the archived payloads and keeps every digit.
     */
    @Test
    void shouldMaintainViewThatEqualsRebuiltViewWhenEventTimesHaveNanoseconds() {
        Ledger ledger = new Ledger(decider);

        ledger.poll(List.of(entry(0, 0, s1.time("2025-01-01T00:00:00.123456789Z").started("u1"))));
        ledger.poll(List.of(entry(0, 1, s1.time("2025-01-01T00:00:01.987654321Z").message("user", "hi"))));

        // times are kept to the microsecond everywhere (the precision PostgreSQL stores), so every path agrees
        assertThat(ledger.folded.get(key("s1")).createdAt()).isEqualTo(Instant.parse("2025-01-01T00:00:00.123456Z"));
    }

    /**
     * The ledger around the decider, with its stores simulated: what a batch's transaction writes is read back as the
     * next batch's context the way {@code LedgerRepository} reads it (times at PostgreSQL's microsecond resolution,
     * scopes as JSON text); a rebuild folds the archived payloads; Redis views follow {@code view-apply.lua}. After every
     * poll, each session's maintained view must equal the rebuilt one and the fold.
     */
    private static final class Ledger {
        private final BatchDecider decider;
        final Map<DecisionKey, StoredDecision> decisions = new HashMap<>();
        final Map<SessionKey, SessionHead> heads = new HashMap<>();
        final Map<ToolKey, ToolCallStatus> tools = new HashMap<>();
        final Map<ScopeKey, JsonNode> scopes = new HashMap<>();
        final Map<SessionKey, SessionState> folded = new LinkedHashMap<>();
        final Map<SessionKey, RedisView> views = new HashMap<>();

        Ledger(BatchDecider decider) {
            this.decider = decider;
        }

        void poll(List<LogEntry> entries) {
            Result result = decider.decide(entries, new Context(decisions, heads, tools, scopes));
            result.decisions().forEach(d -> decisions.put(new DecisionKey(d.tenant(), d.eventId()), d));
            result.heads().forEach((session, head) -> heads.put(session, postgres(head)));
            result.toolCalls().forEach(t -> tools.put(new ToolKey(t.tenant(), t.sessionId(), t.callId()), t.status()));
            result.scopes().forEach(s -> scopes.put(new ScopeKey(s.tenant(), s.sessionId(), s.scope()),
                    ViewCodec.read(ViewCodec.write(s.document()), JsonNode.class)));
            for (EventRow row : result.events()) {
                SessionKey session = new SessionKey(row.tenant(), row.sessionId());
                SessionState state = folded.getOrDefault(session, SessionState.empty(row.tenant(), row.sessionId()));
                folded.put(session, state.apply(Events.CODEC.decodeArchived(row.payload()), row.version(),
                        row.payload().length));
            }
            for (BatchDecider.ViewUpdate update : result.views()) {
                int applied = views.computeIfAbsent(update.session(), k -> new RedisView()).apply(update.fromVersion(),
                        update.toVersion(), update.ops());
                assertThat(applied).as("view update of %s", update.session()).isEqualTo(1);
            }
            folded.forEach((session, state) -> assertSameView(views.get(session), state));
        }

        private static SessionHead postgres(SessionHead head) {
            return new SessionHead(head.tenant(), head.sessionId(), head.version(), head.status(), head.userId(),
                    micros(head.createdAt()), micros(head.updatedAt()), head.messageCount(), head.summaryThrough(),
                    head.bytes(), head.generation());
        }

        private static Instant micros(Instant time) {
            return time == null ? null : time.truncatedTo(ChronoUnit.MICROS);
        }
    }

    private static void assertSameView(RedisView incremental, SessionState state) {
        RedisView installed = new RedisView();
        assertThat(installed.install(state.version(), ViewCodec.install(state))).isEqualTo(1);
        JsonNode fold = tree(state);
        JsonNode fromIncremental = tree(incremental.decode());
        JsonNode fromInstalled = tree(installed.decode());

        assertThat(fromIncremental).as("incremental view at version %d", state.version()).isEqualTo(fold);
        assertThat(fromInstalled).as("installed view at version %d", state.version()).isEqualTo(fold);
        assertThat(incremental.meta).isEqualTo(installed.meta);
        assertThat(incremental.members()).isEqualTo(installed.members());
        assertThat(incremental.tools).isEqualTo(installed.tools);
        assertThat(incremental.scopes).isEqualTo(installed.scopes);
    }

    private static JsonNode tree(SessionState state) {
        return ViewCodec.json().valueToTree(state);
    }

    /** The Redis side of one session view, with the semantics of {@code redis/view-apply.lua}. */
    private static final class RedisView {
        final Map<String, String> meta = new HashMap<>();
        final Map<String, Long> messages = new HashMap<>();
        final Map<String, String> tools = new HashMap<>();
        final Map<String, String> scopes = new HashMap<>();

        int apply(long from, long to, List<ViewCodec.Op> ops) {
            String current = meta.get("version");
            if (current == null && from != 0) {
                return 0;
            }
            if (current != null && Long.parseLong(current) >= to) {
                return 0;
            }
            if (current != null && Long.parseLong(current) != from) {
                clear();
                return -1;
            }
            run(to, ops);
            return 1;
        }

        int install(long to, List<ViewCodec.Op> ops) {
            String current = meta.get("version");
            if (current != null && Long.parseLong(current) >= to) {
                return 0;
            }
            clear();
            run(to, ops);
            return 1;
        }

        private void run(long to, List<ViewCodec.Op> ops) {
            for (ViewCodec.Op op : ops) {
                switch (op.code()) {
                    case 'M' -> messages.put(op.value(), Long.parseLong(op.field()));
                    case 'T' -> messages.values().removeIf(score -> score <= Long.parseLong(op.field()));
                    case 'C' -> tools.put(op.field(), op.value());
                    case 'S' -> scopes.put(op.field(), op.value());
                    case 'H' -> meta.put(op.field(), op.value());
                    default -> throw new AssertionError("unknown view op " + op.code());
                }
            }
            meta.put("version", Long.toString(to));
        }

        private void clear() {
            meta.clear();
            messages.clear();
            tools.clear();
            scopes.clear();
        }

        /** ZRANGE order: by score, then by member. */
        List<String> members() {
            return messages.entrySet().stream()
                    .sorted(Comparator.comparing((Map.Entry<String, Long> member) -> member.getValue())
                            .thenComparing(Map.Entry::getKey))
                    .map(Map.Entry::getKey)
                    .toList();
        }

        SessionState decode() {
            return ViewCodec.decode(meta, members(), tools, scopes);
        }
    }
}
