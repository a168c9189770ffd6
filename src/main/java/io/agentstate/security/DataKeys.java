package io.agentstate.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Envelope encryption at rest: an AES-256-GCM data key per owner (a session, or a user's long-term memory), stored in
 * PostgreSQL only wrapped by the {@link MasterKey}. Every ciphertext is bound by its associated data to its tenant, its
 * owner and the row it belongs in, so a ciphertext moved elsewhere fails to open. Keys are loaded ({@link #prepare})
 * before the synchronous {@link #seal}/{@link #open} calls that use them; destroying a key is crypto-shredding.
 */
@ApplicationScoped
public class DataKeys {

    /**
     * The header of a log record whose value the service encrypted (REST and chat writes), naming its tenant; the
     * session is the record key. Only the service holds data keys, so a record that opens is one the service wrote.
     */
    public static final String LOG_HEADER = "agentstate-encrypted";
    /** The row name a log record's value is sealed under. */
    public static final String LOG_ROW = "log";

    private static final Logger LOG = Logger.getLogger(DataKeys.class);
    private static final byte FORMAT = 1;
    // sealed for an owner other than the row's own (a fact about a user, archived in a session): the owner rides along
    private static final byte OWNED = 2;
    private static final int SEAL_OVERHEAD = 1 + 5 + 12 + 16;

    private record Cached(Aead aead, long loadedAt) {
    }

    private final Pool pool;
    private final MasterKey master;
    // Above this many cached keys, expired ones are dropped at the next load.
    private static final int SOFT_LIMIT = 200_000;

    private final long ttlMillis;
    private final long evictAfterMillis;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    DataKeys(Pool pool, MasterKey master, AgentStateConfig config) {
        this.pool = pool;
        this.master = master;
        this.ttlMillis = config.crypto().keyCacheTtl().toMillis();
        // a key in use was fresh when its batch resolved it, and a batch attempt is abandoned after twice the
        // statement timeout: older than both together, no batch can still be reading it
        this.evictAfterMillis = ttlMillis + config.ledger().statementTimeout().multipliedBy(2).toMillis();
    }

    /** The owner of a session's events, rejections, snapshots and scopes. */
    public static String sessionOwner(String sessionId) {
        return "session:" + sessionId;
    }

    /** The owner of a user's long-term facts. */
    public static String userOwner(String userId) {
        return "user:" + userId;
    }

    /** Loads the keys of these owners, making those that do not exist yet (the write path). */
    public Uni<Void> prepare(String tenant, Collection<String> owners) {
        List<String> uncached = missing(tenant, owners);
        if (uncached.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return load(tenant, uncached).chain(() -> create(tenant, uncached.stream()
                .filter(owner -> !present(tenant, owner)).toList()));
    }

    private Uni<Void> create(String tenant, List<String> missing) {
        if (missing.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> rows = new ArrayList<>(missing.size());
        for (String owner : missing) {
            rows.add(Tuple.of(tenant, owner, Buffer.buffer(newWrappedKey(tenant, owner)), master.primaryId(),
                    Instant.now().atOffset(ZoneOffset.UTC)));
        }
        // another replica may make the same key at the same moment: the first row wins, and every writer reads it back
        return pool.preparedQuery("INSERT INTO data_keys (tenant, owner, wrapped, master_key, created_at) "
                + "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                .executeBatch(rows)
                .chain(() -> load(tenant, missing));
    }

    /** Loads the keys of these owners that exist, making none (the read path: nothing to read has no key). */
    public Uni<Void> prepareExisting(String tenant, Collection<String> owners) {
        List<String> missing = missing(tenant, owners);
        return missing.isEmpty() ? Uni.createFrom().voidItem() : load(tenant, missing);
    }

    /** Encrypts for an owner whose key was prepared; {@code row} names the place the ciphertext belongs. */
    public byte[] seal(String tenant, String owner, String row, byte[] plaintext) {
        Cached key = cache.get(cacheKey(tenant, owner));
        if (key == null) {
            throw new IllegalStateException("data key not prepared before sealing");
        }
        try {
            byte[] sealed = key.aead().encrypt(plaintext, aad(tenant, owner, row));
            byte[] framed = new byte[sealed.length + 1];
            framed[0] = FORMAT;
            System.arraycopy(sealed, 0, framed, 1, sealed.length);
            return framed;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Encrypts for an owner that is not the one its row is read with (a user's fact archived in a session): the owner is
     * stored with the ciphertext (and bound to it), so forgetting the user shreds it wherever it is archived.
     */
    public byte[] sealOwned(String tenant, String owner, String row, byte[] plaintext) {
        byte[] sealed = seal(tenant, owner, row, plaintext);
        byte[] name = owner.getBytes(StandardCharsets.UTF_8);
        byte[] framed = new byte[sealed.length + 2 + name.length];
        framed[0] = OWNED;
        framed[1] = (byte) (name.length >>> 8);
        framed[2] = (byte) name.length;
        System.arraycopy(name, 0, framed, 3, name.length);
        System.arraycopy(sealed, 1, framed, 3 + name.length, sealed.length - 1);
        return framed;
    }

    /** The owner a value was sealed for with {@link #sealOwned}, if it was. */
    public static Optional<String> embeddedOwner(byte[] sealed) {
        if (sealed.length < 3 || sealed[0] != OWNED) {
            return Optional.empty();
        }
        int length = ownerLength(sealed);
        if (length < 0) {
            throw new IllegalStateException("a sealed value whose owner runs past its end");
        }
        return Optional.of(new String(sealed, 3, length, StandardCharsets.UTF_8));
    }

    // the raw length of the embedded owner, or -1 when the value is too short to hold it and a ciphertext
    private static int ownerLength(byte[] sealed) {
        int length = ((sealed[1] & 0xff) << 8) | (sealed[2] & 0xff);
        return length <= sealed.length - 3 - (SEAL_OVERHEAD - 1) ? length : -1;
    }

    /**
     * Decrypts what {@link #seal} made for the same owner and row (or {@link #sealOwned} for the owner it names); empty
     * when the owner's key is gone (crypto-shredded). A ciphertext that fails to open with a key that exists was altered
     * or moved: that is an error, never "erased".
     */
    public Optional<byte[]> open(String tenant, String owner, String row, byte[] sealed) {
        int start = 1;
        Optional<String> embedded = embeddedOwner(sealed);
        if (embedded.isPresent()) {
            owner = embedded.get();
            start = 3 + ownerLength(sealed);
        } else if (sealed.length < 2 || sealed[0] != FORMAT) {
            throw new IllegalStateException("not a sealed value");
        }
        Cached key = cache.get(cacheKey(tenant, owner));
        if (key == null) {
            return Optional.empty();
        }
        try {
            byte[] body = new byte[sealed.length - start];
            System.arraycopy(sealed, start, body, 0, body.length);
            return Optional.of(key.aead().decrypt(body, aad(tenant, owner, row)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("a stored ciphertext does not open: altered, or moved from another row", e);
        }
    }

    /**
     * The length of what a sealed value holds, known without its key: the format byte, Tink's 5-byte key prefix, the
     * 12-byte nonce and the 16-byte tag come on top of the plaintext. A forgotten event keeps counting its size.
     */
    public static int plaintextLength(byte[] sealed) {
        if (sealed.length > 0 && sealed[0] == FORMAT) {
            return sealed.length - SEAL_OVERHEAD;
        }
        int owner = sealed.length >= 3 && sealed[0] == OWNED ? ownerLength(sealed) : -1;
        return owner >= 0 ? sealed.length - SEAL_OVERHEAD - 2 - owner : sealed.length;
    }

    /** Whether an owner's key is loaded here (after prepare: whether it exists). */
    public boolean present(String tenant, String owner) {
        return cache.containsKey(cacheKey(tenant, owner));
    }

    /**
     * Destroys these owners' keys: everything they sealed becomes unreadable, on every replica once its cached copy
     * expires, and in database backups once the backups taken before this age out (they hold the wrapped key).
     */
    public Uni<Integer> destroy(String tenant, Collection<String> owners) {
        owners.forEach(owner -> cache.remove(cacheKey(tenant, owner)));
        if (owners.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        return pool.preparedQuery("DELETE FROM data_keys WHERE tenant = $1 AND owner = ANY($2)")
                .execute(Tuple.of(tenant, owners.toArray(new String[0])))
                .map(rows -> rows.rowCount());
    }

    private List<String> missing(String tenant, Collection<String> owners) {
        long now = System.currentTimeMillis();
        Set<String> missing = new LinkedHashSet<>();
        for (String owner : owners) {
            Cached key = cache.get(cacheKey(tenant, owner));
            if (key == null || now - key.loadedAt() > ttlMillis) {
                missing.add(owner);
            }
        }
        return new ArrayList<>(missing);
    }

    private Uni<Void> load(String tenant, List<String> owners) {
        return pool.preparedQuery("SELECT owner, wrapped FROM data_keys WHERE tenant = $1 AND owner = ANY($2)")
                .execute(Tuple.of(tenant, owners.toArray(new String[0])))
                .invoke(rows -> {
                    long now = System.currentTimeMillis();
                    Set<String> found = new LinkedHashSet<>();
                    for (Row row : rows) {
                        String owner = row.getString("owner");
                        found.add(owner);
                        cache.put(cacheKey(tenant, owner), new Cached(unwrap(tenant, owner,
                                row.getBuffer("wrapped").getBytes()), now));
                    }
                    // a key destroyed elsewhere leaves the cache when its entry is refreshed
                    owners.stream().filter(owner -> !found.contains(owner))
                            .forEach(owner -> cache.remove(cacheKey(tenant, owner)));
                    if (cache.size() > SOFT_LIMIT) {
                        // Only keys no batch can still be using go: a batch resolves its keys, then reads them from
                        // here, so dropping one in use would make a live key read as destroyed (a valid record
                        // dead-lettered, a scope read as empty). What stays is the keys of the last minutes' work.
                        cache.values().removeIf(cached -> now - cached.loadedAt() > evictAfterMillis);
                    }
                })
                .replaceWithVoid();
    }

    // after StartupCheck has migrated the schema; in the background, so a large table never delays the start
    void rewrapAtStart(@Observes @Priority(20) StartupEvent start) {
        rewrap()
                .onFailure().retry().withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30)).atMost(20)
                .subscribe().with(count -> {
                    if (count > 0) {
                        LOG.infof("Re-wrapped %d data keys with the primary master key", count);
                    }
                }, failure -> LOG.warnf("Data keys not re-wrapped with the primary master key: %s",
                        LogSafe.failure(failure)));
    }

    /**
     * Wraps again, with the master keyset's primary key, every data key an older master key wrapped, a page at a time;
     * the data keys themselves, and so every ciphertext, stay as they are. The answer is how many were re-wrapped. Once
     * none is left ({@code SELECT count(*) FROM data_keys WHERE master_key <> <primary>} is 0), the old master key can
     * leave the keyset.
     */
    public Uni<Integer> rewrap() {
        return pool.preparedQuery("SELECT tenant, owner, wrapped, master_key FROM data_keys WHERE master_key <> $1 "
                + "LIMIT 500")
                .execute(Tuple.of(master.primaryId()))
                .chain(rows -> {
                    List<Tuple> updates = new ArrayList<>();
                    for (Row row : rows) {
                        String tenant = row.getString("tenant");
                        String owner = row.getString("owner");
                        updates.add(Tuple.of(tenant, owner, Buffer.buffer(rewrapped(tenant, owner,
                                row.getBuffer("wrapped").getBytes())), master.primaryId(), row.getInteger("master_key")));
                    }
                    if (updates.isEmpty()) {
                        return Uni.createFrom().item(0);
                    }
                    // only a row still wrapped as read: a key destroyed or re-wrapped meanwhile is left alone
                    return pool.preparedQuery("UPDATE data_keys SET wrapped = $3, master_key = $4 WHERE tenant = $1 "
                            + "AND owner = $2 AND master_key = $5")
                            .executeBatch(updates)
                            .chain(done -> rewrap().map(more -> updates.size() + more));
                });
    }

    private byte[] rewrapped(String tenant, String owner, byte[] wrapped) {
        try {
            Aead wrapping = master.aead();
            // the keyset decrypts with whichever of its keys wrapped it, and encrypts with its primary
            KeysetHandle key = TinkProtoKeysetFormat.parseEncryptedKeyset(wrapped, wrapping, wrapAad(tenant, owner));
            return TinkProtoKeysetFormat.serializeEncryptedKeyset(key, wrapping, wrapAad(tenant, owner));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("a data key does not unwrap with the master keyset: was the key that "
                    + "wrapped it removed before every data key was re-wrapped?", e);
        }
    }

    private byte[] newWrappedKey(String tenant, String owner) {
        try {
            // the master key's construction registers Tink's AEAD key types, which generating one needs
            Aead wrapping = master.aead();
            KeysetHandle key = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
            return TinkProtoKeysetFormat.serializeEncryptedKeyset(key, wrapping, wrapAad(tenant, owner));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("data key generation failed", e);
        }
    }

    private Aead unwrap(String tenant, String owner, byte[] wrapped) {
        try {
            return TinkProtoKeysetFormat.parseEncryptedKeyset(wrapped, master.aead(), wrapAad(tenant, owner))
                    .getPrimitive(RegistryConfiguration.get(), Aead.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("a data key does not unwrap with the master keyset (wrong or rotated-out "
                    + "master key?)", e);
        }
    }

    private static byte[] wrapAad(String tenant, String owner) {
        return frame("agent-state data key", tenant, owner);
    }

    private static byte[] aad(String tenant, String owner, String row) {
        return frame("agent-state", tenant, owner, row);
    }

    // length-prefixed, so no two different (tenant, owner, row) triples share associated data
    private static byte[] frame(String... parts) {
        StringBuilder framed = new StringBuilder();
        for (String part : parts) {
            framed.append(part.length()).append(':').append(part).append(';');
        }
        return framed.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String cacheKey(String tenant, String owner) {
        return tenant.length() + ":" + tenant + "/" + owner;
    }
}
