package io.agentstate.platform;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;

/** Every refusal is a problem document with type, title, status, detail and instance once each, 413s included. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class ProblemDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MEMBERS = List.of("type", "title", "status", "detail", "instance");

    @Test
    void shouldAnswerABodyOverTheHttpLimitWithAProblem() throws Exception {
        String session = "huge-" + UUID.randomUUID();
        byte[] body = new byte[5 * 1024 * 1024];
        java.util.Arrays.fill(body, (byte) ' ');
        // HTTP/1.1 as curl and most agents send it (the JDK client would otherwise try an h2c upgrade first)
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(HttpRequest
                .newBuilder(URI.create("http://localhost:" + RestAssured.port + "/sessions/" + session + "/events"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = assertProblem(response.body(), 413, "/sessions/" + session + "/events");
        assertThat(problem.get("type").asText()).endsWith("/too-large");
        assertThat(problem.get("detail").asText()).contains("5242880 bytes");
    }

    @Test
    void shouldAnswerAnEventOverTheEventLimitWith413() throws Exception {
        String session = "big-" + UUID.randomUUID();
        String content = "x".repeat(300 * 1024);
        Response response = post(session, session + "-1", null, "{\"source\":\"agent://planner\","
                + "\"type\":\"agentstate.message.appended\",\"data\":{\"role\":\"user\",\"content\":\"" + content + "\"}}");
        assertThat(response.statusCode()).isEqualTo(413);
        JsonNode problem = assertProblem(response.asString(), 413, "/sessions/" + session + "/events");
        assertThat(problem.get("detail").asText()).contains("exceeds the limit of 262144 bytes");
        given().get("/sessions/{id}/events", session).then().statusCode(404);
    }

    @Test
    void shouldWriteConflictAndRejectionMembersOnce() throws Exception {
        String session = "once-" + UUID.randomUUID();
        String path = "/sessions/" + session + "/events";
        post(session, session + "-1", null, ended()).then().statusCode(201);

        Response conflict = post(session, session + "-2", "0", message());
        assertThat(conflict.statusCode()).isEqualTo(409);
        JsonNode body = assertProblem(conflict.asString(), 409, path);
        assertThat(body.get("currentVersion").asLong()).isEqualTo(1);
        assertThat(countOf(conflict.asString(), "\"currentVersion\"")).isEqualTo(1);

        Response rejected = post(session, session + "-3", null, message());
        assertThat(rejected.statusCode()).isEqualTo(422);
        body = assertProblem(rejected.asString(), 422, path);
        assertThat(body.get("eventIds").get(0).asText()).isEqualTo(session + "-3");

        Response repeat = post(session, session + "-3", null, message());
        assertThat(repeat.statusCode()).isEqualTo(422);
        body = assertProblem(repeat.asString(), 422, path);
        assertThat(body.get("repeat").asBoolean()).isTrue();
    }

    @Test
    void shouldAnswerAPendingAppendWithoutASessionVersion() {
        // the 202 body is the POST shape; sessionVersion is left out rather than -1 (checked on the record)
        assertThat(io.agentstate.ingest.AppendResponse.pending("s", List.of("e")).sessionVersion()).isNull();
    }

    @Test
    void shouldKeepClassNamesOutOfProblems() throws Exception {
        Response response = given().contentType(ContentType.JSON).body("{not json")
                .post("/sessions/{id}/events", "cls-" + UUID.randomUUID());
        assertThat(response.statusCode()).isEqualTo(400);
        assertProblem(response.asString(), 400, null);
        assertThat(response.asString()).doesNotContain("Exception").doesNotContain("io.agentstate")
                .doesNotContain("com.fasterxml");
    }

    @Test
    void shouldListTheRealStatusesInOpenApi() throws Exception {
        JsonNode paths = JSON.readTree(given().get("/q/openapi?format=json").then().statusCode(200).extract().asString())
                .get("paths");
        JsonNode append = paths.get("/sessions/{sessionId}/events").get("post").get("responses");
        assertThat(append.fieldNames()).toIterable()
                .contains("200", "201", "202", "400", "409", "413", "422");
        assertThat(append.get("409").get("content").has("application/problem+json")).isTrue();
        assertThat(append.get("409").get("content").get("application/problem+json").get("schema").get("$ref").asText())
                .endsWith("/Problem");
        JsonNode erase = paths.get("/sessions/{sessionId}").get("delete");
        assertThat(erase.get("responses").fieldNames()).toIterable().contains("204", "404");
        assertThat(erase.get("parameters").findValuesAsText("name")).contains("Idempotency-Key");
        JsonNode timeline = paths.get("/sessions/{sessionId}/events").get("get").get("responses");
        assertThat(timeline.fieldNames()).toIterable().contains("200", "400", "404");
        assertThat(paths.get("/sessions/{sessionId}/state").get("get").get("responses").fieldNames()).toIterable()
                .contains("200", "400", "404");
    }

    private static JsonNode assertProblem(String text, int status, String instance) throws Exception {
        JsonNode body = JSON.readTree(text);
        for (String member : MEMBERS) {
            assertThat(body.hasNonNull(member)).as("%s in %s", member, text).isTrue();
            assertThat(countOf(text, "\"" + member + "\":")).as("%s once in %s", member, text).isEqualTo(1);
        }
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.has("extensions")).isFalse();
        if (instance != null) {
            assertThat(body.get("instance").asText()).isEqualTo(instance);
        }
        return body;
    }

    private static int countOf(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            count++;
        }
        return count;
    }

    private static String message() {
        return "{\"source\":\"agent://planner\",\"type\":\"agentstate.message.appended\","
                + "\"data\":{\"role\":\"user\",\"content\":\"hi\"}}";
    }

    private static String ended() {
        return "{\"source\":\"agent://planner\",\"type\":\"agentstate.session.ended\",\"data\":{\"reason\":\"done\"}}";
    }

    private static Response post(String session, String id, String ifMatch, String body) {
        var request = given().contentType(ContentType.JSON).header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.body(body).post("/sessions/{id}/events", session);
    }
}
