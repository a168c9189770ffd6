package io.agentstate.ledger;

import java.util.List;

import io.agentstate.event.EventBatch;

/**
 * One valid record of the event log, ready to be decided.
 *
 * @param partition Kafka partition
 * @param offset Kafka offset
 * @param batch the event or atomic batch it carries
 * @param payloads each event's archived bytes, in batch order (sealed before they are stored)
 * @param replyRequested a REST writer waits for this decision
 * @param sizes each event's size as structured JSON, before sealing: what a session's {@code bytes} counts
 */
public record LogEntry(int partition, long offset, EventBatch batch, List<byte[]> payloads, boolean replyRequested,
        List<Integer> sizes) {

    /** An entry whose payloads are still the plain JSON, so their sizes are their lengths. */
    public LogEntry(int partition, long offset, EventBatch batch, List<byte[]> payloads, boolean replyRequested) {
        this(partition, offset, batch, payloads, replyRequested, payloads.stream().map(p -> p.length).toList());
    }
}
