package io.agentstate.platform;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * Conversion of query parameters taken as text, so a malformed or out-of-range value is a 400 problem that names the
 * parameter (JAX-RS would answer a failed conversion with a bare 404).
 */
public final class QueryParams {

    /** The earliest time a parameter may name: events are bounded to years 1 to 9999. */
    public static final Instant MIN_TIME = Instant.parse("0001-01-01T00:00:00Z");
    /** The latest time a parameter may name. */
    public static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999999Z");

    private QueryParams() {
    }

    /** An integer in [min, max], or {@code fallback} when the parameter is absent. */
    public static int integer(String name, String value, int fallback, int min, int max) {
        if (value == null) {
            return fallback;
        }
        long parsed = parse(name, value, "an integer from " + min + " to " + max);
        if (parsed < min || parsed > max) {
            throw invalid(name, name + " must be an integer from " + min + " to " + max + ", not " + quote(value));
        }
        return (int) parsed;
    }

    /** A whole number of at least {@code min}, or {@code fallback} when the parameter is absent. */
    public static Long atLeast(String name, String value, Long fallback, long min) {
        if (value == null) {
            return fallback;
        }
        long parsed = parse(name, value, "a whole number of " + min + " or more");
        if (parsed < min) {
            throw invalid(name, name + " must be a whole number of " + min + " or more, not " + quote(value));
        }
        return parsed;
    }

    /** An RFC 3339 timestamp within years 1 to 9999. */
    public static Instant instant(String name, String value) {
        Instant instant;
        try {
            instant = OffsetDateTime.parse(value.trim()).toInstant();
        } catch (DateTimeParseException e) {
            // a '+' sent unencoded in a query string arrives as a space
            String hint = value.contains(" ") ? "; a '+' in the offset must be URL-encoded as %2B" : "";
            throw invalid(name, name + " must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z or "
                    + "2026-01-31T13:00:00%2B01:00 (URL-encoded), not " + quote(value) + hint);
        }
        if (instant.isBefore(MIN_TIME) || instant.isAfter(MAX_TIME)) {
            throw invalid(name, name + " must lie between " + MIN_TIME + " and 9999-12-31T23:59:59Z, not " + quote(value));
        }
        return instant;
    }

    /** The 400 problem for one parameter. */
    public static ProblemException invalid(String name, String detail) {
        return new ProblemException(Problem.of(400, "invalid-parameter", "Invalid parameter", detail)
                .with("parameter", name));
    }

    private static long parse(String name, String value, String expected) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw invalid(name, name + " must be " + expected + ", not " + quote(value));
        }
    }

    // Echoed input is bounded and stripped of control characters: it ends up in a response body.
    private static String quote(String value) {
        String bounded = value.length() > 64 ? value.substring(0, 64) + "…" : value;
        return "'" + bounded.replaceAll("\\p{Cntrl}", "?") + "'";
    }
}
