package io.agentstate.query;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;

import io.agentstate.ledger.ArchiveRepository.SessionOrder;
import io.agentstate.ledger.ArchiveRepository.SessionsAfter;
import io.agentstate.ledger.SessionHead;
import io.agentstate.platform.QueryParams;

/**
 * The opaque {@code cursor} of {@code GET /sessions} pages: the last session of a page in the page's order, as URL-safe
 * text. Clients pass it back unchanged with the same filters; its content is not part of the API.
 */
final class SessionListCursor {

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private SessionListCursor() {
    }

    static String encode(SessionOrder order, SessionHead last) {
        String text = order == SessionOrder.ID ? "s1:id:" + last.sessionId()
                : "s1:recent:" + last.updatedAt() + ":" + last.sessionId();
        return ENCODER.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    static SessionsAfter decode(String cursor, SessionOrder order) {
        try {
            String text = new String(DECODER.decode(cursor), StandardCharsets.UTF_8);
            if (order == SessionOrder.ID && text.startsWith("s1:id:") && text.length() > 6) {
                return new SessionsAfter(text.substring(6), null);
            }
            if (order == SessionOrder.RECENT && text.startsWith("s1:recent:")) {
                // the time holds ':' itself and the session id may too: the time ends at its 'Z'
                int end = text.indexOf('Z', 10);
                if (end > 0 && end + 2 < text.length() && text.charAt(end + 1) == ':') {
                    return new SessionsAfter(text.substring(end + 2), Instant.parse(text.substring(10, end + 1)));
                }
            }
        } catch (IllegalArgumentException | DateTimeParseException | IndexOutOfBoundsException e) {
            // answered below
        }
        throw QueryParams.invalid("cursor",
                "cursor must be the 'next' value of a previous page of the same order, passed unchanged");
    }
}
