package io.agentstate.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;

/**
 * API keys for machine agents: high-entropy random keys known to the service only by their SHA-256, each bound to one
 * tenant and its roles. Keys come from the operator's file (re-read when it changes, so a rotated Secret needs no
 * restart) and from the admin API (PostgreSQL; other replicas' changes arrive within the refresh interval, and an
 * unknown key is looked up there at once).
 */
@ApplicationScoped
public class ApiKeys {

    /** Every key starts with this, so a bearer credential is told apart from a JWT without parsing it. */
    public static final String PREFIX = "ask_";

    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ApiKeyRepository repository;
    private final AgentStateConfig config;
    private final ObjectMapper json;
    private final Vertx vertx;
    private final Map<String, ApiKey> fromApi = new ConcurrentHashMap<>();
    private volatile Map<String, ApiKey> fromFile = Map.of();
    private volatile FileTime fileSeen;
    private long timer = -1;

    ApiKeys(ApiKeyRepository repository, AgentStateConfig config, ObjectMapper json, Vertx vertx) {
        this.repository = repository;
        this.config = config;
        this.json = json;
        this.vertx = vertx;
    }

    /** A new key made by an admin: the answer is the only place the key itself ever appears. */
    public record Created(ApiKey key, String secret) {
    }

    void start(@Observes StartupEvent start) {
        readFile();
        timer = vertx.setPeriodic(config.auth().apiKeysRefresh().toMillis(), id -> refresh());
    }

    void stop(@Observes ShutdownEvent stop) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** The caller a presented key stands for; fails with {@link NotAuthenticatedException} when it stands for none. */
    public Uni<Caller> authenticate(String presented) {
        String sha256 = sha256(presented);
        ApiKey known = fromFile.get(sha256);
        if (known == null) {
            known = fromApi.get(sha256);
        }
        Uni<Optional<ApiKey>> key = known != null ? Uni.createFrom().item(Optional.of(known))
                : repository.bySha256(sha256)
                        .invoke(found -> found.ifPresent(k -> fromApi.put(k.sha256(), k)));
        return key.map(found -> {
            ApiKey k = found.orElseThrow(() -> new NotAuthenticatedException("unknown API key", true));
            if (!k.usableAt(Instant.now())) {
                throw new NotAuthenticatedException(k.revokedAt() != null ? "API key revoked" : "API key expired", true);
            }
            return new Caller(k.tenant(), "key:" + k.id(), k.roles());
        });
    }

    /** Makes a key for the caller's tenant with at most the caller's own roles. */
    public Uni<Created> create(Caller admin, Set<Role> roles, String label, Instant expiresAt) {
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        String secret = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        byte[] id = new byte[9];
        RANDOM.nextBytes(id);
        ApiKey key = new ApiKey("key_" + Base64.getUrlEncoder().withoutPadding().encodeToString(id), admin.tenant(), roles,
                sha256(secret), label, Instant.now(), expiresAt, null, ApiKey.Source.API);
        return repository.insert(key)
                .invoke(() -> fromApi.put(key.sha256(), key))
                .replaceWith(new Created(key, secret));
    }

    /** The tenant's keys, from the API and the file, without their secrets. */
    public Uni<List<ApiKey>> list(String tenant) {
        return repository.all()
                .map(keys -> {
                    List<ApiKey> mine = new ArrayList<>();
                    keys.stream().filter(k -> k.tenant().equals(tenant)).forEach(mine::add);
                    fromFile.values().stream().filter(k -> k.tenant().equals(tenant)).forEach(mine::add);
                    mine.sort((a, b) -> a.createdAt().compareTo(b.createdAt()));
                    return mine;
                });
    }

    /** Revokes a key of the caller's tenant: effective at once here, within the refresh interval elsewhere. */
    public Uni<Optional<ApiKey>> revoke(Caller admin, String id) {
        return repository.revoke(admin.tenant(), id, Instant.now())
                .invoke(revoked -> revoked.ifPresent(k -> fromApi.put(k.sha256(), k)));
    }

    /** Whether the tenant's key with this id lives in the operator's file (which the API cannot change). */
    public boolean inFile(String tenant, String id) {
        return fromFile.values().stream().anyMatch(k -> k.tenant().equals(tenant) && k.id().equals(id));
    }

    private void refresh() {
        readFile();
        repository.all()
                .subscribe().with(keys -> {
                    Map<String, ApiKey> fresh = new HashMap<>();
                    keys.forEach(k -> fresh.put(k.sha256(), k));
                    fromApi.keySet().retainAll(fresh.keySet());
                    fromApi.putAll(fresh);
                }, failure -> LOG.debugf("API keys not refreshed from PostgreSQL: %s", failure.getMessage()));
    }

    private void readFile() {
        Optional<Path> file = config.auth().apiKeysFile();
        if (file.isEmpty()) {
            return;
        }
        try {
            FileTime modified = Files.getLastModifiedTime(file.get());
            if (modified.equals(fileSeen)) {
                return;
            }
            Map<String, ApiKey> keys = parse(json.readTree(file.get().toFile()));
            fromFile = keys;
            fileSeen = modified;
            LOG.infof("API key file read: %d keys", keys.size());
        } catch (IOException | RuntimeException e) {
            // the keys read before stay in force: a half-written Secret must not lock every agent out
            LOG.warnf("API key file not read, keeping the %d keys read before: %s", fromFile.size(), LogSafe.failure(e));
        }
    }

    private static Map<String, ApiKey> parse(JsonNode root) {
        JsonNode list = root.isArray() ? root : root.path("keys");
        if (!list.isArray()) {
            throw new IllegalArgumentException("expected an array of keys, or {\"keys\": [...]}");
        }
        Map<String, ApiKey> keys = new HashMap<>();
        for (JsonNode entry : list) {
            String id = text(entry, "id");
            String tenant = text(entry, "tenant");
            String sha256 = text(entry, "sha256").toLowerCase(java.util.Locale.ROOT);
            if (!Caller.validTenant(tenant) || !sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("key " + id + ": invalid tenant or sha256");
            }
            List<String> roles = new ArrayList<>();
            entry.path("roles").forEach(role -> roles.add(role.asText()));
            Instant expires = entry.hasNonNull("expiresAt") ? Instant.parse(entry.get("expiresAt").asText()) : null;
            keys.put(sha256, new ApiKey(id, tenant, Role.granted(roles), sha256, entry.path("label").asText(null),
                    Instant.EPOCH, expires, null, ApiKey.Source.FILE));
        }
        return keys;
    }

    private static String text(JsonNode entry, String field) {
        JsonNode value = entry.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw new IllegalArgumentException("every key needs a text '" + field + "'");
        }
        return value.asText();
    }

    static String sha256(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
