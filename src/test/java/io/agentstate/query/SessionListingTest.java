package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

/** {@code GET /sessions}: a tenant's sessions by id or newest first, filtered, paged without loss or repeat. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class SessionListingTest {

    private final String prefix = "ls-" + UUID.randomUUID().toString().substring(0, 8) + "-";

    private static void start(String session, String user) {
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-start")
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.session.started\",\"data\":{\"userId\":\"" + user
                        + "\"}}")
                .post("/sessions/{id}/events", session).then().statusCode(201);
    }

    private static void say(String session, String id, String text) {
        given().contentType(ContentType.JSON).header("Idempotency-Key", id)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\",\"data\":{\"role\":\"user\","
                        + "\"content\":\"" + text + "\"}}")
                .post("/sessions/{id}/events", session).then().statusCode(201);
    }

    // Every page of a listing, following next, as the session ids in the order served.
    private static List<String> all(String query, int limit) {
        List<String> ids = new ArrayList<>();
        String cursor = null;
        for (int pages = 0; pages < 100; pages++) {
            String url = "/sessions?" + query + "&limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor);
            JsonPath page = given().get(url).then().statusCode(200).extract().jsonPath();
            List<String> shown = page.getList("sessions.sessionId", String.class);
            assertThat(shown).hasSizeLessThanOrEqualTo(limit);
            ids.addAll(shown);
            cursor = page.getString("next");
            if (cursor == null) {
                return ids;
            }
        }
        throw new AssertionError("more than 100 pages for " + query);
    }

    @Test
    void shouldListByIdAndNewestFirstPageByPage() {
        List<String> sessions = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String session = prefix + i;
            start(session, i % 2 == 0 ? prefix + "even" : prefix + "odd");
            sessions.add(session);
        }
        // session 1 moves last, so it is the most recently updated
        say(prefix + 1, prefix + "1-m", "later");

        assertThat(all("prefix=" + prefix, 2)).containsExactlyElementsOf(sessions);
        assertThat(all("prefix=" + prefix + "&order=recent", 2)).containsExactly(prefix + 1, prefix + 4, prefix + 3,
                prefix + 2, prefix + 0);
        assertThat(all("userId=" + prefix + "even", 1)).containsExactly(prefix + 0, prefix + 2, prefix + 4);
        assertThat(all("prefix=" + prefix + "&userId=" + prefix + "odd&order=recent", 5))
                .containsExactly(prefix + 1, prefix + 3);

        given().get("/sessions?prefix={p}&limit=1", prefix + 1).then().statusCode(200)
                .body("sessions[0].sessionId", equalTo(prefix + 1))
                .body("sessions[0].status", equalTo("active"))
                .body("sessions[0].version", equalTo(2))
                .body("sessions[0].userId", equalTo(prefix + "odd"))
                .body("sessions[0].messageCount", equalTo(1))
                .body("next", equalTo(null));

        // an erased session is no longer listed
        given().delete("/sessions/{id}", prefix + 2).then().statusCode(204);
        assertThat(all("prefix=" + prefix, 10)).containsExactly(prefix + 0, prefix + 1, prefix + 3, prefix + 4);
    }

    @Test
    void shouldRefuseMalformedListingParametersWithAProblem() {
        start(prefix + "a", "u");
        start(prefix + "b", "u");
        String byId = given().get("/sessions?prefix={p}&limit=1", prefix).then().statusCode(200).extract()
                .path("next");

        given().get("/sessions?prefix={p}&order=recent&cursor={c}", prefix, byId).then().statusCode(400)
                .contentType("application/problem+json").body("detail", containsString("same order"));
        given().get("/sessions?cursor=not-a-cursor").then().statusCode(400).body("detail", containsString("cursor"));
        given().get("/sessions?order=oldest").then().statusCode(400).body("detail", containsString("order"));
        given().get("/sessions?prefix=a b").then().statusCode(400).body("detail", containsString("prefix"));
        given().get("/sessions?limit=0").then().statusCode(400).body("detail", containsString("limit"));
        given().get("/sessions?limit=abc").then().statusCode(400).body("parameter", equalTo("limit"));
        given().urlEncodingEnabled(false).get("/sessions?userId=%00").then().statusCode(400)
                .body("detail", containsString("userId"));
    }
}
