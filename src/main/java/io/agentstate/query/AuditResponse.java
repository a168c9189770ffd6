package io.agentstate.query;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.agentstate.security.AuditVerifier;

/**
 * The answer of {@code GET /sessions/{id}/audit}: whether the session's audit chain and its signed head verify, and
 * where the first break is. {@code brokenAt} and {@code brokenEventId} are always present, null when valid.
 *
 * @param sessionId the session
 * @param valid every entry, the chain's order, its end and the head's signature verified
 * @param length entries in the chain, by its signed head
 * @param brokenAt the version of the first bad entry (for a refused one, the version it was refused at), or null
 * @param brokenEventId that entry's event id, when it is there to name
 * @param brokenSequence the chain position of the first break
 * @param signedSequence the chain position the head's signature covers (the head is signed at every batch)
 * @param keyId the id of the key that signed the head
 * @param signatureValid whether the head's signature verifies; absent when there is no head
 * @param unchained rows older than the chain (written before it existed), which it does not vouch for
 * @param reason what is wrong, absent when valid
 */
public record AuditResponse(String sessionId, boolean valid, long length,
        @JsonInclude(JsonInclude.Include.ALWAYS) Long brokenAt,
        @JsonInclude(JsonInclude.Include.ALWAYS) String brokenEventId, Long brokenSequence, Long signedSequence,
        String keyId, Boolean signatureValid, long unchained, String reason) {

    static AuditResponse from(String sessionId, AuditVerifier.Verdict verdict) {
        return new AuditResponse(sessionId, verdict.valid(), verdict.length(), verdict.brokenAt(),
                verdict.brokenEventId(), verdict.brokenSequence(), verdict.signedSequence(), verdict.keyId(),
                verdict.signatureValid(), verdict.unchained(), verdict.reason());
    }
}
