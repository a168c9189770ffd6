package io.agentstate.ingest;

import java.nio.charset.StandardCharsets;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
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

    EventPublisher(
            @Channel("events-out") @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 16384) MutinyEmitter<byte[]> emitter,
            EventCodec codec) {
        this.emitter = emitter;
        this.codec = codec;
    }

    /** Publishes one record; {@code reply} asks the ledger to announce its decision for a waiting writer. */
    public Uni<Void> publish(EventBatch batch, boolean reply) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("content-type",
                (batch.atomic() ? EventCodec.BATCH : EventCodec.STRUCTURED).getBytes(StandardCharsets.UTF_8));
        if (reply) {
            headers.add(EventCodec.REPLY_HEADER, new byte[] { '1' });
        }
        return emitter.sendMessage(Message.of(codec.encode(batch))
                .addMetadata(OutgoingKafkaRecordMetadata.<String> builder()
                        .withKey(batch.sessionId())
                        .withHeaders(headers)
                        .build()));
    }
}
