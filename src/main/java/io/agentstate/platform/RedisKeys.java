package io.agentstate.platform;

/**
 * Every Redis key and channel name. A session's keys share the hash tag {@code {tenant:session}} so a view, its decisions
 * and its change channel live on one Redis Cluster slot and multi-key scripts stay legal.
 */
public final class RedisKeys {

    /** Channel where the ledger announces decisions that REST writers wait for. */
    public static final String DECISIONS_CHANNEL = "agent-state:decisions";

    /** Pattern matching every session's change channel: one subscription per instance feeds all its streams. */
    public static final String CHANGES_PATTERN = "as:{*}:changes";

    private RedisKeys() {
    }

    private static String tag(String tenant, String sessionId) {
        return "as:{" + tenant + ":" + sessionId + "}:";
    }

    /** The four keys of a session view: meta hash, message sorted set, tool-call hash, scope hash. */
    public static String[] view(String tenant, String sessionId) {
        String tag = tag(tenant, sessionId);
        return new String[] { tag + "meta", tag + "msgs", tag + "tools", tag + "scopes" };
    }

    /**
     * The newest state the ledger is known to have committed for a session id, as {@code generation:version} (a plain
     * version in the id's first life), kept beside the view and refreshed with it: no view older than it can be created
     * or installed, so a paused owner's late write, of this life or of an erased one, or a slow rebuild cannot leave a
     * stale view behind (I6). See {@code redis/view-apply.lua}.
     */
    public static String floor(String tenant, String sessionId) {
        return tag(tenant, sessionId) + "floor";
    }

    /** A decision kept briefly for a writer that polls or arrives late. */
    public static String decision(String tenant, String sessionId, String eventId) {
        return tag(tenant, sessionId) + "decision:" + eventId;
    }

    /** Channel announcing each new version of a session (the SSE stream). */
    public static String changes(String tenant, String sessionId) {
        return tag(tenant, sessionId) + "changes";
    }
}
