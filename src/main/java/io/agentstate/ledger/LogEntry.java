package io.agentstate.ledger;

import java.util.List;

import io.agentstate.event.EventBatch;

/**
 * One valid record of the event log, ready to be decided.
 *
 * @param partition Kafka partition
 * @param offset Kafka offset
 * @param batch the event or atomic batch it carries
 * @param payloads each event's archived structured JSON, in batch order
 * @param replyRequested a REST writer waits for this decision
 */
public record LogEntry(int partition, long offset, EventBatch batch, List<byte[]> payloads, boolean replyRequested) {
}
