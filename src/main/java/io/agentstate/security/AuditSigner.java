package io.agentstate.security;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.agentstate.platform.AgentStateConfig;
import io.quarkus.runtime.Startup;

/**
 * Signs chain heads with HMAC-SHA256 under a key held outside the database, and verifies them under that key or a
 * previous one: a head rewritten in PostgreSQL cannot be signed again without the key. Each signature names its key
 * by an id derived from the key, so keys rotate without a table of ids. Built first thing at start-up (before the
 * endpoint checks), so a missing or malformed key stops the service at once, with the setting's name.
 */
@Singleton
@Startup(0)
public class AuditSigner {

    /** The smallest key accepted, in bytes: HMAC-SHA256's own strength. */
    public static final int MIN_KEY_BYTES = 32;

    private static final String ALGORITHM = "HmacSHA256";
    private static final String HEAD_TAG = "agent-state/audit-head/1";
    private static final String KEY_ID_TAG = "agent-state/audit-key-id/1";
    private static final String SETTING = "agent-state.audit.signing-key";

    /**
     * A session's chain head and its signature.
     *
     * @param tenant owning tenant
     * @param sessionId the session
     * @param link the chain's last entry and hash
     * @param keyId the id of the key that signed it
     * @param signature HMAC-SHA256 over tenant, session, sequence and hash
     */
    public record SignedHead(String tenant, String sessionId, AuditChain.Link link, String keyId, byte[] signature) {
    }

    private final String currentId;
    private final Map<String, SecretKeySpec> keys;
    private final ThreadLocal<Mac> current;

    @Inject
    AuditSigner(AgentStateConfig config) {
        this(signingKey(config.audit().signingKey()), config.audit().previousSigningKeys().orElse(List.of()).stream()
                .map(key -> parse("agent-state.audit.previous-signing-keys", key)).toList());
    }

    private AuditSigner(byte[] signing, List<byte[]> previous) {
        this.keys = new LinkedHashMap<>();
        this.currentId = keyId(signing);
        keys.put(currentId, new SecretKeySpec(signing, ALGORITHM));
        previous.forEach(key -> keys.putIfAbsent(keyId(key), new SecretKeySpec(key, ALGORITHM)));
        SecretKeySpec signingKey = keys.get(currentId);
        this.current = ThreadLocal.withInitial(() -> mac(signingKey));
    }

    /** A signer outside CDI (tests, tools): the signing key first, then keys whose old signatures still verify. */
    public static AuditSigner of(byte[] signing, byte[]... previous) {
        check("signing key", signing);
        List<byte[]> older = new ArrayList<>();
        for (byte[] key : previous) {
            check("previous key", key);
            older.add(key);
        }
        return new AuditSigner(signing.clone(), older);
    }

    /** The id of the key that signs now. */
    public String keyId() {
        return currentId;
    }

    /** Signs a session's chain head with the current key. */
    public SignedHead sign(String tenant, String sessionId, AuditChain.Link link) {
        return new SignedHead(tenant, sessionId, link, currentId, current.get().doFinal(message(tenant, sessionId, link)));
    }

    /** Whether a head was signed by one of the known keys, as it stands. */
    public boolean verify(SignedHead head) {
        SecretKeySpec key = keys.get(head.keyId());
        if (key == null || head.signature() == null) {
            return false;
        }
        byte[] expected = mac(key).doFinal(message(head.tenant(), head.sessionId(), head.link()));
        return MessageDigest.isEqual(expected, head.signature());
    }

    /** Whether a key id names the current key or a listed previous one. */
    public boolean knows(String keyId) {
        return keys.containsKey(keyId);
    }

    /** A key's id: the first 8 bytes of a SHA-256 over a fixed label and the key, in hex; reveals nothing of it. */
    public static String keyId(byte[] key) {
        MessageDigest digest = AuditChain.sha256();
        digest.update(KEY_ID_TAG.getBytes(StandardCharsets.UTF_8));
        digest.update(key);
        return "hmac-" + HexFormat.of().formatHex(digest.digest(), 0, 8);
    }

    private static byte[] message(String tenant, String sessionId, AuditChain.Link link) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        AuditChain.Fields fields = new AuditChain.Fields(out::writeBytes);
        fields.text(HEAD_TAG);
        fields.text(tenant);
        fields.text(sessionId);
        fields.number(link.seq());
        fields.bytes(link.hash());
        return out.toByteArray();
    }

    private static Mac mac(SecretKeySpec key) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has " + ALGORITHM, e);
        }
    }

    /** The configured signing key; the service does not start without one, in any profile. */
    static byte[] signingKey(Optional<String> configured) {
        return parse(SETTING, configured.orElseThrow(() -> new IllegalStateException(SETTING
                + " (environment AGENT_STATE_AUDIT_SIGNING_KEY) is not set: the audit chain's heads are signed with a key "
                + "kept outside the database. Give it base64 of at least " + MIN_KEY_BYTES + " random bytes, e.g. "
                + "`openssl rand -base64 32`, from a Secret.")));
    }

    /** A configured key: base64 (standard or URL-safe alphabet), at least {@link #MIN_KEY_BYTES} once decoded. */
    static byte[] parse(String setting, String encoded) {
        String text = encoded.strip();
        byte[] key;
        try {
            key = (text.indexOf('-') >= 0 || text.indexOf('_') >= 0 ? Base64.getUrlDecoder() : Base64.getDecoder())
                    .decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(setting + " is not base64: " + e.getMessage());
        }
        check(setting, key);
        return key;
    }

    private static void check(String what, byte[] key) {
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalStateException(what + " has " + key.length + " bytes; an audit signing key needs at least "
                    + MIN_KEY_BYTES + " (e.g. `openssl rand -base64 32`)");
        }
    }
}
