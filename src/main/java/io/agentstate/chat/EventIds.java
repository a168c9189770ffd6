package io.agentstate.chat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Deterministic event ids for what chat writes in the background, kept within the 128-character limit of an id. */
final class EventIds {

    private static final int MAX = 128;

    private EventIds() {
    }

    /**
     * {@code readable} when it fits; otherwise {@code prefix}, the SHA-256 of {@code key} in hex, and {@code suffix}.
     */
    static String bounded(String readable, String prefix, String key, String suffix) {
        if (readable.length() <= MAX) {
            return readable;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return prefix + HexFormat.of().formatHex(digest) + suffix;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
