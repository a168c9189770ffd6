package io.agentstate.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.DeadLetterLog;
import io.agentstate.testsupport.Kafka;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class RestAndKafkaIngestTest {

    @Test
    void shouldOrderKafkaAndRestEventsIntoOneSession() {
        String session = "mixed-" + UUID.randomUUID();
        for (int i = 0; i < 10; i++) {
            if (i % 2 == 0) {
                Kafka.sendStructured(session, """
                        {"specversion":"1.0","id":"%s-k%d","source":"agent://kafka","type":"agentstate.message.appended",
                         "subject":"%s","data":{"role":"user","content":"from kafka %d"}}"""
                        .formatted(session, i, session, i));
            } else {
                given().contentType(ContentType.JSON)
                        .header("Idempotency-Key", session + "-r" + i)
                        .body("""
                                {"source":"agent://rest","type":"agentstate.message.appended",
                                 "data":{"role":"assistant","content":"from rest %d"}}""".formatted(i))
                        .when().post("/sessions/{id}/events", session)
                        .then().statusCode(201)
                        .body("outcome", equalTo("accepted"));
            }
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().when().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(10)));

        List<Integer> versions = given().when().get("/sessions/{id}/events?limit=100", session)
                .then().statusCode(200).extract().jsonPath().getList("entries.version", Integer.class);
        assertThat(versions).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        List<String> contents = given().when().get("/sessions/{id}", session)
                .then().statusCode(200).header("ETag", "\"10\"")
                .extract().jsonPath().getList("messages.content", String.class);
        // each REST append waited for its decision, so the log order is the order of the loop
        assertThat(contents).containsExactly("from kafka 0", "from rest 1", "from kafka 2", "from rest 3", "from kafka 4",
                "from rest 5", "from kafka 6", "from rest 7", "from kafka 8", "from rest 9");
    }

    @Test
    void shouldNotLetARecordProducedStraightToTheLogEraseASession() {
        String session = "erase-direct-" + UUID.randomUUID();
        Kafka.sendStructured(session, message(session, session + "-1", "stays"));
        Kafka.sendStructured(session, """
                {"specversion":"1.0","id":"%s-erase","source":"agent://kafka","type":"agentstate.session.erased",
                 "subject":"%s"}""".formatted(session, session));

        List<ConsumerRecord<String, byte[]>> dead = Kafka.readAll(Kafka.DEAD_LETTERS, Set.of(session), 1,
                Duration.ofSeconds(30));
        assertThat(dead).hasSize(1);
        assertThat(new String(dead.get(0).headers().lastHeader(DeadLetterLog.REASON).value(), StandardCharsets.UTF_8))
                .startsWith("reserved type agentstate.session.erased");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().when().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)));
    }

    @Test
    void shouldNotLetARecordProducedStraightToTheLogClaimToBeAFork() {
        String session = "fork-direct-" + UUID.randomUUID();
        Kafka.sendStructured(session, """
                {"specversion":"1.0","id":"%s-fork","source":"agent://kafka","type":"agentstate.session.forked",
                 "subject":"%s","data":{"sourceSessionId":"elsewhere","sourceVersion":5,"state":{"messages":[],
                 "messageCount":0,"toolCalls":{},"scopes":{"shared":{"admin":true}}}}}""".formatted(session, session));
        Kafka.sendStructured(session, message(session, session + "-1", "first"));

        List<ConsumerRecord<String, byte[]>> dead = Kafka.readAll(Kafka.DEAD_LETTERS, Set.of(session), 1,
                Duration.ofSeconds(30));
        assertThat(dead).hasSize(1);
        assertThat(new String(dead.get(0).headers().lastHeader(DeadLetterLog.REASON).value(), StandardCharsets.UTF_8))
                .startsWith("reserved type agentstate.session.forked");
        // the session starts with the next record, at version 1, with nothing of the claimed state
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().when().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)).body("scopes.size()", equalTo(0)));
    }

    private static String message(String session, String id, String content) {
        return """
                {"specversion":"1.0","id":"%s","source":"agent://kafka","type":"agentstate.message.appended",
                 "subject":"%s","data":{"role":"user","content":"%s"}}""".formatted(id, session, content);
    }
}
