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

    private static final String INVALID = "https://agent-state.dev/problems/invalid-request";

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
                .body("type", equalTo("https://agent-state.dev/problems/model-not-configured"))
                .body("detail", containsString("QUARKUS_LANGCHAIN4J_OPENAI_API_KEY"));
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-1")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"still works\"}}")
                .post("/sessions/{id}/events", session).then().statusCode(201).body("version", equalTo(1));
        given().get("/sessions/{id}", session).then().statusCode(200).body("messages[0].content", equalTo("still works"));
        given().get("/q/health/ready").then().statusCode(200);
    }

    @Test
    void shouldAnswer400ForAnInvalidRequestBeforeSayingTheModelIsNotConfigured() {
        String session = "nokey-" + UUID.randomUUID();
        for (String route : new String[] { "/sessions/{id}/chat", "/sessions/{id}/chat/stream" }) {
            given().contentType(ContentType.JSON).header("Idempotency-Key", "bad key!").body("{\"message\":\"hi\"}")
                    .post(route, session).then().statusCode(400).contentType("application/problem+json")
                    .body("type", equalTo(INVALID)).body("status", equalTo(400))
                    .body("detail", containsString("Idempotency-Key"))
                    .body("instance", equalTo(route.replace("{id}", session)));
            given().contentType(ContentType.JSON).body("{\"message\":\"hi\"}").post(route, "bad session!")
                    .then().statusCode(400).contentType("application/problem+json")
                    .body("type", equalTo(INVALID)).body("detail", containsString("session id"));
            given().contentType(ContentType.JSON).body("{not json").post(route, session)
                    .then().statusCode(400).contentType("application/problem+json")
                    .body("type", equalTo(INVALID)).body("detail", containsString("not valid JSON"));
            given().contentType(ContentType.JSON).body("[\"hi\"]").post(route, session)
                    .then().statusCode(400).body("type", equalTo(INVALID))
                    .body("detail", equalTo("body must be a JSON object {\"message\": \"...\"}"));
            given().contentType(ContentType.JSON).body("{\"message\":\"  \"}").post(route, session)
                    .then().statusCode(400).body("type", equalTo(INVALID))
                    .body("detail", equalTo("message must not be blank"));
        }
        given().get("/sessions/{id}", session).then().statusCode(404);
    }
}
