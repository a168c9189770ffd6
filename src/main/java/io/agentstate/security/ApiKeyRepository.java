package io.agentstate.security;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/** API keys managed through the admin API, in PostgreSQL: hashes only. */
@ApplicationScoped
public class ApiKeyRepository {

    private final Pool pool;

    ApiKeyRepository(Pool pool) {
        this.pool = pool;
    }

    Uni<Void> insert(ApiKey key) {
        return pool.preparedQuery("INSERT INTO api_keys (id, tenant, roles, sha256, label, created_at, expires_at) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .execute(Tuple.from(Arrays.asList(key.id(), key.tenant(), roleNames(key), key.sha256(), key.label(),
                        time(key.createdAt()), time(key.expiresAt()))))
                .replaceWithVoid();
    }

    /** Every key, revoked ones too (so a revocation made by another replica reaches this one's cache). */
    Uni<List<ApiKey>> all() {
        return pool.query("SELECT * FROM api_keys")
                .execute()
                .map(ApiKeyRepository::keys);
    }

    Uni<Optional<ApiKey>> bySha256(String sha256) {
        return pool.preparedQuery("SELECT * FROM api_keys WHERE sha256 = $1")
                .execute(Tuple.of(sha256))
                .map(rows -> keys(rows).stream().findFirst());
    }

    /** Revokes a key of this tenant; the answer is the key as it is now, empty when the tenant has no such key. */
    Uni<Optional<ApiKey>> revoke(String tenant, String id, Instant at) {
        return pool.preparedQuery("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) "
                + "WHERE tenant = $1 AND id = $2 RETURNING *")
                .execute(Tuple.of(tenant, id, time(at)))
                .map(rows -> keys(rows).stream().findFirst());
    }

    private static List<ApiKey> keys(RowSet<Row> rows) {
        List<ApiKey> keys = new ArrayList<>();
        for (Row row : rows) {
            keys.add(new ApiKey(row.getString("id"), row.getString("tenant"),
                    Role.granted(Arrays.asList(row.getArrayOfStrings("roles"))), row.getString("sha256"),
                    row.getString("label"), instant(row.getOffsetDateTime("created_at")),
                    instant(row.getOffsetDateTime("expires_at")), instant(row.getOffsetDateTime("revoked_at")),
                    ApiKey.Source.API));
        }
        return keys;
    }

    private static String[] roleNames(ApiKey key) {
        return key.roles().stream().map(Role::wireName).collect(Collectors.toList()).toArray(String[]::new);
    }

    private static OffsetDateTime time(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    private static Instant instant(OffsetDateTime time) {
        return time == null ? null : time.toInstant();
    }
}
