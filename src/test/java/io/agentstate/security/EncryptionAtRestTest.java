package io.agentstate.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.testsupport.Kafka;
import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStack;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.mutiny.sqlclient.Pool;

/**
 * What the service writes through REST and chat is stored only as ciphertext (PostgreSQL data and WAL, the Kafka log),
 * and forgetting a user makes it unreadable for good while versions and the audit chain survive.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
class EncryptionAtRestTest {

    @Test
    void shouldKeepNoPlaintextOfRestAndChatWritesOnDisk() throws Exception {
        String canary = "canary-" + UUID.randomUUID();
        String session = "enc-" + UUID.randomUUID();
        String user = "user-" + UUID.randomUUID();
        append(session, "start", "agentstate.session.started", "{\"userId\":\"" + user + "\"}");
        append(session, "msg", "agentstate.message.appended", "{\"role\":\"user\",\"content\":\"" + canary + " m\"}");
        append(session, "tool", "agentstate.tool.requested",
                "{\"callId\":\"c1\",\"tool\":\"search\",\"arguments\":{\"q\":\"" + canary + " t\"}}");
        append(session, "patch", "agentstate.state.patched",
                "{\"scope\":\"shared\",\"patch\":{\"note\":\"" + canary + " s\"}}");
        append(session, "fact", "agentstate.memory.recorded",
                "{\"userId\":\"" + user + "\",\"fact\":\"" + canary + " f\",\"tags\":[]}");
        given().contentType(ContentType.JSON).body("{\"message\":\"" + canary + " chat\"}")
                .post("/sessions/{id}/chat", session).then().statusCode(200);

        // every read still answers in plaintext
        JsonPath state = given().get("/sessions/{id}", session).then().statusCode(200).extract().jsonPath();
        assertThat(state.getList("messages.content", String.class)).contains(canary + " m", canary + " chat",
                "echo: " + canary + " chat");
        assertThat(state.getString("scopes.shared.note")).isEqualTo(canary + " s");
        given().get("/users/{u}/memories", user).then().statusCode(200).body("fact", hasItem(canary + " f"));
        given().get("/sessions/{id}/state?version=3", session).then().statusCode(200)
                .body("toolCalls.c1.arguments.q", equalTo(canary + " t"));

        // the control: an event an agent produced straight to Kafka stays plaintext on the log (documented), and the
        // search finds it there, so an empty result below means no plaintext, not a search that cannot see; in
        // PostgreSQL its content is sealed like everything else (ids, types and times stay in clear)
        String control = "control-" + UUID.randomUUID();
        Kafka.sendStructured("control-" + session, "{\"specversion\":\"1.0\",\"id\":\"" + UUID.randomUUID() + "\","
                + "\"source\":\"agent://enc\",\"type\":\"agentstate.message.appended\",\"subject\":\"control-"
                + session + "\",\"data\":{\"role\":\"user\",\"content\":\"" + control + "\"}}");
        Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given()
                .get("/sessions/{id}", "control-" + session).then().statusCode(200).body("version", equalTo(1)));

        checkpoint();
        assertThat(filesContaining(control)).as("the Kafka log holds the directly produced control event")
                .anyMatch(file -> file.startsWith("kafka"))
                .noneMatch(file -> file.startsWith("postgres"));
        List<Path> holding = filesContaining(canary);
        assertThat(holding).as("files under the local stack holding the canary in plaintext").isEmpty();
    }

    @Test
    void shouldMakeAForgottenUsersContentUnreadableAndKeepVersionsAndTheChain() throws Exception {
        String canary = "forget-" + UUID.randomUUID();
        String session = "forget-" + UUID.randomUUID();
        String user = "user-" + UUID.randomUUID();
        append(session, "start", "agentstate.session.started", "{\"userId\":\"" + user + "\"}");
        append(session, "msg", "agentstate.message.appended", "{\"role\":\"user\",\"content\":\"" + canary + "\"}");
        append(session, "patch", "agentstate.state.patched",
                "{\"scope\":\"shared\",\"patch\":{\"note\":\"" + canary + "\"}}");
        append(session, "fact", "agentstate.memory.recorded",
                "{\"userId\":\"" + user + "\",\"fact\":\"" + canary + "\",\"tags\":[]}");
        given().get("/sessions/{id}", session).then().statusCode(200).body("messages.content", hasItem(canary));
        // a fact about the user recorded in a session that never named them
        String elsewhere = "elsewhere-" + session;
        append(elsewhere, "fact", "agentstate.memory.recorded",
                "{\"userId\":\"" + user + "\",\"fact\":\"" + canary + " elsewhere\",\"tags\":[]}");
        append(elsewhere, "msg", "agentstate.message.appended", "{\"role\":\"user\",\"content\":\"kept\"}");
        assertThat(given().get("/sessions/{id}/events", elsewhere).asString()).contains(canary + " elsewhere");

        given().delete("/users/{u}", user).then().statusCode(200)
                .body("sessions", equalTo(List.of(session)))
                .body("facts", equalTo(2));

        // contiguous versions, no content, an intact chain, no facts
        given().get("/sessions/{id}", session).then().statusCode(200)
                .body("version", equalTo(4))
                .body("messages.content", not(hasItem(canary)));
        String current = given().get("/sessions/{id}", session).asString();
        assertThat(current).doesNotContain(canary);
        given().get("/sessions/{id}/events", session).then().statusCode(200)
                .body("entries.version", equalTo(List.of(1, 2, 3, 4)))
                .body("entries.event.erased", everyItem(equalTo(true)));
        assertThat(given().get("/sessions/{id}/events", session).asString()).doesNotContain(canary);
        assertThat(given().get("/sessions/{id}/state?version=3", session).asString()).doesNotContain(canary);
        given().get("/users/{u}/memories", user).then().statusCode(200).body("size()", equalTo(0));
        // the fact is shredded where it was archived too; the rest of that session is not the user's and stays
        String other = given().get("/sessions/{id}/events", elsewhere).asString();
        assertThat(other).doesNotContain(canary).contains("kept");
        given().get("/sessions/{id}/events", elsewhere).then().body("entries[0].event.erased", equalTo(true));
        given().get("/sessions/{id}/audit", session).then().statusCode(200)
                .body("valid", equalTo(true)).body("length", equalTo(4));
        assertThat(keysOf(session, user)).isZero();

        // the session goes on with a new key; forgetting again finds nothing more to do
        append(session, "after", "agentstate.message.appended", "{\"role\":\"user\",\"content\":\"later\"}");
        given().get("/sessions/{id}", session).then().statusCode(200).body("version", equalTo(5))
                .body("messages.content", hasItem("later"));
        given().get("/admin/audit").then().statusCode(200).body("actions.action", hasItem("user.forgotten"));
    }

    @Inject
    Pool pool;

    @Inject
    AgentStateConfig config;

    @Test
    void shouldRewrapDataKeysWhenTheMasterKeyRotatesAndStillOpenEverything() throws Exception {
        String session = "rotate-" + UUID.randomUUID();
        append(session, "msg", "agentstate.message.appended", "{\"role\":\"user\",\"content\":\"before rotation\"}");
        KeysetHandle current = TinkJsonProtoKeysetFormat.parseKeyset(
                Files.readString(LocalStackResource.shared().masterKeyset()), InsecureSecretKeyAccess.get());
        int oldPrimary = current.getPrimary().getId();
        KeysetHandle.Builder builder = KeysetHandle.newBuilder(current);
        builder.addEntry(KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM).withRandomId()
                .makePrimary());
        KeysetHandle rotated = builder.build();
        int newPrimary = rotated.getPrimary().getId();
        assertThat(newPrimary).isNotEqualTo(oldPrimary);

        DataKeys afterRotation = new DataKeys(pool, new MasterKey(rotated), config);
        try {
            assertThat(afterRotation.rewrap().await().atMost(Duration.ofMinutes(1))).isPositive();
            assertThat(count("SELECT count(*) FROM data_keys WHERE master_key <> " + newPrimary)).isZero();
            // the data key is the same, only its wrapping changed: the archived event opens as it did
            String owner = DataKeys.sessionOwner(session);
            afterRotation.prepareExisting("default", List.of(owner)).await().atMost(Duration.ofMinutes(1));
            byte[] stored = payloadOfVersion(session, 1);
            assertThat(new String(afterRotation.open("default", owner, "event:" + session + "-msg", stored)
                    .orElseThrow(), StandardCharsets.UTF_8)).contains("before rotation");
        } finally {
            // back to the running service's own master key, so that it can still unwrap what the other tests wrote
            KeysetHandle.Builder back = KeysetHandle.newBuilder(rotated);
            for (int i = 0; i < rotated.size(); i++) {
                if (rotated.getAt(i).getId() == oldPrimary) {
                    back.getAt(i).makePrimary();
                }
            }
            new DataKeys(pool, new MasterKey(back.build()), config).rewrap().await().atMost(Duration.ofMinutes(1));
        }
        assertThat(count("SELECT count(*) FROM data_keys WHERE master_key <> " + oldPrimary)).isZero();
        given().get("/sessions/{id}/events", session).then().statusCode(200)
                .body("entries[0].event.data.content", equalTo("before rotation"));
    }

    private static int count(String sql) throws SQLException {
        try (Connection db = connect();
                Statement statement = db.createStatement();
                ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getInt(1);
        }
    }

    private static byte[] payloadOfVersion(String session, long version) throws SQLException {
        try (Connection db = connect();
                PreparedStatement query = db.prepareStatement(
                        "SELECT payload FROM events WHERE tenant = 'default' AND session_id = ? AND version = ?")) {
            query.setString(1, session);
            query.setLong(2, version);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                return rows.getBytes(1);
            }
        }
    }

    private static void append(String session, String id, String type, String data) {
        given().contentType(ContentType.JSON).header("Idempotency-Key", session + "-" + id)
                .body("{\"source\":\"agent://enc\",\"type\":\"" + type + "\",\"data\":" + data + "}")
                .post("/sessions/{id}/events", session).then().statusCode(201);
    }

    private static Connection connect() throws SQLException {
        LocalStack stack = LocalStackResource.shared();
        return DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(), stack.postgresPassword());
    }

    // PostgreSQL writes data pages lazily; a checkpoint puts every committed row into the data files as well as the WAL
    private static void checkpoint() throws SQLException {
        try (Connection db = connect(); Statement statement = db.createStatement()) {
            statement.execute("CHECKPOINT");
        }
    }

    private static int keysOf(String session, String user) throws SQLException {
        try (Connection db = connect();
                PreparedStatement query = db.prepareStatement(
                        "SELECT count(*) FROM data_keys WHERE owner IN (?, ?)")) {
            query.setString(1, "session:" + session);
            query.setString(2, "user:" + user);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                return rows.getInt(1);
            }
        }
    }

    // Redis is a cache of plaintext views by design (docs/security.md), so its directory is not searched.
    private static List<Path> filesContaining(String canary) throws IOException {
        byte[] needle = canary.getBytes(StandardCharsets.UTF_8);
        Path dir = LocalStackResource.shared().dir();
        List<Path> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile)
                    .filter(file -> !dir.relativize(file).startsWith("redis"))
                    .forEach(file -> {
                        if (contains(file, needle)) {
                            found.add(dir.relativize(file));
                        }
                    });
        }
        return found;
    }

    private static boolean contains(Path file, byte[] needle) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            outer: for (int i = 0; i + needle.length <= bytes.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (bytes[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        } catch (IOException e) {
            // a file that vanished meanwhile (a rotated segment) holds nothing any more
            if (!Files.exists(file)) {
                return false;
            }
            throw new UncheckedIOException(e);
        }
    }
}
