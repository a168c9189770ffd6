package io.agentstate.chat;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;

import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/** Conversation turns against a real OpenAI-protocol HTTP server, with the request bodies it received asserted. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
class ChatTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SYSTEM = "You are a helpful assistant. Answer concisely and use the conversation so far.";

    @Inject
    RedisDataSource redis;

    @Inject
    SessionTurnQueue queue;

    // Extra behaviours of the model server for these tests: a slow answer (a window for another writer to move the
    // session), and replies too large to record, by characters and by bytes.
    @BeforeAll
    static void stubMore() {
        String completion = """
                {"id":"chatcmpl-stub","object":"chat.completion","created":1700000000,"model":"stub-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}]}""";
        ModelStubResource.server().stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("SLOW-ME"))
                .willReturn(aResponse().withFixedDelay(1500).withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("slow answer"))));
        ModelStubResource.server().stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("HUGE-CHARS-ME"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("x".repeat(200_001)))));
        ModelStubResource.server().stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("HUGE-BYTES-ME"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json; charset=utf-8")
                        .withBody(completion.formatted("\u20ac".repeat(100_000)))));
        ModelStubResource.server().stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("NUL-ME"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("before\\u0000after"))));
    }

    private static Response chat(String session, String message, String key) {
        var request = given().contentType(ContentType.JSON).body("{\"message\":\"" + message + "\"}");
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return request.when().post("/sessions/{id}/chat", session);
    }

    /** The messages of every model request that mentions a marker, in arrival order. */
    private static List<JsonNode> requestsMentioning(String marker) {
        List<ServeEvent> events = new ArrayList<>(ModelStubResource.server().getAllServeEvents());
        events.sort((a, b) -> a.getRequest().getLoggedDate().compareTo(b.getRequest().getLoggedDate()));
        List<JsonNode> found = new ArrayList<>();
        for (ServeEvent event : events) {
            String body = event.getRequest().getBodyAsString();
            if (body.contains(marker)) {
                try {
                    found.add(JSON.readTree(body).get("messages"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return found;
    }

    // the rebuilt prompt of the reply at a version, in the format of roles()
    private static String rebuilt(String session, int version) {
        List<String> parts = new ArrayList<>();
        given().get("/sessions/{id}/prompt?version={v}", session, version).then().statusCode(200).extract().jsonPath()
                .getList("messages", Map.class)
                .forEach(m -> parts.add(m.get("role") + ":" + m.get("content")));
        return String.join(" | ", parts);
    }

    private static String roles(JsonNode messages) {
        List<String> parts = new ArrayList<>();
        messages.forEach(m -> parts.add(m.get("role").asText() + ":" + m.get("content").asText()));
        return String.join(" | ", parts);
    }

    @Test
    void shouldSendExactlyTheWindowAndRecordEveryTurn() {
        String session = "chat-" + UUID.randomUUID();
        String m = session.substring(5, 13);
        chat(session, m + "-one", null).then().statusCode(200).body("reply", equalTo("echo: " + m + "-one"))
                .body("version", equalTo(2));
        chat(session, m + "-two", null).then().statusCode(200).body("version", equalTo(4));
        chat(session, m + "-three", null).then().statusCode(200).body("version", equalTo(6));

        List<JsonNode> requests = requestsMentioning(m);
        assertThat(requests).hasSize(3);
        assertThat(roles(requests.get(0))).isEqualTo("system:" + SYSTEM + " | user:" + m + "-one");
        assertThat(roles(requests.get(1))).isEqualTo("system:" + SYSTEM + " | user:" + m + "-one | assistant:echo: "
                + m + "-one | user:" + m + "-two");
        assertThat(roles(requests.get(2))).isEqualTo("system:" + SYSTEM + " | user:" + m + "-one | assistant:echo: "
                + m + "-one | user:" + m + "-two | assistant:echo: " + m + "-two | user:" + m + "-three");

        // what the model saw, rebuilt from the log alone, is exactly what the stub received
        for (int turn = 0; turn < 3; turn++) {
            assertThat(rebuilt(session, 2 * turn + 2)).isEqualTo(roles(requests.get(turn)));
        }
        given().get("/sessions/{id}/prompt?version=1", session).then().statusCode(400);
        given().get("/sessions/{id}/prompt?version=3", session).then().statusCode(404)
                .body("detail", containsString("not a reply written by the chat endpoint"));
        given().get("/sessions/{id}/prompt?version=99", session).then().statusCode(404);

        Response timeline = given().get("/sessions/{id}/events", session);
        assertThat(timeline.jsonPath().getList("entries.version", Integer.class)).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(timeline.jsonPath().getList("entries.event.data.role", String.class))
                .containsExactly("user", "assistant", "user", "assistant", "user", "assistant");
    }

    @Test
    void shouldRefuseATurnKeyOfAnotherSessionAt409EveryTimeWithoutAskingTheModelAgain() {
        String a = "key-a-" + UUID.randomUUID();
        String b = "key-b-" + UUID.randomUUID();
        String key = "turn-" + UUID.randomUUID();
        String m = a.substring(6, 14);
        chat(a, m + "-first", key).then().statusCode(200);
        for (int i = 0; i < 3; i++) {
            chat(b, m + "-again", key).then().statusCode(409).body("type", containsString("turn-refused"))
                    .body("detail", containsString("another session"));
        }
        // the key is looked up before the model is asked: a refused turn costs no model call
        assertThat(requestsMentioning(m + "-again")).isEmpty();
        given().get("/sessions/{id}", b).then().statusCode(404);
    }

    @Test
    void shouldSummarisePastTheBudgetAndPromptWithTheSummary() {
        String session = "sum-" + UUID.randomUUID();
        String m = session.substring(4, 12);
        for (int i = 1; i <= 4; i++) {
            chat(session, m + "-" + i, null).then().statusCode(200);
        }
        // 8 verbatim messages > budget 6: the older ones (all but the last 2) are summarised, after the reply
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/sessions/{id}", session).then()
                .body("summary.text", equalTo(ModelStubResource.SUMMARY)).body("summary.throughVersion", equalTo(6))
                .body("summary.promptVersion", equalTo(ConversationSummarizer.PROMPT_VERSION)));
        List<JsonNode> summariser = requestsMentioning("running summary of a conversation");
        assertThat(summariser.stream().filter(r -> r.toString().contains(m + "-1"))).hasSize(1);

        chat(session, m + "-5", null).then().statusCode(200).body("version", equalTo(11));
        List<JsonNode> requests = requestsMentioning(m + "-5");
        JsonNode last = requests.get(requests.size() - 1);
        assertThat(roles(last)).isEqualTo("system:" + SYSTEM + "\n\nSummary of the conversation so far:\n"
                + ModelStubResource.SUMMARY + " | user:" + m + "-4 | assistant:echo: " + m + "-4 | user:" + m + "-5");
        JsonPath prompt = given().get("/sessions/{id}/prompt?version=11", session).then().statusCode(200).extract()
                .jsonPath();
        assertThat(rebuilt(session, 11)).isEqualTo(roles(last));
        assertThat(prompt.getLong("windowVersion")).isEqualTo(9);
        assertThat(prompt.getLong("summaryVersion")).isEqualTo(given().get("/sessions/{id}", session).jsonPath()
                .getLong("summary.version"));
        assertThat(prompt.getString("promptVersion")).startsWith("sha256:");
    }

    @Test
    void shouldKeepSessionsApartAndTurnsWholeUnderConcurrency() throws Exception {
        String a = "iso-a-" + UUID.randomUUID();
        String b = "iso-b-" + UUID.randomUUID();
        List<CompletableFuture<Response>> turns = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int n = i;
            turns.add(CompletableFuture.supplyAsync(() -> chat(a, "alpha-" + a.substring(6, 14) + "-" + n, null)));
            turns.add(CompletableFuture.supplyAsync(() -> chat(b, "beta-" + b.substring(6, 14) + "-" + n, null)));
        }
        for (CompletableFuture<Response> turn : turns) {
            assertThat(turn.get().statusCode()).isEqualTo(200);
        }
        for (JsonNode request : requestsMentioning(a.substring(6, 14))) {
            assertThat(request.toString()).doesNotContain(b.substring(6, 14));
        }
        for (JsonNode request : requestsMentioning(b.substring(6, 14))) {
            assertThat(request.toString()).doesNotContain(a.substring(6, 14));
        }
        for (String session : List.of(a, b)) {
            Response state = given().get("/sessions/{id}", session);
            assertThat(state.jsonPath().getInt("version")).isEqualTo(6);
            List<String> roles = state.jsonPath().getList("messages.role", String.class);
            List<String> contents = state.jsonPath().getList("messages.content", String.class);
            // each turn is an intact user-then-assistant pair, never interleaved with another turn
            for (int i = 0; i < 6; i += 2) {
                assertThat(roles.get(i)).isEqualTo("user");
                assertThat(roles.get(i + 1)).isEqualTo("assistant");
                assertThat(contents.get(i + 1)).isEqualTo("echo: " + contents.get(i));
            }
        }
    }

    @Test
    void shouldAnswerAndRecordEveryConcurrentTurnOfOneSessionWhole() throws Exception {
        String session = "many-" + UUID.randomUUID();
        String m = session.substring(5, 13);
        int turns = 8;
        List<CompletableFuture<Response>> answers = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            int n = i;
            answers.add(CompletableFuture.supplyAsync(() -> chat(session, m + "-c" + n, session + "-k" + n)));
        }
        Map<String, Integer> answered = new HashMap<>();
        for (int i = 0; i < turns; i++) {
            Response answer = answers.get(i).get();
            answer.then().statusCode(200).body("reply", equalTo("echo: " + m + "-c" + i))
                    .body("turnId", equalTo(session + "-k" + i)).body("repeated", equalTo(false));
            answered.put(m + "-c" + i, answer.jsonPath().getInt("version"));
        }

        // Accepted versions are 1..n without a gap; apart from a summary the budget may trigger, they are the turns'
        // messages, each user message immediately followed by its own answer, at the version its answer named.
        Response timeline = given().queryParam("limit", 100).get("/sessions/{id}/events", session);
        List<JsonNode> accepted = new ArrayList<>();
        for (JsonNode entry : readTree(timeline.asString()).get("entries")) {
            if (entry.hasNonNull("version")) {
                accepted.add(entry);
            }
        }
        for (int i = 0; i < accepted.size(); i++) {
            assertThat(accepted.get(i).get("version").asInt()).isEqualTo(i + 1);
        }
        List<JsonNode> messages = accepted.stream()
                .filter(e -> e.at("/event/type").asText().equals("agentstate.message.appended")).toList();
        assertThat(accepted).filteredOn(e -> !e.at("/event/type").asText().equals("agentstate.message.appended"))
                .allSatisfy(e -> assertThat(e.at("/event/type").asText()).isEqualTo("agentstate.summary.recorded"));
        assertThat(messages).hasSize(2 * turns);
        Map<String, Integer> recorded = new HashMap<>();
        for (int i = 0; i < messages.size(); i += 2) {
            JsonNode user = messages.get(i);
            JsonNode assistant = messages.get(i + 1);
            assertThat(user.at("/event/data/role").asText()).isEqualTo("user");
            assertThat(assistant.at("/event/data/role").asText()).isEqualTo("assistant");
            assertThat(assistant.get("version").asInt()).isEqualTo(user.get("version").asInt() + 1);
            assertThat(assistant.at("/event/data/content").asText())
                    .isEqualTo("echo: " + user.at("/event/data/content").asText());
            recorded.put(user.at("/event/data/content").asText(), assistant.get("version").asInt());
        }
        assertThat(recorded).isEqualTo(answered);
        await().atMost(Duration.ofSeconds(10)).until(() -> queue.busySessions() == 0);
    }

    @Test
    void shouldRetryATurnThatLostTheRaceOnTheNewStateWithoutBurningItsKey() throws Exception {
        String session = "race-" + UUID.randomUUID();
        String marker = session.substring(5, 13) + " SLOW-ME";
        String key = "race-key-" + UUID.randomUUID();
        appendAgentMessage(session, session + "-e1", "before the turn").then().statusCode(201)
                .body("version", equalTo(1));
        CompletableFuture<Response> turn = CompletableFuture.supplyAsync(() -> chat(session, marker, key));
        // while the model is answering, another writer (an agent, another replica) moves the session on
        await().atMost(Duration.ofSeconds(10)).until(() -> requestsMentioning(marker).size() == 1);
        appendAgentMessage(session, session + "-e2", "during the turn").then().statusCode(201)
                .body("version", equalTo(2));

        turn.get().then().statusCode(200).body("reply", equalTo("slow answer")).body("version", equalTo(4))
                .body("repeated", equalTo(false));
        List<JsonNode> asked = requestsMentioning(marker);
        assertThat(asked).hasSize(2);
        // the second attempt was built on the new state
        assertThat(roles(asked.get(1))).isEqualTo("system:" + SYSTEM + " | user:before the turn | user:during the turn"
                + " | user:" + marker);
        Response state = given().get("/sessions/{id}", session);
        assertThat(state.jsonPath().getList("messages.content", String.class))
                .containsExactly("before the turn", "during the turn", marker, "slow answer");

        // the lost attempt did not burn the key: a repeat gets the recorded reply, without a model call
        chat(session, marker, key).then().statusCode(200).body("reply", equalTo("slow answer"))
                .body("version", equalTo(4)).body("repeated", equalTo(true));
        assertThat(requestsMentioning(marker)).hasSize(2);
    }

    @Test
    void shouldAnswer502WhenTheReplyIsTooLargeToRecord() {
        String session = "huge-" + UUID.randomUUID();
        chat(session, "hello", null).then().statusCode(200).body("version", equalTo(2));
        String before = given().get("/sessions/{id}", session).asString();
        chat(session, "please HUGE-CHARS-ME", null).then().statusCode(502).contentType("application/problem+json")
                .body("type", equalTo("https://agent-state.dev/problems/model-reply-too-large"))
                .body("status", equalTo(502))
                .body("detail", containsString("200001 characters"))
                .body("detail", containsString("the session is unchanged"));
        chat(session, "please HUGE-BYTES-ME", null).then().statusCode(502).contentType("application/problem+json")
                .body("type", equalTo("https://agent-state.dev/problems/model-reply-too-large"))
                .body("detail", containsString("agent-state.ingest.max-event-bytes (262144)"));
        assertThat(readTree(given().get("/sessions/{id}", session).asString())).isEqualTo(readTree(before));
    }

    @Test
    void shouldRefuseTextThatCannotBeStoredBeforeAskingTheModelAndAReplyThatCannotBeStoredWith502() {
        String session = "text-" + UUID.randomUUID();
        String marker = session.substring(5, 13) + "-lone";
        chat(session, marker + " \\ud800", null).then().statusCode(400)
                .body("type", equalTo("https://agent-state.dev/problems/invalid-request"))
                .body("detail", containsString("surrogate"));
        assertThat(requestsMentioning(marker)).isEmpty();

        chat(session, "hello", null).then().statusCode(200).body("version", equalTo(2));
        chat(session, "please NUL-ME", null).then().statusCode(502)
                .body("type", equalTo("https://agent-state.dev/problems/model-reply-unstorable"));
        given().get("/sessions/{id}", session).then().statusCode(200).body("version", equalTo(2));
    }

    @Test
    void shouldCallTheModelOnceForARetriedTurn() {
        String session = "idem-" + UUID.randomUUID();
        String marker = session.substring(5, 13) + "-once";
        String key = "turn-" + UUID.randomUUID();
        Response first = chat(session, marker, key);
        first.then().statusCode(200);
        Response second = chat(session, marker, key);
        second.then().statusCode(200).body("reply", equalTo(first.jsonPath().getString("reply")))
                .body("version", equalTo(first.jsonPath().getInt("version"))).body("repeated", equalTo(true));
        assertThat(requestsMentioning(marker)).hasSize(1);
        assertThat(given().get("/sessions/{id}", session).jsonPath().getInt("version")).isEqualTo(2);
    }

    @Test
    void shouldRebuildIdenticalMemoryAfterRedisFlushWithoutCallingTheModel() {
        String session = "rebuild-" + UUID.randomUUID();
        String m = session.substring(8, 16);
        chat(session, m + "-a", null).then().statusCode(200);
        chat(session, m + "-b", null).then().statusCode(200);
        String before = given().get("/sessions/{id}", session).asString();
        int calls = ModelStubResource.server().getAllServeEvents().size();
        redis.flushall();
        String after = given().get("/sessions/{id}", session).asString();
        assertThat(readTree(after)).isEqualTo(readTree(before));
        assertThat(ModelStubResource.server().getAllServeEvents()).hasSize(calls);
        chat(session, m + "-c", null).then().statusCode(200).body("version", equalTo(6));
        List<JsonNode> requests = requestsMentioning(m + "-c");
        assertThat(roles(requests.get(0))).isEqualTo("system:" + SYSTEM + " | user:" + m + "-a | assistant:echo: " + m
                + "-a | user:" + m + "-b | assistant:echo: " + m + "-b | user:" + m + "-c");
    }

    @Test
    void shouldAnswer504And502AndLeaveMemoryUnchangedWhenTheModelFails() {
        String session = "fail-" + UUID.randomUUID();
        chat(session, "hello", null).then().statusCode(200).body("version", equalTo(2));
        String before = given().get("/sessions/{id}", session).asString();
        String m = session.substring(5, 13);
        chat(session, m + " please TIMEOUT-ME", null).then().statusCode(504)
                .contentType("application/problem+json").body("status", equalTo(504))
                .body("type", equalTo("https://agent-state.dev/problems/model-timeout"))
                .body("detail", equalTo("the model did not answer in time; the session is unchanged"));
        chat(session, m + " please FAIL-ME", null).then().statusCode(502)
                .contentType("application/problem+json").body("status", equalTo(502))
                .body("type", equalTo("https://agent-state.dev/problems/model-error"))
                .body("detail", equalTo("the model call failed; the session is unchanged"));
        // max-retries=1 is one retry after the first attempt: a failing call costs two requests, a timeout two waits
        assertThat(requestsMentioning(m + " please FAIL-ME")).hasSize(2);
        assertThat(requestsMentioning(m + " please TIMEOUT-ME")).hasSize(2);
        assertThat(readTree(given().get("/sessions/{id}", session).asString())).isEqualTo(readTree(before));
        // a model failure on a new session creates nothing
        given().contentType(ContentType.JSON).body("{\"message\":\"FAIL-ME\"}")
                .post("/sessions/{id}/chat", "fail-new-" + UUID.randomUUID()).then().statusCode(502);
    }

    @Test
    void shouldStreamTokensThenTheVersion() {
        String session = "stream-" + UUID.randomUUID();
        String marker = session.substring(7, 15);
        String body = given().contentType(ContentType.JSON).body("{\"message\":\"" + marker + "\"}")
                .post("/sessions/{id}/chat/stream", session).then().statusCode(200).extract().asString();
        List<JsonNode> events = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data:")) {
                events.add(readTree(line.substring(5).trim()));
            }
        }
        StringBuilder text = new StringBuilder();
        events.stream().filter(e -> e.get("type").asText().equals("token")).forEach(e -> text.append(e.get("text")
                .asText()));
        assertThat(text.toString()).isEqualTo("echo: " + marker);
        JsonNode done = events.get(events.size() - 1);
        assertThat(done.get("type").asText()).isEqualTo("done");
        assertThat(done.get("version").asInt()).isEqualTo(2);
        assertThat(given().get("/sessions/{id}", session).jsonPath().getList("messages.content", String.class))
                .containsExactly(marker, "echo: " + marker);
    }

    @Test
    void shouldRejectABlankMessage() {
        given().contentType(ContentType.JSON).body("{\"message\":\"  \"}").post("/sessions/{id}/chat", "blank-x")
                .then().statusCode(400).contentType("application/problem+json")
                .body("status", equalTo(400)).body("type", equalTo("https://agent-state.dev/problems/invalid-request"))
                .body("detail", equalTo("message must not be blank"));
        given().get("/sessions/{id}", "blank-x").then().statusCode(404);
    }

    private static Response appendAgentMessage(String session, String id, String content) {
        return given().contentType(ContentType.JSON).header("Idempotency-Key", id)
                .body("{\"source\":\"agent://planner\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"" + content + "\"}}")
                .post("/sessions/{id}/events", session);
    }

    private static JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
