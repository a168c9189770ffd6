package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;

/**
 * The dead-letter path: a poison record is copied, key, value and headers intact, to {@code agent-state.events.dlq}
 * with the reason and its origin in headers, and the broker's acknowledgement is awaited before the batch commits.
 */
@ApplicationScoped
public class DeadLetters {

    public static final String REASON = "agentstate-dlq-reason";
    public static final String TOPIC = "agentstate-dlq-topic";
    public static final String PARTITION = "agentstate-dlq-partition";
    public static final String OFFSET = "agentstate-dlq-offset";
    public static final String TRUNCATED = "agentstate-dlq-truncated-bytes";
    private static final int MAX_VALUE_BYTES = 1024 * 1024;

    private static final Logger LOG = Logger.getLogger(DeadLetters.class);

    private final MutinyEmitter<byte[]> emitter;

    DeadLetters(@Channel("dead-letters") MutinyEmitter<byte[]> emitter) {
        this.emitter = emitter;
    }

    Uni<Void> send(List<SessionLedger.Poison> poison) {
        if (poison.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        // One at a time: a burst of poison must not overflow the emitter, and each send is acknowledged in order.
        Uni<Void> chain = Uni.createFrom().voidItem();
        for (SessionLedger.Poison p : poison) {
            chain = chain.chain(() -> sendOne(p));
        }
        return chain;
    }

    private Uni<Void> sendOne(SessionLedger.Poison p) {
        {
            RecordHeaders headers = new RecordHeaders(p.record().headers().toArray());
            headers.add(REASON, p.reason().getBytes(StandardCharsets.UTF_8));
            headers.add(TOPIC, p.record().topic().getBytes(StandardCharsets.UTF_8));
            headers.add(PARTITION, Integer.toString(p.record().partition()).getBytes(StandardCharsets.UTF_8));
            headers.add(OFFSET, Long.toString(p.record().offset()).getBytes(StandardCharsets.UTF_8));
            LOG.warnf("Dead-lettering record %s-%d@%d: %s", p.record().topic(), p.record().partition(),
                    p.record().offset(), p.reason());
            byte[] value = p.record().value() != null ? p.record().value() : new byte[0];
            if (value.length > MAX_VALUE_BYTES) {
                // A value the dead-letter topic cannot take is replaced by its size; the reason and origin remain.
                headers.add(TRUNCATED, Integer.toString(value.length).getBytes(StandardCharsets.UTF_8));
                value = new byte[0];
            }
            return emitter.sendMessage(Message.of(value).addMetadata(OutgoingKafkaRecordMetadata.<String> builder()
                    .withKey(p.record().key())
                    .withHeaders(headers)
                    .build()));
        }
    }
}
