package io.agentstate.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** What the verifier catches, on hand-made chains: each way of editing rows behind the ledger's back. */
class AuditVerifierTest {

    private static final AuditSigner SIGNER = AuditSigner.of("a test key of thirty-two bytes!!".getBytes(
            StandardCharsets.US_ASCII));
    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    /** A chain as the ledger writes it: versions 1, 2, a conflict refused at 2, then 3 and 4. */
    private static List<AuditVerifier.Stored> chain() {
        List<AuditChain.Entry> entries = List.of(accepted(1, 1), accepted(2, 2), refused(3, 2), accepted(4, 3),
                accepted(5, 4));
        List<AuditVerifier.Stored> stored = new ArrayList<>();
        AuditChain.Link link = AuditChain.Link.GENESIS;
        for (AuditChain.Entry entry : entries) {
            link = AuditChain.append(link, entry);
            stored.add(new AuditVerifier.Stored(entry, link.hash()));
        }
        return stored;
    }

    private static AuditChain.Entry accepted(long seq, long version) {
        return AuditChain.Entry.accepted("acme", "s1", seq, version, "v" + version, "agentstate.message.appended",
                "agent://a", T0.plusSeconds(seq), ("{\"v\":" + version + "}").getBytes(StandardCharsets.UTF_8));
    }

    private static AuditChain.Entry refused(long seq, long afterVersion) {
        return AuditChain.Entry.refused("acme", "s1", seq, "CONFLICT", afterVersion, "late", "agentstate.message.appended",
                "agent://b", T0.plusSeconds(seq), "expected version 1 but the session is at 2", "{}".getBytes());
    }

    private static AuditSigner.SignedHead headOf(List<AuditVerifier.Stored> stored) {
        AuditVerifier.Stored last = stored.get(stored.size() - 1);
        return SIGNER.sign("acme", "s1", new AuditChain.Link(last.entry().seq(), last.hash()));
    }

    private static AuditVerifier.Verdict verify(List<AuditVerifier.Stored> stored, AuditSigner.SignedHead head,
            Long sessionVersion) {
        AuditVerifier verifier = new AuditVerifier(SIGNER, new AuditVerifier.Facts(head, sessionVersion, 0, null, null));
        for (AuditVerifier.Stored entry : stored) {
            if (!verifier.accept(entry)) {
                break;
            }
        }
        return verifier.finish();
    }

    private static AuditVerifier.Stored edited(AuditVerifier.Stored stored, String payload) {
        AuditChain.Entry e = stored.entry();
        return new AuditVerifier.Stored(new AuditChain.Entry(e.tenant(), e.sessionId(), e.seq(), e.outcome(), e.version(),
                e.eventId(), e.type(), e.source(), e.occurredAt(), e.reason(), payload.getBytes(StandardCharsets.UTF_8)),
                stored.hash());
    }

    @Test
    void shouldFindAnIntactChainValid() {
        List<AuditVerifier.Stored> chain = chain();

        AuditVerifier.Verdict verdict = verify(chain, headOf(chain), 4L);

        assertThat(verdict.valid()).as(verdict.reason()).isTrue();
        assertThat(verdict.length()).isEqualTo(5);
        assertThat(verdict.signedSequence()).isEqualTo(5);
        assertThat(verdict.signatureValid()).isTrue();
        assertThat(verdict.keyId()).isEqualTo(SIGNER.keyId());
        assertThat(verdict.brokenAt()).isNull();
        assertThat(verdict.reason()).isNull();
    }

    @Test
    void shouldNameTheVersionOfAnEditedPayload() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.set(3, edited(chain.get(3), "{\"v\":33}"));

        AuditVerifier.Verdict verdict = verify(chain, head, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(3);
        assertThat(verdict.brokenEventId()).isEqualTo("v3");
        assertThat(verdict.brokenSequence()).isEqualTo(4);
        assertThat(verdict.signatureValid()).isTrue();
        assertThat(verdict.reason()).contains("version 3").contains("does not match");
    }

    @Test
    void shouldNameTheVersionARefusalWasMadeAtWhenItIsEdited() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.set(2, edited(chain.get(2), "{\"forged\":true}"));

        AuditVerifier.Verdict verdict = verify(chain, head, 4L);

        assertThat(verdict).extracting(AuditVerifier.Verdict::valid, AuditVerifier.Verdict::brokenAt,
                AuditVerifier.Verdict::brokenEventId).containsExactly(false, 2L, "late");
    }

    @Test
    void shouldNameTheVersionOfADeletedEntry() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.remove(3);

        AuditVerifier.Verdict verdict = verify(chain, head, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(3);
        assertThat(verdict.brokenEventId()).isNull();
        assertThat(verdict.brokenSequence()).isEqualTo(4);
        assertThat(verdict.reason()).contains("missing");
    }

    @Test
    void shouldNameTheVersionOfADeletedRefusal() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.remove(2);

        assertThat(verify(chain, head, 4L).brokenAt()).isEqualTo(2);
    }

    @Test
    void shouldCatchTheNewestEntriesDeletedUnderTheSignedHead() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.remove(4);

        AuditVerifier.Verdict verdict = verify(chain, head, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(4);
        assertThat(verdict.reason()).contains("newest entries were deleted");
    }

    @Test
    void shouldCatchAForgedHeadByItsSignature() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead real = headOf(chain);
        chain.set(4, edited(chain.get(4), "{\"v\":44}"));
        // rows rewritten with recomputed hashes, and the head set to the new end, without the key
        AuditChain.Link link = AuditChain.Link.GENESIS;
        List<AuditVerifier.Stored> rewritten = new ArrayList<>();
        for (AuditVerifier.Stored stored : chain) {
            link = AuditChain.append(link, stored.entry());
            rewritten.add(new AuditVerifier.Stored(stored.entry(), link.hash()));
        }
        AuditSigner.SignedHead forged = new AuditSigner.SignedHead("acme", "s1", link, real.keyId(), real.signature());

        AuditVerifier.Verdict verdict = verify(rewritten, forged, 4L);
        AuditVerifier.Verdict underRealHead = verify(rewritten, real, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.signatureValid()).isFalse();
        assertThat(verdict.reason()).contains("signature does not verify");
        assertThat(underRealHead.valid()).isFalse();
        assertThat(underRealHead.signatureValid()).isTrue();
        assertThat(underRealHead.reason()).contains("do not reproduce");
    }

    @Test
    void shouldAnswerAHeadWhoseHashWasCutWithAVerdictNotAFailure() {
        List<AuditVerifier.Stored> chain = chain();
        AuditSigner.SignedHead real = headOf(chain);
        AuditSigner.SignedHead cut = new AuditSigner.SignedHead("acme", "s1",
                new AuditChain.Link(real.link().seq(), new byte[] { 1 }), real.keyId(), new byte[0]);

        AuditVerifier.Verdict verdict = verify(chain, cut, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.signatureValid()).isFalse();
    }

    @Test
    void shouldCatchAHeadRolledBackBelowItsEntries() {
        List<AuditVerifier.Stored> chain = chain();
        AuditSigner.SignedHead old = headOf(chain.subList(0, 3));

        AuditVerifier.Verdict verdict = verify(chain, old, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(3);
        assertThat(verdict.reason()).contains("beyond the signed head");
    }

    @Test
    void shouldCatchAnOldSignedHeadRestoredWithTheNewestEntriesThroughTheSessionHead() {
        List<AuditVerifier.Stored> chain = chain();

        AuditVerifier.Verdict verdict = verify(chain.subList(0, 4), headOf(chain.subList(0, 4)), 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(4);
        assertThat(verdict.reason()).contains("session is at version 4");
    }

    @Test
    void shouldCatchARepeatedPosition() {
        List<AuditVerifier.Stored> chain = new ArrayList<>(chain());
        AuditSigner.SignedHead head = headOf(chain);
        chain.add(2, chain.get(1));

        AuditVerifier.Verdict verdict = verify(chain, head, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.reason()).contains("appears twice");
    }

    @Test
    void shouldCatchEntriesWithoutASignedHead() {
        AuditVerifier.Verdict verdict = verify(chain(), null, 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.signatureValid()).isNull();
        assertThat(verdict.reason()).contains("no signed head");
    }

    @Test
    void shouldCatchAnUnchainedRowAfterTheChainBegan() {
        List<AuditVerifier.Stored> chain = chain();
        AuditVerifier verifier = new AuditVerifier(SIGNER, new AuditVerifier.Facts(headOf(chain), 4L, 1, 4L, null));
        chain.forEach(verifier::accept);

        AuditVerifier.Verdict verdict = verifier.finish();

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.brokenAt()).isEqualTo(4);
        assertThat(verdict.unchained()).isEqualTo(1);
    }

    @Test
    void shouldAcceptRowsOlderThanAChainThatStartedLater() {
        // versions 1 to 3 were archived before the chain existed; it starts at version 4
        AuditChain.Entry four = accepted(1, 4);
        AuditChain.Link link = AuditChain.append(AuditChain.Link.GENESIS, four);
        AuditVerifier verifier = new AuditVerifier(SIGNER,
                new AuditVerifier.Facts(SIGNER.sign("acme", "s1", link), 4L, 4, 3L, 3L));
        verifier.accept(new AuditVerifier.Stored(four, link.hash()));

        AuditVerifier.Verdict verdict = verifier.finish();

        assertThat(verdict.valid()).as(verdict.reason()).isTrue();
        assertThat(verdict.unchained()).isEqualTo(4);
        assertThat(verdict.length()).isEqualTo(1);
    }

    @Test
    void shouldNameAHeadSignedByAKeyItDoesNotKnow() {
        List<AuditVerifier.Stored> chain = chain();
        AuditSigner other = AuditSigner.of("another key of thirty-two bytes!".getBytes(StandardCharsets.US_ASCII));
        AuditVerifier.Stored last = chain.get(chain.size() - 1);

        AuditVerifier.Verdict verdict = verify(chain,
                other.sign("acme", "s1", new AuditChain.Link(last.entry().seq(), last.hash())), 4L);

        assertThat(verdict.valid()).isFalse();
        assertThat(verdict.keyId()).isEqualTo(other.keyId());
        assertThat(verdict.reason()).contains(other.keyId()).contains("previous-signing-keys");
    }
}
