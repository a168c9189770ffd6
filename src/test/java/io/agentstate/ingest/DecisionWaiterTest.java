package io.agentstate.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.RedisConnection;
import io.vertx.mutiny.redis.client.Request;

/**
 * The decision channel on the real stack: Redis closing the pub/sub connections cleanly ({@code CLIENT KILL TYPE
 * pubsub}, as a restart does) neither leaves writers waiting for the whole decision budget nor stops the channel.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class DecisionWaiterTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    DecisionWaiter waiter;

    @Inject
    Vertx vertx;

    @Test
    void shouldDecideEveryAppendAfterThePubSubConnectionsAreKilled() {
        String session = "kill-" + UUID.randomUUID();
        append(session, 1);
        for (int version = 2; version <= 6; version++) {
            // each append right after a kill: its announcement may be lost, and it must still be 201 with the default
            // 5 s budget, from the announcement after the resubscribe or from the writer's own lookup
            await().atMost(WAIT).until(waiter::listening);
            assertThat(killPubSub()).isGreaterThanOrEqualTo(1);
            append(session, version);
        }
        await().atMost(WAIT).until(waiter::listening);
        append(session, 7);
    }

    private void append(String session, int expectedVersion) {
        given().contentType(ContentType.JSON)
                .header("Idempotency-Key", session + "-" + expectedVersion)
                .body("""
                        {"source":"agent://waiter-test","type":"agentstate.message.appended",
                         "data":{"role":"user","content":"message %d"}}""".formatted(expectedVersion))
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(201)
                .body("outcome", equalTo("accepted"))
                .body("version", equalTo(expectedVersion));
    }

    private long killPubSub() {
        Redis client = Redis.createClient(vertx, LocalStackResource.shared().redisUrl());
        try {
            RedisConnection connection = client.connect().await().atMost(WAIT);
            try {
                return connection.send(Request.cmd(Command.CLIENT).arg("KILL").arg("TYPE").arg("pubsub"))
                        .await().atMost(WAIT).toLong();
            } finally {
                connection.close().await().atMost(WAIT);
            }
        } finally {
            client.close();
        }
    }
}
