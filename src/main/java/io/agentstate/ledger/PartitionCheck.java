package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Utils;

/**
 * The partitioning contract (I1): a session's records live on the partition Kafka's default partitioner picks for its
 * key, murmur2 of the key's UTF-8 bytes modulo the partition count. A record elsewhere would give the session a second
 * owner with its own order, so the ledger dead-letters it with a reason that says how to configure the producer.
 */
@ApplicationScoped
public class PartitionCheck {

    private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();

    /** Records the partition count of a topic, as the consumer saw it on assignment. */
    void partitions(String topic, int count) {
        partitionCounts.put(topic, count);
    }

    /** The partition Kafka's default partitioner gives a key, for a topic of {@code partitions} partitions. */
    public static int partitionOf(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** Why the record is on the wrong partition, or null when it is where its key belongs (or its key is missing). */
    String misplaced(ConsumerRecord<String, byte[]> record) {
        Integer count = partitionCounts.get(record.topic());
        if (count == null || record.key() == null) {
            return null;
        }
        int expected = partitionOf(record.key(), count);
        if (expected == record.partition()) {
            return null;
        }
        return "record is on partition " + record.partition() + " but its key belongs on partition " + expected + " of "
                + count + ": a session's records must use Kafka's default partitioner (murmur2 of the key); "
                + "librdkafka clients (confluent-kafka, node-rdkafka, confluent-kafka-go) need partitioner=murmur2_random, "
                + "and no producer may choose the partition itself";
    }
}
