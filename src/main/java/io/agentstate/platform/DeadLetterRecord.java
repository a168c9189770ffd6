package io.agentstate.platform;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

import io.agentstate.event.Text;

/**
 * The shape of a record on {@code agent-state.events.dlq}, shared by the ledger and the ingress relay: a bounded copy of
 * the original with the reason and its origin in headers. Key and header values are cut to a bounded length, and a value
 * that does not fit the budget is cut with its size and SHA-256 kept in headers.
 */
public final class DeadLetterRecord {

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

    public static final int MAX_KEY_CHARS = 256;
    public static final int MAX_HEADERS = 32;
    public static final int MAX_HEADER_VALUE_BYTES = 1024;
    public static final int MAX_HEADER_KEY_CHARS = 128;
    /** The smallest budget: at or below it only the reason, the origin and the key are kept, so a letter always fits. */
    public static final int MIN_BUDGET = 16 * 1024;
    // Room kept for Kafka's record and batch framing on top of key, headers and value.
    private static final int FRAMING = 512;

    /** The bounded record sent for one poison record. */
    public record Letter(String key, RecordHeaders headers, byte[] value, String reason) {
    }

    private DeadLetterRecord() {
    }

    /** The dead letter of a record, at most {@code budget} bytes. */
    public static Letter of(ConsumerRecord<String, byte[]> record, String why, int budget) {
        String reason = Text.bounded(why, 1024);
        RecordHeaders headers = new RecordHeaders();
        int used = FRAMING;
        String key = record.key();
        if (key != null && key.length() > MAX_KEY_CHARS) {
            headers.add(ORIGINAL_KEY_CHARS, bytes(Integer.toString(key.length())));
            key = key.substring(0, MAX_KEY_CHARS);
        }
        used += key == null ? 0 : key.getBytes(StandardCharsets.UTF_8).length;
        int cut = 0;
        int copied = 0;
        boolean bare = budget <= MIN_BUDGET;
        for (Header header : record.headers()) {
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
        headers.add(TOPIC, bytes(record.topic()));
        headers.add(PARTITION, bytes(Integer.toString(record.partition())));
        headers.add(OFFSET, bytes(Long.toString(record.offset())));
        used += reason.length() * 3 + 256;
        byte[] value = record.value() != null ? record.value() : new byte[0];
        int room = bare ? 0 : Math.max(0, budget - used - 2 * 128);
        if (value.length > room) {
            headers.add(ORIGINAL_BYTES, bytes(Integer.toString(value.length)));
            headers.add(ORIGINAL_SHA256, bytes(sha256(value)));
            value = Arrays.copyOf(value, room);
        }
        return new Letter(key, headers, value, reason);
    }

    /** Where a record was: {@code topic-partition@offset}, for logs and for not sending one letter twice. */
    public static String origin(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /** Whether a send failed because the broker or topic takes smaller records than this letter. */
    public static boolean tooLarge(Throwable failure) {
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
