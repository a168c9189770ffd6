package io.agentstate.query;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import io.agentstate.ledger.ArchiveRepository.TimelineBefore;
import io.agentstate.ledger.ArchiveRepository.TimelinePosition;
import io.agentstate.platform.QueryParams;

/**
 * The opaque {@code cursor} of timeline pages: the position after the last entry of a page, as URL-safe text. Clients
 * pass it back unchanged; its content is not part of the API.
 */
final class TimelineCursor {

    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private TimelineCursor() {
    }

    static String encode(TimelinePosition position) {
        return encode("v1", position.acceptedFrom(), position.refusedAt(), position.logPartition(),
                position.logOffset(), position.eventId());
    }

    static String encode(TimelineBefore position) {
        return encode("b1", position.acceptedBelow(), position.refusedAt(), position.logPartition(),
                position.logOffset(), position.eventId());
    }

    /** A cursor of an oldest-first page. */
    static TimelinePosition decode(String cursor) {
        Parts p = parts(cursor, "v1");
        return new TimelinePosition(p.accepted(), p.refusedAt(), p.logPartition(), p.logOffset(), p.eventId());
    }

    /** A cursor of a newest-first page. */
    static TimelineBefore decodeBackwards(String cursor) {
        Parts p = parts(cursor, "b1");
        return new TimelineBefore(p.accepted(), p.refusedAt(), p.logPartition(), p.logOffset(), p.eventId());
    }

    // Both directions carry the same five fields: the accepted bound, the refusal's version and, when the position is a
    // refusal, its log position and event id.
    private record Parts(long accepted, long refusedAt, Integer logPartition, Long logOffset, String eventId) {
    }

    private static String encode(String form, long accepted, long refusedAt, Integer logPartition, Long logOffset,
            String eventId) {
        String text = form + ":" + accepted + ":" + refusedAt
                + (logPartition == null ? "" : ":" + logPartition + ":" + logOffset + ":" + eventId);
        return ENCODER.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static Parts parts(String cursor, String form) {
        try {
            String text = new String(DECODER.decode(cursor), StandardCharsets.UTF_8);
            // the event id comes last and may itself hold ':'
            String[] parts = text.split(":", 6);
            if (!parts[0].equals(form) || (parts.length != 3 && parts.length != 6)) {
                throw new IllegalArgumentException("unknown cursor form");
            }
            long accepted = Long.parseLong(parts[1]);
            long refusedAt = Long.parseLong(parts[2]);
            if (parts.length == 3) {
                return new Parts(accepted, refusedAt, null, null, null);
            }
            return new Parts(accepted, refusedAt, Integer.parseInt(parts[3]), Long.parseLong(parts[4]), parts[5]);
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw QueryParams.invalid("cursor", "cursor must be the 'next' value of a previous page of the same order, "
                    + "passed unchanged");
        }
    }
}
