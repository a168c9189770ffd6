package io.agentstate.ledger;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.EventCodec;
import io.agentstate.query.SessionResponse;
import io.agentstate.testsupport.Kafka;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/** The invariants of DESIGN §2 on the real stack, one session (or a few) per test. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class LedgerInvariantsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    RedisDataSource redis;

    @Inject
    EventCodec codec;

    @Inject
    ArchiveRepository archive;

    @Inject
    Pool pool;

    private static String message(String session, String id, String content) {
        return """
                {"specversion":"1.0","id":"%s","source":"agent://test","type":"agentstate.message.appended",
                 "subject":"%s","data":{"role":"user","content":"%s"}}""".formatted(id, session, content);
    }

    private static Response post(String session, String key, String ifMatch, String body) {
        var request = given().contentType(ContentType.JSON).body(body);
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.when().post("/sessions/{id}/events", session);
    }

    private static void awaitVersion(String session, int version) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/sessions/{id}", session)
                .then().statusCode(200).body("version", equalTo(version)));
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void shouldNeverLoseAnUpdateUnderConcurrentConditionalWriters() throws Exception {
        String session = "occ-" + UUID.randomUUID();
        post(session, session + "-start", null, """
                {"source":"agent://test","type":"agentstate.state.patched","data":{"scope":"shared","patch":{"counter":0}}}""")
                .then().statusCode(201);
        int writers = 32;
        int attemptsEach = 4;
        AtomicInteger successes = new AtomicInteger();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            futures.add(pool.submit(() -> {
                for (int a = 0; a < attemptsEach; a++) {
                    Response read = given().get("/sessions/{id}", session);
                    int version = read.jsonPath().getInt("version");
                    int counter = read.jsonPath().getInt("scopes.shared.counter");
                    Response write = post(session, session + "-w" + writer + "-" + a, "\"" + version + "\"", """
                            {"source":"agent://writer-%d","type":"agentstate.state.patched",
                             "data":{"scope":"shared","patch":{"counter":%d}}}""".formatted(writer, counter + 1));
                    switch (write.statusCode()) {
                        case 201 -> successes.incrementAndGet();
                        case 409 -> {
                            conflicts.incrementAndGet();
                            assertThat(write.contentType()).startsWith("application/problem+json");
                            assertThat(write.jsonPath().getLong("currentVersion")).isGreaterThan(version);
                        }
                        default -> other.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> future : futures) {
            future.get();
        }
        pool.shutdown();

        assertThat(other.get()).isZero();
        assertThat(successes.get() + conflicts.get()).isEqualTo(writers * attemptsEach);
        assertThat(successes.get()).isPositive();
        Response state = given().get("/sessions/{id}", session);
        assertThat(state.jsonPath().getInt("version")).isEqualTo(1 + successes.get());
        // every accepted write incremented what it read, so no increment was lost
        assertThat(state.jsonPath().getInt("scopes.shared.counter")).isEqualTo(successes.get());
        List<String> outcomes = given().get("/sessions/{id}/events?limit=1000", session)
                .then().statusCode(200).extract().jsonPath().getList("entries.outcome", String.class);
        assertThat(outcomes.stream().filter("conflict"::equals).count()).isEqualTo(conflicts.get());
        assertThat(outcomes.stream().filter("accepted"::equals).count()).isEqualTo(1 + successes.get());
    }

    @Test
    void shouldAnswerARepeatOfARefusedWriteWithItsOriginalStatus() {
        String session = "refused-" + UUID.randomUUID();
        String body = """
                {"source":"agent://t","type":"agentstate.message.appended","data":{"role":"user","content":"x"}}""";
        post(session, session + "-1", null, body).then().statusCode(201);
        post(session, session + "-stale", "0", body).then().statusCode(409).body("currentVersion", equalTo(1));
        // the retry of a refused write is refused again, marked as a repeat; nothing is applied
        post(session, session + "-stale", "0", body).then().statusCode(409).body("repeat", equalTo(true));
        assertThat(given().get("/sessions/{id}", session).jsonPath().getInt("version")).isEqualTo(1);
        // ids with characters a URL path cannot hold still get a usable Location
        post(session, session + " odd/id?", null, body).then().statusCode(201)
                .header("Location", org.hamcrest.Matchers.containsString("odd%2Fid%3F"));
    }

    @Test
    void shouldApplyEachEventOnceWhateverTheRepeats() {
        String session = "dup-" + UUID.randomUUID();
        for (int i = 0; i < 20; i++) {
            String event = message(session, session + "-" + i, "m" + i);
            Kafka.sendStructured(session, event);
            Kafka.sendStructured(session, event);
        }
        awaitVersion(session, 20);
        String body = """
                {"source":"agent://rest","type":"agentstate.message.appended","data":{"role":"user","content":"retry me"}}""";
        Response first = post(session, session + "-rest", null, body);
        first.then().statusCode(201).body("version", equalTo(21));
        for (int retry = 0; retry < 3; retry++) {
            post(session, session + "-rest", null, body).then().statusCode(200)
                    .body("outcome", equalTo("duplicate")).body("version", equalTo(21));
        }
        // a producer duplicate sent after the REST event is still recognised by its id
        Kafka.sendStructured(session, message(session, session + "-3", "m3"));
        post(session, session + "-marker", null, body.replace("retry me", "marker")).then().statusCode(201)
                .body("version", equalTo(22));
        Response state = given().get("/sessions/{id}", session);
        assertThat(state.jsonPath().getInt("version")).isEqualTo(22);
        assertThat(state.jsonPath().getList("messages.content", String.class)).hasSize(22).doesNotHaveDuplicates();
    }

    @Test
    void shouldDeadLetterExactlyTheBadRecordsAndApplyTheRest() {
        String session = "dlq-" + UUID.randomUUID();
        Map<String, String> bad = new HashMap<>();
        bad.put("not json", "{this is not json");
        bad.put("schema", """
                {"specversion":"1.0","id":"%s-bad-schema","source":"agent://t","type":"agentstate.message.appended",
                 "subject":"%s","data":{"content":"no role"}}""".formatted(session, session));
        bad.put("reserved type", """
                {"specversion":"1.0","id":"%s-bad-type","source":"agent://t","type":"agentstate.nonsense",
                 "subject":"%s","data":{}}""".formatted(session, session));
        bad.put("deep", """
                {"specversion":"1.0","id":"%s-deep","source":"agent://t","type":"com.example.deep","subject":"%s",
                 "data":%s}""".formatted(session, session, "[".repeat(40) + "]".repeat(40)));
        bad.put("oversized", message(session, session + "-big", "x".repeat(300_000)));
        bad.put("no id", """
                {"specversion":"1.0","source":"agent://t","type":"agentstate.message.appended","subject":"%s",
                 "data":{"role":"user","content":"no id"}}""".formatted(session));
        int valid = 0;
        for (String payload : bad.values()) {
            Kafka.sendStructured(session, message(session, session + "-ok-" + valid, "ok " + valid));
            valid++;
            Kafka.sendStructured(session, payload);
        }
        Kafka.sendStructured(session, message(session, session + "-ok-" + valid, "ok " + valid));
        valid++;
        awaitVersion(session, valid);

        List<ConsumerRecord<String, byte[]>> dead = Kafka.readAll(Kafka.DEAD_LETTERS, Set.of(session), bad.size(),
                Duration.ofSeconds(30));
        assertThat(dead).hasSize(bad.size());
        List<String> values = dead.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
        assertThat(values).containsExactlyInAnyOrderElementsOf(bad.values());
        for (ConsumerRecord<String, byte[]> record : dead) {
            String reason = new String(record.headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8);
            assertThat(reason).isNotBlank();
            assertThat(record.headers().lastHeader(DeadLetters.OFFSET)).isNotNull();
        }
        List<String> contents = given().get("/sessions/{id}", session).jsonPath().getList("messages.content",
                String.class);
        assertThat(contents).hasSize(valid).allMatch(c -> c.startsWith("ok "));
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void shouldRebuildIdenticalViewsAfterRedisIsFlushed() {
        List<String> sessions = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            String session = "flush-" + UUID.randomUUID();
            sessions.add(session);
            writeVariedSession(session, 130, new Random(s));
        }
        Map<String, JsonNode> before = new HashMap<>();
        for (String session : sessions) {
            before.put(session, json(given().get("/sessions/{id}", session).then().statusCode(200).extract().asString()));
        }
        redis.flushall();
        for (String session : sessions) {
            JsonNode after = json(given().get("/sessions/{id}", session).then().statusCode(200).extract().asString());
            assertThat(after).isEqualTo(before.get(session));
            // the second read is served by the rebuilt view and still equal
            assertThat(json(given().get("/sessions/{id}", session).asString())).isEqualTo(before.get(session));
        }
    }

    @Test
    void shouldReadPastStatesThatAgreeWithAFoldOfTheTimeline() {
        String session = "pit-" + UUID.randomUUID();
        int versions = writeVariedSession(session, 240, new Random(42));
        List<JsonNode> timeline = new ArrayList<>();
        String cursor = null;
        do {
            Response page = cursor == null ? given().get("/sessions/{id}/events?limit=100", session)
                    : given().get("/sessions/{id}/events?limit=100&cursor={c}", session, cursor);
            JsonNode body = json(page.asString());
            body.get("entries").forEach(timeline::add);
            cursor = body.hasNonNull("next") ? body.get("next").asText() : null;
        } while (cursor != null);
        List<SessionState> folded = new ArrayList<>();
        SessionState state = SessionState.empty("default", session);
        for (JsonNode entry : timeline) {
            if (entry.get("outcome").asText().equals("accepted")) {
                byte[] payload = entry.get("event").toString().getBytes(StandardCharsets.UTF_8);
                state = state.apply(codec.decodeArchived(payload), entry.get("version").asLong(),
                        codec.encode(codec.decodeArchived(payload)).length);
                folded.add(state);
            }
        }
        assertThat(folded).hasSize(versions);
        Random random = new Random(7);
        for (int i = 0; i < 12; i++) {
            int version = 1 + random.nextInt(versions);
            JsonNode past = json(given().get("/sessions/{id}/state?version={v}", session, version)
                    .then().statusCode(200).extract().asString());
            JsonNode expected = json(ViewCodec.write(SessionResponse.from(folded.get(version - 1))));
            assertThat(past).as("state at version %d", version).isEqualTo(expected);
        }
        JsonNode current = json(given().get("/sessions/{id}", session).asString());
        assertThat(current).isEqualTo(json(ViewCodec.write(SessionResponse.from(folded.get(versions - 1)))));
    }

    @Test
    void shouldEraseASessionEverywhereAndLetItsIdStartAgain() {
        String session = "erase-" + UUID.randomUUID();
        String user = "user-" + session;
        writeVariedSession(session, 120, new Random(3));
        post(session, session + "-fact", null, """
                {"source":"agent://t","type":"agentstate.memory.recorded","data":{"userId":"%s","fact":"likes tea"}}"""
                .formatted(user)).then().statusCode(201);
        given().get("/users/{u}/memories", user).then().statusCode(200).body("size()", equalTo(1));
        given().delete("/sessions/{id}", session).then().statusCode(204);

        given().get("/sessions/{id}", session).then().statusCode(404).contentType("application/problem+json");
        given().get("/sessions/{id}/events", session).then().statusCode(404);
        given().get("/sessions/{id}/state?version=5", session).then().statusCode(404);
        given().get("/users/{u}/memories", user).then().statusCode(200).body("size()", equalTo(0));
        // the view is gone at once; short-lived decision keys (ids and versions, no content) expire on their own, and
        // the floor holds the generation the id's next life starts at, so no late write of this one can come back
        // (the 204 may come from PostgreSQL a moment before the ledger's Redis pipeline has run)
        awaitFloor(session, "1:0");
        assertThat(redis.key().keys("as:{default:" + session + "}:*"))
                .allMatch(key -> key.startsWith("as:{default:" + session + "}:decision:")
                        || key.equals("as:{default:" + session + "}:floor"));
        given().delete("/sessions/{id}", session).then().statusCode(404);

        post(session, session + "-again", null, """
                {"source":"agent://t","type":"agentstate.message.appended","data":{"role":"user","content":"anew"}}""")
                .then().statusCode(201).body("version", equalTo(1));
        Response state = given().get("/sessions/{id}", session);
        assertThat(state.jsonPath().getList("messages.content", String.class)).containsExactly("anew");
        assertThat(state.jsonPath().getMap("toolCalls")).isEmpty();
        assertThat(given().get("/sessions/{id}/events", session).jsonPath().getList("entries")).hasSize(1);
        // a rebuild from PostgreSQL finds only the new life too (no snapshot of the erased one survives)
        redis.flushall();
        assertThat(given().get("/sessions/{id}", session).jsonPath().getList("messages.content", String.class))
                .containsExactly("anew");

        // a snapshot folded in the erased life and stored late (a race with the erasure's commit) is refused, and
        // one of the current life is kept; the old life's first event has the new one's time, so only the
        // generation tells them apart
        SessionKey key = new SessionKey("default", session);
        String sameTime = given().get("/sessions/{id}", session).jsonPath().getString("createdAt");
        String oldEvent = json(message(session, session + "-old", "erased")).deepCopy().toString();
        ObjectNode timed = (ObjectNode) json(oldEvent);
        timed.put("time", sameTime);
        SessionState oldLife = SessionState.empty("default", session).apply(codec.decodeArchived(
                timed.toString().getBytes(StandardCharsets.UTF_8)), 1, 100);
        assertThat(oldLife.createdAt()).isEqualTo(archive.stateAt(key, 1).await().atMost(Duration.ofSeconds(10))
                .createdAt());
        archive.saveSnapshot(oldLife, 0, 3).await().atMost(Duration.ofSeconds(10));
        assertThat(snapshotGenerations(session)).isEmpty();
        archive.saveSnapshot(archive.stateAt(key, 1).await().atMost(Duration.ofSeconds(10)), 1, 3)
                .await().atMost(Duration.ofSeconds(10));
        assertThat(snapshotGenerations(session)).containsExactly(1L);

        // and a second erasure is a second generation
        given().delete("/sessions/{id}", session).then().statusCode(204);
        awaitFloor(session, "2:0");
        post(session, session + "-third", null, """
                {"source":"agent://t","type":"agentstate.message.appended","data":{"role":"user","content":"third"}}""")
                .then().statusCode(201).body("version", equalTo(1));
        assertThat(given().get("/sessions/{id}", session).jsonPath().getList("messages.content", String.class))
                .containsExactly("third");
        awaitFloor(session, "2:1");
    }

    private void awaitFloor(String session, String floor) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                redis.value(String.class).get("as:{default:" + session + "}:floor")).isEqualTo(floor));
    }

    private List<Long> snapshotGenerations(String session) {
        List<Long> generations = new ArrayList<>();
        pool.preparedQuery("SELECT generation FROM snapshots WHERE tenant = 'default' AND session_id = $1")
                .execute(Tuple.of(session)).await().atMost(Duration.ofSeconds(10))
                .forEach(row -> generations.add(row.getLong("generation")));
        return generations;
    }

    // A mix of every state-changing type, sent as one atomic batch per 10 events so the test stays quick.
    private int writeVariedSession(String session, int count, Random random) {
        List<String> batch = new ArrayList<>();
        int version = 0;
        int openCall = -1;
        for (int i = 0; i < count; i++) {
            String type;
            String data;
            int pick = random.nextInt(6);
            if (i == 0) {
                type = "agentstate.session.started";
                data = "{\"userId\":\"u-" + session + "\",\"metadata\":{\"channel\":\"test\"}}";
            } else if (pick == 0 && openCall < 0) {
                openCall = i;
                type = "agentstate.tool.requested";
                data = "{\"callId\":\"c" + i + "\",\"tool\":\"search\",\"arguments\":{\"q\":\"" + i + "\"}}";
            } else if (pick == 1 && openCall >= 0) {
                type = "agentstate.tool.completed";
                data = "{\"callId\":\"c" + openCall + "\",\"output\":{\"hits\":" + i + "}}";
                openCall = -1;
            } else if (pick == 2) {
                type = "agentstate.state.patched";
                data = "{\"scope\":\"agent:planner\",\"patch\":{\"step\":" + i + ",\"note\":"
                        + (random.nextBoolean() ? "null" : "\"n" + i + "\"") + "}}";
            } else if (pick == 3 && version > 20 && version % 50 > 40) {
                type = "agentstate.summary.recorded";
                data = "{\"throughVersion\":" + (version - 5) + ",\"summary\":\"up to " + (version - 5) + "\"}";
            } else {
                type = "agentstate.message.appended";
                data = "{\"role\":\"" + (random.nextBoolean() ? "user" : "assistant") + "\",\"content\":\"message "
                        + i + " " + "é✓".repeat(random.nextInt(3)) + "\"}";
            }
            batch.add("{\"source\":\"agent://test\",\"type\":\"" + type + "\",\"time\":\"2026-01-01T00:00:"
                    + String.format("%02d", i % 60) + "Z\",\"data\":" + data + "}");
            version++;
            if (batch.size() == 10 || i == count - 1) {
                post(session, session + "-b" + version, null, "[" + String.join(",", batch) + "]")
                        .then().statusCode(201).body("version", equalTo(version));
                batch.clear();
            }
        }
        return version;
    }
}
