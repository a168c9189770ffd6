package io.agentstate.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.DeadLetterLog;
import io.agentstate.testsupport.Kafka;
import io.agentstate.testsupport.Tokens;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;

/**
 * With credentials required, a Kafka producer's tenant is the ingress topic it may write, never what its record says:
 * the relay stamps and seals it, and the ledger trusts nothing on the log that the service did not seal.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@TestProfile(IngressTest.Secured.class)
class IngressTest {

    static final String PREFIX = "agent-state.ingress.";
    static final List<String> LISTED = List.of("listed-1", "listed-2");

    /** Credentials required; the service creates the ingress topics of two listed tenants. */
    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("agent-state.auth.mode", "required",
                    "mp.jwt.verify.publickey", Tokens.publicKeyPem(),
                    "mp.jwt.verify.issuer", Tokens.ISSUER,
                    "agent-state.ingress.tenants", String.join(",", LISTED));
        }
    }

    @Test
    void shouldCreateTheListedTenantsTopicsWithTheLogsPartitions() {
        for (String tenant : LISTED) {
            assertThat(Kafka.partitions(PREFIX + tenant)).isEqualTo(Kafka.partitions(Kafka.EVENTS));
        }
    }

    @Test
    void shouldShowAnIngressEventToTheTopicsTenantOnly() {
        String a = tenant();
        String b = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.sendStructured(PREFIX + a, session, message(session, session + "-1", "hello", null));

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)).body("messages[0].content", equalTo("hello")));
        reader(b).get("/sessions/{id}", session).then().statusCode(404);
        ConsumerRecord<String, byte[]> logged = single(Kafka.EVENTS, session);
        assertThat(header(logged, "agentstate-tenant")).isEqualTo(a);
        assertThat(header(logged, "agentstate-seal")).isNotBlank();
    }

    @Test
    void shouldStampTheTopicsTenantOverForgedHeadersAndDropTheReplyHeader() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.send(PREFIX + a, session, message(session, session + "-1", "forged", null),
                Map.of("content-type", "application/cloudevents+json", "agentstate-tenant", "someone-else",
                        "agentstate-seal", "Zm9yZ2Vk", "AgentState-Reply", "1"));

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)));
        ConsumerRecord<String, byte[]> logged = single(Kafka.EVENTS, session);
        assertThat(header(logged, "agentstate-tenant")).isEqualTo(a);
        assertThat(logged.headers().toArray()).extracting(Header::key)
                .containsExactlyInAnyOrder("content-type", "agentstate-tenant", "agentstate-seal");
    }

    @Test
    void shouldDeadLetterAnIngressEventNamingAnotherTenant() {
        String a = tenant();
        String b = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.sendStructured(PREFIX + a, session, message(session, session + "-1", "for b", b));

        ConsumerRecord<String, byte[]> dead = single(Kafka.DEAD_LETTERS, session);
        assertThat(header(dead, DeadLetterLog.REASON)).contains("names another tenant");
        assertThat(header(dead, "agentstate-dlq-topic")).isEqualTo(PREFIX + a);
        // the relay refused it, so it never reached the log
        assertThat(Kafka.readAll(Kafka.EVENTS, Set.of(session), 1, Duration.ofSeconds(3))).isEmpty();
        reader(b).get("/sessions/{id}", session).then().statusCode(404);
        reader(a).get("/sessions/{id}", session).then().statusCode(404);
    }

    @Test
    void shouldDeadLetterAnErasureOnIngress() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.sendStructured(PREFIX + a, session, message(session, session + "-1", "keep me", null));
        Kafka.sendStructured(PREFIX + a, session, """
                {"specversion":"1.0","id":"%s-erase","source":"agent://ingress","type":"agentstate.session.erased",
                 "subject":"%s"}""".formatted(session, session));

        ConsumerRecord<String, byte[]> dead = single(Kafka.DEAD_LETTERS, session);
        assertThat(header(dead, DeadLetterLog.REASON)).contains("reserved type agentstate.session.erased");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(1)).body("messages[0].content", equalTo("keep me")));
    }

    @Test
    void shouldDeadLetterAnUnsealedRecordOnTheLog() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.sendStructured(session, message(session, session + "-1", "straight to the log", a));

        ConsumerRecord<String, byte[]> dead = single(Kafka.DEAD_LETTERS, session);
        assertThat(header(dead, DeadLetterLog.REASON))
                .isEqualTo("record not written by a trusted path; produce to agent-state.ingress.<tenant>");
        reader(a).get("/sessions/{id}", session).then().statusCode(404);
    }

    @Test
    void shouldDeadLetterARecordOnTheLogWithAForgedSeal() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        Kafka.send(session, message(session, session + "-1", "forged", a), Map.of("content-type",
                "application/cloudevents+json", "agentstate-tenant", a, "agentstate-seal", "Zm9yZ2VkIHNlYWw="));

        ConsumerRecord<String, byte[]> dead = single(Kafka.DEAD_LETTERS, session);
        assertThat(header(dead, DeadLetterLog.REASON)).contains("its seal does not verify");
        reader(a).get("/sessions/{id}", session).then().statusCode(404);
    }

    @Test
    void shouldStillApplyRestWritesAndErasures() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        given().spec(writer(a).request()).contentType(ContentType.JSON).header("Idempotency-Key", session + "-1")
                .body("{\"source\":\"agent://rest\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"over rest\"}}")
                .post("/sessions/{id}/events", session)
                .then().statusCode(201).body("outcome", equalTo("accepted")).body("version", equalTo(1));
        reader(a).get("/sessions/{id}", session).then().statusCode(200).body("version", equalTo(1));
        writer(a).header("Idempotency-Key", session + "-erase").delete("/sessions/{id}", session).then()
                .statusCode(204);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                .then().statusCode(404));
    }

    @Test
    void shouldKeepTheOrderOfOneSessionThroughIngress() {
        String a = tenant();
        String session = "s-" + UUID.randomUUID();
        for (int i = 1; i <= 50; i++) {
            Kafka.sendStructured(PREFIX + a, session, message(session, session + "-" + i, "m" + i, null));
        }

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(50)));
        List<Integer> versions = reader(a).get("/sessions/{id}/events?limit=100", session)
                .then().statusCode(200).extract().jsonPath().getList("entries.version", Integer.class);
        assertThat(versions).containsExactlyElementsOf(IntStream.rangeClosed(1, 50).boxed().toList());
        List<String> contents = reader(a).get("/sessions/{id}", session)
                .then().statusCode(200).extract().jsonPath().getList("messages.content", String.class);
        assertThat(contents).containsExactlyElementsOf(IntStream.rangeClosed(1, 50).mapToObj(i -> "m" + i).toList());
    }

    @Test
    void shouldRelayABatchOfManySessionsInOrderAroundAPoisonRecord() {
        String a = tenant();
        List<String> sessions = IntStream.range(0, 20).mapToObj(i -> "s-" + UUID.randomUUID()).toList();
        List<Map.Entry<String, String>> records = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            for (String session : sessions) {
                records.add(Map.entry(session, message(session, session + "-" + i, "m" + i, null)));
            }
            if (i == 5) {
                // in the middle of the batch, on the first session's partition: refused, and nothing else with it
                records.add(Map.entry(sessions.get(0), "{\"specversion\":\"1.0\",\"id\":\"poison-" + a
                        + "\",\"type\":\"agentstate.message.appended\"}"));
            }
        }
        Kafka.sendAllStructured(PREFIX + a, records);

        for (String session : sessions) {
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> reader(a).get("/sessions/{id}", session)
                    .then().statusCode(200).body("version", equalTo(10)));
            List<String> contents = reader(a).get("/sessions/{id}", session)
                    .then().statusCode(200).extract().jsonPath().getList("messages.content", String.class);
            assertThat(contents).as(session)
                    .containsExactlyElementsOf(IntStream.rangeClosed(1, 10).mapToObj(i -> "m" + i).toList());
        }
        ConsumerRecord<String, byte[]> letter = single(Kafka.DEAD_LETTERS, sessions.get(0));
        assertThat(new String(letter.value(), StandardCharsets.UTF_8)).contains("poison-" + a);
        assertThat(header(letter, DeadLetterLog.REASON)).contains("source");
        // the relay judges only the tenant and the reserved types; the ledger judges the rest, on the log
        assertThat(header(letter, "agentstate-dlq-topic")).isEqualTo(Kafka.EVENTS);
    }

    // A fresh tenant per test, whose ingress topic an operator's manifest would have created.
    private static String tenant() {
        String tenant = "t-" + UUID.randomUUID();
        Kafka.createTopic(PREFIX + tenant);
        return tenant;
    }

    private static String message(String session, String id, String content, String tenant) {
        String named = tenant == null ? "" : ",\"tenant\":\"" + tenant + "\"";
        return """
                {"specversion":"1.0","id":"%s","source":"agent://ingress","type":"agentstate.message.appended",
                 "subject":"%s"%s,"data":{"role":"user","content":"%s"}}""".formatted(id, session, named, content);
    }

    private static ConsumerRecord<String, byte[]> single(String topic, String key) {
        List<ConsumerRecord<String, byte[]>> found = Kafka.readAll(topic, Set.of(key), 1, Duration.ofSeconds(30));
        assertThat(found).as("a record keyed %s on %s", key, topic).hasSize(1);
        return found.get(0);
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static RequestSpecification reader(String tenant) {
        return given().header("Authorization", "Bearer " + Tokens.token(tenant, "reader"));
    }

    private static RequestSpecification writer(String tenant) {
        return given().header("Authorization", "Bearer " + Tokens.token(tenant, "writer"));
    }
}
