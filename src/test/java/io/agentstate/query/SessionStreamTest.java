package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.agentstate.ingest.DecisionWaiter;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.RedisConnection;
import io.vertx.mutiny.redis.client.Request;

/**
 * {@code GET /sessions/{id}/stream} on the real stack, read with {@link HttpClient} as a browser's EventSource would:
 * fan-out to many clients over one Redis subscription, resuming with Last-Event-ID, 404, heartbeats, and recovery after
 * Redis kills the pub/sub connections (the test profile sets the heartbeat to 1 s).
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class SessionStreamTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TestHTTPResource("/sessions/")
    URI sessions;

    @Inject
    VersionFeed feed;

    @Inject
    DecisionWaiter waiter;

    @Inject
    Vertx vertx;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<SseClient> opened = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeStreams() {
        opened.forEach(SseClient::close);
    }

    @Test
    void shouldFanEveryVersionOutToTwoHundredClientsOverOneSubscription() {
        List<String> ids = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            ids.add("fan-" + s + "-" + UUID.randomUUID());
        }
        ids.forEach(id -> append(id, 1));
        int before = feed.followers();
        long connectionsBefore = redisClients(null);
        long pubsubBefore = redisClients("pubsub");

        List<SseClient> clients = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            clients.add(open(ids.get(i % ids.size()), null));
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(clients)
                .allSatisfy(client -> assertThat(client.versions).containsExactly(1L)));
        assertThat(feed.followers()).isEqualTo(before + 200);

        for (long version = 2; version <= 10; version++) {
            for (String id : ids) {
                // a write while 200 streams are open still gets its decision, not a 202
                append(id, version);
            }
        }
        List<Long> all = LongStream.rangeClosed(1, 10).boxed().toList();
        await().atMost(WAIT).untilAsserted(() -> assertThat(clients)
                .allSatisfy(client -> assertThat(client.versions).containsExactlyElementsOf(all)));
        assertThat(clients).allSatisfy(client -> assertThat(client.data.get(9))
                .isEqualTo("{\"sessionId\":\"" + client.sessionId + "\",\"version\":10}"));

        // the streams share the instance's one pattern subscription; the pool may grow with the concurrent reads that
        // opened them, but never to one connection per stream
        assertThat(redisClients("pubsub")).isEqualTo(pubsubBefore);
        assertThat(redisClients(null)).isLessThan(connectionsBefore + 40);

        clients.forEach(SseClient::close);
        await().atMost(WAIT).untilAsserted(() -> assertThat(feed.followers()).isEqualTo(before));
    }

    @Test
    void shouldReplayTheVersionsAfterLastEventIdThenGoLive() {
        String id = "resume-" + UUID.randomUUID();
        for (long version = 1; version <= 5; version++) {
            append(id, version);
        }
        SseClient header = open(id, "2");
        SseClient param = openUri(sessions.resolve(id + "/stream?lastEventId=2"), id, null);
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(header.versions).containsExactly(3L, 4L, 5L);
            assertThat(param.versions).containsExactly(3L, 4L, 5L);
        });

        append(id, 6);
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(header.versions).containsExactly(3L, 4L, 5L, 6L);
            assertThat(param.versions).containsExactly(3L, 4L, 5L, 6L);
        });
    }

    @Test
    void shouldAnswerNotFoundForAnUnknownSessionBeforeStreaming() throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(sessions.resolve("nobody-" + UUID.randomUUID()
                + "/stream")).timeout(WAIT).header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(response.body()).contains("\"status\":404");
    }

    @Test
    void shouldStartWithTheCurrentVersionAndKeepAnIdleStreamAlive() {
        String id = "current-" + UUID.randomUUID();
        for (long version = 1; version <= 3; version++) {
            append(id, version);
        }
        SseClient fresh = open(id, null);
        // resumed at the current version: nothing to send, yet the headers arrive at once
        SseClient idle = open(id, "3");

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(fresh.versions).containsExactly(3L);
            assertThat(idle.status.getNow(0)).isEqualTo(200);
            assertThat(idle.contentType).startsWith("text/event-stream");
        });
        assertThat(fresh.data).containsExactly("{\"sessionId\":\"" + id + "\",\"version\":3}");
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(idle.heartbeats.get()).isGreaterThanOrEqualTo(2);
            assertThat(fresh.heartbeats.get()).isGreaterThanOrEqualTo(2);
        });
        assertThat(idle.versions).isEmpty();
        assertThat(idle.comments).allSatisfy(comment -> assertThat(comment).isEqualTo(": keepalive"));
    }

    @Test
    void shouldKeepAnsweringAndStreamingAfterRedisKillsThePubSubConnections() {
        String id = "killed-" + UUID.randomUUID();
        append(id, 1);
        SseClient client = open(id, null);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.versions).containsExactly(1L));

        long killed = redis(Request.cmd(Command.CLIENT).arg("KILL").arg("TYPE").arg("pubsub")).toLong();
        assertThat(killed).isGreaterThanOrEqualTo(2);

        // straight after the kill: the announcement may be lost, the writer still gets its decision (201, not 202)
        append(id, 2);
        await().atMost(WAIT).until(() -> waiter.listening() && feed.listening());
        append(id, 3);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.versions).containsExactly(1L, 2L, 3L));
    }

    @Test
    void shouldTellAStreamOfARefusedWriteWithoutMovingItsLastEventId() {
        String id = "refused-" + UUID.randomUUID();
        append(id, 1);
        append(id, 2);
        SseClient client = open(id, null);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.versions).containsExactly(2L));

        // a stale write: refused at version 2, no new version
        given().contentType(ContentType.JSON).header("Idempotency-Key", id + "-stale").header("If-Match", "1")
                .body("{\"source\":\"agent://stream-test\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"late\"}}")
                .when().post("/sessions/{id}/events", id).then().statusCode(409);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.events).containsExactly("refused"));
        assertThat(client.data).contains("{\"sessionId\":\"" + id + "\",\"sessionVersion\":2}");
        assertThat(client.versions).containsExactly(2L);
        // a second refusal at the same version is told too
        given().contentType(ContentType.JSON).header("Idempotency-Key", id + "-stale-again").header("If-Match", "1")
                .body("{\"source\":\"agent://stream-test\",\"type\":\"agentstate.message.appended\","
                        + "\"data\":{\"role\":\"user\",\"content\":\"later\"}}")
                .when().post("/sessions/{id}/events", id).then().statusCode(409);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.events).containsExactly("refused", "refused"));

        append(id, 3);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.versions).containsExactly(2L, 3L));
        // resuming from the last id sees the versions only, as before
        SseClient resumed = open(id, "2");
        await().atMost(WAIT).untilAsserted(() -> assertThat(resumed.versions).containsExactly(3L));
    }

    @Test
    void shouldResumeAForkFromItsFirstVersionNeverBefore() {
        String id = "forked-" + UUID.randomUUID();
        append(id, 1);
        append(id, 2);
        String fork = id + "-fork";
        given().contentType(ContentType.JSON).body("{\"version\":2,\"newSessionId\":\"" + fork + "\"}")
                .post("/sessions/{id}/fork", id).then().statusCode(201);
        SseClient resumed = open(fork, "0");
        await().atMost(WAIT).untilAsserted(() -> assertThat(resumed.versions).containsExactly(3L));
        SseClient fresh = open(fork, null);
        await().atMost(WAIT).untilAsserted(() -> assertThat(fresh.versions).containsExactly(3L));
    }

    @Test
    void shouldEndAStreamWhenItsSessionIsErased() {
        String id = "erased-" + UUID.randomUUID();
        append(id, 1);
        append(id, 2);
        SseClient client = open(id, null);
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.versions).containsExactly(2L));

        given().delete("/sessions/{id}", id).then().statusCode(204);
        // the stream of the erased life ends (it would otherwise sit silent until the next life passed version 2)
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.response).isCompleted());
        assertThat(client.versions).containsExactly(2L);
        // a client resuming with the old life's Last-Event-ID is given the next life from its start
        append(id, 1);
        SseClient next = open(id, "2");
        await().atMost(WAIT).untilAsserted(() -> assertThat(next.versions).containsExactly(1L));
    }

    private void append(String sessionId, long expectedVersion) {
        given().contentType(ContentType.JSON)
                .header("Idempotency-Key", sessionId + "-" + expectedVersion)
                .body("""
                        {"source":"agent://stream-test","type":"agentstate.message.appended",
                         "data":{"role":"user","content":"message %d"}}""".formatted(expectedVersion))
                .when().post("/sessions/{id}/events", sessionId)
                .then().statusCode(201)
                .body("outcome", equalTo("accepted"))
                .body("version", equalTo((int) expectedVersion));
    }

    private SseClient open(String sessionId, String lastEventId) {
        return openUri(sessions.resolve(sessionId + "/stream"), sessionId, lastEventId);
    }

    private SseClient openUri(URI uri, String sessionId, String lastEventId) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        SseClient client = new SseClient(sessionId);
        client.response = http.sendAsync(request.build(), info -> {
            client.contentType = info.headers().firstValue("Content-Type").orElse("");
            client.status.complete(info.statusCode());
            return HttpResponse.BodySubscribers.fromLineSubscriber(client);
        });
        opened.add(client);
        return client;
    }

    /** Connected clients in the stack's Redis, of one type ({@code pubsub}, {@code normal}) or all. */
    private long redisClients(String type) {
        Request list = Request.cmd(Command.CLIENT).arg("LIST");
        if (type != null) {
            list.arg("TYPE").arg(type);
        }
        // minus this test's own connection, which is of type normal
        long own = type == null || type.equals("normal") ? 1 : 0;
        return redis(list).toString().lines().filter(line -> !line.isBlank()).count() - own;
    }

    private io.vertx.mutiny.redis.client.Response redis(Request request) {
        Redis client = Redis.createClient(vertx, LocalStackResource.shared().redisUrl());
        try {
            RedisConnection connection = client.connect().await().atMost(WAIT);
            try {
                return connection.send(request).await().atMost(WAIT);
            } finally {
                connection.close().await().atMost(WAIT);
            }
        } finally {
            client.close();
        }
    }

    /** One EventSource-like reader: the ids, data and comments it has seen, in order. */
    static final class SseClient implements Flow.Subscriber<String> {
        final String sessionId;
        final List<Long> versions = new CopyOnWriteArrayList<>();
        final List<String> data = new CopyOnWriteArrayList<>();
        final List<String> comments = new CopyOnWriteArrayList<>();
        final List<String> events = new CopyOnWriteArrayList<>();
        final AtomicInteger heartbeats = new AtomicInteger();
        final CompletableFuture<Integer> status = new CompletableFuture<>();
        volatile String contentType;
        volatile CompletableFuture<HttpResponse<Void>> response;
        private volatile Flow.Subscription subscription;

        SseClient(String sessionId) {
            this.sessionId = sessionId;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            if (line.startsWith("id:")) {
                versions.add(Long.parseLong(line.substring(3).trim()));
            } else if (line.startsWith("event:")) {
                events.add(line.substring(6).trim());
            } else if (line.startsWith("data:")) {
                data.add(line.substring(5).trim());
            } else if (line.startsWith(":")) {
                comments.add(line);
                heartbeats.incrementAndGet();
            }
        }

        @Override
        public void onError(Throwable failure) {
        }

        @Override
        public void onComplete() {
        }

        void close() {
            Flow.Subscription current = subscription;
            if (current != null) {
                current.cancel();
            }
            if (response != null) {
                response.cancel(true);
            }
        }
    }
}
