package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;

/**
 * Puts events on the log, keyed by session, in structured mode; the returned {@link Uni} completes when the broker has
 * acknowledged the record with {@code acks=all}.
 */
@ApplicationScoped
public class EventPublisher {

    private final MutinyEmitter<byte[]> emitter;
    private final EventCodec codec;
    private final DataKeys keys;

    EventPublisher(
            @Channel("events-out") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> emitter,
            EventCodec codec, DataKeys keys) {
        this.emitter = emitter;
        this.codec = codec;
        this.keys = keys;
    }

    /** Publishes one record; {@code reply} asks the ledger to announce its decision for a waiting writer. */
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
                .chain(value -> send(batch, headers, value));
    }

    private Uni<Void> send(EventBatch batch, RecordHeaders headers, byte[] value) {
        return emitter.sendMessage(Message.of(value)
                .addMetadata(OutgoingKafkaRecordMetadata.<String> builder()
                        .withKey(batch.sessionId())
                        .withHeaders(headers)
                        .build()));
    }
}
