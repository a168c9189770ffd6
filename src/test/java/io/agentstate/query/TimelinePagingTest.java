package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/** The timeline pages accepted and refused entries together, and following its cursor drops and repeats nothing (H3). */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class TimelinePagingTest {

    private static final String MESSAGE = "agentstate.message.appended";
    private static final String PATCH = "agentstate.state.patched";

    /** One written event as the timeline must show it. */
    record Written(String id, String outcome, String type, long sessionVersion) {
    }

    private static String session;
    private static final List<Written> written = new ArrayList<>();

    // One session shared by the read-only tests below: 150 stale writes around 9 accepted ones, written once (on the
    // first test, when RestAssured already points at the started service).
    @BeforeEach
    synchronized void writeSession() {
        if (session != null) {
            return;
        }
        session = "paging-" + UUID.randomUUID();
        long version = 0;
        // a refusal before the first version: it precedes version 1
        written.add(post(session, session + "-early", "5", MESSAGE, 409, version));
        for (int i = 0; i < 150; i++) {
            if (i % 20 == 0) {
                written.add(post(session, session + "-a" + i, null, MESSAGE, 201, ++version));
            }
            String type = i % 3 == 0 ? PATCH : MESSAGE;
            written.add(post(session, session + "-s" + i, Long.toString(version - 1), type, 409, version));
        }
        written.add(post(session, session + "-last", null, PATCH, 201, ++version));
    }

    @Test
    void shouldShowEveryEntryOnceInOrderWithPagesOf100() {
        assertThat(followCursor(session, 100, null)).containsExactlyElementsOf(written);
    }

    @Test
    void shouldShowEveryEntryOnceInOrderWithPagesOf7() {
        assertThat(followCursor(session, 7, null)).containsExactlyElementsOf(written);
    }

    @Test
    void shouldPageAFilteredTimelineWithoutLoss() {
        List<Written> patches = written.stream().filter(w -> w.type().equals(PATCH)).toList();
        assertThat(patches).hasSizeGreaterThan(50);
        assertThat(followCursor(session, 7, PATCH)).containsExactlyElementsOf(patches);
    }

    @Test
    void shouldCountEntriesNotVersionsInTheLimit() {
        JsonPath page = given().get("/sessions/{id}/events?limit=2", session)
                .then().statusCode(200).extract().jsonPath();
        assertThat(page.getList("entries.eventId", String.class)).containsExactly(session + "-early", session + "-a0");
        assertThat(page.getString("next")).isNotBlank();
        assertThat(page.getLong("nextFromVersion")).isEqualTo(2);
    }

    @Test
    void shouldNameTheVersionARefusalWasMadeAt() {
        JsonPath page = given().get("/sessions/{id}/events?limit=3", session)
                .then().statusCode(200).extract().jsonPath();
        assertThat(page.getString("entries[0].outcome")).isEqualTo("conflict");
        assertThat(page.getLong("entries[0].sessionVersion")).isZero();
        assertThat(page.getString("entries[0].version")).isNull();
        assertThat(page.getString("entries[0].reason")).isNotBlank();
        assertThat(page.getString("entries[1].outcome")).isEqualTo("accepted");
        assertThat(page.getLong("entries[1].version")).isEqualTo(1);
        assertThat(page.getLong("entries[1].sessionVersion")).isEqualTo(1);
        assertThat(page.getString("entries[1].event.id")).isEqualTo(session + "-a0");
        assertThat(page.getLong("entries[2].sessionVersion")).isEqualTo(1);
    }

    @Test
    void shouldNeverSkipAnEntryWhenResumingByVersion() {
        Set<String> seen = new HashSet<>();
        List<Long> accepted = new ArrayList<>();
        Long from = 1L;
        while (from != null) {
            JsonPath page = given().get("/sessions/{id}/events?fromVersion={from}&limit=7", session, from)
                    .then().statusCode(200).extract().jsonPath();
            seen.addAll(page.getList("entries.eventId", String.class));
            page.getList("entries", Map.class).stream().filter(e -> e.get("version") != null)
                    .forEach(e -> accepted.add(((Number) e.get("version")).longValue()));
            from = page.get("nextFromVersion") == null ? null : page.getLong("nextFromVersion");
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(written.stream().map(Written::id).toList());
        assertThat(accepted).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    }

    @Test
    void shouldShowTheRefusalsOfASessionThatNeverBegan() {
        String lonely = "refused-only-" + UUID.randomUUID();
        post(lonely, lonely + "-1", "3", MESSAGE, 409, 0);
        post(lonely, lonely + "-2", "1", PATCH, 409, 0);
        given().get("/sessions/{id}", lonely).then().statusCode(404);
        JsonPath page = given().get("/sessions/{id}/events", lonely)
                .then().statusCode(200).extract().jsonPath();
        assertThat(page.getList("entries.eventId", String.class)).containsExactly(lonely + "-1", lonely + "-2");
        assertThat(page.getList("entries.outcome", String.class)).containsExactly("conflict", "conflict");
        assertThat(page.getList("entries.sessionVersion", Long.class)).containsExactly(0L, 0L);
        assertThat(page.getString("next")).isNull();
        // a filter that matches nothing is an empty page of a session that exists, not a 404
        given().get("/sessions/{id}/events?type=agentstate.tool.requested", lonely)
                .then().statusCode(200).body("entries.size()", equalTo(0));
    }

    @Test
    void shouldAnswer404ForASessionWithNoEntryAtAll() {
        given().get("/sessions/{id}/events", "nothing-" + UUID.randomUUID())
                .then().statusCode(404).contentType(startsWith("application/problem+json"))
                .body("type", equalTo("https://agent-state.dev/problems/not-found"));
    }

    @Test
    void shouldRefuseACursorItDidNotIssue() {
        given().get("/sessions/{id}/events?cursor=bm90LWEtY3Vyc29y", session)
                .then().statusCode(400).contentType(startsWith("application/problem+json"))
                .body("parameter", equalTo("cursor"));
        String next = given().get("/sessions/{id}/events?limit=1", session).jsonPath().getString("next");
        given().get("/sessions/{id}/events?cursor={c}&fromVersion=2", session, next)
                .then().statusCode(400).body("parameter", equalTo("cursor"));
    }

    private static List<Written> followCursor(String session, int limit, String type) {
        List<Written> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Map<String, Object> query = new LinkedHashMap<>();
            query.put("limit", limit);
            if (cursor != null) {
                query.put("cursor", cursor);
            }
            if (type != null) {
                query.put("type", type);
            }
            JsonPath page = given().queryParams(query).get("/sessions/{id}/events", session)
                    .then().statusCode(200).extract().jsonPath();
            List<Map<String, Object>> entries = page.getList("entries");
            assertThat(entries).hasSizeLessThanOrEqualTo(limit);
            for (Map<String, Object> entry : entries) {
                @SuppressWarnings("unchecked")
                Map<String, Object> event = (Map<String, Object>) entry.get("event");
                seen.add(new Written((String) entry.get("eventId"), (String) entry.get("outcome"),
                        (String) event.get("type"), ((Number) entry.get("sessionVersion")).longValue()));
            }
            cursor = page.getString("next");
            assertThat(++pages).as("pages").isLessThan(500);
        } while (cursor != null);
        return seen;
    }

    private static Written post(String session, String id, String ifMatch, String type, int status, long version) {
        String data = type.equals(PATCH) ? "{\"scope\":\"shared\",\"patch\":{\"n\":\"" + id + "\"}}"
                : "{\"role\":\"user\",\"content\":\"" + id + "\"}";
        var request = given().contentType(ContentType.JSON).header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        Response response = request.body("{\"source\":\"agent://pager\",\"type\":\"" + type + "\",\"data\":" + data + "}")
                .post("/sessions/{id}/events", session);
        assertThat(response.statusCode()).as("POST %s: %s", id, response.asString()).isEqualTo(status);
        return new Written(id, status == 201 ? "accepted" : "conflict", type, version);
    }
}
