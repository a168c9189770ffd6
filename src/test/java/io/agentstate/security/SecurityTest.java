package io.agentstate.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.agentstate.testsupport.Tokens;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

/**
 * With credentials required: every route refuses a missing, expired, wrongly signed or foreign token; roles limit what
 * a caller may do; and no route lets one tenant see or change another's sessions.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@TestProfile(SecurityTest.Secured.class)
class SecurityTest {

    static final Path KEY_FILE = Path.of("target", "test-jwt", "api-keys.json");
    static final String FILE_KEY = "ask_file-key-for-security-tests-0123456789abcdef";
    static final String EXPIRED_FILE_KEY = "ask_expired-file-key-for-security-tests-012345";

    /** Credentials on: the test key pair verifies tokens, and an operator's key file holds two keys. */
    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            writeKeyFile(List.of(fileKey("file-writer", "file-tenant", FILE_KEY, "writer", null),
                    fileKey("file-expired", "file-tenant", EXPIRED_FILE_KEY, "writer", "2020-01-01T00:00:00Z")));
            return Map.of("agent-state.auth.mode", "required",
                    "mp.jwt.verify.publickey", Tokens.publicKeyPem(),
                    "mp.jwt.verify.issuer", Tokens.ISSUER,
                    "agent-state.auth.api-keys-file", KEY_FILE.toAbsolutePath().toString(),
                    "agent-state.auth.api-keys-refresh", "300ms");
        }
    }

    static Stream<Arguments> routes() {
        return Stream.of(
                Arguments.of("GET", "/sessions"),
                Arguments.of("GET", "/sessions/s1"),
                Arguments.of("GET", "/sessions/s1/events"),
                Arguments.of("GET", "/sessions/s1/state?version=1"),
                Arguments.of("GET", "/sessions/s1/tools/c1"),
                Arguments.of("GET", "/sessions/s1/stream"),
                Arguments.of("GET", "/sessions/s1/events/e1"),
                Arguments.of("POST", "/sessions/s1/events"),
                Arguments.of("DELETE", "/sessions/s1"),
                Arguments.of("POST", "/sessions/s1/chat"),
                Arguments.of("POST", "/sessions/s1/chat/stream"),
                Arguments.of("GET", "/users/u1/memories"),
                Arguments.of("GET", "/users/u1/memories?query=tea"),
                Arguments.of("POST", "/users/u1/memories"),
                Arguments.of("GET", "/users/u1/memories/m1"),
                Arguments.of("PUT", "/users/u1/memories/m1"),
                Arguments.of("DELETE", "/users/u1/memories/m1"),
                Arguments.of("GET", "/memories?query=tea"),
                Arguments.of("POST", "/memories/rebuild"),
                Arguments.of("DELETE", "/users/u1"),
                Arguments.of("GET", "/sessions/s1/audit"),
                Arguments.of("GET", "/admin/keys"),
                Arguments.of("POST", "/admin/keys"),
                Arguments.of("DELETE", "/admin/keys/k1"),
                Arguments.of("GET", "/admin/audit"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("routes")
    void shouldRefuseEveryRouteWithoutValidCredentials(String method, String path) {
        String tenant = "t-" + UUID.randomUUID();
        unauthenticated(given(), method, path, false);
        unauthenticated(bearer(Tokens.expired(tenant, "admin")), method, path, true);
        unauthenticated(bearer(Tokens.wronglySigned(tenant, "admin")), method, path, true);
        unauthenticated(bearer(Tokens.wrongIssuer(tenant, "admin")), method, path, true);
        unauthenticated(bearer(Tokens.withoutTenant("admin")), method, path, true);
        unauthenticated(bearer("not-a-token"), method, path, true);
        unauthenticated(given().header("X-API-Key", "ask_" + UUID.randomUUID()), method, path, true);
        unauthenticated(given().header("X-API-Key", EXPIRED_FILE_KEY), method, path, true);
    }

    @Test
    void shouldLeaveSchemasAndHealthOpen() {
        given().get("/schemas").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void shouldLetAReaderReadButNotWrite() {
        String tenant = "t-" + UUID.randomUUID();
        String session = "s-" + UUID.randomUUID();
        append(bearer(Tokens.token(tenant, "writer")), session, "e1", "hello").then().statusCode(201);

        RequestSpecification reader = bearer(Tokens.token(tenant, "reader"));
        reader.get("/sessions/" + session).then().statusCode(200).body("version", equalTo(1));
        forbidden(append(bearer(Tokens.token(tenant, "reader")), session, "e2", "again"), "writer");
        forbidden(bearer(Tokens.token(tenant, "reader")).delete("/sessions/" + session), "writer");
        forbidden(bearer(Tokens.token(tenant, "writer")).get("/admin/keys"), "admin");
        forbidden(bearer(Tokens.token(tenant, "writer")).delete("/users/u-" + session), "admin");
        bearer(Tokens.token(tenant, "reader")).get("/sessions/" + session + "/audit").then().statusCode(200)
                .body("valid", equalTo(true));
        // a token with no role of ours can read nothing
        forbidden(bearer(Tokens.token(tenant, "someone-elses-group")).get("/sessions/" + session), "reader");
        bearer(Tokens.token(tenant, "reader")).get("/sessions/" + session).then().statusCode(200).body("version",
                equalTo(1));
    }

    @Test
    void shouldShowOneTenantNothingOfAnothers() {
        String a = "a-" + UUID.randomUUID();
        String b = "b-" + UUID.randomUUID();
        String session = "s-" + UUID.randomUUID();
        String user = "u-" + UUID.randomUUID();
        RequestSpecification writerA = bearer(Tokens.token(a, "writer"));
        given().spec(writerA.request()).contentType(ContentType.JSON).header("Idempotency-Key", "start-" + session)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.session.started\",\"data\":{\"userId\":\"" + user
                        + "\"}}")
                .post("/sessions/" + session + "/events").then().statusCode(201);
        given().spec(bearer(Tokens.token(a, "writer")).request()).contentType(ContentType.JSON)
                .header("Idempotency-Key", "tool-" + session)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.tool.requested\",\"data\":{\"callId\":\"c1\","
                        + "\"tool\":\"search\",\"arguments\":{}}}")
                .post("/sessions/" + session + "/events").then().statusCode(201);
        given().spec(bearer(Tokens.token(a, "writer")).request()).contentType(ContentType.JSON)
                .header("Idempotency-Key", "fact-" + session)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.memory.recorded\",\"data\":{\"userId\":\"" + user
                        + "\",\"fact\":\"likes tea\",\"tags\":[]}}")
                .post("/sessions/" + session + "/events").then().statusCode(201);
        bearer(Tokens.token(a, "reader")).get("/users/" + user + "/memories").then().statusCode(200)
                .body("size()", equalTo(1));

        // B, even as admin, gets 404 for A's session on every read, never a 403 that confirms it exists
        for (String path : List.of("", "/events", "/state?version=1", "/tools/c1", "/stream",
                "/events/start-" + session)) {
            bearer(Tokens.token(b, "admin")).urlEncodingEnabled(false).get("/sessions/" + session + path)
                    .then().statusCode(404).contentType(startsWith("application/problem+json"));
        }
        bearer(Tokens.token(b, "admin")).delete("/sessions/" + session).then().statusCode(404);
        // nor in B's list of sessions, by prefix or by user
        bearer(Tokens.token(b, "admin")).get("/sessions?prefix=" + session).then().statusCode(200)
                .body("sessions", empty());
        bearer(Tokens.token(b, "admin")).get("/sessions?userId=" + user).then().statusCode(200)
                .body("sessions", empty());
        bearer(Tokens.token(a, "reader")).get("/sessions?userId=" + user).then().statusCode(200)
                .body("sessions.sessionId", equalTo(List.of(session)));
        bearer(Tokens.token(b, "admin")).get("/sessions/" + session + "/audit").then().statusCode(404);
        // B forgetting A's user finds nothing of A's: A's facts and session stay readable
        bearer(Tokens.token(b, "admin")).delete("/users/" + user).then().statusCode(200)
                .body("sessions.size()", equalTo(0)).body("facts", equalTo(0));
        bearer(Tokens.token(a, "reader")).get("/users/" + user + "/memories").then().statusCode(200)
                .body("size()", equalTo(1));
        bearer(Tokens.token(b, "admin")).get("/users/" + user + "/memories").then().statusCode(200)
                .body("size()", equalTo(0));
        // nor by meaning: A finds its fact once embedded, B finds nothing, for the user or across its tenant, and
        // cannot read, revise or forget it by id
        String factId = "fact-" + session;
        Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> bearer(
                Tokens.token(a, "reader")).get("/users/" + user + "/memories?query=a hot drink").then().statusCode(200)
                .body("memoryId", equalTo(List.of(factId))));
        bearer(Tokens.token(a, "reader")).get("/memories?query=a hot drink").then().statusCode(200)
                .body("memoryId", equalTo(List.of(factId)));
        bearer(Tokens.token(b, "admin")).get("/users/" + user + "/memories?query=a hot drink").then().statusCode(200)
                .body("size()", equalTo(0));
        bearer(Tokens.token(b, "admin")).get("/memories?query=a hot drink").then().statusCode(200)
                .body("size()", equalTo(0));
        bearer(Tokens.token(b, "admin")).get("/users/" + user + "/memories/" + factId).then().statusCode(404);
        given().spec(bearer(Tokens.token(b, "writer")).request()).contentType(ContentType.JSON)
                .body("{\"fact\":\"likes coffee\"}").put("/users/" + user + "/memories/" + factId).then()
                .statusCode(404);
        bearer(Tokens.token(b, "writer")).delete("/users/" + user + "/memories/" + factId).then().statusCode(404);
        bearer(Tokens.token(a, "reader")).get("/users/" + user + "/memories/" + factId).then().statusCode(200)
                .body("current.fact", equalTo("likes tea"));

        // naming A in a body does not write into A: it is refused, and A's session is unchanged
        given().spec(bearer(Tokens.token(b, "writer")).request()).contentType(ContentType.JSON)
                .header("Idempotency-Key", "intrude-" + session)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\",\"tenant\":\"" + a
                        + "\",\"data\":{\"role\":\"user\",\"content\":\"intruder\"}}")
                .post("/sessions/" + session + "/events").then().statusCode(400)
                .body("detail", containsString("tenant"));
        // the same session id under B is B's own session, starting at version 1
        append(bearer(Tokens.token(b, "writer")), session, "b-own-" + session, "mine").then().statusCode(201)
                .body("version", equalTo(1));
        bearer(Tokens.token(a, "reader")).get("/sessions/" + session).then().statusCode(200)
                .body("version", equalTo(3))
                .body("tenant", equalTo(a));
        // an event id is per tenant: A's key reused by B is B's own event, not a repeat of A's
        append(bearer(Tokens.token(b, "writer")), "other-" + session, "start-" + session, "hi").then()
                .statusCode(201).body("version", equalTo(1));
    }

    @Test
    void shouldManageApiKeysPerTenantAndRefuseARevokedOne() {
        String tenant = "t-" + UUID.randomUUID();
        String session = "s-" + UUID.randomUUID();
        RequestSpecification admin = bearer(Tokens.token(tenant, "admin"));
        Response created = given().spec(admin.request()).contentType(ContentType.JSON)
                .body("{\"roles\":[\"writer\"],\"label\":\"planner agent\"}")
                .post("/admin/keys");
        created.then().statusCode(201).body("tenant", equalTo(tenant)).body("roles", hasItem("writer"))
                .body("key", startsWith("ask_"));
        String key = created.path("key");
        String id = created.path("id");
        assertThat(key).hasSizeGreaterThan(40);

        // as X-API-Key and as a bearer token alike, scoped to the admin's tenant
        append(given().header("X-API-Key", key), session, "k1", "via header").then().statusCode(201);
        append(bearer(key), session, "k2", "via bearer").then().statusCode(201).body("version", equalTo(2));
        bearer(Tokens.token(tenant, "reader")).get("/sessions/" + session).then().statusCode(200)
                .body("version", equalTo(2));
        // the list never shows a secret, and another tenant's admin sees none of these keys
        bearer(Tokens.token(tenant, "admin")).get("/admin/keys").then().statusCode(200)
                .body("id", hasItem(id)).body("key", not(hasItem(key)))
                .body("find { it.id == '" + id + "' }.label", equalTo("planner agent"));
        bearer(Tokens.token("other-" + tenant, "admin")).get("/admin/keys").then().statusCode(200)
                .body("id", not(hasItem(id)));
        bearer(Tokens.token("other-" + tenant, "admin")).delete("/admin/keys/" + id).then().statusCode(404);

        bearer(Tokens.token(tenant, "admin")).delete("/admin/keys/" + id).then().statusCode(200)
                .body("revokedAt", not(equalTo(null)));
        unauthenticated(given().header("X-API-Key", key), "GET", "/sessions/" + session, true);

        bearer(Tokens.token(tenant, "admin")).get("/admin/audit").then().statusCode(200)
                .body("actions.action", equalTo(List.of("key.revoked", "key.created")))
                .body("actions.target", equalTo(List.of(id, id)))
                .body("actions[0].actor", equalTo("jwt:agent-" + tenant));
    }

    @Test
    void shouldRefuseKeyRequestsThatNameNoOrUnknownRoles() {
        String tenant = "t-" + UUID.randomUUID();
        given().spec(bearer(Tokens.token(tenant, "admin")).request()).contentType(ContentType.JSON)
                .body("{\"roles\":[]}").post("/admin/keys").then().statusCode(400);
        given().spec(bearer(Tokens.token(tenant, "admin")).request()).contentType(ContentType.JSON)
                .body("{\"roles\":[\"root\"]}").post("/admin/keys").then().statusCode(400)
                .body("detail", containsString("root"));
        given().spec(bearer(Tokens.token(tenant, "admin")).request()).contentType(ContentType.JSON)
                .body("{\"roles\":[\"reader\"],\"expiresAt\":\"2001-01-01T00:00:00Z\"}").post("/admin/keys").then()
                .statusCode(400);
    }

    @Test
    void shouldRecordAnErasureInTheTenantsAdministrativeLog() {
        String tenant = "t-" + UUID.randomUUID();
        String session = "s-" + UUID.randomUUID();
        append(bearer(Tokens.token(tenant, "writer")), session, "e1", "bye").then().statusCode(201);
        bearer(Tokens.token(tenant, "writer")).delete("/sessions/" + session).then().statusCode(204);
        bearer(Tokens.token(tenant, "admin")).get("/admin/audit").then().statusCode(200)
                .body("actions[0].action", equalTo("session.erased"))
                .body("actions[0].target", equalTo(session))
                .body("actions[0].actor", equalTo("jwt:agent-" + tenant));
    }

    @Test
    void shouldReadARotatedKeyFileWithoutRestart() throws IOException {
        String session = "s-" + UUID.randomUUID();
        append(given().header("X-API-Key", FILE_KEY), session, "f1", "from the file key").then().statusCode(201);
        String rotated = "ask_rotated-" + UUID.randomUUID();
        try {
            writeKeyFile(List.of(fileKey("file-rotated", "file-tenant", rotated, "reader", null)));
            Files.setLastModifiedTime(KEY_FILE, FileTime.from(Instant.now().plusSeconds(5)));
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                given().header("X-API-Key", rotated).get("/sessions/" + session).then().statusCode(200)
                        .body("version", equalTo(1));
                given().header("X-API-Key", FILE_KEY).get("/sessions/" + session).then().statusCode(401);
            });
        } finally {
            writeKeyFile(List.of(fileKey("file-writer", "file-tenant", FILE_KEY, "writer", null),
                    fileKey("file-expired", "file-tenant", EXPIRED_FILE_KEY, "writer", "2020-01-01T00:00:00Z")));
            Files.setLastModifiedTime(KEY_FILE, FileTime.from(Instant.now().plusSeconds(10)));
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(
                () -> given().header("X-API-Key", FILE_KEY).get("/sessions/" + session).then().statusCode(200));
    }

    private static Response append(RequestSpecification as, String session, String id, String content) {
        return given().spec(as.request()).contentType(ContentType.JSON).header("Idempotency-Key", id)
                .body("{\"source\":\"agent://t\",\"type\":\"agentstate.message.appended\",\"data\":{\"role\":\"user\","
                        + "\"content\":\"" + content + "\"}}")
                .post("/sessions/" + session + "/events");
    }

    private static RequestSpecification bearer(String token) {
        return given().header("Authorization", "Bearer " + token);
    }

    private static void unauthenticated(RequestSpecification as, String method, String path, boolean presented) {
        Response response = as.urlEncodingEnabled(false).contentType(ContentType.JSON).body("{}").request(method, path);
        response.then().statusCode(401)
                .contentType(startsWith("application/problem+json"))
                .header("WWW-Authenticate", startsWith("Bearer realm=\"agent-state\""))
                .body("type", equalTo("https://agent-state.dev/problems/unauthenticated"))
                .body("status", equalTo(401));
        assertThat(response.header("WWW-Authenticate").contains("invalid_token")).isEqualTo(presented);
    }

    private static void forbidden(Response response, String role) {
        response.then().statusCode(403).contentType(startsWith("application/problem+json"))
                .body("type", equalTo("https://agent-state.dev/problems/forbidden"))
                .body("detail", containsString(role));
    }

    static String fileKey(String id, String tenant, String key, String role, String expiresAt) {
        return "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"roles\":[\"" + role + "\"],\"sha256\":\""
                + ApiKeys.sha256(key) + "\"" + (expiresAt == null ? "" : ",\"expiresAt\":\"" + expiresAt + "\"") + "}";
    }

    static void writeKeyFile(List<String> keys) {
        try {
            Files.createDirectories(KEY_FILE.getParent());
            Path partial = Files.createTempFile(KEY_FILE.getParent(), "keys", ".tmp");
            Files.writeString(partial, "{\"keys\":[" + String.join(",", keys) + "]}");
            Files.move(partial, KEY_FILE, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
