package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
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
    private final EventCodec codec;
    private final LogSeal seal;

    EventPublisher(
            @Channel("events-out") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> emitter,
            EventCodec codec, LogSeal seal) {
        this.emitter = emitter;
        this.codec = codec;
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
        return send(batch.tenant(), batch.sessionId(), codec.encode(batch), headers, null);
    }

    /**
     * Publishes a record relayed from a tenant's ingress topic as it came (value, headers, timestamp), sealed with that
     * tenant; the caller has already removed what only the service may set.
     */
    Uni<Void> relay(String tenant, String key, byte[] value, RecordHeaders headers, Instant timestamp) {
        return send(tenant, key, value, headers, timestamp);
    }

    private Uni<Void> send(String tenant, String key, byte[] value, RecordHeaders headers, Instant timestamp) {
        seal.seal(tenant, key, value, headers);
        OutgoingKafkaRecordMetadata.OutgoingKafkaRecordMetadataBuilder<String> metadata = OutgoingKafkaRecordMetadata
                .<String> builder()
                .withKey(key)
                .withHeaders(headers);
        if (timestamp != null) {
            metadata.withTimestamp(timestamp);
        }
        return emitter.sendMessage(Message.of(value).addMetadata(metadata.build()));
    }
}
