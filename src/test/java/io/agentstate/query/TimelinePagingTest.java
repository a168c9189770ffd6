package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
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

    private static final ObjectMapper MAPPER = new ObjectMapper();
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
    void shouldReadTheWholeTimelineNewestFirstInPagesOf7() {
        List<Written> reversed = new ArrayList<>(written);
        java.util.Collections.reverse(reversed);
        assertThat(followCursor(session, 7, null, "desc")).containsExactlyElementsOf(reversed);
        List<Written> patches = reversed.stream().filter(w -> w.type().equals(PATCH)).toList();
        assertThat(followCursor(session, 7, PATCH, "desc")).containsExactlyElementsOf(patches);
    }

    @Test
    void shouldReadTheTailAndGoBackFromAVersion() {
        // the tail: the last version, then the refusals made before it
        JsonNode tail = json(given().get("/sessions/{id}/events?order=desc&limit=3", session)
                .then().statusCode(200).extract().asString());
        assertThat(ids(tail)).containsExactly(written.get(written.size() - 1).id(), written.get(written.size() - 2).id(),
                written.get(written.size() - 3).id());

        // from version 3 back: version 3, the refusals made at version 2, version 2, …, the refusal before version 1
        int end = 0;
        while (!(written.get(end).outcome().equals("accepted") && written.get(end).sessionVersion() == 3)) {
            end++;
        }
        List<Written> expected = new ArrayList<>(written.subList(0, end + 1));
        java.util.Collections.reverse(expected);
        List<Written> seen = new ArrayList<>();
        JsonNode page = json(given().get("/sessions/{id}/events?order=desc&fromVersion=3&limit=9", session)
                .then().statusCode(200).extract().asString());
        while (true) {
            page.path("entries").forEach(e -> seen.add(new Written(e.path("eventId").asText(), e.path("outcome").asText(),
                    e.path("event").path("type").asText(), e.path("sessionVersion").asLong())));
            if (!page.hasNonNull("next")) {
                break;
            }
            page = json(given().get("/sessions/{id}/events?order=desc&cursor={c}&limit=9", session,
                    page.get("next").asText()).then().statusCode(200).extract().asString());
            assertThat(seen).as("pages").hasSizeLessThan(1000);
        }
        assertThat(seen).containsExactlyElementsOf(expected);

        // a cursor is bound to its direction
        String backwards = tail.path("next").asText();
        given().get("/sessions/{id}/events?cursor={c}", session, backwards).then().statusCode(400)
                .body("parameter", equalTo("cursor"));
        given().get("/sessions/{id}/events?order=sideways", session).then().statusCode(400)
                .body("parameter", equalTo("order"));
    }

    @Test
    void shouldCountEntriesNotVersionsInTheLimit() {
        JsonNode page = json(given().get("/sessions/{id}/events?limit=2", session)
                .then().statusCode(200).extract().asString());
        assertThat(ids(page)).containsExactly(session + "-early", session + "-a0");
        assertThat(page.path("next").asText()).isNotBlank();
    }

    @Test
    void shouldNameTheVersionARefusalWasMadeAt() {
        JsonNode page = json(given().get("/sessions/{id}/events?limit=3", session)
                .then().statusCode(200).extract().asString());
        JsonNode entries = page.path("entries");
        assertThat(entries.path(0).path("outcome").asText()).isEqualTo("conflict");
        assertThat(entries.path(0).path("sessionVersion").isIntegralNumber()).isTrue();
        assertThat(entries.path(0).path("sessionVersion").asLong()).isZero();
        assertThat(entries.path(0).has("version")).isFalse();
        assertThat(entries.path(0).path("reason").asText()).isNotBlank();
        assertThat(entries.path(1).path("outcome").asText()).isEqualTo("accepted");
        assertThat(entries.path(1).path("version").asLong()).isEqualTo(1);
        assertThat(entries.path(1).path("sessionVersion").asLong()).isEqualTo(1);
        assertThat(entries.path(1).path("event").path("id").asText()).isEqualTo(session + "-a0");
        assertThat(entries.path(2).path("sessionVersion").asLong()).isEqualTo(1);
    }

    @Test
    void shouldStartAWalkAtAVersionAndFollowTheCursorFromThere() {
        // version 3 follows the refusals made at version 2; everything from there is seen once, in order
        int start = 0;
        while (!(written.get(start).outcome().equals("accepted") && written.get(start).sessionVersion() == 3)) {
            start++;
        }
        while (start > 0 && written.get(start - 1).outcome().equals("conflict")
                && written.get(start - 1).sessionVersion() == 2) {
            start--;
        }
        List<Written> seen = new ArrayList<>();
        JsonNode page = json(given().get("/sessions/{id}/events?fromVersion=3&limit=7", session)
                .then().statusCode(200).extract().asString());
        assertThat(page.has("nextFromVersion")).isFalse();
        while (true) {
            page.path("entries").forEach(e -> seen.add(new Written(e.path("eventId").asText(), e.path("outcome").asText(),
                    e.path("event").path("type").asText(), e.path("sessionVersion").asLong())));
            if (!page.hasNonNull("next")) {
                break;
            }
            page = json(given().get("/sessions/{id}/events?cursor={c}&limit=7", session, page.get("next").asText())
                    .then().statusCode(200).extract().asString());
            assertThat(seen).as("pages").hasSizeLessThan(1000);
        }
        assertThat(seen).containsExactlyElementsOf(written.subList(start, written.size()));
    }

    @Test
    void shouldShowTheRefusalsOfASessionThatNeverBegan() {
        String lonely = "refused-only-" + UUID.randomUUID();
        post(lonely, lonely + "-1", "3", MESSAGE, 409, 0);
        post(lonely, lonely + "-2", "1", PATCH, 409, 0);
        given().get("/sessions/{id}", lonely).then().statusCode(404);
        JsonNode page = json(given().get("/sessions/{id}/events", lonely)
                .then().statusCode(200).extract().asString());
        assertThat(ids(page)).containsExactly(lonely + "-1", lonely + "-2");
        List<String> outcomes = new ArrayList<>();
        List<Long> versions = new ArrayList<>();
        page.path("entries").forEach(e -> {
            outcomes.add(e.path("outcome").asText());
            versions.add(e.path("sessionVersion").asLong());
        });
        assertThat(outcomes).containsExactly("conflict", "conflict");
        assertThat(versions).containsExactly(0L, 0L);
        assertThat(page.hasNonNull("next")).isFalse();
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
        String next = json(given().get("/sessions/{id}/events?limit=1", session).asString()).path("next").asText();
        given().get("/sessions/{id}/events?cursor={c}&fromVersion=2", session, next)
                .then().statusCode(400).body("parameter", equalTo("cursor"));
    }

    private static List<Written> followCursor(String session, int limit, String type) {
        return followCursor(session, limit, type, null);
    }

    private static List<Written> followCursor(String session, int limit, String type, String order) {
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
            if (order != null) {
                query.put("order", order);
            }
            JsonNode page = json(given().queryParams(query).get("/sessions/{id}/events", session)
                    .then().statusCode(200).extract().asString());
            JsonNode entries = page.path("entries");
            assertThat(entries.size()).isLessThanOrEqualTo(limit);
            for (JsonNode entry : entries) {
                seen.add(new Written(entry.path("eventId").asText(), entry.path("outcome").asText(),
                        entry.path("event").path("type").asText(), entry.path("sessionVersion").asLong()));
            }
            cursor = page.hasNonNull("next") ? page.get("next").asText() : null;
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

    // Jackson, not RestAssured's JsonPath: its Groovy evaluation under Quarkus's class loader costs seconds per page
    private static JsonNode json(String body) {
        try {
            return MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.path("entries").forEach(e -> ids.add(e.path("eventId").asText()));
        return ids;
    }
}
