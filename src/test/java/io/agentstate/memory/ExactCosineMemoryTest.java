package io.agentstate.memory;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/** The same contract on the fallback path (exact cosine in the service), and fact extraction after chat turns. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
@TestProfile(ExactCosineMemoryTest.Exact.class)
class ExactCosineMemoryTest extends SemanticMemoryContract {

    /** No pgvector, and extraction on. */
    public static class Exact implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("agent-state.memory.vector-store", "exact", "agent-state.memory.extraction", "true");
        }
    }

    @Override
    MemoryVectors.Path expectedPath() {
        return MemoryVectors.Path.EXACT;
    }

    @Test
    void shouldRecordTheFactsTheModelExtractsFromATurnAsCausedByIt() {
        String user = "extract-" + UUID.randomUUID();
        String session = "x-" + user;
        startSession(user, session);
        String turn = "turn-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).header("Idempotency-Key", turn)
                .body("{\"message\":\"REMEMBER-ME: hazelnuts make me ill\"}").post("/sessions/{id}/chat", session)
                .then().statusCode(200);
        String reply = turn + ":1:assistant";
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/users/{u}/memories", user).then()
                .statusCode(200).body("fact", equalTo(List.of(ModelStubResource.EXTRACTED)))
                .body("[0].eventId", equalTo(reply + ":fact:0")).body("[0].sessionId", equalTo(session))
                .body("[0].source", equalTo("agent://agent-state/chat")));
        given().queryParam("type", "agentstate.memory.recorded").get("/sessions/{id}/events", session).then()
                .statusCode(200).body("entries.eventId", equalTo(List.of(reply + ":fact:0")))
                .body("entries[0].event.causationid", equalTo(reply)).body("entries[0].event.correlationid", equalTo(turn))
                .body("entries[0].event.data.fact", equalTo(ModelStubResource.EXTRACTED));
        // a later turn proposing the same fact again records nothing new: it is a duplicate
        given().contentType(ContentType.JSON).body("{\"message\":\"REMEMBER-ME again\"}")
                .post("/sessions/{id}/chat", session).then().statusCode(200);
        await().atMost(Duration.ofSeconds(60)).until(() -> given().get("/q/metrics").asString()
                .contains("agentstate_memory_extracted_total{outcome=\"duplicate\"} 1.0"));
        given().get("/users/{u}/memories", user).then().body("size()", equalTo(1));
    }
}
