package io.agentstate.chat;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;

/** Without an API key the service still runs: chat answers 503 naming the setting, everything else works. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@TestProfile(ChatWithoutModelTest.NoApiKey.class)
class ChatWithoutModelTest {

    /** No model credentials at all. */
    public static class NoApiKey implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.langchain4j.openai.api-key", "none");
        }
    }

    @Test
    void shouldAnswer503NamingTheSettingAndKeepEveryOtherEndpoint() {
        String session = "nokey-" + UUID.randomUUID();
        given().contentType(ContentType.JSON).body("{\"message\":\"hi\"}").post("/sessions/{id}/chat", session)
                .then().statusCode(503).contentType("application/problem+json")
                .body("detail", containsString("QUARKUS_LANGCHAIN4J_OPENAI_API_KEY"));
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-1")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"still works\"}}")
                .post("/sessions/{id}/events", session).then().statusCode(201).body("version", equalTo(1));
        given().get("/sessions/{id}", session).then().statusCode(200).body("messages[0].content", equalTo("still works"));
        given().get("/q/health/ready").then().statusCode(200);
    }
}
