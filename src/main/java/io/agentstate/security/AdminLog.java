package io.agentstate.security;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The per-tenant log of administrative actions (a key created or revoked, a session erased, a user forgotten), readable
 * by the tenant's admins. It records who asked and what, never content.
 */
@ApplicationScoped
public class AdminLog {

    /** One administrative action. */
    public record Action(long id, Instant at, String actor, String action, String target) {
    }

    private final Pool pool;

    AdminLog(Pool pool) {
        this.pool = pool;
    }

    /** Records an action by this caller on a target (a key id, a session id, a user id). */
    public Uni<Void> record(Caller caller, String action, String target) {
        return pool.preparedQuery("INSERT INTO admin_actions (tenant, at, actor, action, target) "
                + "VALUES ($1, $2, $3, $4, $5)")
                .execute(Tuple.of(caller.tenant(), Instant.now().atOffset(ZoneOffset.UTC), caller.subject(), action,
                        target))
                .replaceWithVoid();
    }

    /** The tenant's actions, newest first, before an id when paging (null for the newest). */
    public Uni<List<Action>> list(String tenant, Long before, int limit) {
        return pool.preparedQuery("SELECT * FROM admin_actions WHERE tenant = $1 AND ($2::bigint IS NULL OR id < $2) "
                + "ORDER BY id DESC LIMIT $3")
                .execute(Tuple.from(Arrays.asList(tenant, before, limit)))
                .map(rows -> {
                    List<Action> actions = new ArrayList<>();
                    for (Row row : rows) {
                        actions.add(new Action(row.getLong("id"), row.getOffsetDateTime("at").toInstant(),
                                row.getString("actor"), row.getString("action"), row.getString("target")));
                    }
                    return actions;
                });
    }
}
