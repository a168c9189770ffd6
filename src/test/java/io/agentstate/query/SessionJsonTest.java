package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.platform.RedisKeys;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;

/**
 * {@code GET /sessions/{id}} writes a cached view's stored JSON straight into the answer; this holds it to the answer
 * the same state gives when it is rebuilt from PostgreSQL and serialised as a {@link SessionResponse}, byte for byte,
 * for a state with every part: user, metadata, messages with awkward text, open and finished tool calls, scopes, an end.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class SessionJsonTest {

    @Inject
    Redis redis;

    @Test
    void shouldServeACachedViewExactlyAsTheRebuiltStateWouldBeServed() {
        String session = "json-" + UUID.randomUUID();
        List<String> events = List.of(
                event("agentstate.session.started", """
                        {"userId":"u-1","metadata":{"plan":"pro","n":1.50,"big":1E+3,"nested":{"a":[1,2,{"b":null}]}}}"""),
                event("agentstate.message.appended", """
                        {"role":"user","content":"h\\u00e9llo \\u2028 \\"quoted\\" \\ud83d\\ude00 <>&"}"""),
                event("agentstate.tool.requested", """
                        {"callId":"c1","tool":"search","arguments":{"q":"x","k":[true,false]}}"""),
                event("agentstate.tool.completed", """
                        {"callId":"c1","output":{"hits":[1,2.25]}}"""),
                event("agentstate.tool.requested", """
                        {"callId":"c2","tool":"fetch"}"""),
                event("agentstate.state.patched", """
                        {"scope":"shared","patch":{"theme":"dark","count":3}}"""),
                event("agentstate.state.patched", """
                        {"scope":"agent:planner","patch":{"z":1.0e3,"list":[]}}"""),
                event("agentstate.message.appended", """
                        {"role":"tool","content":"done","name":"search","toolCallId":"c1"}"""),
                event("agentstate.session.ended", """
                        {"reason":"finished"}"""));
        for (int i = 0; i < events.size(); i++) {
            var answer = given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-" + i)
                    .body(events.get(i)).post("/sessions/{id}/events", session);
            assertThat(answer.statusCode()).as("%s -> %s", events.get(i), answer.asString()).isEqualTo(201);
        }

        String cached = given().get("/sessions/{id}", session).then().statusCode(200).header("ETag", "\"9\"")
                .extract().asString();
        // drop the view: the next read rebuilds it from PostgreSQL and serialises the folded state
        Request del = Request.cmd(Command.DEL);
        for (String key : RedisKeys.view("default", session)) {
            del.arg(key);
        }
        redis.send(del).await().atMost(Duration.ofSeconds(10));
        String rebuilt = given().get("/sessions/{id}", session).then().statusCode(200).header("ETag", "\"9\"")
                .extract().asString();
        String cachedAgain = given().get("/sessions/{id}", session).then().statusCode(200).extract().asString();

        // The same document, member for member and in the same order. The one textual difference allowed is how a
        // character outside the BMP is written: the application's mapper escapes it as a surrogate pair (\\uD83D\\uDE00),
        // the stored view holds it as UTF-8; both are the same JSON string.
        assertThat(tree(cached)).isEqualTo(tree(rebuilt));
        assertThat(names(tree(cached))).isEqualTo(names(tree(rebuilt)));
        assertThat(cached.replace("\ud83d\ude00", "\\uD83D\\uDE00")).isEqualTo(rebuilt);
        assertThat(tree(cachedAgain)).isEqualTo(tree(rebuilt));
        assertThat(rebuilt).contains("\"userId\":\"u-1\"", "\"endedReason\":\"finished\"", "\"status\":\"ended\"",
                "\"shared\":{", "\"c2\":{");
    }

    private static JsonNode tree(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new java.util.ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String event(String type, String data) {
        return "{\"source\":\"agent://json-test\",\"type\":\"" + type + "\",\"data\":" + data.strip() + "}";
    }
}
