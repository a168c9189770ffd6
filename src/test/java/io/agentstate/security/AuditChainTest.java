package io.agentstate.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

/** The chain's encoding and hashing, byte for byte: stored chains verify only while this format holds. */
class AuditChainTest {

    private static final Instant TIME = Instant.parse("2025-01-01T00:00:01.123456Z");
    private static final byte[] PAYLOAD = "{\"id\":\"e1\"}".getBytes(StandardCharsets.UTF_8);

    private static AuditChain.Entry accepted(long seq, long version, byte[] payload) {
        return AuditChain.Entry.accepted("acme", "s1", seq, version, "e" + seq, "agentstate.message.appended",
                "agent://planner", TIME, payload);
    }

    @Test
    void shouldEncodeEveryFieldWithABigEndianLengthPrefix() throws IOException {
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(expected);
        text(out, "agent-state/audit-entry/1");
        text(out, "acme");
        text(out, "s1");
        number(out, 3);
        text(out, "CONFLICT");
        number(out, 2);
        text(out, "e3");
        text(out, "agentstate.message.appended");
        text(out, "agent://planner");
        number(out, 1_735_689_601_123_456L);
        text(out, "expected version 1 but the session is at 2");
        out.writeInt(PAYLOAD.length);
        out.write(PAYLOAD);

        AuditChain.Entry refused = AuditChain.Entry.refused("acme", "s1", 3, "CONFLICT", 2, "e3",
                "agentstate.message.appended", "agent://planner", TIME, "expected version 1 but the session is at 2",
                PAYLOAD);

        assertThat(refused.encode()).isEqualTo(expected.toByteArray());
    }

    @Test
    void shouldEncodeAnAcceptedEntryWithItsOutcomeAndANullReason() {
        byte[] encoded = accepted(1, 1, PAYLOAD).encode();
        String text = new String(encoded, StandardCharsets.ISO_8859_1);

        assertThat(text).contains("ACCEPTED");
        // the reason field: length -1 and no bytes, right before the payload's length
        byte[] tail = new byte[8];
        System.arraycopy(encoded, encoded.length - PAYLOAD.length - 8, tail, 0, 8);
        assertThat(HexFormat.of().formatHex(tail)).isEqualTo("ffffffff" + "%08x".formatted(PAYLOAD.length));
    }

    @Test
    void shouldTellApartFieldsThatConcatenateAlike() {
        AuditChain.Entry a = AuditChain.Entry.accepted("ab", "c", 1, 1, "e", "t", "s", TIME, PAYLOAD);
        AuditChain.Entry b = AuditChain.Entry.accepted("a", "bc", 1, 1, "e", "t", "s", TIME, PAYLOAD);
        AuditChain.Entry empty = AuditChain.Entry.refused("a", "b", 1, "REJECTED", 0, "e", "t", "s", TIME, "", PAYLOAD);
        AuditChain.Entry none = AuditChain.Entry.refused("a", "b", 1, "REJECTED", 0, "e", "t", "s", TIME, null, PAYLOAD);

        assertThat(a.encode()).isNotEqualTo(b.encode());
        assertThat(empty.encode()).isNotEqualTo(none.encode());
        assertThat(AuditChain.hash(AuditChain.Link.GENESIS.hash(), a))
                .isNotEqualTo(AuditChain.hash(AuditChain.Link.GENESIS.hash(), b));
    }

    @Test
    void shouldChainEachHashOverThePreviousOneAndTheEntry() throws Exception {
        AuditChain.Entry first = accepted(1, 1, PAYLOAD);
        AuditChain.Entry second = accepted(2, 2, "{}".getBytes(StandardCharsets.UTF_8));

        AuditChain.Link one = AuditChain.append(AuditChain.Link.GENESIS, first);
        AuditChain.Link two = AuditChain.append(one, second);

        assertThat(one.seq()).isEqualTo(1);
        assertThat(one.hash()).isEqualTo(sha256(new byte[32], first.encode()));
        assertThat(two.seq()).isEqualTo(2);
        assertThat(two.hash()).isEqualTo(sha256(one.hash(), second.encode()));
        assertThat(AuditChain.append(AuditChain.Link.GENESIS, first)).isEqualTo(one);
    }

    @Test
    void shouldKeepTheFormatOfStoredChains() {
        // pinned (computed apart, in Python): a change here means chains already stored no longer verify; a new entry
        // tag is the way to change the format
        assertThat(HexFormat.of().formatHex(AuditChain.append(AuditChain.Link.GENESIS, accepted(1, 1, PAYLOAD)).hash()))
                .isEqualTo(HexFormat.of().formatHex(sha256(new byte[32], accepted(1, 1, PAYLOAD).encode())))
                .isEqualTo(PINNED);
    }

    @Test
    void shouldCoverEveryByteOfThePayload() {
        byte[] changed = PAYLOAD.clone();
        changed[changed.length - 2] ^= 1;

        assertThat(AuditChain.hash(new byte[32], accepted(1, 1, changed)))
                .isNotEqualTo(AuditChain.hash(new byte[32], accepted(1, 1, PAYLOAD)));
    }

    @Test
    void shouldHashTimesToTheMicrosecondAsPostgresqlKeepsThem() {
        AuditChain.Entry nanos = AuditChain.Entry.accepted("acme", "s1", 1, 1, "e1", "t", "s",
                Instant.parse("2025-01-01T00:00:01.123456789Z"), PAYLOAD);
        AuditChain.Entry micros = AuditChain.Entry.accepted("acme", "s1", 1, 1, "e1", "t", "s",
                Instant.parse("2025-01-01T00:00:01.123456Z"), PAYLOAD);

        assertThat(nanos.encode()).isEqualTo(micros.encode());
    }

    @Test
    void shouldRefuseAnEntryOutOfSequence() {
        assertThatThrownBy(() -> AuditChain.append(AuditChain.Link.GENESIS, accepted(2, 2, PAYLOAD)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot follow entry 0");
    }

    private static final String PINNED = "81e94d9e9ca5b929d79efa51c751cd356ca3d5bf1cda3bc7244bd41066691bea";

    private static void text(DataOutputStream out, String value) throws IOException {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static void number(DataOutputStream out, long value) throws IOException {
        out.writeInt(8);
        out.writeLong(value);
    }

    private static byte[] sha256(byte[] previous, byte[] entry) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(previous);
            digest.update(entry);
            return digest.digest();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
