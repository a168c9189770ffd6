package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import io.agentstate.event.Text;
import io.agentstate.platform.AgentStateConfig;
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

    public static final String REASON = "agentstate-dlq-reason";
    public static final String TOPIC = "agentstate-dlq-topic";
    public static final String PARTITION = "agentstate-dlq-partition";
    public static final String OFFSET = "agentstate-dlq-offset";
    /** Original size of a value that was cut. */
    public static final String ORIGINAL_BYTES = "agentstate-dlq-original-bytes";
    /** SHA-256 (hex) of the whole original value, when it was cut. */
    public static final String ORIGINAL_SHA256 = "agentstate-dlq-original-sha256";
    /** Original length of a key that was cut. */
    public static final String ORIGINAL_KEY_CHARS = "agentstate-dlq-original-key-chars";
    /** How many of the original headers were left out or cut. */
    public static final String HEADERS_CUT = "agentstate-dlq-headers-cut";

    static final int MAX_KEY_CHARS = 256;
    static final int MAX_HEADERS = 32;
    static final int MAX_HEADER_VALUE_BYTES = 1024;
    static final int MAX_HEADER_KEY_CHARS = 128;
    // Room kept for Kafka's record and batch framing on top of key, headers and value.
    private static final int FRAMING = 512;
    private static final int MIN_BUDGET = 16 * 1024;

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
        DeadLetter letter = letter(p, budget);
        LOG.warnf("Dead-lettering record %s: %s", origin(p), letter.reason());
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
                        Text.bounded(String.valueOf(failure.getMessage()), 256)))
                .onFailure().retry()
                .withBackOff(config.ledger().retryInitialBackoff(), config.ledger().retryMaxBackoff()).indefinitely();
    }

    /** The bounded record sent for one poison record. */
    record DeadLetter(String key, RecordHeaders headers, byte[] value, String reason) {
    }

    static DeadLetter letter(SessionLedger.Poison p, int budget) {
        String reason = Text.bounded(p.reason(), 1024);
        RecordHeaders headers = new RecordHeaders();
        int used = FRAMING;
        String key = p.record().key();
        if (key != null && key.length() > MAX_KEY_CHARS) {
            headers.add(ORIGINAL_KEY_CHARS, bytes(Integer.toString(key.length())));
            key = key.substring(0, MAX_KEY_CHARS);
        }
        used += key == null ? 0 : key.getBytes(StandardCharsets.UTF_8).length;
        int cut = 0;
        int copied = 0;
        // at the smallest budget only the reason, the origin and the key are left: the letter can always be sent
        boolean bare = budget <= MIN_BUDGET;
        for (Header header : p.record().headers()) {
            if (copied == MAX_HEADERS || bare) {
                cut++;
                continue;
            }
            String name = header.key().length() > MAX_HEADER_KEY_CHARS ? header.key().substring(0, MAX_HEADER_KEY_CHARS)
                    : header.key();
            int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
            byte[] value = header.value() == null ? new byte[0] : header.value();
            if (value.length > MAX_HEADER_VALUE_BYTES || name.length() < header.key().length()) {
                value = Arrays.copyOf(value, Math.min(value.length, MAX_HEADER_VALUE_BYTES));
                cut++;
            }
            headers.add(name, value);
            used += nameBytes + value.length + 8;
            copied++;
        }
        if (cut > 0) {
            headers.add(HEADERS_CUT, bytes(Integer.toString(cut)));
        }
        headers.add(REASON, bytes(reason));
        headers.add(TOPIC, bytes(p.record().topic()));
        headers.add(PARTITION, bytes(Integer.toString(p.record().partition())));
        headers.add(OFFSET, bytes(Long.toString(p.record().offset())));
        used += reason.length() * 3 + 256;
        byte[] value = p.record().value() != null ? p.record().value() : new byte[0];
        int room = bare ? 0 : Math.max(0, budget - used - 2 * 128);
        if (value.length > room) {
            headers.add(ORIGINAL_BYTES, bytes(Integer.toString(value.length)));
            headers.add(ORIGINAL_SHA256, bytes(sha256(value)));
            value = Arrays.copyOf(value, room);
        }
        return new DeadLetter(key, headers, value, reason);
    }

    private static String origin(SessionLedger.Poison p) {
        return p.record().topic() + "-" + p.record().partition() + "@" + p.record().offset();
    }

    private static boolean tooLarge(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof RecordTooLargeException) {
                return true;
            }
        }
        return false;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String sha256(byte[] value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
