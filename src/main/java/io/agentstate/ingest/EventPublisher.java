package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.security.DataKeys;
import io.agentstate.security.LogSeal;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;

/**
 * Puts events on the log, keyed by session and sealed with their tenant (the only way onto the log the ledger trusts);
 * the returned {@link Uni} completes when the broker has acknowledged the record with {@code acks=all}.
 */
@ApplicationScoped
public class EventPublisher {

    private final MutinyEmitter<byte[]> emitter;
    private final MutinyEmitter<byte[]> relayEmitter;
    private final EventCodec codec;
    private final DataKeys keys;
    private final LogSeal seal;

    EventPublisher(
            @Channel("events-out") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> emitter,
            @Channel("relay-out") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> relayEmitter,
            EventCodec codec, DataKeys keys, LogSeal seal) {
        this.emitter = emitter;
        this.relayEmitter = relayEmitter;
        this.codec = codec;
        this.keys = keys;
        this.seal = seal;
    }

    /** Publishes one record in structured mode; {@code reply} asks the ledger to announce its decision for a waiting writer. */
    public Uni<Void> publish(EventBatch batch, boolean reply) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("content-type",
                (batch.atomic() ? EventCodec.BATCH : EventCodec.STRUCTURED).getBytes(StandardCharsets.UTF_8));
        if (reply) {
            headers.add(EventCodec.REPLY_HEADER, new byte[] { '1' });
        }
        // The log holds no plaintext of what the service writes: the value is sealed with the session's data key.
        String owner = DataKeys.sessionOwner(batch.sessionId());
        headers.add(DataKeys.LOG_HEADER, batch.tenant().getBytes(StandardCharsets.UTF_8));
        return keys.prepare(batch.tenant(), List.of(owner))
                .map(ready -> keys.seal(batch.tenant(), owner, DataKeys.LOG_ROW, codec.encode(batch)))
                .chain(value -> send(batch.tenant(), batch.sessionId(), value, headers, null));
    }

    /**
     * Publishes a record relayed from a tenant's ingress topic as it came (value, headers, timestamp), sealed with that
     * tenant; the caller has already removed what only the service may set. The relay has a producer of its own, which
     * waits out a broker outage instead of failing the send (and so never reorders what it retries).
     */
    Uni<Void> relay(String tenant, String key, byte[] value, RecordHeaders headers, Instant timestamp) {
        return send(relayEmitter, tenant, key, value, headers, timestamp);
    }

    private Uni<Void> send(String tenant, String key, byte[] value, RecordHeaders headers, Instant timestamp) {
        return send(emitter, tenant, key, value, headers, timestamp);
    }

    private Uni<Void> send(MutinyEmitter<byte[]> target, String tenant, String key, byte[] value, RecordHeaders headers,
            Instant timestamp) {
        seal.seal(tenant, key, value, headers);
        OutgoingKafkaRecordMetadata.OutgoingKafkaRecordMetadataBuilder<String> metadata = OutgoingKafkaRecordMetadata
                .<String> builder()
                .withKey(key)
                .withHeaders(headers);
        if (timestamp != null) {
            metadata.withTimestamp(timestamp);
        }
        return target.sendMessage(Message.of(value).addMetadata(metadata.build()));
    }
}
