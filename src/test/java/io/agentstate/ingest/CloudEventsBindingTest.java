package io.agentstate.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The CloudEvents HTTP protocol binding, spoken by the CloudEvents Java SDK: binary mode (attributes in ce-* headers,
 * the body the data), structured mode and the JSON batch format all append to a session, with extensions kept.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class CloudEventsBindingTest {

    private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private final String session = "ce-" + UUID.randomUUID();

    private CloudEvent message(String id, String content) {
        return CloudEventBuilder.v1().withId(id).withSource(URI.create("agent://sdk"))
                .withType("agentstate.message.appended").withSubject(session)
                .withTime(OffsetDateTime.parse("2026-01-01T00:00:00Z"))
                .withExtension("traceparent", TRACEPARENT).withExtension("runlabel", "café run")
                .withDataContentType("application/json")
                .withData(("{\"role\":\"user\",\"content\":\"" + content + "\"}").getBytes(StandardCharsets.UTF_8))
                .build();
    }

    // What the SDK's generic HTTP writer puts on the wire, sent as it is.
    private record Wire(Map<String, String> headers, byte[] body) {
        Response post(String session) {
            return given().headers(headers).body(body).when().post("/sessions/{id}/events", session);
        }
    }

    private static Wire binary(CloudEvent event) {
        Map<String, String> headers = new LinkedHashMap<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        HttpMessageFactory.createWriter(headers::put, body::writeBytes).writeBinary(event);
        return new Wire(headers, body.toByteArray());
    }

    private static Wire structured(CloudEvent event) {
        Map<String, String> headers = new LinkedHashMap<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        HttpMessageFactory.createWriter(headers::put, body::writeBytes).writeStructured(event, new JsonFormat());
        return new Wire(headers, body.toByteArray());
    }

    @Test
    void shouldAppendInBinaryModeWithTheAttributesFromTheHeaders() {
        Wire wire = binary(message(session + "-b1", "binary"));
        assertThat(wire.headers()).containsKey("ce-id").containsEntry("Content-Type", "application/json");

        wire.post(session).then().statusCode(201).body("version", equalTo(1))
                .body("eventIds", equalTo(List.of(session + "-b1")));

        given().get("/sessions/{id}/events", session).then().statusCode(200)
                .body("entries[0].event.id", equalTo(session + "-b1"))
                .body("entries[0].event.source", equalTo("agent://sdk"))
                .body("entries[0].event.time", equalTo("2026-01-01T00:00:00Z"))
                .body("entries[0].event.traceparent", equalTo(TRACEPARENT))
                .body("entries[0].event.runlabel", equalTo("café run"))
                .body("entries[0].event.data.content", equalTo("binary"));
        // a repeat of the same binary request is the same event
        wire.post(session).then().statusCode(200).body("outcome", equalTo("duplicate"));
    }

    @Test
    void shouldAppendInStructuredModeAndAsAJsonBatch() {
        Wire wire = structured(message(session + "-s1", "structured"));
        assertThat(wire.headers().get("Content-Type")).startsWith("application/cloudevents+json");
        wire.post(session).then().statusCode(201).body("version", equalTo(1));

        JsonFormat format = new JsonFormat();
        String batch = "[" + new String(format.serialize(message(session + "-s2", "two")), StandardCharsets.UTF_8) + ","
                + new String(format.serialize(message(session + "-s3", "three")), StandardCharsets.UTF_8) + "]";
        // (UTF-8 said and sent: RestAssured would otherwise encode the body as ISO-8859-1)
        given().contentType("application/cloudevents-batch+json; charset=UTF-8")
                .body(batch.getBytes(StandardCharsets.UTF_8))
                .when().post("/sessions/{id}/events", session)
                .then().statusCode(201).body("version", equalTo(3));

        given().get("/sessions/{id}", session).then().statusCode(200)
                .body("messages.content", equalTo(List.of("structured", "two", "three")));
    }

    @Test
    void shouldRefuseABinaryEventItCannotStoreWithAClearProblem() {
        CloudEvent text = CloudEventBuilder.v1(message(session + "-t1", "x")).withDataContentType("text/plain")
                .withData("plain words".getBytes(StandardCharsets.UTF_8)).build();
        binary(text).post(session).then().statusCode(415).contentType("application/problem+json")
                .body("detail", containsString("content type"));

        Wire broken = binary(message(session + "-t2", "x"));
        new Wire(broken.headers(), "{not json".getBytes(StandardCharsets.UTF_8)).post(session).then().statusCode(400)
                .contentType("application/problem+json").body("detail", containsString("must be JSON"));

        Map<String, String> badEncoding = new LinkedHashMap<>(broken.headers());
        badEncoding.put("ce-runlabel", "100%");
        new Wire(badEncoding, broken.body()).post(session).then().statusCode(400)
                .body("detail", containsString("percent-encoding"));

        Map<String, String> badName = new LinkedHashMap<>(broken.headers());
        badName.put("ce-my_ext", "x");
        new Wire(badName, broken.body()).post(session).then().statusCode(400)
                .body("detail", containsString("attribute"));

        new Wire(broken.headers(), "{\"role\":\"user\",\"content\":\"x\"} trailing".getBytes(StandardCharsets.UTF_8))
                .post(session).then().statusCode(400).body("detail", containsString("must be JSON"));

        Map<String, String> latin1 = new LinkedHashMap<>(broken.headers());
        latin1.put("Content-Type", "application/json; charset=ISO-8859-1");
        new Wire(latin1, broken.body()).post(session).then().statusCode(415)
                .body("detail", containsString("UTF-8"));

        // nothing of the refused requests reached the session
        given().get("/sessions/{id}", session).then().statusCode(404);
    }

    @Test
    void shouldPercentDecodeAttributeValuesAndKeepNumbersExact() {
        Wire wire = binary(message(session + "-p1", "x"));
        Map<String, String> headers = new LinkedHashMap<>(wire.headers());
        // what a header cannot carry travels percent-encoded (the binding's rule), '+' stays a plus
        headers.put("ce-runlabel", "caf%C3%A9+%22quoted%22 100%25");
        byte[] body = "{\"role\":\"user\",\"content\":\"x\",\"score\":0.1000000000000000055511151231257827}"
                .getBytes(StandardCharsets.UTF_8);
        new Wire(headers, body).post(session).then().statusCode(201);

        // the same data sent structured: both modes store the number alike (the codec's own parsing)
        String other = session + "-structured";
        given().contentType("application/json; charset=UTF-8").header("Idempotency-Key", other + "-1")
                .body(("{\"source\":\"agent://sdk\",\"type\":\"agentstate.message.appended\",\"data\":"
                        + new String(body, StandardCharsets.UTF_8) + "}").getBytes(StandardCharsets.UTF_8))
                .post("/sessions/{id}/events", other).then().statusCode(201);

        String timeline = given().get("/sessions/{id}/events", session).then().statusCode(200).extract().asString();
        assertThat(timeline).contains("\"runlabel\":\"café+\\\"quoted\\\" 100%\"");
        String binaryScore = timeline.substring(timeline.indexOf("\"score\":")).split("[,}]")[0];
        String structured = given().get("/sessions/{id}/events", other).then().statusCode(200).extract().asString();
        String structuredScore = structured.substring(structured.indexOf("\"score\":")).split("[,}]")[0];
        assertThat(binaryScore).isEqualTo(structuredScore);
    }
}
