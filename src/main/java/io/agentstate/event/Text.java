package io.agentstate.event;

/**
 * Rules for text that crosses the service's edge: what may be stored (well-formed Unicode, no U+0000, which
 * PostgreSQL's {@code text} cannot hold and its encoder would replace, making distinct ids collide) and how input is
 * quoted back in reasons, headers and logs (bounded, control characters escaped, so no input can forge a log line or
 * inflate a dead letter).
 */
public final class Text {

    /** Longest quotation of input inside a reason. */
    public static final int MAX_QUOTE = 64;

    /** Ids echoed in answers (a valid session id has at most 128 characters, an event id 512): longer input is cut. */
    public static final int MAX_ID = 512;

    private Text() {
    }

    /** True when the string holds no unpaired surrogate and no U+0000. */
    public static boolean storable(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\u0000') {
                return false;
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= value.length() || !Character.isLowSurrogate(value.charAt(i + 1))) {
                    return false;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /** Input quoted for a reason: at most {@link #MAX_QUOTE} characters, control characters and surrogates escaped. */
    public static String quote(String value) {
        return bounded(value, MAX_QUOTE);
    }

    /**
     * Text made safe for a log line or a header: at most {@code max} characters (an ellipsis and the full length are
     * added when cut), every control character, unpaired surrogate and line separator written as a {@code \\uXXXX}
     * escape.
     */
    public static String bounded(String value, int max) {
        if (value == null) {
            return "null";
        }
        int length = Math.min(value.length(), max);
        StringBuilder out = new StringBuilder(length + 16);
        for (int i = 0; i < length; i++) {
            char c = value.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1)) && i + 1 < length;
            if (paired) {
                out.append(c).append(value.charAt(++i));
            } else if (Character.isISOControl(c) || Character.isSurrogate(c) || c == '\u2028' || c == '\u2029') {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (value.length() > max) {
            out.append("… (").append(value.length()).append(" characters)");
        }
        return out.toString();
    }
}
