package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/** Query parameters are checked at the edge (400, never 404 or 500), and reads answer in the POST's vocabulary. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class QueryAnswersTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "/events?limit=abc | limit",
            "/events?limit=1.5 | limit",
            "/events?limit=0 | limit",
            "/events?limit=1001 | limit",
            "/events?fromVersion=abc | fromVersion",
            "/events?fromVersion=0 | fromVersion",
            "/events?fromVersion=99999999999999999999 | fromVersion",
            "/state?version=x | version",
            "/state?version=0 | version",
            "/state?at=yesterday | at" })
    void shouldAnswer400ForAMalformedParameter(String query, String parameter) {
        String session = started();
        given().urlEncodingEnabled(false).get("/sessions/" + session + query)
                .then().statusCode(400).contentType(startsWith("application/problem+json"))
                .body("type", equalTo("https://agent-state.dev/problems/invalid-parameter"))
                .body("status", equalTo(400))
                .body("parameter", equalTo(parameter))
                .body("detail", startsWith(parameter + " must be"))
                .body("instance", startsWith("/sessions/" + session));
    }

    @Test
    void shouldBoundAndEscapeTheIdsItEchoesInA404() {
        String session = "s-" + UUID.randomUUID();
        String eventId = "\u2028" + "x".repeat(2_000);
        String detail = given().get("/sessions/{id}/events/{eventId}", session, eventId).then().statusCode(404)
                .extract().jsonPath().getString("detail");
        assertThat(detail).contains(session).contains("\\u2028").doesNotContain("\u2028")
                .hasSizeLessThan(700);
        post(session, session + "-1", null, message("hi")).then().statusCode(201);
        String toolDetail = given().get("/sessions/{id}/tools/{callId}", session, "y".repeat(2_000)).then()
                .statusCode(404).extract().jsonPath().getString("detail");
        assertThat(toolDetail).contains("has no tool call yyy").hasSizeLessThan(700);
    }

    @Test
    void shouldAnswer400ForAMalformedMemoryLimit() {
        given().get("/users/{u}/memories?limit=abc", "u-" + UUID.randomUUID())
                .then().statusCode(400).contentType(startsWith("application/problem+json"))
                .body("parameter", equalTo("limit"))
                .body("detail", containsString("'abc'"));
    }

    @Test
    void shouldHintAtEncodingThePlusOfAnOffset() {
        String session = started();
        // an unencoded '+' arrives as a space, as Python's isoformat() pasted into a URL does
        given().urlEncodingEnabled(false).get("/sessions/" + session + "/state?at=2026-12-01T16:46:09+01:00")
                .then().statusCode(400)
                .body("parameter", equalTo("at"))
                .body("detail", containsString("%2B"));
        given().urlEncodingEnabled(false).get("/sessions/" + session + "/state?at=2030-12-01T16:46:09%2B01:00")
                .then().statusCode(200).body("version", equalTo(1));
    }

    @Test
    void shouldAnswer400ForATimeOutOfRange() {
        String session = started();
        given().urlEncodingEnabled(false).get("/sessions/" + session + "/state?at=%2B999999999-12-31T00:00:00Z")
                .then().statusCode(400).contentType(startsWith("application/problem+json"))
                .body("parameter", equalTo("at"))
                .body("detail", containsString("between"));
    }

    @Test
    void shouldAnswerADecisionPollInThePostsShape() {
        String session = "poll-" + UUID.randomUUID();
        Response posted = post(session, session + "-1", null, message("hi"));
        posted.then().statusCode(201);
        JsonPath poll = given().get(posted.header("Location")).then().statusCode(200)
                .contentType(startsWith("application/json")).extract().jsonPath();
        JsonPath answer = posted.jsonPath();
        for (String field : new String[] { "sessionId", "outcome", "eventIds", "firstVersion", "version",
                "sessionVersion" }) {
            assertThat(poll.getString(field)).as(field).isEqualTo(answer.getString(field));
        }
        assertThat(poll.getString("outcome")).isEqualTo("accepted");
        assertThat(poll.getMap("$")).doesNotContainKeys("tenant", "lastVersion", "currentVersion");

        post(session, session + "-stale", "0", message("late")).then().statusCode(409);
        given().get("/sessions/{id}/events/{e}", session, session + "-stale")
                .then().statusCode(200)
                .body("outcome", equalTo("conflict"))
                .body("sessionVersion", equalTo(1))
                .body("eventIds", equalTo(java.util.List.of(session + "-stale")))
                .body("reason", containsString("expected"));

        given().get("/sessions/{id}/events/{e}", session, "never-sent")
                .then().statusCode(404).contentType(startsWith("application/problem+json"))
                .body("detail", containsString("never-sent"));
    }

    @Test
    void shouldShowToolAndSessionStatusesInLowerCase() {
        String session = "tools-" + UUID.randomUUID();
        post(session, session + "-1", null, """
                {"source":"agent://planner","type":"agentstate.tool.requested",
                 "data":{"callId":"c1","tool":"search","arguments":{"q":"x"}}}""").then().statusCode(201);
        given().get("/sessions/{id}/tools/c1", session)
                .then().statusCode(200)
                .body("callId", equalTo("c1"))
                .body("status", equalTo("requested"))
                .body("requestedVersion", equalTo(1));
        post(session, session + "-2", null, """
                {"source":"agent://tools","type":"agentstate.tool.completed",
                 "data":{"callId":"c1","error":"timed out"}}""").then().statusCode(201);
        given().get("/sessions/{id}", session)
                .then().statusCode(200).header("ETag", "\"2\"")
                .body("status", equalTo("active"))
                .body("toolCalls.c1.status", equalTo("failed"))
                .body("toolCalls.c1.completedVersion", equalTo(2));
        given().get("/sessions/{id}/state?version=1", session)
                .then().statusCode(200).body("toolCalls.c1.status", equalTo("requested"));
    }

    @Test
    void shouldKeepDataFieldsItDoesNotKnow() {
        String session = "newer-" + UUID.randomUUID();
        // a newer producer's field: accepted, archived and shown, not dead-lettered
        post(session, session + "-1", null, """
                {"source":"agent://newer","type":"agentstate.message.appended",
                 "data":{"role":"user","content":"hi","sentiment":"cheerful"}}""")
                .then().statusCode(201).body("outcome", equalTo("accepted"));
        given().get("/sessions/{id}/events", session)
                .then().statusCode(200).body("entries[0].event.data.sentiment", equalTo("cheerful"));
    }

    @Test
    void shouldServeSchemasUnderTheirOwnId() {
        JsonPath envelope = given().get("/schemas/cloudevent").then().statusCode(200).extract().jsonPath();
        String id = envelope.getString("$id");
        assertThat(id).endsWith("/schemas/cloudevent");
        given().get(java.net.URI.create(id).getPath()).then().statusCode(200).body("title", equalTo("CloudEvent envelope"));
        assertThat(envelope.getList("required", String.class)).contains("specversion", "id", "source", "type");

        JsonPath rest = given().get("/schemas/cloudevent-rest").then().statusCode(200).extract().jsonPath();
        assertThat(rest.getString("$id")).endsWith("/schemas/cloudevent-rest");
        assertThat(rest.getList("required", String.class)).containsExactly("source", "type");

        JsonPath data = given().get("/schemas/agentstate.message.appended").then().statusCode(200).extract().jsonPath();
        assertThat(data.getString("$id")).endsWith("/schemas/agentstate.message.appended");
        assertThat(data.getBoolean("additionalProperties")).isTrue();
        assertThat(given().get("/schemas").jsonPath().getList("", String.class)).contains("cloudevent",
                "cloudevent-rest", "agentstate.message.appended");
    }

    private static String started() {
        String session = "params-" + UUID.randomUUID();
        post(session, session + "-1", null, message("hello")).then().statusCode(201);
        return session;
    }

    private static String message(String content) {
        return """
                {"source":"agent://planner","type":"agentstate.message.appended","time":"2030-01-01T00:00:00Z",
                 "data":{"role":"user","content":"%s"}}""".formatted(content);
    }

    static Response post(String session, String id, String ifMatch, String body) {
        var request = given().contentType(ContentType.JSON).header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.body(body).post("/sessions/{id}/events", session);
    }
}
