package io.agentstate.security;

import java.util.Arrays;

/**
 * Re-verifies one session's audit chain against its signed head. Entries come in chain order, a page at a time, so
 * memory stays at one page whatever the chain's length: each entry's hash is recomputed from its row and must equal
 * the hash stored with it, positions run 1, 2, 3, … with no gap or repeat, the last must be the head's, and the head's
 * signature must verify. A few facts from other rows are cross-checked, and the first break is reported. Pure.
 */
public final class AuditVerifier {

    /**
     * What the reader knows before the entries, all from the same snapshot.
     *
     * @param head the signed chain head, null when the session has none
     * @param sessionVersion the version in the session's head row, null when it has none
     * @param unchained rows without a place in the chain (written before the chain existed)
     * @param lastUnchainedVersion the highest version of an unchained archived event, or null
     * @param lastUnchainedRefusal the highest version an unchained refusal was made at, or null
     */
    public record Facts(AuditSigner.SignedHead head, Long sessionVersion, long unchained, Long lastUnchainedVersion,
            Long lastUnchainedRefusal) {
    }

    /**
     * An entry as read back from its row, with the chain hash stored next to it.
     *
     * @param entry the entry
     * @param hash the stored chain hash, null when the column is empty
     */
    public record Stored(AuditChain.Entry entry, byte[] hash) {
    }

    /**
     * The answer.
     *
     * @param valid every check held
     * @param length entries in the chain, by its head (0 without one)
     * @param brokenAt the version of the first bad entry (for a refused one, the version it was refused at); for a
     *        missing entry, the version it would have had; null when valid or when no version can be named
     * @param brokenEventId the event id of the first bad entry, when it is there to name
     * @param brokenSequence the chain position of the first break
     * @param signedSequence the chain position the head's signature covers
     * @param keyId the id of the key that signed the head
     * @param signatureValid whether the head's signature verifies; null without a head
     * @param unchained rows older than the chain, which it does not cover
     * @param reason what is wrong, null when valid
     */
    public record Verdict(boolean valid, long length, Long brokenAt, String brokenEventId, Long brokenSequence,
            Long signedSequence, String keyId, Boolean signatureValid, long unchained, String reason) {
    }

    private record Break(Long at, String eventId, Long seq, String reason) {
    }

    private final AuditSigner signer;
    private final Facts facts;
    private AuditChain.Link link = AuditChain.Link.GENESIS;
    private Long lastSessionVersion;
    private Long lastAcceptedVersion;
    private Long unchainedBound;
    private Break broken;

    public AuditVerifier(AuditSigner signer, Facts facts) {
        this.signer = signer;
        this.facts = facts;
    }

    /** Takes the next entry in chain order; false once the chain is broken, when later entries prove nothing more. */
    public boolean accept(Stored stored) {
        if (broken != null) {
            return false;
        }
        AuditChain.Entry entry = stored.entry();
        long expected = link.seq() + 1;
        if (facts.head() == null) {
            broken = new Break(null, null, entry.seq(), "the session has chained entries but no signed head: the head "
                    + "row was deleted");
        } else if (entry.seq() < expected) {
            broken = new Break(entry.version(), entry.eventId(), entry.seq(), "chain position " + entry.seq()
                    + " appears twice (" + describe(entry) + "): a row was added or renumbered");
        } else if (entry.seq() > expected) {
            broken = new Break(missingBefore(entry), null, expected, "chain position " + expected
                    + " is missing: an entry was deleted or renumbered");
        } else if (entry.seq() > facts.head().link().seq()) {
            broken = new Break(entry.version(), entry.eventId(), entry.seq(), "chain position " + entry.seq() + " ("
                    + describe(entry) + ") lies beyond the signed head at " + facts.head().link().seq()
                    + ": a row was added, or the head was rolled back");
        } else {
            byte[] hash = AuditChain.hash(link.hash(), entry);
            if (stored.hash() == null || !Arrays.equals(hash, stored.hash())) {
                broken = new Break(entry.version(), entry.eventId(), entry.seq(), describe(entry)
                        + " does not match its chain hash: its payload or metadata was changed");
            } else {
                if (unchainedBound == null) {
                    // rows older than the chain precede its first entry in the log: an accepted version v follows at
                    // most version v-1 and refusals made at v-1; a refusal at v follows at most version v
                    unchainedBound = entry.accepted() ? entry.version() - 1 : entry.version();
                }
                link = new AuditChain.Link(entry.seq(), hash);
                lastSessionVersion = entry.version();
                if (entry.accepted()) {
                    lastAcceptedVersion = entry.version();
                }
            }
        }
        return broken == null;
    }

    /** The verdict over the entries taken so far. */
    public Verdict finish() {
        AuditSigner.SignedHead head = facts.head();
        Long signedSequence = head == null ? null : head.link().seq();
        String keyId = head == null ? null : head.keyId();
        Boolean signatureValid = head == null ? null : signer.verify(head);
        long length = head == null ? 0 : head.link().seq();
        Break failure = broken != null ? broken : headFailure(head, Boolean.TRUE.equals(signatureValid));
        if (failure == null) {
            return new Verdict(true, length, null, null, null, signedSequence, keyId, signatureValid, facts.unchained(),
                    null);
        }
        return new Verdict(false, length, failure.at(), failure.eventId(), failure.seq(), signedSequence, keyId,
                signatureValid, facts.unchained(), failure.reason());
    }

    private Break headFailure(AuditSigner.SignedHead head, boolean signatureValid) {
        if (head == null) {
            return null;
        }
        long signed = head.link().seq();
        if (!signatureValid) {
            return new Break(null, null, signed, signer.knows(head.keyId())
                    ? "the head's signature does not verify: the head was changed without the signing key"
                    : "the head is signed with key " + head.keyId() + ", which is neither the signing key nor a listed "
                            + "previous key (agent-state.audit.previous-signing-keys)");
        }
        if (link.seq() < signed) {
            return new Break(missingAfterLast(), null, link.seq() + 1, "the signed head holds " + signed
                    + " entries but the archive ends at " + link.seq() + ": the newest entries were deleted");
        }
        if (!Arrays.equals(link.hash(), head.link().hash())) {
            return new Break(null, null, signed, "the entries do not reproduce the signed head's hash: entries were "
                    + "rewritten together with their stored hashes");
        }
        Long sessionVersion = facts.sessionVersion();
        if (lastAcceptedVersion != null && !lastAcceptedVersion.equals(sessionVersion)) {
            return new Break(sessionVersion == null ? null : Math.min(sessionVersion, lastAcceptedVersion) + 1, null, null,
                    sessionVersion == null ? "the session's head row is missing"
                            : "the session is at version " + sessionVersion + " but its chain's last accepted entry is "
                                    + "version " + lastAcceptedVersion);
        }
        if (unchainedBound != null) {
            Long version = facts.lastUnchainedVersion();
            Long refusal = facts.lastUnchainedRefusal();
            if (version != null && version > unchainedBound) {
                return new Break(version, null, null, "the archived event at version " + version + " has no place in "
                        + "the chain, though the chain began before it: the row was added or taken out of the chain");
            }
            if (refusal != null && refusal > unchainedBound) {
                return new Break(refusal, null, null, "a refusal made at version " + refusal + " has no place in the "
                        + "chain, though the chain began before it: the row was added or taken out of the chain");
            }
        }
        return null;
    }

    // The version a missing entry would have had: the one after the last good entry when the next accepted version
    // skips it, else the version the session was at (a missing refusal). Before any good entry, read off the next one.
    private Long missingBefore(AuditChain.Entry next) {
        long before = lastSessionVersion != null ? lastSessionVersion : next.version() - 1;
        long skipsTo = next.accepted() ? next.version() - 1 : next.version();
        return skipsTo > before ? before + 1 : before;
    }

    private Long missingAfterLast() {
        if (lastSessionVersion == null) {
            return null;
        }
        Long sessionVersion = facts.sessionVersion();
        return sessionVersion != null && sessionVersion > lastSessionVersion ? lastSessionVersion + 1 : lastSessionVersion;
    }

    private static String describe(AuditChain.Entry entry) {
        return entry.accepted() ? "version " + entry.version() + " (event " + entry.eventId() + ")"
                : "the refusal of event " + entry.eventId() + " at version " + entry.version();
    }
}
