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
        String text = position.logPartition() == null
                ? "v1:" + position.acceptedFrom() + ":" + position.refusedAt()
                : "v1:" + position.acceptedFrom() + ":" + position.refusedAt() + ":" + position.logPartition() + ":"
                        + position.logOffset() + ":" + position.eventId();
        return ENCODER.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    static String encode(TimelineBefore position) {
        String text = "b1:" + position.acceptedBelow() + ":" + position.refusedAt()
                + (position.logPartition() == null ? ""
                        : ":" + position.logPartition() + ":" + position.logOffset() + ":" + position.eventId());
        return ENCODER.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A cursor of a newest-first page. */
    static TimelineBefore decodeBackwards(String cursor) {
        try {
            String text = new String(DECODER.decode(cursor), StandardCharsets.UTF_8);
            String[] parts = text.split(":", 6);
            if (!parts[0].equals("b1") || (parts.length != 3 && parts.length != 6)) {
                throw new IllegalArgumentException("unknown cursor form");
            }
            long acceptedBelow = Long.parseLong(parts[1]);
            long refusedAt = Long.parseLong(parts[2]);
            if (parts.length == 3) {
                return new TimelineBefore(acceptedBelow, refusedAt, null, null, null);
            }
            return new TimelineBefore(acceptedBelow, refusedAt, Integer.parseInt(parts[3]), Long.parseLong(parts[4]),
                    parts[5]);
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw QueryParams.invalid("cursor", "cursor must be the 'next' value of a previous page of the same order, "
                    + "passed unchanged");
        }
    }

    static TimelinePosition decode(String cursor) {
        try {
            String text = new String(DECODER.decode(cursor), StandardCharsets.UTF_8);
            // the event id comes last and may itself hold ':'
            String[] parts = text.split(":", 6);
            if (!parts[0].equals("v1") || (parts.length != 3 && parts.length != 6)) {
                throw new IllegalArgumentException("unknown cursor form");
            }
            long acceptedFrom = Long.parseLong(parts[1]);
            long refusedAt = Long.parseLong(parts[2]);
            if (parts.length == 3) {
                return new TimelinePosition(acceptedFrom, refusedAt, null, null, null);
            }
            return new TimelinePosition(acceptedFrom, refusedAt, Integer.parseInt(parts[3]), Long.parseLong(parts[4]),
                    parts[5]);
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw QueryParams.invalid("cursor", "cursor must be the 'next' value of a previous page of the same order, "
                    + "passed unchanged");
        }
    }
}
