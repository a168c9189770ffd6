package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

import io.agentstate.event.Event;
import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.event.InvalidEventException;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.DeadLetterRecord;
import io.agentstate.platform.LogSafe;
import io.agentstate.security.Caller;
import io.agentstate.security.DataKeys;
import io.agentstate.security.LogSeal;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;

/**
 * Moves what agents produce to their tenant's ingress topic ({@code agent-state.ingress.<tenant>}, written only by that
 * tenant under Kafka's ACLs) into the event log, sealed with that tenant: the topic, not the record, says whose it is. A
 * record naming another tenant or erasing a session is dead-lettered with the reason instead; anything else wrong with a
 * record (shape, schemas, limits) is the ledger's to judge on the log, and it dead-letters it there. The sessions of a
 * poll batch are relayed side by side on the relay's own producer (so they share its batches), the records of one
 * session one after the other, each once the one before it is acknowledged or dead-lettered; the ingress offsets are
 * acknowledged after the whole poll batch: at least once, in order per session; the ledger's event-id dedupe absorbs a
 * repeat. A record the log refuses as too large once sealed is dead-lettered; any other failed send is retried.
 */
@ApplicationScoped
public class IngressRelay {

    private static final Logger LOG = Logger.getLogger(IngressRelay.class);
    // What only the service may set on the log; a producer's own copies are dropped, case-insensitively as the ledger
    // reads them.
    private static final Set<String> RESERVED_HEADERS = Set.of(EventCodec.REPLY_HEADER, LogSeal.TENANT_HEADER,
            LogSeal.SEAL_HEADER, DataKeys.LOG_HEADER);

    private enum Outcome {
        RELAYED,
        DEAD_LETTERED
    }

    private final EventCodec codec;
    private final EventPublisher publisher;
    private final MutinyEmitter<byte[]> deadLetters;
    private final AgentStateConfig config;
    private final MeterRegistry meters;

    IngressRelay(EventCodec codec, EventPublisher publisher,
            @Channel("ingress-dead-letters") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> deadLetters,
            AgentStateConfig config,
            MeterRegistry meters) {
        this.codec = codec;
        this.publisher = publisher;
        this.deadLetters = deadLetters;
        this.config = config;
        this.meters = meters;
    }

    @Incoming("ingress-in")
    public Uni<Void> relay(ConsumerRecords<String, byte[]> records) {
        // One chain per session (topic and key): its records one after the other, each sent once the one before it is
        // settled, so no retry can reorder a session; the sessions side by side, so the producer batches across them.
        Map<String, List<ConsumerRecord<String, byte[]>>> sessions = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            sessions.computeIfAbsent(record.topic() + '\u0000' + record.key(), k -> new ArrayList<>()).add(record);
        }
        if (sessions.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Uni<Outcome>> chains = new ArrayList<>(sessions.size());
        for (List<ConsumerRecord<String, byte[]>> session : sessions.values()) {
            chains.add(Multi.createFrom().iterable(session)
                    .onItem().transformToUniAndConcatenate(this::relayOne)
                    .collect().last());
        }
        return Uni.join().all(chains).andFailFast().replaceWithVoid();
    }

    private Uni<Outcome> relayOne(ConsumerRecord<String, byte[]> record) {
        String prefix = config.ingress().topicPrefix();
        String tenant = record.topic().startsWith(prefix) ? record.topic().substring(prefix.length()) : null;
        String refusal = refusal(record, tenant);
        Uni<Outcome> outcome = refusal == null
                ? forward(record, tenant)
                : deadLetter(record, refusal, config.ledger().deadLetterMaxBytes()).replaceWith(Outcome.DEAD_LETTERED);
        return outcome.invoke(o -> meters.counter("agentstate.ingress.records", "outcome",
                o.name().toLowerCase(Locale.ROOT)).increment());
    }

    // What only the relay can judge: the tenant the topic gives, against any the events name, and the reserved types.
    // The rest of the record (its shape, schemas and limits) is the ledger's to judge, which dead-letters what fails
    // with the reason; a record the quick look cannot read is decoded whole here, for the reason.
    private String refusal(ConsumerRecord<String, byte[]> record, String tenant) {
        if (!Caller.validTenant(tenant)) {
            return "the ingress topic names no valid tenant after " + config.ingress().topicPrefix();
        }
        if (record.key() == null) {
            return "record has no key; the key must be the session id";
        }
        Map<String, String> headers = headers(record);
        Optional<EventCodec.RecordPeek> peek = codec.peekRecord(record.value(), headers);
        if (peek.isEmpty()) {
            return decodedRefusal(record, headers, tenant);
        }
        if (peek.get().tenants().stream().anyMatch(named -> !named.equals(tenant))) {
            return ANOTHER_TENANT;
        }
        for (String type : peek.get().types()) {
            String reserved = EventType.of(type).filter(EventType::serviceOnly).map(IngressRelay::serviceOnly).orElse(null);
            if (reserved != null) {
                return reserved;
            }
        }
        return null;
    }

    private static final String ANOTHER_TENANT = "the event names another tenant than its ingress topic's; leave tenant out, the topic decides it";

    static String serviceOnly(EventType kind) {
        return "reserved type " + kind.type().orElseThrow() + ": only the service writes it; use "
                + kind.serviceEndpoint();
    }

    private String decodedRefusal(ConsumerRecord<String, byte[]> record, Map<String, String> headers, String tenant) {
        EventBatch batch;
        try {
            batch = codec.decodeRecord(record.key(), record.value(), headers, tenant,
                    Instant.ofEpochMilli(record.timestamp()));
        } catch (InvalidEventException e) {
            return e.getMessage();
        } catch (RuntimeException | StackOverflowError e) {
            return "unreadable record: " + e.getClass().getSimpleName();
        }
        if (!batch.tenant().equals(tenant)) {
            return ANOTHER_TENANT;
        }
        for (Event event : batch.events()) {
            if (event.kind().serviceOnly()) {
                return serviceOnly(event.kind());
            }
        }
        return null;
    }

    // A record the log refuses as too large (the seal's headers push it past the log topic's limit) is dead-lettered;
    // anything else is retried for as long as it fails.
    private Uni<Outcome> forward(ConsumerRecord<String, byte[]> record, String tenant) {
        return Uni.createFrom().deferred(() -> publisher.relay(tenant, record.key(), record.value(), forwarded(record),
                Instant.ofEpochMilli(record.timestamp())))
                .replaceWith(Outcome.RELAYED)
                .onFailure(DeadLetterRecord::tooLarge).recoverWithUni(failure -> deadLetter(record,
                        "the record is larger than the event log accepts once sealed: " + LogSafe.failure(failure),
                        config.ledger().deadLetterMaxBytes()).replaceWith(Outcome.DEAD_LETTERED))
                .onFailure()
                .invoke(failure -> LOG.warnf("Relay of %s not acknowledged, retrying: %s", where(record),
                        LogSafe.failure(failure)))
                .onFailure().retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely();
    }

    private Uni<Void> deadLetter(ConsumerRecord<String, byte[]> record, String reason, int budget) {
        DeadLetterRecord.Letter letter = DeadLetterRecord.of(record, reason, budget);
        LOG.warnf("Dead-lettering %s: %s", where(record), LogSafe.reason(letter.reason()));
        return Uni.createFrom().deferred(() -> deadLetters.sendMessage(Message.of(letter.value())
                .addMetadata(OutgoingKafkaRecordMetadata.<String> builder()
                        .withKey(letter.key())
                        .withHeaders(letter.headers())
                        .build())))
                .onFailure(DeadLetterRecord::tooLarge).recoverWithUni(failure -> budget <= DeadLetterRecord.MIN_BUDGET
                        ? Uni.createFrom().failure(failure)
                        : deadLetter(record, reason, budget / 2))
                .onFailure()
                .invoke(failure -> LOG.warnf("Dead letter for %s not sent, retrying: %s", where(record),
                        LogSafe.failure(failure)))
                .onFailure().retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely();
    }

    // The topic names a tenant, which stays out of log lines; the dead letter's headers carry the whole origin.
    private static String where(ConsumerRecord<String, byte[]> record) {
        return "ingress record at partition " + record.partition() + ", offset " + record.offset();
    }

    private static RecordHeaders forwarded(ConsumerRecord<String, byte[]> record) {
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!RESERVED_HEADERS.contains(header.key().toLowerCase(Locale.ROOT))) {
                headers.add(header.key(), header.value());
            }
        }
        return headers;
    }

    // As the ledger reads them: names in lower case, the last value of a name wins.
    private static Map<String, String> headers(ConsumerRecord<String, byte[]> record) {
        Map<String, String> headers = new HashMap<>();
        for (Header header : record.headers()) {
            if (!RESERVED_HEADERS.contains(header.key().toLowerCase(Locale.ROOT))) {
                headers.put(header.key().toLowerCase(Locale.ROOT), header.value() == null ? ""
                        : new String(header.value(), StandardCharsets.UTF_8));
            }
        }
        return headers;
    }
}
