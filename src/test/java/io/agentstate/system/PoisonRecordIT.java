package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.utils.Utils;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.DeadLetterLog;
import io.agentstate.testsupport.History;
import io.agentstate.testsupport.LivenessWatch;
import io.agentstate.testsupport.LogWriter;
import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * Hostile records on the log (I8): each is dead-lettered exactly once and the valid records behind it on the same
 * partition are applied. Each test gets its own stack and service: one ledger consumes every partition in shared
 * batches, so a record that wedges it would otherwise fail the other tests too and hide what they check.
 */
class PoisonRecordIT {

    private static final Logger LOG = Logger.getLogger(PoisonRecordIT.class);
    private static final String EVENTS = LogWriter.EVENTS_TOPIC;

    private LocalStack stack;
    private ServiceProcess service;
    private int partitions;
    private int maxMessageBytes;
    private LivenessWatch liveness;

    @BeforeEach
    void start() throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "system-logs"));
        stack = LocalStack.start(LocalStack.Settings.throwaway());
        service = ServiceProcess.start(stack, Ports.free(),
                logs.resolve("poison-" + UUID.randomUUID().toString().substring(0, 8) + ".log"));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                stack.kafkaBootstrapServers()))) {
            partitions = admin.describeTopics(List.of(EVENTS)).allTopicNames().get().get(EVENTS).partitions().size();
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, EVENTS);
            Config config = admin.describeConfigs(List.of(topic)).all().get().get(topic);
            maxMessageBytes = Integer.parseInt(config.get("max.message.bytes").value());
        }
        assertThat(partitions).as("partitions of the event topic").isGreaterThanOrEqualTo(5);
        liveness = LivenessWatch.of(service, "poison");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            liveness.close();
            assertThat(liveness.failures()).as("liveness").isEmpty();
            await("ready").atMost(Duration.ofMinutes(1)).until(() -> service.health("ready") == 200);
        } finally {
            closeAll();
        }
    }

    private void closeAll() throws Exception {
        if (service != null) {
            service.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void shouldDeadLetterARecordNearTheSizeLimitWithAHugeKeyAndHeadersOnce() throws Exception {
        String run = run();
        String valid = sessionOn(0, "pz-" + run);
        // a 100 KB key of the same partition, headers of 1 MB and a value that fills the record up to the broker's limit
        String hugeKey = keyOn(0, "k".repeat(100_000));
        List<byte[]> bulk = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            bulk.add("h".repeat(100_000).getBytes(StandardCharsets.UTF_8));
        }
        int headerBytes = bulk.stream().mapToInt(h -> h.length + "x-bulk-0".length()).sum();
        // room left for the record batch's own framing
        int valueBytes = maxMessageBytes - 2048 - hugeKey.length() - headerBytes;
        String eventId = "pz-huge-" + run;
        String prefix = """
                {"specversion":"1.0","id":"%s","source":"agent://poison","type":"agentstate.message.appended",
                 "subject":"%s","data":{"role":"user","content":\"""".formatted(eventId, valid);
        String suffix = "\"}}";
        String value = prefix + "v".repeat(valueBytes - prefix.length() - suffix.length()) + suffix;
        ProducerRecord<String, byte[]> huge = LogWriter.record(hugeKey, value);
        for (int i = 0; i < bulk.size(); i++) {
            huge.headers().add("x-bulk-" + i, bulk.get(i));
        }

        History history = new History();
        try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), service, history)) {
            writeValid(writer, valid, 2, 0);
            RecordMetadata poison = writer.send(huge);
            assertThat(poison.partition()).isZero();
            writeValid(writer, valid, 3, 0);

            DeadLetterLog.DeadLetter letter = awaitDeadLetteredOnce(poison, history);
            LOG.infof("POISON near the size limit: record of %d bytes (limit %d) -> dead letter with key %d, value %d, "
                    + "headers %d bytes: %s", hugeKey.length() + value.length() + headerBytes, maxMessageBytes,
                    letter.keyBytes(), letter.valueBytes(), letter.headerBytes(), abbreviate(letter.reason()));
            checkDeadLetters(history, Set.of(valid, hugeKey), List.of(poison));
        }
    }

    @Test
    void shouldDeadLetterIdsWithUnpairedSurrogatesOnceEach() throws Exception {
        String session = sessionOn(2, "pu-" + run());
        History history = new History();
        try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), service, history)) {
            writeValid(writer, session, 2, 2);
            List<RecordMetadata> poison = new ArrayList<>();
            // JSON escapes of a lone high and a lone low surrogate, each followed by an ordinary letter
            for (String id : List.of("\\" + "ud800a", "\\" + "udc00a")) {
                poison.add(writer.send(LogWriter.record(session, LogWriter.message(session, id))));
            }
            writeValid(writer, session, 3, 2);

            for (RecordMetadata record : poison) {
                DeadLetterLog.DeadLetter letter = awaitDeadLetteredOnce(record, history);
                LOG.infof("POISON unpaired surrogate at offset %d: %s", record.offset(), abbreviate(letter.reason()));
            }
            checkDeadLetters(history, Set.of(session), poison);
        }
    }

    @Test
    void shouldDeadLetterARecordOnTheWrongPartitionWithThePartitionerReason() throws Exception {
        String run = run();
        String misplaced = sessionOn(3, "pw-" + run + "-x");
        String neighbour = sessionOn(4, "pw-" + run + "-y");
        History history = new History();
        try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), service, history)) {
            writeValid(writer, misplaced, 1, 3);
            writeValid(writer, neighbour, 1, 4);
            // as a client with another partitioner would send it: the right key, partition 4 instead of 3
            String json = LogWriter.message(misplaced, misplaced + "-wrong-partition");
            ProducerRecord<String, byte[]> keyed = LogWriter.record(misplaced, json);
            ProducerRecord<String, byte[]> wrong = new ProducerRecord<>(EVENTS, 4, misplaced, keyed.value(),
                    keyed.headers());
            RecordMetadata poison = writer.send(wrong);
            assertThat(poison.partition()).isEqualTo(4);
            writeValid(writer, misplaced, 2, 3);
            writeValid(writer, neighbour, 2, 4);

            DeadLetterLog.DeadLetter letter = awaitDeadLetteredOnce(poison, history);
            assertThat(letter.reason()).as("dead-letter reason").containsIgnoringCase("partitioner");
            LOG.infof("POISON wrong partition: %s", abbreviate(letter.reason()));
            checkDeadLetters(history, Set.of(misplaced, neighbour), List.of(poison));
        }
    }

    private void writeValid(LogWriter writer, String session, int count, int partition) throws Exception {
        for (int i = 0; i < count; i++) {
            RecordMetadata written = writer.kafka(session);
            assertThat(written).as("acknowledged write to %s", session).isNotNull();
            assertThat(written.partition()).isEqualTo(partition);
        }
    }

    /**
     * Waits for the poison's dead letter and for every valid write to be applied (the partition moved past it), then
     * asserts the poison has exactly one dead letter and returns it.
     */
    private DeadLetterLog.DeadLetter awaitDeadLetteredOnce(RecordMetadata poison, History history) {
        await("dead letter of " + poison).atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                .until(() -> !lettersOf(poison).isEmpty());
        await("valid records after the poison applied").atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(500)).until(() -> history.allAcknowledgedApplied(service));
        List<DeadLetterLog.DeadLetter> letters = lettersOf(poison);
        assertThat(letters).as("dead letters of %s", poison).hasSize(1);
        return letters.get(0);
    }

    // the valid sessions hold exactly their valid writes, and their only dead letters are the poison's
    private void checkDeadLetters(History history, Set<String> keys, List<RecordMetadata> poison) throws Exception {
        history.checkViews(service, history.check(service));
        List<DeadLetterLog.DeadLetter> ours = DeadLetterLog.read(stack.kafkaBootstrapServers()).stream()
                .filter(letter -> keys.contains(letter.key()) || poison.stream().anyMatch(p -> origin(letter, p)))
                .toList();
        assertThat(ours).as("dead letters of these sessions").hasSize(poison.size())
                .allMatch(letter -> poison.stream().anyMatch(p -> origin(letter, p)));
    }

    private List<DeadLetterLog.DeadLetter> lettersOf(RecordMetadata poison) {
        return DeadLetterLog.read(stack.kafkaBootstrapServers()).stream().filter(letter -> origin(letter, poison))
                .toList();
    }

    private static boolean origin(DeadLetterLog.DeadLetter letter, RecordMetadata record) {
        return letter.originPartition() == record.partition() && letter.originOffset() == record.offset();
    }

    // Kafka's default partitioner for a keyed record, which the ledger's partition check must agree with
    private int partitionOf(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    private String sessionOn(int partition, String prefix) {
        return keyOn(partition, prefix);
    }

    private String keyOn(int partition, String prefix) {
        for (int i = 0;; i++) {
            String key = prefix + "-" + i;
            if (partitionOf(key) == partition) {
                return key;
            }
        }
    }

    private static String abbreviate(String text) {
        if (text == null) {
            return "(no reason header)";
        }
        return text.length() <= 300 ? text : text.substring(0, 300) + "... (" + text.length() + " chars)";
    }

    private static String run() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

}
