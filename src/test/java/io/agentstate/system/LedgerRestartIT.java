package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * Crash, rebalance and restart of the ledger across processes, checked against the history the producer wrote: every
 * session must hold exactly its events, in production order, with versions 1..n (I1, I2, I7), and a restarted ledger
 * must resume from the offsets stored in PostgreSQL. Every session's audit chain, appended to by each owner in turn,
 * still verifies.
 */
class LedgerRestartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SESSIONS = 40;
    private static final int EVENTS_PER_SESSION = 90;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void shouldLoseAndDuplicateNothingWhenLedgersCrashRebalanceAndRestart() throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "system-logs"));
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (LocalStack stack = LocalStack.start(LocalStack.Settings.throwaway());
                KafkaProducer<String, byte[]> producer = producer(stack)) {
            ServiceProcess a = ServiceProcess.start(stack, Ports.free(), logs.resolve("ledger-a-" + run + ".log"));
            produce(producer, run, 0, 30);
            ServiceProcess b = ServiceProcess.start(stack, Ports.free(), logs.resolve("ledger-b-" + run + ".log"));
            produce(producer, run, 30, 60);
            a.crash();
            produce(producer, run, 60, EVENTS_PER_SESSION);
            awaitAll(b, run, EVENTS_PER_SESSION);
            checkHistories(b, run, EVENTS_PER_SESSION);

            b.crash();
            ServiceProcess c = ServiceProcess.start(stack, Ports.free(), logs.resolve("ledger-c-" + run + ".log"));
            produce(producer, run, EVENTS_PER_SESSION, EVENTS_PER_SESSION + 1);
            awaitAll(c, run, EVENTS_PER_SESSION + 1);
            checkHistories(c, run, EVENTS_PER_SESSION + 1);
            checkAudits(c, run, EVENTS_PER_SESSION + 1);

            try (Connection db = DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(),
                    stack.postgresPassword())) {
                assertThat(count(db, "SELECT count(*) FROM events WHERE session_id LIKE 'rs-" + run + "-%'"))
                        .isEqualTo((long) SESSIONS * (EVENTS_PER_SESSION + 1));
                // the stored offsets account for every record on the log: nothing skipped, nothing pending
                assertThat(count(db, "SELECT sum(next_offset) FROM ledger_offsets")).isEqualTo(endOffsets(stack));
            }
            c.close();
        }
    }

    private static KafkaProducer<String, byte[]> producer(LocalStack stack) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return new KafkaProducer<>(props, new StringSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer());
    }

    private static void produce(KafkaProducer<String, byte[]> producer, String run, int from, int to) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = from; i < to; i++) {
            for (int s = 0; s < SESSIONS; s++) {
                String session = "rs-" + run + "-" + s;
                String event = """
                        {"specversion":"1.0","id":"%s-e%d","source":"agent://producer","type":"agentstate.message.appended",
                         "subject":"%s","data":{"role":"user","content":"e%d"}}""".formatted(session, i, session, i);
                ProducerRecord<String, byte[]> record = new ProducerRecord<>("agent-state.events", session,
                        event.getBytes(StandardCharsets.UTF_8));
                record.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
                sent.add(producer.send(record));
            }
        }
        for (Future<RecordMetadata> future : sent) {
            future.get();
        }
    }

    private void awaitAll(ServiceProcess service, String run, int version) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            for (int s = 0; s < SESSIONS; s++) {
                assertThat(get(service, "/sessions/rs-" + run + "-" + s).path("version").asInt())
                        .as("session %d", s).isEqualTo(version);
            }
        });
    }

    // The history check: per session, versions 1..n carry the producer's events in the order it sent them.
    private void checkHistories(ServiceProcess service, String run, int count) throws Exception {
        for (int s = 0; s < SESSIONS; s++) {
            JsonNode page = get(service, "/sessions/rs-" + run + "-" + s + "/events?limit=1000");
            List<String> contents = new ArrayList<>();
            int expectedVersion = 1;
            for (JsonNode entry : page.get("entries")) {
                assertThat(entry.get("outcome").asText()).isEqualTo("accepted");
                assertThat(entry.get("version").asInt()).isEqualTo(expectedVersion++);
                contents.add(entry.get("event").get("data").get("content").asText());
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                expected.add("e" + i);
            }
            assertThat(contents).as("history of session %d", s).isEqualTo(expected);
        }
    }

    // Three owners in turn, two of them crashed mid-stream, appended to each chain: it must still verify end to end.
    private void checkAudits(ServiceProcess service, String run, int count) throws Exception {
        for (int s = 0; s < SESSIONS; s++) {
            JsonNode audit = get(service, "/sessions/rs-" + run + "-" + s + "/audit");
            assertThat(audit.path("valid").asBoolean()).as("audit of session %d: %s", s, audit).isTrue();
            assertThat(audit.path("length").asInt()).as("chain length of session %d", s).isEqualTo(count);
        }
    }

    private JsonNode get(ServiceProcess service, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(service.baseUri() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(response.body());
    }

    private static long count(Connection db, String sql) throws Exception {
        try (ResultSet rows = db.createStatement().executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    private static long endOffsets(LocalStack stack) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor("agent-state.events").stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            return ends.values().stream().mapToLong(Long::longValue).sum();
        }
    }

}
