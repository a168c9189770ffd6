package io.agentstate.ledger;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Forgetting a user by crypto-shredding: the data keys of the user's facts and of every session that names the user
 * are destroyed, the facts deleted and the sessions' views dropped. The archive keeps every row, so versions stay
 * contiguous and the audit chain (over ciphertext) still verifies, but nothing of the content can be read again.
 */
@ApplicationScoped
public class UserForgetting {

    /** What forgetting touched: the sessions whose content is now unreadable, and the facts deleted. */
    public record Forgotten(List<String> sessions, int facts) {
    }

    private static final Logger LOG = Logger.getLogger(UserForgetting.class);

    private final Pool pool;
    private final DataKeys keys;
    private final SessionViewStore views;
    private final Vertx vertx;
    private final Duration keyCacheTtl;

    UserForgetting(Pool pool, DataKeys keys, SessionViewStore views, Vertx vertx, AgentStateConfig config) {
        this.pool = pool;
        this.keys = keys;
        this.views = views;
        this.vertx = vertx;
        this.keyCacheTtl = config.crypto().keyCacheTtl();
    }

    /**
     * Forgets a user of a tenant. Forgetting again destroys whatever was written for them since (their sessions keep
     * naming them), and for a user never seen finds nothing.
     */
    public Uni<Forgotten> forget(String tenant, String userId) {
        return pool.preparedQuery("SELECT session_id FROM session_heads WHERE tenant = $1 AND user_id = $2")
                .execute(Tuple.of(tenant, userId))
                .chain(rows -> {
                    List<String> sessions = new ArrayList<>();
                    for (Row row : rows) {
                        sessions.add(row.getString("session_id"));
                    }
                    List<String> owners = new ArrayList<>();
                    owners.add(DataKeys.userOwner(userId));
                    sessions.forEach(session -> owners.add(DataKeys.sessionOwner(session)));
                    // keys first: from this moment nothing of theirs decrypts, whatever happens next
                    return keys.destroy(tenant, owners)
                            .chain(() -> pool.preparedQuery("DELETE FROM memories WHERE tenant = $1 AND user_id = $2")
                                    .execute(Tuple.of(tenant, userId)))
                            .chain(deleted -> pool.preparedQuery("DELETE FROM snapshots WHERE tenant = $1 "
                                    + "AND session_id = ANY($2)")
                                    .execute(Tuple.of(tenant, sessions.toArray(new String[0])))
                                    .replaceWith(deleted.rowCount()))
                            .chain(facts -> views.invalidate(keysOf(tenant, sessions))
                                    .invoke(() -> dropAgainLater(tenant, sessions))
                                    .replaceWith(new Forgotten(sessions, facts)));
                });
    }

    // A replica that still holds a destroyed key in its cache (up to the key cache's time to live), or a rebuild that
    // read the content just before, may install a view again: the views are dropped once more after that window.
    private void dropAgainLater(String tenant, List<String> sessions) {
        if (sessions.isEmpty()) {
            return;
        }
        vertx.setTimer(keyCacheTtl.plusSeconds(5).toMillis(), id -> views.invalidate(keysOf(tenant, sessions))
                .subscribe().with(done -> {
                }, failure -> LOG.warnf("Views of a forgotten user not dropped again: %s", LogSafe.failure(failure))));
    }

    private static List<SessionKey> keysOf(String tenant, List<String> sessions) {
        return sessions.stream().map(session -> new SessionKey(tenant, session)).toList();
    }
}
