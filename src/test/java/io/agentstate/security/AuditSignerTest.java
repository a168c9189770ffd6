package io.agentstate.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** Head signatures: HMAC-SHA256 under the current key, old ones verifiable under listed previous keys. */
class AuditSignerTest {

    private static final byte[] OLD = "an old key of thirty-two bytes!!".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEW = "a new key of thirty-two bytes!!!".getBytes(StandardCharsets.US_ASCII);
    private static final AuditChain.Link LINK = new AuditChain.Link(7, filled((byte) 7));

    private static byte[] filled(byte value) {
        byte[] hash = new byte[AuditChain.HASH_BYTES];
        java.util.Arrays.fill(hash, value);
        return hash;
    }

    @Test
    void shouldVerifyItsOwnSignatureAndNameItsKey() {
        AuditSigner signer = AuditSigner.of(NEW);

        AuditSigner.SignedHead head = signer.sign("acme", "s1", LINK);

        assertThat(head.keyId()).isEqualTo(signer.keyId()).isEqualTo(AuditSigner.keyId(NEW)).startsWith("hmac-")
                .hasSize("hmac-".length() + 16);
        assertThat(head.signature()).hasSize(32);
        assertThat(signer.verify(head)).isTrue();
        assertThat(signer.sign("acme", "s1", LINK).signature()).isEqualTo(head.signature());
    }

    @Test
    void shouldRefuseAHeadChangedInAnyField() {
        AuditSigner signer = AuditSigner.of(NEW);
        AuditSigner.SignedHead head = signer.sign("acme", "s1", LINK);

        assertThat(signer.verify(new AuditSigner.SignedHead("acme", "s1", new AuditChain.Link(6, LINK.hash()),
                head.keyId(), head.signature()))).isFalse();
        assertThat(signer.verify(new AuditSigner.SignedHead("acme", "s1", new AuditChain.Link(7, filled((byte) 8)),
                head.keyId(), head.signature()))).isFalse();
        assertThat(signer.verify(new AuditSigner.SignedHead("acme", "s2", LINK, head.keyId(), head.signature())))
                .isFalse();
        assertThat(signer.verify(new AuditSigner.SignedHead("other", "s1", LINK, head.keyId(), head.signature())))
                .isFalse();
        assertThat(signer.verify(new AuditSigner.SignedHead("acme", "s1", LINK, head.keyId(), null))).isFalse();
    }

    @Test
    void shouldVerifyHeadsOfAPreviousKeyAfterRotation() {
        AuditSigner.SignedHead old = AuditSigner.of(OLD).sign("acme", "s1", LINK);
        AuditSigner rotated = AuditSigner.of(NEW, OLD);

        assertThat(rotated.verify(old)).isTrue();
        assertThat(rotated.sign("acme", "s1", LINK).keyId()).isEqualTo(AuditSigner.keyId(NEW));
        assertThat(AuditSigner.of(NEW).verify(old)).isFalse();
        assertThat(AuditSigner.of(NEW).knows(old.keyId())).isFalse();
        // a head relabelled with the new key's id does not verify either
        assertThat(rotated.verify(new AuditSigner.SignedHead("acme", "s1", LINK, rotated.keyId(), old.signature())))
                .isFalse();
    }

    @Test
    void shouldRefuseToStartWithoutAKey() {
        assertThatThrownBy(() -> AuditSigner.signingKey(Optional.empty()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("agent-state.audit.signing-key")
                .hasMessageContaining("AGENT_STATE_AUDIT_SIGNING_KEY")
                .hasMessageContaining("openssl rand -base64 32");
    }

    @Test
    void shouldRefuseAShortOrMalformedKey() {
        assertThatThrownBy(() -> AuditSigner.signingKey(Optional.of(Base64.getEncoder().encodeToString(new byte[31]))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("31 bytes");
        assertThatThrownBy(() -> AuditSigner.signingKey(Optional.of("not base64 at all!")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not base64");
        assertThatThrownBy(() -> AuditSigner.of(new byte[16])).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldReadStandardAndUrlSafeBase64() {
        byte[] key = new byte[32];
        key[0] = (byte) 0xfb;
        key[1] = (byte) 0xff;

        assertThat(AuditSigner.signingKey(Optional.of(Base64.getEncoder().encodeToString(key) + "\n"))).isEqualTo(key);
        assertThat(AuditSigner.signingKey(Optional.of(Base64.getUrlEncoder().encodeToString(key)))).isEqualTo(key);
    }
}
