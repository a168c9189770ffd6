package io.agentstate.security;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The tamper-evident trail of a session: every accepted and every refused event is one entry of a per-session hash
 * chain, {@code h(n) = SHA-256(h(n-1) || entry(n))} from 32 zero bytes, in log order. An entry covers exactly what its
 * row stores: the payload column's bytes (ciphertext once payloads are encrypted, so the chain never needs the
 * plaintext and still verifies after a user's key is destroyed) and the row's metadata. Pure.
 */
public final class AuditChain {

    /** Bytes of every chain hash. */
    public static final int HASH_BYTES = 32;
    /** The outcome an accepted entry is encoded with; refused entries carry their own (conflict, rejected). */
    public static final String ACCEPTED = "ACCEPTED";

    private static final String ENTRY_TAG = "agent-state/audit-entry/1";
    private static final int NULL = -1;

    private AuditChain() {
    }

    /**
     * A place in a chain: the sequence number of its last entry (0 before the first) and the hash after it.
     *
     * @param seq entries so far
     * @param hash the chain hash after entry {@code seq}: 32 bytes as written; any length as read back, since a row
     *        edited in PostgreSQL must fail verification, not the reader
     */
    public record Link(long seq, byte[] hash) {

        /** The start of every chain. */
        public static final Link GENESIS = new Link(0, new byte[HASH_BYTES]);

        public Link {
            Objects.requireNonNull(hash, "hash");
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Link link && link.seq == seq && Arrays.equals(link.hash, hash);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seq) * 31 + Arrays.hashCode(hash);
        }

        @Override
        public String toString() {
            return "Link[" + seq + ", " + HexFormat.of().formatHex(hash) + "]";
        }
    }

    /**
     * One entry, as its row stores it.
     *
     * @param tenant owning tenant
     * @param sessionId the session
     * @param seq its place in the session's chain, from 1
     * @param outcome {@link #ACCEPTED} for an archived event, else the refusal's outcome as stored ({@code CONFLICT},
     *        {@code REJECTED})
     * @param version the event's version when accepted; the version the session was at when refused
     * @param eventId the event id
     * @param type the event type
     * @param source the event source
     * @param occurredAt the event time (encoded to the microsecond, PostgreSQL's resolution)
     * @param reason why it was refused, null when accepted
     * @param payload the bytes of the row's payload column
     */
    public record Entry(String tenant, String sessionId, long seq, String outcome, long version, String eventId,
            String type, String source, Instant occurredAt, String reason, byte[] payload) {

        public static Entry accepted(String tenant, String sessionId, long seq, long version, String eventId, String type,
                String source, Instant occurredAt, byte[] payload) {
            return new Entry(tenant, sessionId, seq, ACCEPTED, version, eventId, type, source, occurredAt, null, payload);
        }

        public static Entry refused(String tenant, String sessionId, long seq, String outcome, long afterVersion,
                String eventId, String type, String source, Instant occurredAt, String reason, byte[] payload) {
            return new Entry(tenant, sessionId, seq, outcome, afterVersion, eventId, type, source, occurredAt, reason,
                    payload);
        }

        public boolean accepted() {
            return ACCEPTED.equals(outcome);
        }

        /** The entry's bytes as hashed: each field a 4-byte big-endian length (-1 for null) and its bytes. */
        public byte[] encode() {
            ByteArrayOutputStream out = new ByteArrayOutputStream((payload == null ? 0 : payload.length) + 256);
            writeTo(out::writeBytes);
            return out.toByteArray();
        }

        void writeTo(Consumer<byte[]> out) {
            Fields fields = new Fields(out);
            fields.text(ENTRY_TAG);
            fields.text(tenant);
            fields.text(sessionId);
            fields.number(seq);
            fields.text(outcome);
            fields.number(version);
            fields.text(eventId);
            fields.text(type);
            fields.text(source);
            fields.number(micros(occurredAt));
            fields.text(reason);
            fields.bytes(payload);
        }
    }

    /** The link after appending an entry, which must be the next one of the chain. */
    public static Link append(Link previous, Entry entry) {
        if (entry.seq() != previous.seq() + 1) {
            throw new IllegalArgumentException("entry " + entry.seq() + " cannot follow entry " + previous.seq());
        }
        return new Link(entry.seq(), hash(previous.hash(), entry));
    }

    /** {@code SHA-256(previous || entry)}, fed field by field, so a payload is never copied. */
    public static byte[] hash(byte[] previous, Entry entry) {
        MessageDigest digest = sha256();
        digest.update(previous);
        entry.writeTo(digest::update);
        return digest.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    // Microseconds since the epoch: what a timestamptz column gives back, so a row read from PostgreSQL hashes the same.
    static long micros(Instant time) {
        if (time == null) {
            return Long.MIN_VALUE;
        }
        return Math.addExact(Math.multiplyExact(time.getEpochSecond(), 1_000_000L), time.getNano() / 1_000);
    }

    /** The length-prefixed encoding shared by entries and signed heads: unambiguous whatever a field contains. */
    static final class Fields {
        private final Consumer<byte[]> out;

        Fields(Consumer<byte[]> out) {
            this.out = out;
        }

        void text(String value) {
            bytes(value == null ? null : value.getBytes(StandardCharsets.UTF_8));
        }

        void number(long value) {
            byte[] encoded = new byte[Long.BYTES];
            for (int i = 0; i < Long.BYTES; i++) {
                encoded[i] = (byte) (value >>> (56 - 8 * i));
            }
            bytes(encoded);
        }

        void bytes(byte[] value) {
            out.accept(length(value == null ? NULL : value.length));
            if (value != null) {
                out.accept(value);
            }
        }

        private static byte[] length(int length) {
            return new byte[] { (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length };
        }
    }
}
