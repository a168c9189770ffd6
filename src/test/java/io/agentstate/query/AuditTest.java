package io.agentstate.query;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.security.AuditChain;
import io.agentstate.testsupport.localstack.LocalStack;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.response.ValidatableResponse;

/**
 * {@code GET /sessions/{id}/audit} on the real stack: the chain verifies after the ledger wrote it, and every edit made
 * behind the ledger's back, straight in PostgreSQL, is caught and located.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class AuditTest {

    @Inject
    AgentStateConfig config;

    @Test
    void shouldVerifyAChainOfWritesConflictsAndRejections() {
        String session = "audit-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-2", "1", message("two")).then().statusCode(201);
        post(session, session + "-stale", "0", message("late")).then().statusCode(409);
        post(session, session + "-orphan", null, """
                {"source":"agent://tools","type":"agentstate.tool.completed","data":{"callId":"never","output":1}}""")
                .then().statusCode(422);
        post(session, session + "-batch", null, """
                [{"source":"agent://a","type":"agentstate.message.appended","data":{"role":"user","content":"b1"}},
                 {"source":"agent://a","type":"agentstate.message.appended","data":{"role":"assistant","content":"b2"}}]""")
                .then().statusCode(201);

        audit(session).statusCode(200).contentType(startsWith("application/json"))
                .body("sessionId", equalTo(session))
                .body("valid", equalTo(true))
                .body("length", equalTo(6))
                .body("$", hasKey("brokenAt"))
                .body("brokenAt", nullValue())
                .body("brokenEventId", nullValue())
                .body("signedSequence", equalTo(6))
                .body("signatureValid", equalTo(true))
                .body("keyId", startsWith("hmac-"))
                .body("unchained", equalTo(0))
                .body("$", org.hamcrest.Matchers.not(hasKey("reason")));
    }

    @Test
    void shouldNameTheVersionWhosePayloadWasEditedInPostgresql() throws SQLException {
        String session = "audit-edit-" + UUID.randomUUID();
        for (int i = 1; i <= 4; i++) {
            post(session, session + "-" + i, null, message("message " + i)).then().statusCode(201);
        }

        // the payload is ciphertext (encryption at rest): flipping one bit of it is the edit
        int changed = sql("UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1) "
                + "WHERE tenant = ? AND session_id = ? AND version = 3", session);

        assertThat(changed).isEqualTo(1);
        audit(session).statusCode(200)
                .body("valid", equalTo(false))
                .body("brokenAt", equalTo(3))
                .body("brokenEventId", equalTo(session + "-3"))
                .body("brokenSequence", equalTo(3))
                .body("signatureValid", equalTo(true))
                .body("length", equalTo(4))
                .body("reason", containsString("version 3"));
    }

    @Test
    void shouldNameTheVersionWhoseMetadataWasEditedInPostgresql() throws SQLException {
        String session = "audit-meta-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-2", null, message("two")).then().statusCode(201);

        sql("UPDATE events SET source = 'agent://someone-else' WHERE tenant = ? AND session_id = ? AND version = 2",
                session);

        audit(session).statusCode(200).body("valid", equalTo(false)).body("brokenAt", equalTo(2));
    }

    @Test
    void shouldDetectAMiddleRowDeletedInPostgresql() throws SQLException {
        String session = "audit-delete-" + UUID.randomUUID();
        for (int i = 1; i <= 4; i++) {
            post(session, session + "-" + i, null, message("message " + i)).then().statusCode(201);
        }

        sql("DELETE FROM events WHERE tenant = ? AND session_id = ? AND version = 2", session);

        audit(session).statusCode(200)
                .body("valid", equalTo(false))
                .body("brokenAt", equalTo(2))
                .body("brokenSequence", equalTo(2))
                .body("reason", containsString("missing"));
    }

    @Test
    void shouldDetectTheNewestRowDeletedInPostgresql() throws SQLException {
        String session = "audit-truncate-" + UUID.randomUUID();
        for (int i = 1; i <= 3; i++) {
            post(session, session + "-" + i, null, message("message " + i)).then().statusCode(201);
        }

        sql("DELETE FROM events WHERE tenant = ? AND session_id = ? AND version = 3", session);

        audit(session).statusCode(200).body("valid", equalTo(false)).body("brokenAt", equalTo(3))
                .body("reason", containsString("newest entries"));
    }

    @Test
    void shouldNameTheVersionARefusalWasMadeAtWhenItIsEdited() throws SQLException {
        String session = "audit-refusal-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-stale", "0", message("late")).then().statusCode(409);
        post(session, session + "-2", "1", message("two")).then().statusCode(201);

        sql("UPDATE rejections SET reason = 'nothing to see' WHERE tenant = ? AND session_id = ? AND event_id = '"
                + session + "-stale'", session);

        audit(session).statusCode(200)
                .body("valid", equalTo(false))
                .body("brokenAt", equalTo(1))
                .body("brokenEventId", equalTo(session + "-stale"))
                .body("brokenSequence", equalTo(2))
                .body("reason", containsString("refusal"));
    }

    @Test
    void shouldDetectAHeadForgedWithoutTheKey() throws SQLException {
        String session = "audit-forged-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-2", null, message("two")).then().statusCode(201);

        // the careful forger: version 2 rewritten, its stored hash and the head's recomputed; only the key is missing
        byte[] forged = """
                {"specversion":"1.0","id":"%s-2","source":"agent://planner","type":"agentstate.message.appended",\
                "subject":"%s","time":"2030-01-01T00:00:00Z","data":{"role":"user","content":"forged"}}"""
                .formatted(session, session).getBytes(StandardCharsets.UTF_8);
        try (Connection db = connect()) {
            AuditChain.Entry entry;
            byte[] previous;
            try (PreparedStatement read = db.prepareStatement("SELECT e.event_id, e.type, e.source, e.occurred_at, "
                    + "p.chain_hash AS previous FROM events e JOIN events p ON p.tenant = e.tenant "
                    + "AND p.session_id = e.session_id AND p.version = 1 WHERE e.tenant = ? AND e.session_id = ? "
                    + "AND e.version = 2")) {
                read.setString(1, config.tenant());
                read.setString(2, session);
                try (ResultSet row = read.executeQuery()) {
                    assertThat(row.next()).isTrue();
                    entry = AuditChain.Entry.accepted(config.tenant(), session, 2, 2, row.getString("event_id"),
                            row.getString("type"), row.getString("source"),
                            row.getObject("occurred_at", java.time.OffsetDateTime.class).toInstant(), forged);
                    previous = row.getBytes("previous");
                }
            }
            byte[] hash = AuditChain.hash(previous, entry);
            update(db, "UPDATE events SET payload = ?, chain_hash = ? WHERE tenant = ? AND session_id = ? AND version = 2",
                    forged, hash, config.tenant(), session);
            update(db, "UPDATE audit_heads SET chain_hash = ? WHERE tenant = ? AND session_id = ?", hash,
                    config.tenant(), session);
        }

        audit(session).statusCode(200)
                .body("valid", equalTo(false))
                .body("signatureValid", equalTo(false))
                .body("signedSequence", equalTo(2))
                .body("reason", containsString("signature does not verify"));
    }

    @Test
    void shouldStartTheChainOfAnOlderSessionAtItsFirstEntryAfterTheMigration() throws SQLException {
        String session = "audit-older-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-stale", "0", message("late")).then().statusCode(409);
        post(session, session + "-2", null, message("two")).then().statusCode(201);
        // as V4 leaves the rows it finds: no place in a chain, no chain head
        sql("UPDATE events SET chain_seq = NULL, chain_hash = NULL WHERE tenant = ? AND session_id = ?", session);
        sql("UPDATE rejections SET chain_seq = NULL, chain_hash = NULL WHERE tenant = ? AND session_id = ?", session);
        sql("DELETE FROM audit_heads WHERE tenant = ? AND session_id = ?", session);

        audit(session).statusCode(200).body("valid", equalTo(true)).body("length", equalTo(0))
                .body("unchained", equalTo(3)).body("$", org.hamcrest.Matchers.not(hasKey("signatureValid")));
        post(session, session + "-3", null, message("three")).then().statusCode(201);
        audit(session).statusCode(200).body("valid", equalTo(true)).body("length", equalTo(1))
                .body("unchained", equalTo(3)).body("signatureValid", equalTo(true));

        // a row slipped in without a place in the chain, after the chain began, is caught
        sql("INSERT INTO events (tenant, session_id, version, event_id, type, source, occurred_at, log_partition, "
                + "log_offset, payload) SELECT tenant, session_id, 4, event_id || '-copy', type, source, occurred_at, "
                + "log_partition, log_offset, payload FROM events WHERE tenant = ? AND session_id = ? AND version = 3",
                session);
        audit(session).statusCode(200).body("valid", equalTo(false)).body("brokenAt", equalTo(4));
    }

    @Test
    void shouldAnswer404ForAnUnknownSession() {
        audit("audit-none-" + UUID.randomUUID()).statusCode(404)
                .contentType(startsWith("application/problem+json"))
                .body("status", equalTo(404))
                .body("detail", containsString("no session"));
    }

    @Test
    void shouldAnswer404OnceTheSessionIsErasedAndStartAFreshChainAfter() {
        String session = "audit-erased-" + UUID.randomUUID();
        post(session, session + "-1", null, message("one")).then().statusCode(201);
        post(session, session + "-stale", "5", message("late")).then().statusCode(409);
        audit(session).statusCode(200).body("valid", equalTo(true)).body("length", equalTo(2));

        given().header("Idempotency-Key", session + "-erase").delete("/sessions/{id}", session).then().statusCode(204);

        audit(session).statusCode(404).contentType(startsWith("application/problem+json"));
        post(session, session + "-again", null, message("again")).then().statusCode(201);
        audit(session).statusCode(200).body("valid", equalTo(true)).body("length", equalTo(1));
    }

    @Test
    void shouldVerifyAChainLongerThanAPage() {
        String session = "audit-long-" + UUID.randomUUID();
        int events = config.audit().pageSize() * 2 + 7;
        for (int from = 0; from < events; from += 100) {
            StringBuilder batch = new StringBuilder("[");
            for (int i = from; i < Math.min(events, from + 100); i++) {
                batch.append(i == from ? "" : ",").append(message("m" + i));
            }
            post(session, session + "-" + from, null, batch.append("]").toString()).then().statusCode(201);
        }

        audit(session).statusCode(200).body("valid", equalTo(true)).body("length", equalTo(events));
    }

    private static ValidatableResponse audit(String session) {
        return given().get("/sessions/{id}/audit", session).then();
    }

    private int sql(String statement, String session) throws SQLException {
        try (Connection db = connect()) {
            return update(db, statement, config.tenant(), session);
        }
    }

    private static int update(Connection db, String statement, Object... parameters) throws SQLException {
        try (PreparedStatement update = db.prepareStatement(statement)) {
            for (int i = 0; i < parameters.length; i++) {
                update.setObject(i + 1, parameters[i]);
            }
            return update.executeUpdate();
        }
    }

    private static Connection connect() throws SQLException {
        LocalStack stack = LocalStackResource.shared();
        return DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(), stack.postgresPassword());
    }

    private static String message(String content) {
        return """
                {"source":"agent://planner","type":"agentstate.message.appended","time":"2030-01-01T00:00:00Z",\
                "data":{"role":"user","content":"%s"}}""".formatted(content);
    }

    private static Response post(String session, String id, String ifMatch, String body) {
        var request = given().contentType(ContentType.JSON).header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.body(body).post("/sessions/{id}/events", session);
    }
}
