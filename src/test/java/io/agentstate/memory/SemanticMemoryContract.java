package io.agentstate.memory;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.LabelledSet;
import io.agentstate.testsupport.ModelStubResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Semantic memory on the real stack, run by each storage path's test class: search by meaning on the labelled set,
 * near-duplicates, revision, forgetting one fact and a whole user (vectors included), a rebuild after a Redis flush, and
 * chat recalling facts into its prompt and recording which.
 */
abstract class SemanticMemoryContract {

    static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    RedisDataSource redis;

    @Inject
    Pool pool;

    /** The path the class runs on, as the service chose it. */
    abstract MemoryVectors.Path expectedPath();

    @Inject
    MemoryVectors vectors;

    @Test
    void shouldRunOnItsStoragePath() {
        assertThat(vectors.path().await().atMost(Duration.ofSeconds(30))).isEqualTo(expectedPath());
    }

    @Test
    void shouldRankTheLabelledSetByMeaning() throws Exception {
        LabelledSet set = LabelledSet.load(UUID.randomUUID().toString().substring(0, 8));
        for (String userId : set.users()) {
            given().contentType(ContentType.JSON).body(set.batch(userId, "agent://labelled-set").toString())
                    .post("/sessions/{id}/events", "labelled-" + userId).then().statusCode(201);
            awaitIndexed(userId);
        }
        LabelledSet.Score score = set.score();
        for (LabelledSet.Query query : set.queries()) {
            score.rank(query, given().queryParam("query", query.text()).queryParam("limit", 5)
                    .get("/users/{u}/memories", query.userId()).then().statusCode(200).extract().jsonPath()
                    .getList("memoryId", String.class));
        }
        double recallAt5 = score.recallAt5();
        double mrr = score.mrr();
        System.out.printf("labelled set on %s: %s%n", expectedPath(), score);
        // the in-process model on this set (docs/benchmarks.md); a ranking bug or a wrong vector falls far below
        assertThat(recallAt5).isGreaterThanOrEqualTo(0.8);
        assertThat(mrr).isGreaterThanOrEqualTo(0.6);
    }

    @Test
    void shouldAnswerANearDuplicateWithTheExistingFact() {
        String user = "dup-" + UUID.randomUUID();
        String session = "s-" + user;
        String original = record(user, session, "Is allergic to peanuts.").then().statusCode(201)
                .body("outcome", equalTo("recorded")).extract().path("memoryId");
        awaitIndexed(user);
        record(user, session, "is allergic to peanuts").then().statusCode(200).body("outcome", equalTo("duplicate"))
                .body("duplicateOf.memoryId", equalTo(original)).body("duplicateOf.fact", equalTo("Is allergic to peanuts."));
        // the same fact arriving as an event (an agent's write, or Kafka) is kept, marked, and left out of searches
        given().contentType(ContentType.JSON).body(fact("again-" + user, user, "Is allergic to peanuts!"))
                .post("/sessions/{id}/events", session).then().statusCode(201);
        awaitIndexed(user);
        given().get("/users/{u}/memories", user).then().statusCode(200)
                .body("find { it.memoryId == 'again-" + user + "' }.duplicateOf", equalTo(original));
        given().queryParam("query", "peanut allergy").get("/users/{u}/memories", user).then().statusCode(200)
                .body("memoryId", equalTo(List.of(original)));
        // a distinct fact is never marked, however close: both it and the original are found
        String distinct = fact("distinct-" + user, user, "Is allergic to peanuts?").replace("\"}}", "\",\"distinct\":true}}");
        given().contentType(ContentType.JSON).body(distinct).post("/sessions/{id}/events", session).then()
                .statusCode(201);
        awaitIndexed(user);
        given().queryParam("query", "peanut allergy").get("/users/{u}/memories", user).then().statusCode(200)
                .body("memoryId", containsInAnyOrder(original, "distinct-" + user));
        given().get("/users/{u}/memories", user).then().statusCode(200)
                .body("find { it.memoryId == 'distinct-" + user + "' }.duplicateOf", nullValue());
        // a different fact is not a duplicate
        record(user, session, "Prefers aisle seats on long flights").then().statusCode(201);
    }

    @Test
    void shouldReviseAndForgetOneFactWithItsVector() {
        String user = "rev-" + UUID.randomUUID();
        String session = "s-" + user;
        String id = record(user, session, "Lives in Lyon").then().statusCode(201).extract().path("memoryId");
        record(user, session, "Plays the cello in an amateur orchestra").then().statusCode(201);
        given().contentType(ContentType.JSON).body("{\"fact\":\"Moved to Berlin in 2026\"}")
                .put("/users/{u}/memories/{m}", user, id).then().statusCode(200).body("outcome", equalTo("revised"))
                .body("memoryId", equalTo(id));
        given().get("/users/{u}/memories/{m}", user, id).then().statusCode(200)
                .body("current.fact", equalTo("Moved to Berlin in 2026"))
                .body("revisions.fact", equalTo(List.of("Lives in Lyon", "Moved to Berlin in 2026")));
        awaitIndexed(user);
        Response search = given().queryParam("query", "which city is home now?").get("/users/{u}/memories", user);
        search.then().statusCode(200).body("[0].memoryId", equalTo(id)).body("[0].fact", equalTo("Moved to Berlin in 2026"));
        assertThat(search.jsonPath().getList("fact", String.class)).doesNotContain("Lives in Lyon");

        given().queryParam("reason", "the user asked").delete("/users/{u}/memories/{m}", user, id).then()
                .statusCode(200).body("outcome", equalTo("forgotten"));
        given().get("/users/{u}/memories/{m}", user, id).then().statusCode(404);
        assertThat(rows(user, id)).isZero();
        assertThat(given().queryParam("query", "which city is home now?").get("/users/{u}/memories", user).jsonPath()
                .getList("memoryId", String.class)).doesNotContain(id);
        given().contentType(ContentType.JSON).body("{\"fact\":\"x\"}").put("/users/{u}/memories/{m}", user, id).then()
                .statusCode(404);
    }

    @Test
    void shouldForgetAUserWithTheirVectors() {
        String user = "gone-" + UUID.randomUUID();
        record(user, "s-" + user, "Has a cat called Miso").then().statusCode(201);
        awaitIndexed(user);
        assertThat(vectorRows(user)).isEqualTo(1);
        given().delete("/users/{u}", user).then().statusCode(200).body("facts", equalTo(1));
        assertThat(rows(user, null)).isZero();
        given().queryParam("query", "pets").get("/users/{u}/memories", user).then().statusCode(200)
                .body("size()", equalTo(0));
    }

    @Test
    void shouldGiveTheSameSearchAfterARedisFlushAndARebuild() {
        String user = "rebuild-" + UUID.randomUUID();
        String session = "s-" + user;
        for (String fact : List.of("Works night shifts as a nurse", "Is learning Japanese", "Drinks oat milk",
                "Has two daughters", "Runs a marathon every spring")) {
            record(user, session, fact).then().statusCode(201);
        }
        awaitIndexed(user);
        String before = search(user, "what does she do for a living?");
        redis.flushall();
        given().post("/memories/rebuild").then().statusCode(202).body("model", containsString("all-minilm"));
        awaitIndexed(user);
        assertThat(search(user, "what does she do for a living?")).isEqualTo(before);
        assertThat(before).contains("nurse");
    }

    @Test
    void shouldRecallTheUsersFactsIntoChatAndRecordWhichOnes() {
        String user = "chat-" + UUID.randomUUID();
        String session = "c-" + user;
        startSession(user, session);
        String vegetarian = record(user, session, "Is vegetarian and never eats fish").then().statusCode(201)
                .extract().path("memoryId");
        record(user, session, "Supports the local football club").then().statusCode(201);
        awaitIndexed(user);
        String marker = UUID.randomUUID().toString().substring(0, 8);
        int version = given().contentType(ContentType.JSON).body("{\"message\":\"" + marker
                + " can you suggest a fish recipe for dinner tonight?\"}").post("/sessions/{id}/chat", session).then()
                .statusCode(200).extract().path("version");
        String sent = ModelStubResource.server().getAllServeEvents().stream()
                .map(event -> event.getRequest().getBodyAsString())
                // the turn's request, not the fact extraction after it (on in ExactCosineMemoryTest)
                .filter(body -> body.contains(marker) && !body.contains("keep the long-term memory")).findFirst()
                .orElseThrow();
        assertThat(sent).contains("What you know about the user").contains("Is vegetarian and never eats fish");
        Response prompt = given().queryParam("version", version).get("/sessions/{id}/prompt", session);
        prompt.then().statusCode(200).body("memories[0].memoryId", equalTo(vegetarian))
                .body("messages[0].role", equalTo("system"))
                .body("messages[0].content", containsString("Is vegetarian and never eats fish"));
        // the prompt rebuilt from the log is the one the model got
        JsonNode system = readTree(sent).get("messages").get(0);
        assertThat(prompt.jsonPath().getString("messages[0].content")).isEqualTo(system.get("content").asText());
    }

    String search(String user, String query) {
        return given().queryParam("query", query).get("/users/{u}/memories", user).then().statusCode(200).extract()
                .jsonPath().getList("", Map.class).stream().map(m -> m.get("memoryId") + "=" + m.get("fact") + "@"
                        + m.get("score"))
                .toList().toString();
    }

    static Response record(String user, String session, String fact) {
        return given().contentType(ContentType.JSON).body("{\"fact\":\"" + fact + "\",\"tags\":[\"t\"],\"sessionId\":\""
                + session + "\"}").post("/users/{u}/memories", user);
    }

    static String fact(String id, String user, String fact) {
        return "{\"id\":\"" + id + "\",\"source\":\"agent://t\",\"type\":\"agentstate.memory.recorded\",\"data\":"
                + "{\"userId\":\"" + user + "\",\"fact\":\"" + fact + "\"}}";
    }

    /** Starts a session of the user, so chat turns in it recall the user's facts. */
    static void startSession(String user, String session) {
        given().contentType(ContentType.JSON)
                .body("{\"id\":\"start-" + user + "\",\"source\":\"agent://t\",\"type\":\"agentstate.session.started\","
                        + "\"data\":{\"userId\":\"" + user + "\"}}")
                .post("/sessions/{id}/events", session).then().statusCode(201);
    }

    static void awaitIndexed(String user) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> "0".equals(given()
                .queryParam("query", "anything").get("/users/{u}/memories", user).header(MemoryResource.UNINDEXED)));
    }

    long rows(String user, String memoryId) {
        return pool.preparedQuery("SELECT count(*) FROM memories WHERE user_id = $1 AND ($2::text IS NULL OR "
                + "memory_id = $2)").execute(Tuple.of(user, memoryId)).await().indefinitely().iterator().next()
                .getLong(0);
    }

    long vectorRows(String user) {
        return pool.preparedQuery("SELECT count(*) FROM memories WHERE user_id = $1 AND embedding IS NOT NULL")
                .execute(Tuple.of(user)).await().indefinitely().iterator().next().getLong(0);
    }

    static JsonNode readTree(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
