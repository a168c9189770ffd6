package io.agentstate.ledger;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;
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

    private final Pool pool;
    private final DataKeys keys;
    private final SessionViewStore views;

    UserForgetting(Pool pool, DataKeys keys, SessionViewStore views) {
        this.pool = pool;
        this.keys = keys;
        this.views = views;
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
                            .chain(facts -> views.invalidate(sessions.stream()
                                    .map(session -> new SessionKey(tenant, session)).toList())
                                    .replaceWith(new Forgotten(sessions, facts)));
                });
    }
}
