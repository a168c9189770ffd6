package io.agentstate.ledger;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.Kafka;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

/**
 * Input built to break the ledger: records near the broker's size limit with huge keys and headers, ill-formed
 * Unicode, records on the wrong partition. Each is dead-lettered once, bounded, and the valid records behind it on the
 * same partition are applied (I8); REST answers 400 or 422 and the session goes on.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class HostileInputTest {

    @TestHTTPResource("/")
    URL service;

    private static KafkaProducer<String, byte[]> producer;

    @BeforeAll
    static void producer() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalStackResource.shared().kafkaBootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(2 * 1024 * 1024));
        producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void close() {
        if (producer != null) {
            producer.close();
        }
    }

    @Test
    void shouldDeadLetterAHugeRecordBoundedAndApplyTheRecordsBehindIt() throws Exception {
        String session = "huge-" + UUID.randomUUID();
        int partition = partitionOf(session);
        send(new ProducerRecord<>(Kafka.EVENTS, session, message(session, session + "-1", "before")));
        // ~1.7 MB in all: a 100 KB key, twenty 40 KB headers and a structured event whose time is 600 KB of text
        String hugeKey = session + "k".repeat(100_000);
        ProducerRecord<String, byte[]> huge = new ProducerRecord<>(Kafka.EVENTS, partition, hugeKey,
                ("{\"specversion\":\"1.0\",\"id\":\"" + session + "-huge\",\"source\":\"agent://t\",\"type\":"
                        + "\"agentstate.message.appended\",\"subject\":\"" + session + "\",\"time\":\"" + "9".repeat(600_000)
                        + "\",\"data\":{\"role\":\"user\",\"content\":\"" + "c".repeat(390_000) + "\"}}")
                        .getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 20; i++) {
            huge.headers().add("x-filler-" + i + "\nforged log line", "h".repeat(40_000).getBytes(StandardCharsets.UTF_8));
        }
        send(huge);
        send(new ProducerRecord<>(Kafka.EVENTS, session, message(session, session + "-2", "after")));

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(2)));
        ConsumerRecord<String, byte[]> dead = deadLetter(hugeKey.substring(0, DeadLetters.MAX_KEY_CHARS));
        int size = dead.key().length() + dead.value().length;
        for (var header : dead.headers()) {
            size += header.key().length() + header.value().length;
        }
        assertThat(size).isLessThanOrEqualTo(1_000_000);
        assertThat(header(dead, DeadLetters.ORIGINAL_KEY_CHARS)).isEqualTo(Integer.toString(hugeKey.length()));
        assertThat(Long.parseLong(header(dead, DeadLetters.ORIGINAL_BYTES))).isGreaterThan(800_000);
        assertThat(header(dead, DeadLetters.ORIGINAL_SHA256)).hasSize(64);
        assertThat(header(dead, DeadLetters.HEADERS_CUT)).isEqualTo("20");
        String reason = header(dead, DeadLetters.REASON);
        assertThat(reason).hasSizeLessThan(1200).doesNotContain("\n");
    }

    @Test
    void shouldDeadLetterUnpairedSurrogatesOnKafkaAndRefuseThemOnRest() {
        String session = "surrogate-" + UUID.randomUUID();
        send(new ProducerRecord<>(Kafka.EVENTS, session, message(session, "\\ud800a", "high")));
        send(new ProducerRecord<>(Kafka.EVENTS, session, message(session, "\\udc00a", "low")));
        send(new ProducerRecord<>(Kafka.EVENTS, session, message(session, session + "-ok", "fine")));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)).body("messages[0].content", equalTo("fine")));
        List<ConsumerRecord<String, byte[]>> dead = Kafka.readAll(Kafka.DEAD_LETTERS, Set.of(session), 2,
                Duration.ofSeconds(30));
        assertThat(dead).hasSize(2).allSatisfy(record -> assertThat(header(record, DeadLetters.REASON))
                .contains("well-formed Unicode"));

        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-batch")
                .body("""
                        [{"id":"\\ud800a","source":"agent://t","type":"agentstate.message.appended",
                          "data":{"role":"user","content":"a"}},
                         {"id":"\\udc00a","source":"agent://t","type":"agentstate.message.appended",
                          "data":{"role":"user","content":"b"}}]""")
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(400).body("detail", containsString("well-formed Unicode"));
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-content")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"nul \\u0000 inside\"}}")
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(400).body("detail", containsString("U+0000"));
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-next")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"next\"}}")
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(201).body("version", equalTo(2));
    }

    @Test
    void shouldDeadLetterARecordOnTheWrongPartitionWithThePartitionerReason() throws Exception {
        String session = "partition-" + UUID.randomUUID();
        int right = partitionOf(session);
        int wrong = (right + 1) % producer.partitionsFor(Kafka.EVENTS).size();
        send(new ProducerRecord<>(Kafka.EVENTS, wrong, session, message(session, session + "-wrong", "misplaced")));
        send(new ProducerRecord<>(Kafka.EVENTS, right, session, message(session, session + "-right", "placed")));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)).body("messages[0].content", equalTo("placed")));
        ConsumerRecord<String, byte[]> dead = deadLetter(session);
        assertThat(header(dead, DeadLetters.PARTITION)).isEqualTo(Integer.toString(wrong));
        assertThat(header(dead, DeadLetters.REASON)).contains("partition " + right).contains("murmur2_random");
    }

    @Test
    void shouldKeepCloudEventsExtensionsInTheArchive() {
        String session = "ext-" + UUID.randomUUID();
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        Kafka.sendStructured(session, """
                {"specversion":"1.0","id":"%s-1","source":"agent://t","type":"agentstate.message.appended",
                 "subject":"%s","traceparent":"%s","tracestate":"vendor=1","myext":"kept",
                 "data":{"role":"user","content":"traced","futureField":"from a newer producer"}}"""
                .formatted(session, session, traceparent));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/sessions/{id}/events", session)
                .then().statusCode(200)
                .body("entries[0].event.traceparent", equalTo(traceparent))
                .body("entries[0].event.tracestate", equalTo("vendor=1"))
                .body("entries[0].event.myext", equalTo("kept")));
    }

    @Test
    void shouldRefuseAnIdempotencyKeyReusedOnAnotherSession() {
        String first = "reuse-a-" + UUID.randomUUID();
        String second = "reuse-b-" + UUID.randomUUID();
        String key = "key-" + UUID.randomUUID();
        String body = "{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                + "\"data\":{\"role\":\"user\",\"content\":\"once\"}}";
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/sessions/{id}/events", first).then().statusCode(201).body("version", equalTo(1));
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/sessions/{id}/events", second)
                .then().statusCode(422).body("type", containsString("idempotency-key-reused"))
                .body("detail", containsString("another session"));
        given().get("/sessions/{id}", second).then().statusCode(404);
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body.replace("once", "twice"))
                .when().post("/sessions/{id}/events", first)
                .then().statusCode(422).body("detail", containsString("different body"));
        // a true retry (same body; the time REST fills in differs) is still the duplicate it always was
        given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body)
                .when().post("/sessions/{id}/events", first).then().statusCode(200).body("version", equalTo(1));
    }

    /**
     * Two writers racing with one key and different bodies (or the same body on two sessions) are two requests, not a
     * request and its retry: whatever the interleaving, one is recorded and answered 201 and the other gets 422, never
     * the winner's 201 with its own body silently dropped. Sequential requests meet the check before publishing; racing
     * ones pass it together, and only the ledger's decision can tell them apart.
     */
    @Test
    void shouldAnswerEachOfTwoRacingWritersOfOneKeyItsOwnRequest() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int round = 0; round < 12; round++) {
            String session = "race-" + UUID.randomUUID();
            boolean twoSessions = round % 3 == 2;
            String key = "key-" + UUID.randomUUID();
            List<String> sessions = List.of(session, twoSessions ? session + "-b" : session);
            List<String> contents = List.of("first body", twoSessions ? "first body" : "second body");
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int writer = 0; writer < 2; writer++) {
                answers.add(http.sendAsync(HttpRequest.newBuilder(service.toURI().resolve("/sessions/"
                        + sessions.get(writer) + "/events"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json").header("Idempotency-Key", key)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"source\":\"agent://t\","
                                + "\"type\":\"agentstate.message.appended\",\"data\":{\"role\":\"user\","
                                + "\"content\":\"" + contents.get(writer) + "\"}}"))
                        .build(), HttpResponse.BodyHandlers.ofString()));
            }
            List<Integer> statuses = new ArrayList<>();
            int winner = -1;
            for (int writer = 0; writer < 2; writer++) {
                HttpResponse<String> answer = answers.get(writer).get(60, TimeUnit.SECONDS);
                statuses.add(answer.statusCode());
                if (answer.statusCode() == 201) {
                    winner = writer;
                } else {
                    assertThat(answer.body()).as("round %d, writer %d", round, writer)
                            .contains("idempotency-key-reused");
                }
            }
            assertThat(statuses).as("round %d (%s)", round, twoSessions ? "two sessions" : "two bodies")
                    .containsExactlyInAnyOrder(201, 422);
            // what was recorded is the winner's request, on the winner's session only
            given().get("/sessions/{id}", sessions.get(winner)).then().statusCode(200)
                    .body("version", equalTo(1)).body("messages[0].content", equalTo(contents.get(winner)));
            if (twoSessions) {
                given().get("/sessions/{id}", sessions.get(1 - winner)).then().statusCode(404);
            }
        }
    }

    @Test
    void shouldAnswerARepeatedEraseLikeTheFirst() {
        String session = "erase-again-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-1")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"forget me\"}}")
                .when().post("/sessions/{id}/events", session).then().statusCode(201);
        // over REST an erasure goes through DELETE only, alone or inside a batch
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-posted-erase")
                .body("[{\"source\":\"agent://t\",\"type\":\"agentstate.session.erased\"}]")
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(400).body("detail", containsString("DELETE /sessions/"));
        given().get("/sessions/{id}", session).then().statusCode(200).body("version", equalTo(1));
        String key = session + "-erase";
        given().header("Idempotency-Key", key).when().delete("/sessions/{id}", session).then().statusCode(204);
        given().header("Idempotency-Key", key).when().delete("/sessions/{id}", session).then().statusCode(204);
        given().header("Idempotency-Key", session + "-other").when().delete("/sessions/{id}", session)
                .then().statusCode(404);
        // the erased session's ids start again: the old key is a new event of the new life
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-1")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"new life\"}}")
                .when().post("/sessions/{id}/events", session).then().statusCode(201).body("version", equalTo(1));
    }

    private static int partitionOf(String key) {
        return PartitionCheck.partitionOf(key, producer.partitionsFor(Kafka.EVENTS).size());
    }

    private static void send(ProducerRecord<String, byte[]> record) {
        record.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
        try {
            producer.send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException("publish failed", e);
        }
    }

    private static byte[] message(String session, String id, String content) {
        return ("{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"agent://t\",\"type\":"
                + "\"agentstate.message.appended\",\"subject\":\"" + session + "\",\"data\":{\"role\":\"user\","
                + "\"content\":\"" + content + "\"}}").getBytes(StandardCharsets.UTF_8);
    }

    private static ConsumerRecord<String, byte[]> deadLetter(String key) {
        List<ConsumerRecord<String, byte[]>> dead = Kafka.readAll(Kafka.DEAD_LETTERS, Set.of(key), 1,
                Duration.ofSeconds(30));
        assertThat(dead).hasSize(1);
        return dead.get(0);
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        assertThat(header).as("header " + name).isNotNull();
        return new String(header.value(), StandardCharsets.UTF_8);
    }
}
