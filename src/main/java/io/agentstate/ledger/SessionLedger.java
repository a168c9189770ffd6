package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventTooLargeException;
import io.agentstate.event.InvalidEventException;
import io.agentstate.event.Text;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.agentstate.security.AuditSigner;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.mutiny.subscription.Cancellable;

/**
 * The only writer of session state. Consumes the event log in poll batches and, per batch: drops records already
 * applied (offsets live in PostgreSQL), dead-letters poison records, decides the rest in log order, commits everything
 * in one PostgreSQL transaction, then updates Redis in one pipeline. Infrastructure failures are retried with back-off
 * for as long as they last; a batch fenced by another owner is re-read and decided again.
 */
@ApplicationScoped
public class SessionLedger {

    private static final Logger LOG = Logger.getLogger(SessionLedger.class);

    private final EventCodec codec;
    private final LedgerRepository repository;
    private final SessionViewStore views;
    private final DeadLetters deadLetters;
    private final PartitionCheck partitionCheck;
    private final RecordTrust trust;
    private final Snapshotter snapshotter;
    private final ArchiveSeal seal;
    private final BatchDecider decider;
    private final AgentStateConfig config;
    private final String group;
    private final String topic;
    private final MeterRegistry meters;
    private final DistributionSummary batchSize;
    private final Timer applyTime;
    private final Timer lag;
    // System.nanoTime() of the first failed attempt of each batch now being retried (one per consumer copy of the channel)
    private final Map<Object, Long> failingSince = new ConcurrentHashMap<>();

    SessionLedger(EventCodec codec, LedgerRepository repository, SessionViewStore views, DeadLetters deadLetters,
            PartitionCheck partitionCheck, RecordTrust trust, Snapshotter snapshotter, ArchiveSeal seal,
            AuditSigner signer, AgentStateConfig config,
            MeterRegistry meters,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.group.id") String group,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.topic") String topic) {
        this.codec = codec;
        this.repository = repository;
        this.views = views;
        this.deadLetters = deadLetters;
        this.partitionCheck = partitionCheck;
        this.trust = trust;
        this.snapshotter = snapshotter;
        this.seal = seal;
        this.config = config;
        this.decider = new BatchDecider(config.ledger().snapshotEvery(), signer);
        this.group = group;
        this.topic = topic;
        this.meters = meters;
        this.batchSize = DistributionSummary.builder("agentstate.ledger.batch.size")
                .description("Records per applied poll batch").register(meters);
        this.applyTime = Timer.builder("agentstate.ledger.batch.apply")
                .description("Time to apply one poll batch, PostgreSQL and Redis included").register(meters);
        this.lag = Timer.builder("agentstate.ledger.lag")
                .description("From the record's log timestamp to its decision being visible in Redis")
                .publishPercentiles(0.5, 0.99).register(meters);
        Gauge.builder("agentstate.ledger.batch.retrying", failingSince, since -> {
            long now = System.nanoTime();
            return since.values().stream().mapToLong(first -> now - first).max().orElse(0) / 1e9;
        }).strongReference(true).baseUnit("seconds")
                .description("How long the longest-failing poll batch in hand has been retried; 0 when none")
                .register(meters);
    }

    /** A record that can never become an event, with the reason. */
    public record Poison(ConsumerRecord<String, byte[]> record, String reason) {
    }

    private record Parsed(List<LogEntry> entries, List<Poison> poison, Map<Integer, Long> lastOffsets,
            Map<Integer, Map<Long, Long>> timestamps) {
    }

    /**
     * Where the latest batch of one partition is: its PostgreSQL commit, its Redis update, and the Redis update of the
     * batch before it. A batch's transaction waits for the commit of the one before it and for the Redis update of the
     * one before that, so each partition's commits keep the log's order and its views are at most two batches behind.
     */
    private record Tail(CompletableFuture<Void> committed, CompletableFuture<Void> published,
            CompletableFuture<Void> publishedBefore) {
    }

    private final Map<Integer, Tail> tails = new HashMap<>();
    // committed batches whose Redis update is not done yet, with the sessions they change per partition
    private final Map<Object, Map<Integer, Set<SessionKey>>> unpublished = new ConcurrentHashMap<>();
    private final Set<Cancellable> running = ConcurrentHashMap.newKeySet();
    // the Redis updates of the batches in hand, oldest first (guarded by tails)
    private final List<CompletableFuture<Void>> inFlight = new ArrayList<>();
    private static final int IN_FLIGHT = 3;
    private volatile boolean stopping;

    /**
     * Takes one poll batch. The answer comes once the batch is decoded and may start its transaction, so the next poll
     * batch is decoded (on a worker thread) while this one commits and updates Redis: at most three batches in hand per
     * replica, each partition's batches committed in log order.
     */
    @Incoming("events-in")
    public Uni<Void> consume(ConsumerRecords<String, byte[]> records) {
        if (stopping) {
            // shutting down: nothing new starts; the stored offsets bring these records back to the next owner
            return Uni.createFrom().nothing();
        }
        long started = System.nanoTime();
        Object attempt = new Object();
        batchSize.record(records.count());
        CompletableFuture<Void> committed = new CompletableFuture<>();
        CompletableFuture<Void> published = new CompletableFuture<>();
        List<CompletableFuture<Void>> before = new ArrayList<>();
        List<CompletableFuture<Void>> publishedPrior = new ArrayList<>();
        List<CompletableFuture<Void>> older;
        synchronized (tails) {
            for (var partition : records.partitions()) {
                Tail tail = tails.put(partition.partition(), new Tail(committed, published,
                        tails.containsKey(partition.partition()) ? tails.get(partition.partition()).published()
                                : CompletableFuture.completedFuture(null)));
                if (tail != null) {
                    before.add(tail.committed());
                    before.add(tail.publishedBefore());
                    publishedPrior.add(tail.published());
                }
            }
            // at most IN_FLIGHT batches in hand per replica, whatever partitions they hold: the next poll batch is
            // taken only once the Redis update of the oldest beyond that is done
            inFlight.removeIf(CompletableFuture::isDone);
            older = new ArrayList<>(inFlight);
            older = older.subList(0, Math.max(0, older.size() - (IN_FLIGHT - 1)));
            inFlight.add(published);
        }
        CompletableFuture<Void> mayStart = CompletableFuture.allOf(before.toArray(new CompletableFuture[0]));
        CompletableFuture<Void> roomBehind = CompletableFuture.allOf(older.toArray(new CompletableFuture[0]));
        // Records an earlier attempt committed (its reply lost, or another owner's) may never have reached Redis: their
        // views are dropped after the batch so the next read rebuilds them (with the partition of each).
        Map<SessionKey, Integer> alreadyApplied = new ConcurrentHashMap<>();
        Set<String> deadLettered = ConcurrentHashMap.newKeySet();
        Duration silence = config.ledger().statementTimeout().multipliedBy(2);
        // keys come from PostgreSQL, so reading them is retried like any storage step
        Uni<Parsed> decoded = Uni.createFrom().deferred(() -> seal.prepareLog(records)
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(ready -> parse(records))
                .chain(parsed -> seal.seal(parsed.entries())
                        .map(entries -> new Parsed(entries, parsed.poison(), parsed.lastOffsets(), parsed.timestamps())))
                .ifNoItem().after(silence).fail())
                .onFailure(failure -> !stopping)
                .invoke(failure -> retrying(attempt, "decode", failure, "Ledger batch not decoded, retrying: %s"))
                .onFailure(failure -> !stopping).retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely()
                // a predecessor that was abandoned (shutdown) fails this batch too: it never commits past a gap
                .call(() -> Uni.createFrom().completionStage(mayStart));
        // The poll loop gets its answer from a future, not from a second subscriber of the decoding: Mutiny's memoize
        // can hand a subscriber that joins from another thread its item before its subscription, which failed the
        // channel (NullPointerException "The mapper returned null" downstream of this method) and stopped the ledger.
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Cancellable[] handle = new Cancellable[1];
        handle[0] = decoded
                .invoke(() -> ready.complete(null))
                .chain(parsed -> Uni.createFrom().deferred(() -> deadLetter(parsed, deadLettered)
                        .chain(() -> repository.apply(group, topic, parsed.lastOffsets(),
                                decide(parsed, alreadyApplied, records.partitions()))))
                        // A server that went silent (no reset, no answer) must not hold the batch for ever; the offsets
                        // fence any attempt that still completes later (I7).
                        .ifNoItem().after(silence).fail()
                        .onFailure(failure -> !stopping).invoke(failure -> retrying(attempt, "apply", failure,
                                "Ledger batch not applied, retrying: %s"))
                        .onFailure(failure -> !stopping).retry()
                        .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff())
                        .indefinitely()
                        .invoke(applied -> {
                            // what a next owner must drop if this replica stops before the Redis update below
                            Map<Integer, Set<SessionKey>> sessions = new HashMap<>();
                            LedgerRepository.touchedSessions(applied.result()).forEach((session, partition) -> sessions
                                    .computeIfAbsent(partition, p -> new HashSet<>()).add(session));
                            alreadyApplied.forEach((session, partition) -> sessions
                                    .computeIfAbsent(partition, p -> new HashSet<>()).add(session));
                            unpublished.put(attempt, sessions);
                            committed.complete(null);
                        })
                        // views change in log order: this batch's Redis update follows the one before it
                        .call(() -> Uni.createFrom().completionStage(CompletableFuture.allOf(
                                publishedPrior.toArray(new CompletableFuture[0]))))
                        .call(applied -> publish(attempt, applied.result(), alreadyApplied.keySet()))
                        .invoke(applied -> {
                            unpublished.remove(attempt);
                            published.complete(null);
                            afterCommit(attempt, applied.result(), parsed, started);
                        }))
                .onTermination().invoke((applied, failure, cancelled) -> {
                    // a batch not even decoded fails the poll loop, unless the replica is stopping: then nothing
                    // answers it (the stored offsets bring these records back to the next owner)
                    if (!stopping) {
                        ready.completeExceptionally(failure != null ? failure
                                : new IllegalStateException("the batch was abandoned before it was decoded"));
                    }
                    // only a batch abandoned at shutdown ends without both: the batches behind it fail with it
                    committed.completeExceptionally(new IllegalStateException("an earlier batch was abandoned"));
                    published.completeExceptionally(new IllegalStateException("an earlier batch was abandoned"));
                    unpublished.remove(attempt);
                    failingSince.remove(attempt);
                    if (handle[0] != null) {
                        running.remove(handle[0]);
                    }
                })
                .subscribe().with(applied -> {
                }, failure -> {
                    if (!stopping) {
                        LOG.errorf("Ledger batch failed after its commit: %s", describe(failure));
                    }
                });
        running.add(handle[0]);
        if (published.isDone()) {
            running.remove(handle[0]);
        }
        return Uni.createFrom().completionStage(ready.copy())
                .call(() -> Uni.createFrom().completionStage(roomBehind));
    }

    void stop(@Observes ShutdownEvent event) {
        stopping = true;
        running.forEach(Cancellable::cancel);
    }

    private LedgerRepository.Decide decide(Parsed parsed, Map<SessionKey, Integer> alreadyApplied,
            Set<TopicPartition> partitions) {
        return new LedgerRepository.Decide() {
            @Override
            public Map<Integer, Set<SessionKey>> unpublished() {
                Map<Integer, Set<SessionKey>> pending = new HashMap<>();
                for (Map<Integer, Set<SessionKey>> batch : unpublished.values()) {
                    for (var partition : partitions) {
                        Set<SessionKey> sessions = batch.get(partition.partition());
                        if (sessions != null) {
                            pending.computeIfAbsent(partition.partition(), p -> new HashSet<>()).addAll(sessions);
                        }
                    }
                }
                return pending;
            }

            @Override
            public Uni<List<LogEntry>> filter(Map<Integer, Long> nextOffsets) {
                List<LogEntry> kept = new ArrayList<>();
                for (LogEntry entry : parsed.entries()) {
                    if (entry.offset() >= nextOffsets.getOrDefault(entry.partition(), 0L)) {
                        kept.add(entry);
                    } else {
                        alreadyApplied.put(new SessionKey(entry.batch().tenant(), entry.batch().sessionId()),
                                entry.partition());
                    }
                }
                return Uni.createFrom().item(kept);
            }

            @Override
            public BatchDecider.Result decide(List<LogEntry> entries, BatchDecider.Context context) {
                return decider.decide(entries, context);
            }
        };
    }

    // Dead letters go out before the batch transaction opens, so no Kafka round trip ever holds the partition's rows
    // locked; they are acknowledged before the offsets that skip them are committed. Only records at or after the stored
    // offsets are sent, and a retried batch does not send one twice (a crash in between may: the origin headers tell).
    private Uni<Void> deadLetter(Parsed parsed, Set<String> sent) {
        if (parsed.poison().isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return repository.offsets(group, topic, parsed.lastOffsets().keySet())
                .map(offsets -> {
                    Map<Integer, Long> next = new HashMap<>();
                    offsets.forEach(offset -> next.put(offset.partition(), offset.nextOffset()));
                    return parsed.poison().stream()
                            .filter(p -> p.record().offset() >= next.getOrDefault(p.record().partition(), 0L))
                            .toList();
                })
                .chain(poison -> deadLetters.send(poison, sent));
    }

    // Redis after PostgreSQL (I5). A failure here is retried: the views are version-checked, so repeating is harmless.
    private Uni<Void> publish(Object attempt, BatchDecider.Result result, Set<SessionKey> alreadyApplied) {
        return Uni.createFrom().deferred(() -> views.publish(result).chain(() -> views.invalidate(alreadyApplied)))
                .ifNoItem().after(config.ledger().statementTimeout()).fail()
                .onFailure(failure -> !stopping)
                .invoke(failure -> retrying(attempt, "redis", failure, "Redis update after commit failed, retrying: %s"))
                .onFailure(failure -> !stopping).retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely();
    }

    private void retrying(Object attempt, String stage, Throwable failure, String message) {
        failingSince.putIfAbsent(attempt, System.nanoTime());
        meters.counter("agentstate.ledger.batch.retries", "stage", stage).increment();
        LOG.warnf(message, describe(failure));
    }

    private void afterCommit(Object attempt, BatchDecider.Result result, Parsed parsed, long started) {
        applyTime.record(Duration.ofNanos(System.nanoTime() - started));
        result.counts().forEach((outcome, count) -> meters.counter("agentstate.ledger.events", "outcome",
                outcome.name().toLowerCase(Locale.ROOT)).increment(count));
        if (!parsed.poison().isEmpty()) {
            meters.counter("agentstate.ledger.events", "outcome", "dead_lettered").increment(parsed.poison().size());
        }
        long now = System.currentTimeMillis();
        for (BatchDecider.EventRow row : result.events()) {
            Long timestamp = parsed.timestamps().get(row.partition()).get(row.offset());
            if (timestamp != null && timestamp > 0) {
                lag.record(Duration.ofMillis(Math.max(0, now - timestamp)));
            }
        }
        result.heads().values().forEach(head -> meters.summary("agentstate.session.bytes").record(head.bytes()));
        if (!result.snapshotsDue().isEmpty()) {
            snapshotter.snapshot(result.snapshotsDue());
        }
    }

    private Parsed parse(ConsumerRecords<String, byte[]> records) {
        List<LogEntry> entries = new ArrayList<>(records.count());
        List<Poison> poison = new ArrayList<>();
        Map<Integer, Long> lastOffsets = new LinkedHashMap<>();
        Map<Integer, Map<Long, Long>> timestamps = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            lastOffsets.merge(record.partition(), record.offset(), Math::max);
            timestamps.computeIfAbsent(record.partition(), p -> new HashMap<>()).put(record.offset(), record.timestamp());
            Map<String, String> headers = new HashMap<>();
            for (Header header : record.headers()) {
                headers.put(header.key().toLowerCase(Locale.ROOT), header.value() == null ? ""
                        : new String(header.value(), StandardCharsets.UTF_8));
            }
            String misplaced = partitionCheck.misplaced(record);
            if (misplaced != null) {
                poison.add(new Poison(record, misplaced));
                continue;
            }
            RecordTrust.Verdict verdict = trust.judge(record);
            if (verdict.refusal() != null) {
                poison.add(new Poison(record, verdict.refusal()));
                continue;
            }
            try {
                EventBatch batch = verdict.admit(codec.decodeRecord(record.key(), seal.value(record), headers,
                        verdict.tenant(), Instant.ofEpochMilli(record.timestamp())));
                List<byte[]> payloads = new ArrayList<>(batch.events().size());
                for (Event event : batch.events()) {
                    byte[] payload = codec.encode(event);
                    if (payload.length > codec.limits().maxEventBytes()) {
                        throw new EventTooLargeException("event " + Text.quote(event.id()) + " of " + payload.length
                                + " bytes exceeds the limit of " + codec.limits().maxEventBytes());
                    }
                    payloads.add(payload);
                }
                entries.add(new LogEntry(record.partition(), record.offset(), batch, payloads,
                        verdict.reply() && headers.containsKey(EventCodec.REPLY_HEADER)));
            } catch (InvalidEventException e) {
                poison.add(new Poison(record, e.getMessage()));
            } catch (RuntimeException | StackOverflowError e) {
                // Whatever one record does to the parser or a validator, it must not stop the log (I8).
                poison.add(new Poison(record, "unreadable record: " + e.getClass().getSimpleName()));
            }
        }
        return new Parsed(entries, poison, lastOffsets, timestamps);
    }

    private static String describe(Throwable failure) {
        return LogSafe.failure(failure);
    }
}
