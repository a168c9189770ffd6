package io.agentstate.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/** {@code POST /sessions/{id}/fork}: a new session that starts as another's state at a version, the source untouched. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class ForkTest {

    // What a fork copies: everything but identity, status, version, times and size.
    private static final List<String> CARRIED = List.of("userId", "metadata", "summary", "messages", "messageCount",
            "toolCalls", "scopes");

    @Test
    void shouldStartTheForkAsTheSourceStateAtTheVersionAndLeaveTheSourceAlone() {
        String source = conversation();
        String before = given().get("/sessions/{id}", source).then().statusCode(200).extract().asString();
        String fork = source + "-fork";

        fork(source, "{\"version\":9,\"newSessionId\":\"" + fork + "\"}", source + "-fork-1")
                .then().statusCode(201)
                .header("Location", containsString("/sessions/" + fork))
                .header("ETag", "\"10\"")
                .body("sessionId", equalTo(fork))
                .body("outcome", equalTo("accepted"))
                .body("version", equalTo(10))
                .body("forkedFrom.sessionId", equalTo(source))
                .body("forkedFrom.version", equalTo(9));

        JsonPath atNine = given().get("/sessions/{id}/state?version=9", source).then().statusCode(200).extract()
                .jsonPath();
        JsonPath forked = given().get("/sessions/{id}", fork).then().statusCode(200).header("ETag", "\"10\"").extract()
                .jsonPath();
        assertThat(carried(forked)).isEqualTo(carried(atNine));
        // the copy holds what version 9 held: a summary, the messages after it, an open call and a finished one
        assertThat(forked.getString("summary.text")).isEqualTo("they said hello");
        assertThat(forked.getList("messages.content", String.class)).containsExactly("what is the weather?");
        assertThat(forked.getString("toolCalls.c1.status")).isEqualTo("completed");
        assertThat(forked.getString("toolCalls.c2.status")).isEqualTo("requested");
        assertThat(forked.getMap("scopes.shared")).isEqualTo(Map.of("city", "Oslo"));
        assertThat(forked.getString("status")).isEqualTo("active");
        assertThat(forked.getString("sessionId")).isEqualTo(fork);
        // what PostgreSQL folds is what the view holds (I6)
        assertThat(carried(given().get("/sessions/{id}/state?version=10", fork).then().statusCode(200).extract()
                .jsonPath())).isEqualTo(carried(forked));
        // the source is as it was
        assertThat(given().get("/sessions/{id}", source).then().statusCode(200).header("ETag", "\"11\"").extract()
                .asString()).isEqualTo(before);

        // the fork's timeline and audit chain say where it came from
        JsonPath timeline = given().get("/sessions/{id}/events", fork).then().statusCode(200).extract().jsonPath();
        assertThat(timeline.getList("entries.version", Integer.class)).containsExactly(10);
        assertThat(timeline.getString("entries[0].event.type")).isEqualTo("agentstate.session.forked");
        assertThat(timeline.getString("entries[0].event.data.sourceSessionId")).isEqualTo(source);
        assertThat(timeline.getInt("entries[0].event.data.sourceVersion")).isEqualTo(9);
        given().get("/sessions/{id}/audit", fork).then().statusCode(200).body("valid", equalTo(true));
        given().get("/sessions/{id}/state?version=3", fork).then().statusCode(404)
                .body("detail", containsString("versions 10 to 10"));
    }

    @Test
    void shouldContinueTheForkFromTheCopiedVersion() {
        String source = conversation();
        String fork = source + "-continued";
        fork(source, "{\"version\":9,\"newSessionId\":\"" + fork + "\"}", null).then().statusCode(201);

        // the open call copied from the source completes once in the fork, and the source still has it open
        append(fork, fork + "-done", "10", tool("completed", "{\"callId\":\"c2\",\"output\":{\"temp\":3}}"))
                .then().statusCode(201).body("version", equalTo(11));
        append(fork, fork + "-again", null, tool("completed", "{\"callId\":\"c2\",\"output\":{\"temp\":4}}"))
                .then().statusCode(422).body("detail", containsString("already completed"));
        append(fork, fork + "-stale", "10", message("user", "late")).then().statusCode(409);
        append(fork, fork + "-start", null, """
                {"source":"agent://planner","type":"agentstate.session.started","data":{"userId":"someone"}}""")
                .then().statusCode(422);
        append(fork, fork + "-summary", null, """
                {"source":"agent://planner","type":"agentstate.summary.recorded","data":{"throughVersion":3,
                 "summary":"again"}}""").then().statusCode(422).body("detail", containsString("already summarised"));
        given().get("/sessions/{id}", source).then().body("toolCalls.c2.status", equalTo("requested"));

        // a fork of a fork copies the fork's state and continues its numbering
        String second = fork + "-again";
        fork(fork, "{\"newSessionId\":\"" + second + "\"}", null).then().statusCode(201).body("version", equalTo(12))
                .body("forkedFrom.version", equalTo(11));
        assertThat(carried(given().get("/sessions/{id}", second).then().statusCode(200).extract().jsonPath()))
                .isEqualTo(carried(given().get("/sessions/{id}", fork).then().extract().jsonPath()));
        assertThat(given().get("/sessions/{id}", second).then().extract().jsonPath().getString("toolCalls.c2.status"))
                .isEqualTo("completed");
    }

    @Test
    void shouldAnswerARepeatedForkLikeTheFirst() {
        String source = conversation();
        String body = "{\"version\":2,\"newSessionId\":\"" + source + "-twice\"}";
        fork(source, body, source + "-key").then().statusCode(201).body("version", equalTo(3));
        fork(source, body, source + "-key").then().statusCode(200).body("outcome", equalTo("duplicate"))
                .body("version", equalTo(3));
        fork(source, body, source + "-other-key").then().statusCode(409)
                .body("type", containsString("session-exists"))
                .body("detail", containsString("already exists"));
    }

    @Test
    void shouldRefuseAKeyReusedForAnotherFork() {
        String source = conversation();
        String body = "{\"version\":2,\"newSessionId\":\"" + source + "-keyed\"}";
        fork(source, body, source + "-key").then().statusCode(201);
        fork(source, "{\"version\":3,\"newSessionId\":\"" + source + "-keyed\"}", source + "-key").then()
                .statusCode(422).body("type", containsString("idempotency-key-reused"));
        fork(source, "{\"newSessionId\":\"" + source + "-keyed\"}", source + "-key").then().statusCode(200)
                .body("forkedFrom.version", equalTo(2));
    }

    @Test
    void shouldNameAForkOfALongIdWithinTheIdLimit() {
        String source = "f".repeat(90) + "-" + UUID.randomUUID();
        append(source, "long-" + UUID.randomUUID(), null, message("user", "hello")).then().statusCode(201);
        String fork = fork(source, "{}", null).then().statusCode(201).extract().jsonPath().getString("sessionId");
        assertThat(fork).hasSizeLessThanOrEqualTo(128).startsWith("fork-");
        String shortSource = "short-" + UUID.randomUUID().toString().substring(0, 8);
        append(shortSource, shortSource + "-1", null, message("user", "hello")).then().statusCode(201);
        assertThat(fork(shortSource, "{}", null).then().statusCode(201).extract().jsonPath().getString("sessionId"))
                .startsWith(shortSource + "-fork-");
    }

    @Test
    void shouldAnswer422ForAStateNestedTooDeepToCarry() {
        String source = "deep-" + UUID.randomUUID();
        // the deepest scope document the service takes in a patch; the fork event nests it two levels deeper
        int depth = 40;
        while (append(source, source + "-" + depth, null, """
                {"source":"agent://planner","type":"agentstate.state.patched","data":{"scope":"shared","patch":%s}}"""
                .formatted(nested(depth))).statusCode() != 201) {
            depth--;
            assertThat(depth).as("some nesting is accepted").isGreaterThan(1);
        }
        fork(source, "{}", null).then().statusCode(422).body("type", containsString("not-forkable"))
                .body("detail", containsString("cannot be carried in one fork event"));
    }

    private static String nested(int depth) {
        return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
    }

    @Test
    void shouldRefuseWhatCannotBeForked() {
        String source = conversation();
        fork(source, "{\"version\":12}", null).then().statusCode(404).body("detail", containsString("versions 1 to 11"));
        fork(source, "{\"version\":0}", null).then().statusCode(400);
        fork(source, "{\"version\":\"x\"}", null).then().statusCode(400);
        fork(source, "{\"newSessionId\":\"" + source + "\"}", null).then().statusCode(400);
        fork(source, "{\"newSessionId\":\"bad id with spaces\"}", null).then().statusCode(400);
        fork("no-such-" + UUID.randomUUID(), "{}", null).then().statusCode(404);
        given().header("Idempotency-Key", source + "-erase").delete("/sessions/{id}", source).then().statusCode(204);
        fork(source, "{\"version\":2}", null).then().statusCode(404);
        // only the service writes a fork: an agent's claim to be one is refused at the edge
        String claimed = "claimed-" + UUID.randomUUID();
        append(claimed, claimed + "-1", null, """
                {"source":"agent://planner","type":"agentstate.session.forked","data":{"sourceSessionId":"x",
                 "sourceVersion":5,"state":{"messages":[],"messageCount":0,"toolCalls":{},"scopes":{}}}}""")
                .then().statusCode(400).body("detail", containsString("POST /sessions/" + claimed + "/fork"));
    }

    @Test
    void shouldForkWithoutANameIntoAFreshSession() {
        String source = conversation();
        Response response = fork(source, "", null);
        response.then().statusCode(201).body("version", equalTo(12));
        String fork = response.jsonPath().getString("sessionId");
        assertThat(fork).startsWith(source + "-fork-");
        given().get("/sessions/{id}", fork).then().statusCode(200).body("messageCount", equalTo(4));
    }

    // Versions 1 to 11: started, two messages, a summary through 3, a question, a tool call completed (6, 7), a patch and
    // an open call (8, 9); then a message and a patch (10, 11) that a fork at 9 must not see.
    private static String conversation() {
        String s = "fork-" + UUID.randomUUID();
        append(s, s + "-1", "0", """
                {"source":"agent://planner","type":"agentstate.session.started","data":{"userId":"u-fork",
                 "metadata":{"channel":"web"}}}""").then().statusCode(201);
        append(s, s + "-2", null, message("user", "hello")).then().statusCode(201);
        append(s, s + "-3", null, message("assistant", "hi there")).then().statusCode(201);
        append(s, s + "-4", null, """
                {"source":"agent://summarizer","type":"agentstate.summary.recorded","data":{"throughVersion":3,
                 "summary":"they said hello","model":"stub"}}""").then().statusCode(201);
        append(s, s + "-5", null, message("user", "what is the weather?")).then().statusCode(201);
        append(s, s + "-6", null, """
                [{"source":"agent://planner","type":"agentstate.tool.requested","data":{"callId":"c1","tool":"geo"}},
                 {"source":"agent://tools","type":"agentstate.tool.completed","data":{"callId":"c1","output":"Oslo"}}]""")
                .then().statusCode(201).body("version", equalTo(7));
        append(s, s + "-8", null, """
                [{"source":"agent://planner","type":"agentstate.state.patched","data":{"scope":"shared",
                  "patch":{"city":"Oslo"}}},
                 {"source":"agent://planner","type":"agentstate.tool.requested","data":{"callId":"c2","tool":"weather"}}]""")
                .then().statusCode(201).body("version", equalTo(9));
        append(s, s + "-10", null, message("user", "later")).then().statusCode(201);
        append(s, s + "-11", null, """
                {"source":"agent://planner","type":"agentstate.state.patched","data":{"scope":"shared",
                 "patch":{"city":"Bergen"}}}""").then().statusCode(201).body("version", equalTo(11));
        return s;
    }

    private static Map<String, Object> carried(JsonPath state) {
        Map<String, Object> all = state.getMap("");
        return CARRIED.stream().filter(all::containsKey)
                .collect(java.util.stream.Collectors.toMap(k -> k, k -> all.get(k) == null ? "null" : all.get(k)));
    }

    private static Response fork(String session, String body, String key) {
        var request = given().contentType(ContentType.JSON);
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return request.body(body).post("/sessions/{id}/fork", session);
    }

    static Response append(String session, String id, String ifMatch, String body) {
        var request = given().contentType(ContentType.JSON).header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.body(body).post("/sessions/{id}/events", session);
    }

    private static String message(String role, String content) {
        return """
                {"source":"agent://planner","type":"agentstate.message.appended","data":{"role":"%s","content":"%s"}}"""
                .formatted(role, content);
    }

    private static String tool(String what, String data) {
        return """
                {"source":"agent://tools","type":"agentstate.tool.%s","data":%s}""".formatted(what, data);
    }
}
