package io.agentstate.event;

import static io.agentstate.testsupport.Events.bytes;
import static io.agentstate.testsupport.Events.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.testsupport.Events;

/** Decoding CloudEvents from Kafka records and REST bodies, and the limits every path shares. */
class EventCodecTest {

    private static final Instant LOG_TIME = Instant.parse("2025-07-01T00:00:00Z");
    private static final Map<String, String> STRUCTURED = Map.of("content-type", EventCodec.STRUCTURED);

    private final EventCodec codec = Events.CODEC;

    /** A valid structured message event; tests change one member at a time. */
    private static ObjectNode message() {
        return (ObjectNode) json("""
                {"specversion":"1.0","id":"e1","source":"agent://planner","type":"agentstate.message.appended",
                 "subject":"s1","time":"2025-06-30T12:00:00Z","tenant":"acme","correlationid":"corr-1",
                 "data":{"role":"user","content":"hi","name":"ada"}}""");
    }

    private EventBatch record(String key, Object value) {
        return record(key, value, STRUCTURED);
    }

    private EventBatch record(String key, Object value, Map<String, String> headers) {
        byte[] bytes = value instanceof byte[] b ? b : bytes(value.toString());
        return codec.decodeRecord(key, bytes, headers, "default-tenant", LOG_TIME);
    }

    private void assertRejected(String key, Object value, String... messageParts) {
        assertThatThrownBy(() -> record(key, value)).isInstanceOf(InvalidEventException.class)
                .message().contains(messageParts);
    }

    @Test
    void shouldDecodeStructuredEvent() {
        EventBatch batch = record("s1", message());

        assertThat(batch.atomic()).isFalse();
        assertThat(batch.tenant()).isEqualTo("acme");
        assertThat(batch.sessionId()).isEqualTo("s1");
        Event event = batch.first();
        assertThat(event.id()).isEqualTo("e1");
        assertThat(event.source()).isEqualTo("agent://planner");
        assertThat(event.kind()).isEqualTo(EventType.MESSAGE_APPENDED);
        assertThat(event.subject()).isEqualTo("s1");
        assertThat(event.time()).isEqualTo(Instant.parse("2025-06-30T12:00:00Z"));
        assertThat(event.tenant()).isEqualTo("acme");
        assertThat(event.correlationId()).isEqualTo("corr-1");
        assertThat(event.expectedVersion()).isNull();
        assertThat(event.payload()).isEqualTo(new EventData.MessageAppended("user", "hi", "ada", null));
    }

    @Test
    void shouldFillTenantTimeAndSubjectFromTheRecordWhenAbsent() {
        ObjectNode bare = message();
        bare.remove(List.of("tenant", "time", "subject"));

        Event event = record("s1", bare).first();

        assertThat(event.tenant()).isEqualTo("default-tenant");
        assertThat(event.time()).isEqualTo(LOG_TIME);
        assertThat(event.subject()).isEqualTo("s1");
    }

    @Test
    void shouldDecodeEveryAgentStateType() {
        Events s = Events.session("s1");

        assertThat(s.started("u1", "{\"k\":1}").payload())
                .isEqualTo(new EventData.SessionStarted("u1", (ObjectNode) json("{\"k\":1}")));
        assertThat(s.toolRequested("c1", "search", "{\"q\":1}").payload())
                .isEqualTo(new EventData.ToolRequested("c1", "search", json("{\"q\":1}")));
        assertThat(s.toolCompleted("c1", "[1]").payload())
                .isEqualTo(new EventData.ToolCompleted("c1", json("[1]"), null));
        assertThat(s.toolFailed("c1", "boom").payload()).isEqualTo(new EventData.ToolCompleted("c1", null, "boom"));
        assertThat(s.patch("agent:coder", "{\"a\":null}").payload())
                .isEqualTo(new EventData.StatePatched("agent:coder", (ObjectNode) json("{\"a\":null}")));
        assertThat(s.memory("u1", "fact").payload()).isEqualTo(new EventData.MemoryRecorded("u1", "fact", List.of(), false));
        assertThat(s.event("agentstate.memory.recorded", "{\"userId\":\"u1\",\"fact\":\"fact\",\"distinct\":true}")
                .payload())
                .isEqualTo(new EventData.MemoryRecorded("u1", "fact", List.of(), true));
        assertThat(s.summary(3, "text").payload())
                .isEqualTo(new EventData.SummaryRecorded(3, "text", "test-model", null));
        assertThat(s.ended("done").payload()).isEqualTo(new EventData.SessionEnded("done"));
        assertThat(s.ended(null).payload()).isEqualTo(new EventData.SessionEnded(null));
    }

    @Test
    void shouldEncodeCharactersOutsideTheBmpAsTheirUtf8Bytes() {
        // 9 UTF-8 bytes per repetition; escaped surrogate pairs would make the emoji 12 bytes instead of 4
        String text = "\u00e9\u2713\ud83d\ude00".repeat(1000);
        ObjectNode custom = message().put("type", "com.example.blob");
        custom.putObject("data").put("v", text);
        Event event = record("s1", custom).first();

        byte[] encoded = codec.encode(event);

        assertThat(new String(encoded, StandardCharsets.UTF_8)).contains(text).doesNotContain("\\ud83d");
        assertThat(encoded.length).isLessThan(9000 + 400);
        assertThat(codec.decodeRecord("s1", encoded, STRUCTURED, "acme", LOG_TIME).first().payload())
                .isEqualTo(event.payload());
    }

    @Test
    void shouldAcceptCustomReverseDnsType() {
        ObjectNode custom = message().put("type", "com.example.planner.step");
        custom.set("data", json("{\"anything\":[1,{\"goes\":true}]}"));

        Event event = record("s1", custom).first();

        assertThat(event.kind()).isEqualTo(EventType.CUSTOM);
        assertThat(event.type()).isEqualTo("com.example.planner.step");
        assertThat(event.payload()).isEqualTo(new EventData.Custom(json("{\"anything\":[1,{\"goes\":true}]}")));
    }

    @Test
    void shouldDecodeBinaryModeFromCeHeaders() {
        Map<String, String> headers = new HashMap<>();
        headers.put("ce_specversion", "1.0");
        headers.put("ce_id", "b1");
        headers.put("ce_source", "agent://coder");
        headers.put("ce_type", "agentstate.tool.requested");
        headers.put("ce_subject", "s1");
        headers.put("ce_time", "2025-06-30T12:00:00+02:00");
        headers.put("ce_tenant", "acme");
        headers.put("ce_expectedversion", "4");
        headers.put("content-type", "application/json");

        EventBatch batch = record("s1", "{\"callId\":\"c1\",\"tool\":\"search\"}", headers);

        assertThat(batch.atomic()).isFalse();
        Event event = batch.first();
        assertThat(event.id()).isEqualTo("b1");
        assertThat(event.source()).isEqualTo("agent://coder");
        assertThat(event.time()).isEqualTo(Instant.parse("2025-06-30T10:00:00Z"));
        assertThat(event.expectedVersion()).isEqualTo(4L);
        assertThat(event.tenant()).isEqualTo("acme");
        assertThat(event.payload()).isEqualTo(new EventData.ToolRequested("c1", "search", null));
    }

    @Test
    void shouldRejectBinaryModeWithNonNumericExpectedVersion() {
        Map<String, String> headers = Map.of("ce_specversion", "1.0", "ce_id", "b1", "ce_source", "agent://coder",
                "ce_type", "com.example.x", "ce_expectedversion", "four");

        assertThatThrownBy(() -> record("s1", "{}", headers)).isInstanceOf(InvalidEventException.class)
                .hasMessage("ce_expectedversion is not an integer: four");
    }

    @Test
    void shouldValidateBinaryModeDataWithTheSameSchema() {
        Map<String, String> headers = Map.of("ce_specversion", "1.0", "ce_id", "b1", "ce_source", "agent://coder",
                "ce_type", "agentstate.message.appended");

        assertThatThrownBy(() -> record("s1", "{\"content\":\"no role\"}", headers))
                .isInstanceOf(InvalidEventException.class)
                .message().contains("data does not match its schema", "role");
    }

    @Test
    void shouldDecodeBatchModeAsAtomicBatch() {
        ObjectNode first = message().put("expectedversion", 7);
        ObjectNode second = message().put("id", "e2");

        EventBatch batch = record("s1", Events.array(first, second), Map.of("content-type", EventCodec.BATCH));

        assertThat(batch.atomic()).isTrue();
        assertThat(batch.events()).extracting(Event::id).containsExactly("e1", "e2");
        assertThat(batch.expectedVersion()).isEqualTo(7L);
        assertThat(batch.sessionId()).isEqualTo("s1");
    }

    @Test
    void shouldDecodePlainJsonArrayAsAtomicBatch() {
        EventBatch batch = record("s1", Events.array(message(), message().put("id", "e2")));

        assertThat(batch.atomic()).isTrue();
        assertThat(batch.events()).hasSize(2);
    }

    @Test
    void shouldRejectBatchContentTypeWithoutArray() {
        assertThatThrownBy(() -> record("s1", message(), Map.of("content-type", EventCodec.BATCH)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("a batch must be a JSON array of structured CloudEvents");
    }

    @Test
    void shouldRejectEmptyBatch() {
        assertRejected("s1", "[]", "an atomic batch needs at least one event");
    }

    @Test
    void shouldRejectBatchOverTheEventLimit() {
        ObjectNode[] events = new ObjectNode[101];
        for (int i = 0; i < events.length; i++) {
            events[i] = message().put("id", "e" + i);
        }

        assertRejected("s1", Events.array(events), "a batch of 101 events exceeds the limit of 100");
    }

    @Test
    void shouldRejectExpectedVersionOnLaterBatchEvent() {
        assertRejected("s1", Events.array(message(), message().put("id", "e2").put("expectedversion", 3)),
                "in a batch only the first event may carry expectedversion");
    }

    @Test
    void shouldRejectDuplicateIdsInBatch() {
        assertRejected("s1", Events.array(message(), message()), "event id e1 appears twice in one batch");
    }

    @Test
    void shouldRejectBatchSpanningSessions() {
        assertRejected("s1", Events.array(message(), message().put("id", "e2").put("subject", "s2")),
                "a batch must stay in one session");
    }

    @Test
    void shouldRejectBatchSpanningTenants() {
        assertRejected("s1", Events.array(message(), message().put("id", "e2").put("tenant", "other")),
                "a batch must stay in one tenant");
    }

    @Test
    void shouldDecodeRequestWithIdempotencyKeyAndIfMatch() {
        ObjectNode body = message();
        body.remove(List.of("id", "subject", "tenant", "time"));

        EventBatch batch = codec.decodeRequest("s1", bytes(body), "tenant-from-token", "key-1", 5L, LOG_TIME);

        Event event = batch.first();
        assertThat(batch.atomic()).isFalse();
        assertThat(event.id()).isEqualTo("key-1");
        assertThat(event.expectedVersion()).isEqualTo(5L);
        assertThat(event.subject()).isEqualTo("s1");
        assertThat(event.tenant()).isEqualTo("tenant-from-token");
        assertThat(event.time()).isEqualTo(LOG_TIME);
        assertThat(batch.tenant()).isEqualTo("tenant-from-token");
    }

    @Test
    void shouldRefuseABodyNamingAnotherTenantThanTheCredentials() {
        assertThatThrownBy(() -> codec.decodeRequest("s1", bytes(message().put("tenant", "forged")), "acme", null,
                null, LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("credentials");
        // naming one's own tenant is harmless
        EventBatch batch = codec.decodeRequest("s1", bytes(message().put("tenant", "acme")), "acme", null, null,
                LOG_TIME);
        assertThat(batch.first().tenant()).isEqualTo("acme");
    }

    @Test
    void shouldDeriveBatchIdsFromIdempotencyKeyAndPutIfMatchOnFirstEvent() {
        ObjectNode first = message();
        first.remove("id");
        ObjectNode second = message();
        second.remove("id");

        EventBatch batch = codec.decodeRequest("s1", bytes(Events.array(first, second)), "acme", "turn-9", 12L,
                LOG_TIME);

        assertThat(batch.atomic()).isTrue();
        assertThat(batch.events()).extracting(Event::id).containsExactly("turn-9:0", "turn-9:1");
        assertThat(batch.events()).extracting(Event::expectedVersion).containsExactly(12L, null);
    }

    @Test
    void shouldRejectRequestWithoutIdOrIdempotencyKey() {
        ObjectNode body = message();
        body.remove("id");

        assertThatThrownBy(() -> codec.decodeRequest("s1", bytes(body), "acme", null, null, LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("event 0 has no id and the request has no Idempotency-Key");
    }

    @Test
    void shouldRejectIdempotencyKeyThatDiffersFromEventId() {
        assertThatThrownBy(() -> codec.decodeRequest("s1", bytes(message()), "acme", "other", null, LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("Idempotency-Key 'other' differs from the event id 'e1'");
    }

    @Test
    void shouldRejectSubjectThatDiffersFromPathSession() {
        assertThatThrownBy(() -> codec.decodeRequest("s1", bytes(message().put("subject", "s2")), "acme", null, null,
                LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("subject 's2' does not match the session of the path 's1'");
    }

    @Test
    void shouldRejectInvalidPathSessionId() {
        assertThatThrownBy(() -> codec.decodeRequest("s 1/../x", bytes(message()), "acme", null, null, LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .message().startsWith("session id must match");
    }

    @Test
    void shouldRejectRecordKeyThatDiffersFromSubject() {
        assertRejected("s2", message(), "record key 's2' differs from the event subject 's1'");
    }

    @Test
    void shouldRejectRecordWithoutSessionId() {
        ObjectNode noSubject = message();
        noSubject.remove("subject");

        assertRejected(null, noSubject, "record has no key; the key must be the session id");
    }

    @Test
    void shouldRejectInvalidJson() {
        assertRejected("s1", "{\"id\":", "invalid JSON");
        assertRejected("s1", "{\"id\":\"e1\"} trailing", "invalid JSON");
    }

    @Test
    void shouldRejectRecordWithoutKeyBecauseTheKeyPlacesTheSessionOnOnePartition() {
        assertThatThrownBy(() -> codec.decodeRecord(null, bytes(message().toString()), STRUCTURED, "acme", LOG_TIME))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("the key must be the session id");
    }

    @Test
    void shouldRejectRecordTimestampBeyondYear9999() {
        java.time.Instant far = java.time.Instant.parse("9999-12-31T23:59:59Z").plusSeconds(10);
        assertThatThrownBy(() -> codec.decodeRecord("s1", bytes(message().toString()), STRUCTURED, "acme", far))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("outside years 1 to 9999");
    }

    @Test
    void shouldRejectAPathologicalTypeWithoutOverflowingTheValidator() {
        String type = "a" + ".b".repeat(50_000);
        assertThatThrownBy(() -> record("s1", message().put("type", type)))
                .isInstanceOf(InvalidEventException.class).hasMessageContaining("type is longer than 512 characters");
    }

    @Test
    void shouldRejectRecordWithoutValue() {
        assertThatThrownBy(() -> codec.decodeRecord("s1", null, STRUCTURED, "acme", LOG_TIME))
                .isInstanceOf(InvalidEventException.class).hasMessage("record has no value");
    }

    @Test
    void shouldRejectEventThatIsNotAnObject() {
        assertRejected("s1", "\"just a string\"", "event must be a JSON object");
    }

    @Test
    void shouldRejectMissingId() {
        ObjectNode event = message();
        event.remove("id");

        assertRejected("s1", event, "envelope does not match its schema", "required property 'id' not found");
    }

    @Test
    void shouldRejectMissingSource() {
        ObjectNode event = message();
        event.remove("source");

        assertRejected("s1", event, "envelope does not match its schema", "required property 'source' not found");
    }

    @Test
    void shouldRejectMissingType() {
        ObjectNode event = message();
        event.remove("type");

        assertRejected("s1", event, "envelope does not match its schema", "required property 'type' not found");
    }

    @Test
    void shouldRejectIdLongerThan128Characters() {
        assertRejected("s1", message().put("id", "x".repeat(129)), "envelope does not match its schema", "id");
    }

    @Test
    void shouldRejectTypeThatIsNotReverseDns() {
        assertRejected("s1", message().put("type", "message"), "envelope does not match its schema", "type");
    }

    @Test
    void shouldRejectUnknownTypeInReservedNamespace() {
        assertRejected("s1", message().put("type", "agentstate.message.deleted"),
                "unknown type 'agentstate.message.deleted' in the reserved namespace agentstate.");
    }

    @Test
    void shouldRejectMessageWithoutRole() {
        ObjectNode event = message();
        event.set("data", json("{\"content\":\"hi\"}"));

        assertRejected("s1", event, "data does not match its schema", "required property 'role' not found");
    }

    @Test
    void shouldRejectToolMessageWithoutToolCallId() {
        ObjectNode event = message();
        event.set("data", json("{\"role\":\"tool\",\"content\":\"42\"}"));

        assertRejected("s1", event, "data does not match its schema", "toolCallId");
    }

    @Test
    void shouldRejectUnknownRole() {
        ObjectNode event = message();
        event.set("data", json("{\"role\":\"robot\",\"content\":\"42\"}"));

        assertRejected("s1", event, "data does not match its schema", "role");
    }

    @Test
    void shouldRejectToolCompletionWithBothOutputAndError() {
        ObjectNode event = message().put("type", "agentstate.tool.completed");
        event.set("data", json("{\"callId\":\"c1\",\"output\":1,\"error\":\"boom\"}"));

        assertRejected("s1", event, "data does not match its schema");
    }

    @Test
    void shouldRejectPatchOfUnknownScope() {
        ObjectNode event = message().put("type", "agentstate.state.patched");
        event.set("data", json("{\"scope\":\"global\",\"patch\":{}}"));

        assertRejected("s1", event, "data does not match its schema", "scope");
    }

    @Test
    void shouldRejectDataBase64() {
        ObjectNode event = message().put("type", "com.example.blob").put("data_base64", "aGk=");
        event.remove("data");

        assertRejected("s1", event, "data_base64 is not supported");
    }

    @Test
    void shouldAcceptNestingUpToTheLimit() {
        Event event = record("s1", custom(nested(31))).first();

        assertThat(event.data().at("/a".repeat(31))).isEqualTo(json("1"));
    }

    @Test
    void shouldRejectNestingDeeperThanTheLimit() {
        assertRejected("s1", custom(nested(32)), "nesting deeper than 32 levels");
    }

    @Test
    void shouldRejectVeryDeepNestingWithoutParsingIt() {
        assertThatThrownBy(() -> record("s1", custom(nested(5000)))).isInstanceOf(InvalidEventException.class)
                .message().contains("nesting deeper than 32 levels");
    }

    @Test
    void shouldNameTheDepthLimitWhenNestingIsFarTooDeep() {
        // the reason goes to REST clients and dead-letter headers: it should name our limit, not the parser's internals
        assertThatThrownBy(() -> record("s1", custom(nested(40)))).isInstanceOf(InvalidEventException.class)
                .message().contains("32").doesNotContain("StreamReadConstraints");
    }

    @Test
    void shouldRejectNestingDeeperThanTheLimitWhenInnermostContainerIsEmpty() {
        // as deep as nested(32), which is rejected; only the innermost object is empty
        String emptyInnermost = "{\"a\":".repeat(31) + "{}" + "}".repeat(31);

        assertRejected("s1", custom(emptyInnermost), "nesting deeper than 32 levels");
    }

    @Test
    void shouldRejectArrayOverTheLimit() {
        assertRejected("s1", custom("[" + "0,".repeat(10000) + "0]"), "an array has 10001 elements; the limit is 10000");
    }

    @Test
    void shouldAcceptArrayAtTheLimit() {
        Event event = record("s1", custom("[" + "0,".repeat(9999) + "0]")).first();

        assertThat(event.data().size()).isEqualTo(10000);
    }

    @Test
    void shouldRejectOversizedEvent() {
        String big = custom("\"" + "x".repeat(262144) + "\"");

        assertRejected("s1", big, "event of " + big.length() + " bytes exceeds the limit of 262144");
    }

    @Test
    void shouldRejectOversizedRequestBody() {
        String big = custom("\"" + "x".repeat(262144) + "\"");

        assertThatThrownBy(() -> codec.decodeRequest("s1", bytes(big), "acme", null, null, LOG_TIME))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("event of " + big.length() + " bytes exceeds the limit of 262144");
    }

    @Test
    void shouldRejectNulCharacterInString() {
        assertRejected("s1", custom("{\"text\":\"a\\u0000b\"}"), "without U+0000");
        assertRejected("s1", custom("{\"a\\u0000b\":1}"), "without U+0000");
    }

    @Test
    void shouldRejectUnpairedSurrogatesAnywhere() {
        assertRejected("s1", custom("{\"text\":\"a\\ud800\"}"), "well-formed Unicode");
        assertRejected("s1", custom("{\"\\udc00key\":1}"), "surrogate");
        assertRejected("s1", custom("{\"pair\":\"\\ud83d\\ude00 fine\", \"lone\":\"\\ud83d\"}"), "well-formed Unicode");
    }

    @Test
    void shouldKeepAPairedSurrogate() {
        EventBatch batch = codec.decodeRequest("s1", bytes(custom("{\"text\":\"\\ud83d\\ude00\"}")), "acme", null,
                null, LOG_TIME);
        assertThat(batch.first().data().get("text").textValue()).isEqualTo("\ud83d\ude00");
    }

    @Test
    void shouldQuoteInputInReasonsBoundedAndWithoutLineBreaks() {
        String time = "not a time\n" + "x".repeat(5000);
        InvalidEventException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidEventException.class,
                () -> codec.decodeRecord("s1", bytes("{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"agent://a\","
                        + "\"type\":\"com.example.x\",\"subject\":\"s1\",\"time\":\"" + time.replace("\n", "\\n") + "\"}"),
                        java.util.Map.of(), "acme", LOG_TIME));
        assertThat(e.getMessage()).contains("not a time\\u000a").doesNotContain("\n").hasSizeLessThan(200);
    }

    @Test
    void shouldRejectTimeAfterYear9999() {
        assertRejected("s1", message().put("time", "+10000-01-01T00:00:00Z"), "time must lie between years 1 and 9999");
        assertRejected("s1", message().put("time", "10000-01-01T00:00:00Z"), "time");
    }

    @Test
    void shouldRejectTimeThatIsNotRfc3339() {
        assertRejected("s1", message().put("time", "yesterday"), "time");
    }

    @Test
    void shouldRejectNegativeExpectedVersion() {
        assertRejected("s1", message().put("expectedversion", -1), "expectedversion");
    }

    @Test
    void shouldRejectExpectedVersionBeyondLongRange() {
        // 2^64 + 1 must not silently become expected version 1
        String event = message().toString().replace("\"id\":\"e1\"", "\"id\":\"e1\",\"expectedversion\":18446744073709551617");

        assertThatThrownBy(() -> record("s1", event)).isInstanceOf(InvalidEventException.class)
                .message().contains("expectedversion");
    }

    @Test
    void shouldRejectSummaryThroughVersionBeyondLongRange() {
        ObjectNode event = message().put("type", "agentstate.summary.recorded");
        event.set("data", json("{\"throughVersion\":18446744073709551617,\"summary\":\"s\"}"));

        assertThatThrownBy(() -> record("s1", event)).isInstanceOf(InvalidEventException.class)
                .message().contains("throughVersion");
    }

    @Test
    void shouldRejectInvalidTenant() {
        assertRejected("s1", message().put("tenant", "a/b"), "tenant");
    }

    @Test
    void shouldRoundTripThroughArchive() {
        Events s = Events.session("s1");
        List<Event> events = List.of(s.started("u1", "{\"k\":[1,2.5,{\"z\":null}]}"), s.expected(1).message("user", "hi"),
                s.toolRequested("c1", "search", "{\"q\":\"x\"}"), s.toolCompleted("c1", "null"), s.toolFailed("c2", "e"),
                s.patch("shared", "{\"a\":{\"b\":null}}"), s.memory("u1", "fact"), s.summary(2, "sum"), s.ended(null),
                s.custom("com.example.step"), s.event("com.example.empty", null), record("s1", message()).first());

        for (Event event : events) {
            assertThat(codec.decodeArchived(codec.encode(event))).as(event.type()).isEqualTo(event);
        }
    }

    @Test
    void shouldRoundTripBatchThroughItsRecordValue() {
        Events s = Events.session("s1");
        EventBatch batch = Events.batch(s.expected(0).started("u1"), s.message("user", "hi"));

        EventBatch decoded = record("s1", codec.encode(batch), Map.of("content-type", EventCodec.BATCH));

        assertThat(decoded).isEqualTo(batch);
    }

    private static String custom(String dataJson) {
        return message().put("type", "com.example.blob").toString().replace(
                "{\"role\":\"user\",\"content\":\"hi\",\"name\":\"ada\"}",
                dataJson);
    }

    /** {"a":{"a":...1}} with the given number of objects. */
    private static String nested(int depth) {
        return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
    }

    @Test
    void shouldPeekAtTheTenantsAndTypesOfStructuredBatchAndBinaryRecordsWithoutValidatingThem() {
        byte[] one = "{\"id\":\"a\",\"tenant\":\"acme\",\"data\":{\"tenant\":\"inner\",\"type\":\"x\"},\"type\":\"t1\"}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(codec.peekRecord(one, Map.of())).get()
                .isEqualTo(new EventCodec.RecordPeek(java.util.Set.of("acme"), java.util.Set.of("t1")));

        byte[] batch = "[{\"type\":\"t1\"},{\"tenant\":\"other\",\"type\":\"t2\"}]"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(codec.peekRecord(batch, Map.of())).get()
                .isEqualTo(new EventCodec.RecordPeek(java.util.Set.of("other"), java.util.Set.of("t1", "t2")));

        assertThat(codec.peekRecord("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                Map.of("ce_specversion", "1.0", "ce_tenant", "acme", "ce_type", "t3"))).get()
                .isEqualTo(new EventCodec.RecordPeek(java.util.Set.of("acme"), java.util.Set.of("t3")));

        // every value counts, however the JSON spells it: a repeated member, an escape, a later batch element
        assertThat(codec.peekRecord(bytes("{\"type\":\"x\",\"type\":\"agentstate.session.erased\"}"), Map.of())).get()
                .extracting(EventCodec.RecordPeek::types).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.ITERABLE)
                .contains("agentstate.session.erased");
        assertThat(codec.peekRecord(bytes("{\"type\":\"agentstate.session.\\u0065rased\"}"), Map.of())).get()
                .extracting(EventCodec.RecordPeek::types).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.ITERABLE)
                .containsExactly("agentstate.session.erased");
        assertThat(codec.peekRecord(bytes("[{\"type\":\"t1\"},{\"type\":\"agentstate.session.erased\",\"tenant\":\"b\"}]"),
                Map.of())).get().isEqualTo(new EventCodec.RecordPeek(java.util.Set.of("b"),
                        java.util.Set.of("t1", "agentstate.session.erased")));

        // what a quick look cannot read is left to the whole decode, which gives the reason
        for (String unreadable : List.of("{\"tenant\":7}", "[{\"type\":[]}]", "not json", "{\"a\":1} {}", "\"text\"",
                "[1]")) {
            assertThat(codec.peekRecord(unreadable.getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of()))
                    .as(unreadable).isEmpty();
        }
    }
}
