package io.agentstate.platform;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * What may go into a log line at INFO and above: no session or user id, no content, no key material. Paths keep only
 * their route words, reasons lose what they quote, and everything is capped.
 */
public final class LogSafe {

    private static final int MAX = 300;
    // the words of our routes; any other path segment is an id (a session, a user, an event, a key)
    private static final Set<String> ROUTE_WORDS = Set.of("sessions", "users", "events", "state", "tools", "stream",
            "chat", "memories", "audit", "admin", "keys", "schemas", "q", "health", "live", "ready", "metrics",
            "openapi");
    private static final Pattern QUOTED = Pattern.compile("'[^']*'|\"[^\"]*\"|`[^`]*`");
    // database errors quote the key of a violated constraint: Key (tenant, session_id)=(acme, s-1)
    private static final Pattern KEY_VALUES = Pattern.compile("=\\([^)]*\\)");
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cntrl}\\p{Cs}]");

    private LogSafe() {
    }

    /** A request path with every id replaced: {@code /sessions/s-1/tools/c1} reads {@code /sessions/…/tools/…}. */
    public static String path(String path) {
        if (path == null) {
            return "";
        }
        StringBuilder safe = new StringBuilder();
        for (String segment : path.split("/", -1)) {
            if (!safe.isEmpty() || path.startsWith("/")) {
                safe.append(safe.isEmpty() && segment.isEmpty() ? "" : "/");
            }
            if (!segment.isEmpty()) {
                safe.append(ROUTE_WORDS.contains(segment) ? segment : "…");
            }
        }
        return cap(safe.toString());
    }

    /** A reason or failure message with what it quotes removed, control characters dropped, and capped. */
    public static String reason(String text) {
        if (text == null) {
            return "";
        }
        String safe = QUOTED.matcher(text).replaceAll("'…'");
        safe = KEY_VALUES.matcher(safe).replaceAll("=(…)");
        safe = CONTROL.matcher(safe).replaceAll(" ");
        return cap(safe);
    }

    /** A failure as its type and a safe reason. */
    public static String failure(Throwable failure) {
        return failure.getClass().getSimpleName() + ": " + reason(failure.getMessage());
    }

    private static String cap(String text) {
        return text.length() <= MAX ? text : text.substring(0, MAX) + "…";
    }
}
