package io.agentstate.ledger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventData;
import io.agentstate.event.EventType;
import io.agentstate.security.AuditChain;
import io.agentstate.security.AuditSigner;

/**
 * Decides a poll batch of log entries in log order, against what PostgreSQL knew before the batch, and produces
 * everything the batch writes: rows for one transaction and view updates for one Redis pipeline. Every archived and
 * refused row gets its place in its session's audit chain, and each session the batch touched gets a signed chain
 * head. Pure: the same entries, context and key always give the same result (I4).
 */
public final class BatchDecider {

    /** What PostgreSQL knew before the batch, for the keys the batch names; a session without a chain starts one. */
    public record Context(Map<DecisionKey, StoredDecision> decisions, Map<SessionKey, SessionHead> heads,
            Map<ToolKey, ToolCallStatus> toolCalls, Map<ScopeKey, JsonNode> scopes,
            Map<SessionKey, AuditChain.Link> chains) {

        /** A context of sessions that have no audit chain yet. */
        public Context(Map<DecisionKey, StoredDecision> decisions, Map<SessionKey, SessionHead> heads,
                Map<ToolKey, ToolCallStatus> toolCalls, Map<ScopeKey, JsonNode> scopes) {
            this(decisions, heads, toolCalls, scopes, Map.of());
        }
    }

    public record DecisionKey(String tenant, String eventId) {
    }

    public record ToolKey(String tenant, String sessionId, String callId) {
    }

    public record ScopeKey(String tenant, String sessionId, String scope) {
    }

    /** An archived event; {@code chainSeq} and {@code chainHash} are its place in the session's audit chain. */
    public record EventRow(String tenant, String sessionId, long version, String eventId, String type, String source,
            Instant occurredAt, int partition, long offset, byte[] payload, long chainSeq, byte[] chainHash) {

        /** What the audit chain covers of this row: its stored payload and metadata (not its Kafka position). */
        public AuditChain.Entry auditEntry() {
            return AuditChain.Entry.accepted(tenant, sessionId, chainSeq, version, eventId, type, source, occurredAt,
                    payload);
        }
    }

    /** A refused event; {@code chainSeq} and {@code chainHash} are its place in the session's audit chain. */
    public record RejectionRow(String tenant, String sessionId, String eventId, long afterVersion,
            Decision.Outcome outcome, String reason, String type, String source, Instant occurredAt, int partition,
            long offset, byte[] payload, long chainSeq, byte[] chainHash) {

        /** What the audit chain covers of this row: its stored payload and metadata (not its Kafka position). */
        public AuditChain.Entry auditEntry() {
            return AuditChain.Entry.refused(tenant, sessionId, chainSeq, outcome.name(), afterVersion, eventId, type,
                    source, occurredAt, reason, payload);
        }
    }

    public record ToolCallRow(String tenant, String sessionId, String callId, ToolCallStatus status,
            long requestedVersion, Long completedVersion) {
    }

    public record ScopeRow(String tenant, String sessionId, String scope, JsonNode document, long version) {
    }

    /**
     * One change to a user's facts, in log order: a fact recorded ({@code memoryId} = {@code eventId}), revised
     * ({@code tags} null keeps the current ones) or forgotten ({@code fact} and {@code tags} null); {@code distinct}
     * (recorded only; a revision keeps the fact's) exempts it from near-duplicate marking.
     */
    public record MemoryRow(EventType kind, String tenant, String userId, String memoryId, String eventId,
            String sessionId, long version, String fact, List<String> tags, String source, Instant recordedAt,
            boolean distinct) {
    }

    /** The view changes of one session: valid only on a view of that generation at {@code fromVersion}. */
    public record ViewUpdate(SessionKey session, long generation, long fromVersion, long toVersion,
            List<ViewCodec.Op> ops) {
    }

    /** A session erased by the batch: the partition of its erasure and the generation its next life has. */
    public record Erasure(int partition, long generation) {
    }

    /** Everything one batch writes; {@code chainHeads} holds the signed audit chain head of every session it touched. */
    public record Result(List<EventRow> events, List<StoredDecision> decisions, List<RejectionRow> rejections,
            Map<SessionKey, SessionHead> heads, List<ToolCallRow> toolCalls, List<ScopeRow> scopes,
            List<MemoryRow> memories, List<ViewUpdate> views, List<Reply> answers, Map<Decision.Outcome, Integer> counts,
            List<SessionHead> snapshotsDue, Map<SessionKey, Erasure> erased,
            Map<SessionKey, AuditSigner.SignedHead> chainHeads) {

        /** The decisions writers wait for, in log order. */
        public List<Decision> replies() {
            return answers.stream().map(Reply::decision).toList();
        }
    }

    /**
     * A decision a writer waits for, with the fingerprint of the record it answers (waiters are told apart by it) and
     * whether that record is the request its ids were decided for: a repeat whose body or session differs from the
     * original's ({@code sameRequest} false) is another request under a reused key, never a retry of the original.
     */
    public record Reply(Decision decision, String fingerprint, boolean sameRequest) {
    }

    private final int snapshotEvery;
    private final AuditSigner signer;

    /**
     * @param snapshotEvery a snapshot is due when a version is a multiple of this; 0 for none
     * @param signer signs each touched session's chain head, once per batch
     */
    public BatchDecider(int snapshotEvery, AuditSigner signer) {
        this.snapshotEvery = snapshotEvery;
        this.signer = signer;
    }

    public Result decide(List<LogEntry> entries, Context context) {
        return new Run(context).decide(entries);
    }

    /** One batch's working set; decisions made earlier in the batch are visible to later entries. */
    private final class Run {
        private final Map<DecisionKey, StoredDecision> decisions;
        private final Map<SessionKey, SessionHead> heads;
        private final Map<ToolKey, ToolCallStatus> toolCalls;
        private final Map<ScopeKey, JsonNode> scopes;
        private final Map<SessionKey, AuditChain.Link> chains;
        private final Map<SessionKey, AuditChain.Link> changedChains = new LinkedHashMap<>();
        private final Map<SessionKey, SessionHead> changedHeads = new LinkedHashMap<>();
        private final Map<SessionKey, Long> viewFrom = new HashMap<>();
        private final Map<SessionKey, List<ViewCodec.Op>> viewOps = new LinkedHashMap<>();
        private final List<EventRow> eventRows = new ArrayList<>();
        private final List<StoredDecision> decisionRows = new ArrayList<>();
        private final List<RejectionRow> rejectionRows = new ArrayList<>();
        private final Map<ToolKey, ToolCallRow> toolRows = new LinkedHashMap<>();
        private final Map<ScopeKey, ScopeRow> scopeRows = new LinkedHashMap<>();
        private final List<MemoryRow> memoryRows = new ArrayList<>();
        private final List<Reply> replies = new ArrayList<>();
        private final Map<Decision.Outcome, Integer> counts = new LinkedHashMap<>();
        private final List<SessionHead> snapshotsDue = new ArrayList<>();
        private final Map<SessionKey, Erasure> erased = new LinkedHashMap<>();

        Run(Context context) {
            this.decisions = new HashMap<>(context.decisions());
            this.heads = new HashMap<>(context.heads());
            this.toolCalls = new HashMap<>(context.toolCalls());
            this.scopes = new HashMap<>(context.scopes());
            this.chains = new HashMap<>(context.chains());
        }

        Result decide(List<LogEntry> entries) {
            for (LogEntry entry : entries) {
                // whose decision the first id holds: this record's own when it was unknown before
                StoredDecision before = decisions.get(new DecisionKey(entry.batch().tenant(), entry.batch().first().id()));
                Decision decision = decideEntry(entry);
                counts.merge(decision.outcome(), entry.batch().events().size(), Integer::sum);
                if (entry.replyRequested()) {
                    String fingerprint = entry.batch().fingerprint();
                    replies.add(new Reply(decision, fingerprint, sameRequest(entry.batch(), before, decision,
                            fingerprint)));
                }
            }
            List<ViewUpdate> views = new ArrayList<>();
            changedHeads.forEach((key, head) -> {
                List<ViewCodec.Op> ops = viewOps.computeIfAbsent(key, k -> new ArrayList<>());
                ops.addAll(ViewCodec.headFields(head));
                views.add(new ViewUpdate(key, head.generation(), viewFrom.get(key), head.version(), ops));
            });
            // Heads are signed once per batch, whatever the batch did to them: the newest entries are always covered by
            // a signature, and HMAC costs microseconds against a batch's transaction.
            Map<SessionKey, AuditSigner.SignedHead> chainHeads = new LinkedHashMap<>();
            changedChains.forEach((key, link) -> chainHeads.put(key, signer.sign(key.tenant(), key.sessionId(), link)));
            return new Result(eventRows, decisionRows, rejectionRows, changedHeads, new ArrayList<>(toolRows.values()),
                    new ArrayList<>(scopeRows.values()), memoryRows, views, replies, counts, snapshotsDue, erased,
                    chainHeads);
        }

        // The first id's decision is this record's own when the id was new. Otherwise the record repeats the request it
        // was first decided for, or is a different request under a reused key (another body, another session, or a
        // batch overlapping it), which its writer must be told (422) rather than given, or overwrite, the original's
        // answer. Rows written before fingerprints were kept count as the same request.
        private static boolean sameRequest(EventBatch batch, StoredDecision before, Decision decision,
                String fingerprint) {
            if (before == null) {
                return true;
            }
            return decision.outcome() == Decision.Outcome.DUPLICATE && before.sessionId().equals(batch.sessionId())
                    && (before.fingerprint() == null || before.fingerprint().equals(fingerprint));
        }

        // The chain hash is taken from the row as built, so the chain covers exactly what PostgreSQL stores.
        private EventRow chained(EventRow row) {
            AuditChain.Link link = AuditChain.append(chainOf(row.tenant(), row.sessionId()), row.auditEntry());
            advanceChain(row.tenant(), row.sessionId(), link);
            return new EventRow(row.tenant(), row.sessionId(), row.version(), row.eventId(), row.type(), row.source(),
                    row.occurredAt(), row.partition(), row.offset(), row.payload(), link.seq(), link.hash());
        }

        private RejectionRow chained(RejectionRow row) {
            AuditChain.Link link = AuditChain.append(chainOf(row.tenant(), row.sessionId()), row.auditEntry());
            advanceChain(row.tenant(), row.sessionId(), link);
            return new RejectionRow(row.tenant(), row.sessionId(), row.eventId(), row.afterVersion(), row.outcome(),
                    row.reason(), row.type(), row.source(), row.occurredAt(), row.partition(), row.offset(),
                    row.payload(), link.seq(), link.hash());
        }

        private long nextSeq(String tenant, String sessionId) {
            return chainOf(tenant, sessionId).seq() + 1;
        }

        private AuditChain.Link chainOf(String tenant, String sessionId) {
            return chains.getOrDefault(new SessionKey(tenant, sessionId), AuditChain.Link.GENESIS);
        }

        private void advanceChain(String tenant, String sessionId, AuditChain.Link link) {
            SessionKey key = new SessionKey(tenant, sessionId);
            chains.put(key, link);
            changedChains.put(key, link);
        }

        private Decision decideEntry(LogEntry entry) {
            EventBatch batch = entry.batch();
            SessionKey key = new SessionKey(batch.tenant(), batch.sessionId());
            List<String> ids = batch.events().stream().map(Event::id).toList();
            List<StoredDecision> known = new ArrayList<>();
            for (String id : ids) {
                StoredDecision stored = decisions.get(new DecisionKey(batch.tenant(), id));
                if (stored != null) {
                    known.add(stored);
                }
            }
            SessionHead head = heads.getOrDefault(key, SessionHead.empty(key.tenant(), key.sessionId()));
            if (known.size() == ids.size()) {
                StoredDecision first = known.get(0);
                Long firstVersion = first.outcome() == Decision.Outcome.ACCEPTED ? first.version() : null;
                // the original decision, in the session that took it (an id is unique per tenant, not per session)
                return Decision.repeat(key.tenant(), first.sessionId(), ids, first.outcome(), firstVersion,
                        first.lastVersion(), first.currentVersion(), first.reason());
            }
            if (!known.isEmpty()) {
                return refuse(entry, key, head, Decision.Outcome.REJECTED,
                        "the batch overlaps event " + known.get(0).eventId() + ", decided earlier");
            }
            Long expected = batch.expectedVersion();
            if (expected != null && expected != head.version()) {
                return refuse(entry, key, head, Decision.Outcome.CONFLICT,
                        "expected version " + expected + " but the session is at " + head.version());
            }
            if (batch.events().size() > 1 && batch.events().stream().anyMatch(e -> e.kind() == EventType.SESSION_FORKED)) {
                return refuse(entry, key, head, Decision.Outcome.REJECTED, "a fork cannot be part of a batch");
            }
            if (batch.events().stream().anyMatch(e -> e.kind() == EventType.SESSION_ERASED)) {
                if (batch.events().size() > 1) {
                    return refuse(entry, key, head, Decision.Outcome.REJECTED,
                            "an erasure cannot be part of a batch");
                }
                String reason = head.rejection(batch.first(), Map.of());
                return reason != null ? refuse(entry, key, head, Decision.Outcome.REJECTED, reason)
                        : erase(entry, key, head);
            }
            Map<String, ToolCallStatus> calls = new HashMap<>();
            SessionHead next = head;
            for (Event event : batch.events()) {
                String toolCall = callId(event);
                if (toolCall != null && !calls.containsKey(toolCall)) {
                    ToolCallStatus status = toolCalls.get(new ToolKey(key.tenant(), key.sessionId(), toolCall));
                    if (status != null) {
                        calls.put(toolCall, status);
                    }
                }
                String reason = next.rejection(event, calls);
                if (reason != null) {
                    String why = batch.events().size() > 1 ? "event " + event.id() + ": " + reason : reason;
                    return refuse(entry, key, head, Decision.Outcome.REJECTED, why);
                }
                next = next.advance(event, versionAfter(next, event), 0);
                trackToolCall(event, calls);
            }
            return accept(entry, key, head);
        }

        private Decision accept(LogEntry entry, SessionKey key, SessionHead head) {
            EventBatch batch = entry.batch();
            viewFrom.putIfAbsent(key, head.version());
            List<ViewCodec.Op> ops = viewOps.computeIfAbsent(key, k -> new ArrayList<>());
            SessionHead current = head;
            long first = versionAfter(head, batch.first());
            long last = first + batch.events().size() - 1;
            String fingerprint = batch.fingerprint();
            for (int i = 0; i < batch.events().size(); i++) {
                Event event = batch.events().get(i);
                byte[] payload = entry.payloads().get(i);
                long version = versionAfter(current, event);
                current = current.advance(event, version, entry.sizes().get(i));
                eventRows.add(chained(new EventRow(key.tenant(), key.sessionId(), version, event.id(), event.type(),
                        event.source(), event.time(), entry.partition(), entry.offset(), payload,
                        nextSeq(key.tenant(), key.sessionId()), null)));
                decisionRows.add(new StoredDecision(key.tenant(), event.id(), key.sessionId(),
                        Decision.Outcome.ACCEPTED, version, last, last, null, fingerprint));
                effects(event, version, key, ops);
                if (snapshotEvery > 0 && version % snapshotEvery == 0) {
                    snapshotsDue.add(current);
                }
            }
            heads.put(key, current);
            changedHeads.put(key, current);
            for (StoredDecision row : decisionRows.subList(decisionRows.size() - batch.events().size(),
                    decisionRows.size())) {
                decisions.put(new DecisionKey(row.tenant(), row.eventId()), row);
            }
            return new Decision(key.tenant(), key.sessionId(), batch.events().stream().map(Event::id).toList(),
                    Decision.Outcome.ACCEPTED, first, last, last, null);
        }

        // The per-event writes besides the archive row: tool ledger, scopes, memories and the view pieces.
        private void effects(Event event, long version, SessionKey key, List<ViewCodec.Op> ops) {
            switch (event.kind()) {
                case SESSION_STARTED -> {
                    EventData.SessionStarted data = (EventData.SessionStarted) event.payload();
                    if (data.metadata() != null) {
                        ops.add(ViewCodec.meta("metadata", data.metadata()));
                    }
                }
                case MESSAGE_APPENDED -> {
                    EventData.MessageAppended data = (EventData.MessageAppended) event.payload();
                    ops.add(ViewCodec.message(new SessionState.Message(version, event.id(), data.role(), data.content(),
                            data.name(), data.toolCallId(), event.source(), event.time())));
                }
                case TOOL_REQUESTED -> {
                    EventData.ToolRequested data = (EventData.ToolRequested) event.payload();
                    ToolKey tool = new ToolKey(key.tenant(), key.sessionId(), data.callId());
                    toolCalls.put(tool, ToolCallStatus.REQUESTED);
                    toolRows.put(tool, new ToolCallRow(key.tenant(), key.sessionId(), data.callId(),
                            ToolCallStatus.REQUESTED, version, null));
                    ops.add(ViewCodec.toolRequest(new SessionState.ToolCall(data.callId(), data.tool(), data.arguments(),
                            ToolCallStatus.REQUESTED, null, null, version, null, event.source(), null)));
                }
                case TOOL_COMPLETED -> {
                    EventData.ToolCompleted data = (EventData.ToolCompleted) event.payload();
                    ToolKey tool = new ToolKey(key.tenant(), key.sessionId(), data.callId());
                    ToolCallStatus status = data.error() != null ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETED;
                    toolCalls.put(tool, status);
                    ToolCallRow requested = toolRows.get(tool);
                    toolRows.put(tool, new ToolCallRow(key.tenant(), key.sessionId(), data.callId(), status,
                            requested != null ? requested.requestedVersion() : 0, version));
                    ops.add(ViewCodec.toolResult(new SessionState.ToolCall(data.callId(), null, null, status,
                            data.output(), data.error(), 0, version, null, event.source())));
                }
                case STATE_PATCHED -> {
                    EventData.StatePatched data = (EventData.StatePatched) event.payload();
                    ScopeKey scope = new ScopeKey(key.tenant(), key.sessionId(), data.scope());
                    JsonNode merged = JsonMergePatch.apply(scopes.get(scope), data.patch());
                    scopes.put(scope, merged);
                    scopeRows.put(scope, new ScopeRow(key.tenant(), key.sessionId(), data.scope(), merged, version));
                    ops.add(ViewCodec.scope(data.scope(), merged));
                }
                case MEMORY_RECORDED -> {
                    EventData.MemoryRecorded data = (EventData.MemoryRecorded) event.payload();
                    memoryRows.add(new MemoryRow(EventType.MEMORY_RECORDED, key.tenant(), data.userId(), event.id(),
                            event.id(), key.sessionId(), version, data.fact(), data.tags(), event.source(),
                            event.time(), data.distinct()));
                }
                case MEMORY_REVISED -> {
                    EventData.MemoryRevised data = (EventData.MemoryRevised) event.payload();
                    memoryRows.add(new MemoryRow(EventType.MEMORY_REVISED, key.tenant(), data.userId(),
                            data.memoryId(), event.id(), key.sessionId(), version, data.fact(), data.tags(),
                            event.source(), event.time(), false));
                }
                case MEMORY_FORGOTTEN -> {
                    EventData.MemoryForgotten data = (EventData.MemoryForgotten) event.payload();
                    memoryRows.add(new MemoryRow(EventType.MEMORY_FORGOTTEN, key.tenant(), data.userId(),
                            data.memoryId(), event.id(), key.sessionId(), version, null, null, event.source(),
                            event.time(), false));
                }
                case SUMMARY_RECORDED -> {
                    EventData.SummaryRecorded data = (EventData.SummaryRecorded) event.payload();
                    ops.add(ViewCodec.meta("summary", new SessionState.Summary(version, data.throughVersion(),
                            data.summary(), data.model(), data.promptVersion())));
                    ops.add(ViewCodec.trim(data.throughVersion()));
                }
                case SESSION_ENDED -> {
                    EventData.SessionEnded data = (EventData.SessionEnded) event.payload();
                    if (data.reason() != null) {
                        ops.add(ViewCodec.meta("endedReason", data.reason()));
                    }
                }
                case SESSION_FORKED -> forkEffects(event, version, key, ops);
                case CUSTOM, SESSION_ERASED -> {
                    // recorded in the archive and the timeline only (an erasure never gets here: see erase)
                }
            }
        }

        // A fork's carried tool ledger and scopes become the new session's rows, and its view is written whole.
        private void forkEffects(Event event, long version, SessionKey key, List<ViewCodec.Op> ops) {
            SessionState forked = SessionState.empty(key.tenant(), key.sessionId()).apply(event, version, 0);
            for (SessionState.ToolCall call : forked.toolCalls().values()) {
                ToolKey tool = new ToolKey(key.tenant(), key.sessionId(), call.callId());
                toolCalls.put(tool, call.status());
                toolRows.put(tool, new ToolCallRow(key.tenant(), key.sessionId(), call.callId(), call.status(),
                        call.requestedVersion(), call.completedVersion()));
            }
            forked.scopes().forEach((name, document) -> {
                ScopeKey scope = new ScopeKey(key.tenant(), key.sessionId(), name);
                scopes.put(scope, document);
                scopeRows.put(scope, new ScopeRow(key.tenant(), key.sessionId(), name, document, version));
            });
            ops.addAll(ViewCodec.install(forked));
        }

        // Forgets everything this batch and the stores hold of the session; a later event starts it again at version 1.
        private Decision erase(LogEntry entry, SessionKey key, SessionHead head) {
            Event event = entry.batch().first();
            eventRows.removeIf(row -> row.tenant().equals(key.tenant()) && row.sessionId().equals(key.sessionId()));
            rejectionRows.removeIf(row -> row.tenant().equals(key.tenant()) && row.sessionId().equals(key.sessionId()));
            memoryRows.removeIf(row -> row.tenant().equals(key.tenant()) && row.sessionId().equals(key.sessionId()));
            toolRows.keySet().removeIf(k -> k.tenant().equals(key.tenant()) && k.sessionId().equals(key.sessionId()));
            scopeRows.keySet().removeIf(k -> k.tenant().equals(key.tenant()) && k.sessionId().equals(key.sessionId()));
            toolCalls.keySet().removeIf(k -> k.tenant().equals(key.tenant()) && k.sessionId().equals(key.sessionId()));
            scopes.keySet().removeIf(k -> k.tenant().equals(key.tenant()) && k.sessionId().equals(key.sessionId()));
            snapshotsDue.removeIf(h -> h.tenant().equals(key.tenant()) && h.sessionId().equals(key.sessionId()));
            // its decisions go too, as in PostgreSQL: an id of the old life is new again, in this batch as in the next
            decisionRows.removeIf(d -> d.tenant().equals(key.tenant()) && d.sessionId().equals(key.sessionId()));
            decisions.values().removeIf(d -> d.tenant().equals(key.tenant()) && d.sessionId().equals(key.sessionId()));
            changedHeads.remove(key);
            // its chain goes with its rows (PostgreSQL deletes the chain head); a new life starts a new chain
            changedChains.remove(key);
            chains.put(key, AuditChain.Link.GENESIS);
            viewFrom.remove(key);
            viewOps.remove(key);
            SessionHead next = SessionHead.empty(key.tenant(), key.sessionId(), head.generation() + 1);
            heads.put(key, next);
            erased.put(key, new Erasure(entry.partition(), next.generation()));
            StoredDecision row = new StoredDecision(key.tenant(), event.id(), key.sessionId(), Decision.Outcome.ACCEPTED,
                    null, null, 0, null, entry.batch().fingerprint());
            decisions.put(new DecisionKey(key.tenant(), event.id()), row);
            decisionRows.add(row);
            return new Decision(key.tenant(), key.sessionId(), List.of(event.id()), Decision.Outcome.ACCEPTED, null, null,
                    0, null);
        }

        private Decision refuse(LogEntry entry, SessionKey key, SessionHead head, Decision.Outcome outcome,
                String reason) {
            EventBatch batch = entry.batch();
            String fingerprint = batch.fingerprint();
            for (int i = 0; i < batch.events().size(); i++) {
                Event event = batch.events().get(i);
                DecisionKey decisionKey = new DecisionKey(key.tenant(), event.id());
                if (decisions.containsKey(decisionKey)) {
                    continue;
                }
                StoredDecision row = new StoredDecision(key.tenant(), event.id(), key.sessionId(), outcome, null, null,
                        head.version(), reason, fingerprint);
                decisions.put(decisionKey, row);
                decisionRows.add(row);
                rejectionRows.add(chained(new RejectionRow(key.tenant(), key.sessionId(), event.id(), head.version(),
                        outcome, reason, event.type(), event.source(), event.time(), entry.partition(), entry.offset(),
                        entry.payloads().get(i), nextSeq(key.tenant(), key.sessionId()), null)));
            }
            return new Decision(key.tenant(), key.sessionId(), batch.events().stream().map(Event::id).toList(), outcome,
                    null, null, head.version(), reason);
        }

        // A session's versions follow one another; a fork's first continues from the version it copied.
        private static long versionAfter(SessionHead head, Event event) {
            return event.payload() instanceof EventData.SessionForked fork ? fork.sourceVersion() + 1
                    : head.version() + 1;
        }

        private static String callId(Event event) {
            return switch (event.kind()) {
                case TOOL_REQUESTED -> ((EventData.ToolRequested) event.payload()).callId();
                case TOOL_COMPLETED -> ((EventData.ToolCompleted) event.payload()).callId();
                case SESSION_STARTED, MESSAGE_APPENDED, STATE_PATCHED, MEMORY_RECORDED, MEMORY_REVISED,
                        MEMORY_FORGOTTEN, SUMMARY_RECORDED, SESSION_ENDED, SESSION_ERASED, SESSION_FORKED, CUSTOM ->
                    null;
            };
        }

        private static void trackToolCall(Event event, Map<String, ToolCallStatus> calls) {
            if (event.payload() instanceof EventData.ToolRequested requested) {
                calls.put(requested.callId(), ToolCallStatus.REQUESTED);
            } else if (event.payload() instanceof EventData.ToolCompleted completed) {
                calls.put(completed.callId(),
                        completed.error() != null ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETED);
            }
        }
    }
}
