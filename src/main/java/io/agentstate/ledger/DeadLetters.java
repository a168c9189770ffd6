package io.agentstate.ledger;

import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.DeadLetterRecord;
import io.agentstate.platform.LogSafe;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;

/**
 * The dead-letter path: a poison record is copied to {@code agent-state.events.dlq} with the reason and its origin in
 * headers, and the broker's acknowledgement is awaited before the batch's offsets are committed. Every dead letter fits
 * in {@code agent-state.ledger.dead-letter-max-bytes}: key and header values are cut to a bounded length, and a value
 * that does not fit is cut with its size and SHA-256 kept in headers. Sends happen outside any database transaction; a
 * failed send is retried, and one the broker finds too large is shrunk, so no record can hold its partition.
 */
@ApplicationScoped
public class DeadLetters {

    public static final String REASON = DeadLetterRecord.REASON;
    public static final String TOPIC = DeadLetterRecord.TOPIC;
    public static final String PARTITION = DeadLetterRecord.PARTITION;
    public static final String OFFSET = DeadLetterRecord.OFFSET;
    /** Original size of a value that was cut. */
    public static final String ORIGINAL_BYTES = DeadLetterRecord.ORIGINAL_BYTES;
    /** SHA-256 (hex) of the whole original value, when it was cut. */
    public static final String ORIGINAL_SHA256 = DeadLetterRecord.ORIGINAL_SHA256;
    /** Original length of a key that was cut. */
    public static final String ORIGINAL_KEY_CHARS = DeadLetterRecord.ORIGINAL_KEY_CHARS;
    /** How many of the original headers were left out or cut. */
    public static final String HEADERS_CUT = DeadLetterRecord.HEADERS_CUT;

    static final int MAX_KEY_CHARS = DeadLetterRecord.MAX_KEY_CHARS;
    private static final int MIN_BUDGET = DeadLetterRecord.MIN_BUDGET;

    private static final Logger LOG = Logger.getLogger(DeadLetters.class);

    private final MutinyEmitter<byte[]> emitter;
    private final AgentStateConfig config;

    DeadLetters(@Channel("dead-letters") MutinyEmitter<byte[]> emitter, AgentStateConfig config) {
        this.emitter = emitter;
        this.config = config;
    }

    /**
     * Sends the poison records not yet in {@code sent}, one at a time and in order, each retried until the broker
     * acknowledges it; {@code sent} records what went out, so a retried batch does not send it again.
     */
    Uni<Void> send(List<SessionLedger.Poison> poison, Set<String> sent) {
        Uni<Void> chain = Uni.createFrom().voidItem();
        for (SessionLedger.Poison p : poison) {
            String origin = origin(p);
            if (!sent.contains(origin)) {
                chain = chain.chain(() -> sendOne(p, config.ledger().deadLetterMaxBytes()))
                        .invoke(() -> sent.add(origin));
            }
        }
        return chain;
    }

    private Uni<Void> sendOne(SessionLedger.Poison p, int budget) {
        DeadLetterRecord.Letter letter = letter(p, budget);
        LOG.warnf("Dead-lettering record %s: %s", origin(p), LogSafe.reason(letter.reason()));
        return emitter.sendMessage(Message.of(letter.value()).addMetadata(OutgoingKafkaRecordMetadata.<String> builder()
                .withKey(letter.key())
                .withHeaders(letter.headers())
                .build()))
                .onFailure(DeadLetters::tooLarge).recoverWithUni(failure -> {
                    if (budget <= MIN_BUDGET) {
                        return Uni.createFrom().failure(failure);
                    }
                    // The broker or topic takes less than configured: the same letter, smaller, never the same one again.
                    LOG.warnf("Dead letter for %s refused as too large at %d bytes; shrinking", origin(p), budget);
                    return sendOne(p, budget / 2);
                })
                .onFailure().invoke(failure -> LOG.warnf("Dead letter for %s not sent, retrying: %s", origin(p),
                        LogSafe.failure(failure)))
                .onFailure().retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely();
    }

    static DeadLetterRecord.Letter letter(SessionLedger.Poison p, int budget) {
        return DeadLetterRecord.of(p.record(), p.reason(), budget);
    }

    private static String origin(SessionLedger.Poison p) {
        return DeadLetterRecord.origin(p.record());
    }

    private static boolean tooLarge(Throwable failure) {
        return DeadLetterRecord.tooLarge(failure);
    }
}
