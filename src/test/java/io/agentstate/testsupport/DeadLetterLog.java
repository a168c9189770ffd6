package io.agentstate.testsupport;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads the dead-letter topic from its start to its current end, for system tests that count dead letters. */
public final class DeadLetterLog {

    public static final String TOPIC = "agent-state.events.dlq";
    public static final String REASON = "agentstate-dlq-reason";
    public static final String ORIGIN_PARTITION = "agentstate-dlq-partition";
    public static final String ORIGIN_OFFSET = "agentstate-dlq-offset";

    /**
     * One dead letter: its key, where the original record was on the event log, the reason, and its own size.
     *
     * @param originPartition -1 when the header is missing
     * @param originOffset -1 when the header is missing
     */
    public record DeadLetter(String key, int originPartition, long originOffset, String reason, int keyBytes,
            int valueBytes, int headerBytes) {
    }

    private DeadLetterLog() {
    }

    /** Every dead letter on the topic now; records appended while reading may or may not be included. */
    public static List<DeadLetter> read(String bootstrapServers) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(8 * 1024 * 1024));
        props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Integer.toString(16 * 1024 * 1024));
        List<DeadLetter> letters = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(TOPIC, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            // bounded by the end offsets taken above, not by time: the loop ends once every partition is read to there
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    letters.add(letter(record));
                }
            }
        }
        return letters;
    }

    private static DeadLetter letter(ConsumerRecord<byte[], byte[]> record) {
        int headerBytes = 0;
        for (Header header : record.headers()) {
            headerBytes += header.key().length() + (header.value() == null ? 0 : header.value().length);
        }
        return new DeadLetter(record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8),
                (int) number(record, ORIGIN_PARTITION), number(record, ORIGIN_OFFSET), text(record, REASON),
                record.key() == null ? 0 : record.key().length, record.value() == null ? 0 : record.value().length,
                headerBytes);
    }

    private static String text(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static long number(ConsumerRecord<byte[], byte[]> record, String name) {
        String value = text(record, name);
        return value == null ? -1 : Long.parseLong(value.trim());
    }
}
