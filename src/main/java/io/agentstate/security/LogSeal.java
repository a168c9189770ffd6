package io.agentstate.security;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.jboss.logging.Logger;

import io.agentstate.event.EventCodec;
import io.agentstate.platform.AgentStateConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;

/**
 * Seals the records the service writes to the event log (REST, chat, the ingress relay) and verifies them in the ledger:
 * header {@code agentstate-tenant} names the tenant, and {@code agentstate-seal} is an HMAC-SHA256 over the tenant,
 * key, value and every header the ledger reads. A record that Kafka's ACLs let someone else write carries no valid
 * seal, so it can neither claim a tenant nor use the reserved parts of the log's contract.
 */
@Startup
@Singleton
public class LogSeal {

    public static final String TENANT_HEADER = "agentstate-tenant";
    public static final String SEAL_HEADER = "agentstate-seal";
    private static final String ALGORITHM = "HmacSHA256";
    private static final int MIN_KEY_BYTES = 32;
    // Versions the encoding, so a later change cannot be confused with this one.
    private static final byte[] DOMAIN = "agentstate-seal/v1".getBytes(StandardCharsets.UTF_8);

    private static final Logger LOG = Logger.getLogger(LogSeal.class);

    /** What a record's seal says: no seal, a seal that does not verify, or the tenant it vouches for. */
    public record Verification(Status status, String tenant) {

        public enum Status {
            UNSEALED,
            INVALID,
            VALID
        }

        public boolean valid() {
            return status == Status.VALID;
        }
    }

    private final SecretKeySpec key;

    @Inject
    LogSeal(AgentStateConfig config) {
        this(key(config, LaunchMode.current()));
    }

    LogSeal(byte[] key) {
        this.key = new SecretKeySpec(key, ALGORITHM);
    }

    static byte[] key(AgentStateConfig config, LaunchMode mode) {
        Optional<String> configured = config.log().sealKey().filter(k -> !k.isBlank());
        if (configured.isPresent()) {
            byte[] bytes;
            try {
                bytes = Base64.getDecoder().decode(configured.get().trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("agent-state.log.seal-key is not base64; generate one with "
                        + "`openssl rand -base64 32`");
            }
            if (bytes.length < MIN_KEY_BYTES) {
                throw new IllegalStateException("agent-state.log.seal-key has " + bytes.length + " bytes; it needs at "
                        + "least " + MIN_KEY_BYTES + " (`openssl rand -base64 32`)");
            }
            return bytes;
        }
        if (mode == LaunchMode.NORMAL && config.auth().mode() == AgentStateConfig.Auth.Mode.REQUIRED) {
            throw new IllegalStateException("agent-state.log.seal-key (AGENT_STATE_LOG_SEAL_KEY) is not set: with "
                    + "credentials required the ledger trusts only records sealed with it. Set the same base64 key "
                    + "(at least 32 bytes, `openssl rand -base64 32`) on every replica, from a Secret.");
        }
        // Without credentials nothing claims a tenant, so a key of this process only costs multi-replica replies.
        LOG.warn("agent-state.log.seal-key is not set: records are sealed with a key of this process only, so other "
                + "replicas and later restarts do not trust them (replies and erasures written by them are not honoured)");
        byte[] bytes = new byte[MIN_KEY_BYTES];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    /** Adds the tenant and the seal to a record's headers, replacing any already there. */
    public void seal(String tenant, String recordKey, byte[] value, Headers headers) {
        headers.remove(TENANT_HEADER);
        headers.remove(SEAL_HEADER);
        headers.add(TENANT_HEADER, tenant.getBytes(StandardCharsets.UTF_8));
        headers.add(SEAL_HEADER, Base64.getEncoder().encode(mac(tenant, recordKey, value, headers)));
    }

    /** Checks a record's seal. */
    public Verification verify(String recordKey, byte[] value, Headers headers) {
        Header seal = headers.lastHeader(SEAL_HEADER);
        Header tenant = headers.lastHeader(TENANT_HEADER);
        if (seal == null && tenant == null) {
            return new Verification(Verification.Status.UNSEALED, null);
        }
        if (seal == null || tenant == null || seal.value() == null || tenant.value() == null) {
            return new Verification(Verification.Status.INVALID, null);
        }
        String claimed = new String(tenant.value(), StandardCharsets.UTF_8);
        byte[] given;
        try {
            given = Base64.getDecoder().decode(seal.value());
        } catch (IllegalArgumentException e) {
            return new Verification(Verification.Status.INVALID, null);
        }
        return MessageDigest.isEqual(given, mac(claimed, recordKey, value, headers))
                ? new Verification(Verification.Status.VALID, claimed)
                : new Verification(Verification.Status.INVALID, null);
    }

    // Every part is length-prefixed (-1 for absent), and the headers the ledger reads are sorted by their lower-case
    // name (the ledger reads names case-insensitively), ties kept in record order: no two records encode alike.
    private byte[] mac(String tenant, String recordKey, byte[] value, Headers headers) {
        List<Header> covered = new ArrayList<>();
        for (Header header : headers) {
            if (covered(header.key())) {
                covered.add(header);
            }
        }
        covered.sort(Comparator.comparing(h -> h.key().toLowerCase(Locale.ROOT)));
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            mac.update(DOMAIN);
            field(mac, tenant.getBytes(StandardCharsets.UTF_8));
            field(mac, recordKey == null ? null : recordKey.getBytes(StandardCharsets.UTF_8));
            field(mac, value);
            mac.update(ByteBuffer.allocate(4).putInt(covered.size()).array());
            for (Header header : covered) {
                field(mac, header.key().getBytes(StandardCharsets.UTF_8));
                field(mac, header.value());
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }

    private static boolean covered(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.startsWith("ce_") || lower.equals("content-type") || lower.equals(EventCodec.REPLY_HEADER);
    }

    private static void field(Mac mac, byte[] bytes) {
        mac.update(ByteBuffer.allocate(4).putInt(bytes == null ? -1 : bytes.length).array());
        if (bytes != null) {
            mac.update(bytes);
        }
    }
}
