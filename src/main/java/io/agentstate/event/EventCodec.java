package io.agentstate.event;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

/**
 * Reads CloudEvents (structured, binary or batch mode) into {@link EventBatch}es and writes them back in structured
 * mode. Every input path (REST and Kafka) goes through the same limits and the same JSON Schemas, so an event is valid
 * on one path exactly when it is valid on the other.
 */
public final class EventCodec {

    public static final String STRUCTURED = "application/cloudevents+json";
    public static final String BATCH = "application/cloudevents-batch+json";
    /**
     * Record header a writer sets when it waits for the decision: the ledger then keeps the decision in Redis and
     * announces it. Part of the log's contract between ingest and the ledger.
     */
    public static final String REPLY_HEADER = "agentstate-reply";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final String ILL_FORMED = "strings must be well-formed Unicode without U+0000 (an unpaired "
            + "surrogate such as \\ud800 cannot be stored)";
    // Envelope attributes the codec reads itself; any other one is an extension, kept in the archive as it came.
    private static final Set<String> KNOWN_ATTRIBUTES = Set.of("specversion", "id", "source", "type", "subject", "time",
            "tenant", "expectedversion", "causationid", "correlationid", "data", "datacontenttype", "data_base64");
    private static final Instant MIN_TIME = Instant.parse("0001-01-01T00:00:00Z");
    private static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59Z");

    /**
     * Input limits.
     *
     * @param maxEventBytes largest serialised event
     * @param maxBatchEvents most events in an atomic batch
     * @param maxDepth deepest nesting inside an event
     * @param maxArrayElements most elements in any array of an event
     */
    public record Limits(int maxEventBytes, int maxBatchEvents, int maxDepth, int maxArrayElements) {
    }

    private final Limits limits;
    private final ObjectMapper mapper;
    private final JsonSchema envelopeSchema;
    private final Map<EventType, JsonSchema> dataSchemas = new EnumMap<>(EventType.class);

    public EventCodec(Limits limits) {
        this.limits = limits;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        // the envelope and a batch's array add two levels above the event's own data
                        .maxNestingDepth(limits.maxDepth() + 2)
                        .maxDocumentLength((long) limits.maxEventBytes() * limits.maxBatchEvents())
                        .build())
                // A character outside the BMP (an emoji) is written as its four UTF-8 bytes, not as an escaped
                // surrogate pair of twelve: an event is measured against its limit by what it really holds.
                .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
                .build();
        this.mapper = new ObjectMapper(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        JsonSchemaFactory schemas = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        this.envelopeSchema = schemas.getSchema(schema("cloudevent"));
        for (EventType kind : EventType.values()) {
            kind.type().ifPresent(type -> dataSchemas.put(kind, schemas.getSchema(schema(type))));
        }
    }

    public Limits limits() {
        return limits;
    }

    /** The JSON Schema document of a type ({@code cloudevent} for the envelope), as served to users. */
    public static InputStream schema(String name) {
        InputStream in = EventCodec.class.getClassLoader().getResourceAsStream("schemas/" + name + ".json");
        if (in == null) {
            throw new IllegalStateException("Missing schema resource schemas/" + name + ".json");
        }
        return in;
    }

    /**
     * Decodes one Kafka record.
     *
     * @param key the record key (the session id)
     * @param value the record value
     * @param headers the record headers, last value per name
     * @param defaultTenant tenant for events that name none
     * @param recordTime the record's log timestamp, the time of events that carry none
     */
    public EventBatch decodeRecord(String key, byte[] value, Map<String, String> headers, String defaultTenant,
            Instant recordTime) {
        if (value == null) {
            throw new InvalidEventException("record has no value");
        }
        if (key == null) {
            throw new InvalidEventException("record has no key; the key must be the session id");
        }
        if (recordTime.isBefore(MIN_TIME) || recordTime.isAfter(MAX_TIME)) {
            throw new InvalidEventException("record timestamp " + recordTime.toEpochMilli() + " is outside years 1 to 9999");
        }
        String contentType = headers.getOrDefault("content-type", "");
        List<Event> events;
        boolean atomic;
        if (headers.containsKey("ce_specversion")) {
            checkSize(value.length, limits.maxEventBytes(), "event");
            events = List.of(fromBinary(headers, value));
            atomic = false;
        } else {
            JsonNode tree = read(value, limits.maxEventBytes() * (long) limits.maxBatchEvents());
            atomic = contentType.startsWith(BATCH) || tree.isArray();
            if (!atomic) {
                checkSize(value.length, limits.maxEventBytes(), "event");
                events = List.of(fromStructured(tree));
            } else {
                events = fromBatch(tree);
            }
        }
        return batch(events, atomic, key, defaultTenant, recordTime);
    }

    /**
     * The tenants and types a record's events name, read without decoding or validating them (the ledger does both):
     * what a relay must know before it vouches for the record's tenant. Empty when the record is not a plain structured
     * event, batch or binary-mode event with text attributes; the caller then decodes it whole for the reason.
     */
    public Optional<RecordPeek> peekRecord(byte[] value, Map<String, String> headers) {
        if (value == null) {
            return Optional.empty();
        }
        Set<String> tenants = new java.util.HashSet<>();
        Set<String> types = new java.util.HashSet<>();
        if (headers.containsKey("ce_specversion")) {
            if (headers.containsKey("ce_tenant")) {
                tenants.add(headers.get("ce_tenant"));
            }
            if (headers.containsKey("ce_type")) {
                types.add(headers.get("ce_type"));
            }
            return Optional.of(new RecordPeek(tenants, types));
        }
        try (JsonParser parser = mapper.getFactory().createParser(value)) {
            JsonToken first = parser.nextToken();
            if (first == JsonToken.START_OBJECT) {
                if (!peekEvent(parser, tenants, types)) {
                    return Optional.empty();
                }
            } else if (first == JsonToken.START_ARRAY) {
                JsonToken element;
                while ((element = parser.nextToken()) != JsonToken.END_ARRAY) {
                    if (element != JsonToken.START_OBJECT || !peekEvent(parser, tenants, types)) {
                        return Optional.empty();
                    }
                }
            } else {
                return Optional.empty();
            }
            return parser.nextToken() == null ? Optional.of(new RecordPeek(tenants, types)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** What {@link #peekRecord} found: every {@code tenant} and {@code type} attribute of the record's events. */
    public record RecordPeek(Set<String> tenants, Set<String> types) {
    }

    // the parser is on the event's START_OBJECT; false when tenant or type is not text
    private static boolean peekEvent(JsonParser parser, Set<String> tenants, Set<String> types) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken token = parser.nextToken();
            if ("tenant".equals(name) || "type".equals(name)) {
                if (token != JsonToken.VALUE_STRING) {
                    return false;
                }
                ("tenant".equals(name) ? tenants : types).add(parser.getText());
            } else {
                parser.skipChildren();
            }
        }
        return true;
    }

    /**
     * Decodes a REST body for a session: one structured event, or a JSON array for an atomic batch.
     *
     * @param sessionId the session of the path; a subject that names another session is an error
     * @param body the request body
     * @param tenant the tenant of the caller's credentials, which overrides any in the events
     * @param idempotencyKey the {@code Idempotency-Key} header, or null
     * @param ifMatch the {@code If-Match} expected version, or null
     * @param now when the request arrived, the time of events that carry none
     */
    public EventBatch decodeRequest(String sessionId, byte[] body, String tenant, String idempotencyKey, Long ifMatch,
            Instant now) {
        checkSessionId(sessionId);
        JsonNode tree = read(body, limits.maxEventBytes() * (long) limits.maxBatchEvents());
        boolean atomic = tree.isArray();
        if (!atomic) {
            checkSize(body.length, limits.maxEventBytes(), "event");
        }
        List<ObjectNode> nodes = new ArrayList<>();
        if (atomic) {
            checkBatchSize(tree.size());
            for (JsonNode element : tree) {
                nodes.add(object(element, "batch element"));
            }
        } else {
            nodes.add(object(tree, "body"));
        }
        for (int i = 0; i < nodes.size(); i++) {
            ObjectNode node = nodes.get(i);
            node.put("specversion", node.path("specversion").asText("1.0"));
            if (node.hasNonNull("subject") && !sessionId.equals(node.get("subject").asText())) {
                throw new InvalidEventException("subject '" + Text.quote(node.get("subject").asText())
                        + "' does not match the session of the path '" + sessionId + "'");
            }
            node.put("subject", sessionId);
            // the tenant is the caller's, from its credentials; a body naming another is refused, not redirected
            if (node.hasNonNull("tenant") && !tenant.equals(node.get("tenant").asText())) {
                throw new InvalidEventException("the event names tenant '" + Text.quote(node.get("tenant").asText())
                        + "', but the tenant comes from your credentials; leave tenant out");
            }
            node.put("tenant", tenant);
            String derivedId = idempotencyKey == null ? null : atomic ? idempotencyKey + ":" + i : idempotencyKey;
            if (derivedId != null) {
                if (node.hasNonNull("id") && !derivedId.equals(node.get("id").asText()) && !atomic) {
                    throw new InvalidEventException("Idempotency-Key '" + Text.quote(idempotencyKey)
                            + "' differs from the event id '" + Text.quote(node.get("id").asText()) + "'");
                }
                if (!node.hasNonNull("id")) {
                    node.put("id", derivedId);
                }
            }
            if (!node.hasNonNull("id")) {
                throw new InvalidEventException("event " + i + " has no id and the request has no Idempotency-Key");
            }
            if (ifMatch != null && i == 0) {
                node.put("expectedversion", ifMatch);
            }
        }
        List<Event> events = new ArrayList<>();
        for (ObjectNode node : nodes) {
            events.add(fromStructured(node));
        }
        return batch(events, atomic, sessionId, tenant, now);
    }

    /** The structured-mode JSON of one event, as archived and as published. */
    public byte[] encode(Event event) {
        try {
            return mapper.writeValueAsBytes(toNode(event));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The record value of a batch: one structured event, or a JSON array of them for an atomic batch. */
    public byte[] encode(EventBatch batch) {
        if (!batch.atomic()) {
            return encode(batch.first());
        }
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        batch.events().forEach(event -> array.add(toNode(event)));
        try {
            return mapper.writeValueAsBytes(array);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads an archived structured event back (trusted input: it was validated when it entered the log). */
    public Event decodeArchived(byte[] payload) {
        return fromStructured(read(payload, Long.MAX_VALUE), false);
    }

    /** The shared mapper with the input limits applied. */
    public ObjectMapper mapper() {
        return mapper;
    }

    private ObjectNode toNode(Event event) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("specversion", "1.0");
        node.put("id", event.id());
        node.put("source", event.source());
        node.put("type", event.type());
        node.put("subject", event.subject());
        if (event.time() != null) {
            node.put("time", event.time().toString());
        }
        node.put("tenant", event.tenant());
        if (event.expectedVersion() != null) {
            node.put("expectedversion", event.expectedVersion());
        }
        if (event.causationId() != null) {
            node.put("causationid", event.causationId());
        }
        if (event.correlationId() != null) {
            node.put("correlationid", event.correlationId());
        }
        if (event.extensions() != null) {
            event.extensions().fields().forEachRemaining(field -> node.set(field.getKey(), field.getValue()));
        }
        if (event.data() != null) {
            node.put("datacontenttype", "application/json");
            node.set("data", event.data());
        }
        return node;
    }

    private EventBatch batch(List<Event> events, boolean atomic, String key, String defaultTenant, Instant time) {
        if (events.isEmpty()) {
            throw new InvalidEventException("an atomic batch needs at least one event");
        }
        String session = events.get(0).subject() != null ? events.get(0).subject() : key;
        if (session == null) {
            throw new InvalidEventException("no session id: the event has no subject and the record no key");
        }
        checkSessionId(session);
        if (key != null && !key.equals(session)) {
            throw new InvalidEventException("record key '" + Text.quote(key) + "' differs from the event subject '"
                    + Text.quote(session) + "'");
        }
        String tenant = events.get(0).tenant() != null ? events.get(0).tenant() : defaultTenant;
        List<Event> completed = new ArrayList<>(events.size());
        Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < events.size(); i++) {
            Event event = events.get(i);
            if (event.subject() != null && !event.subject().equals(session)) {
                throw new InvalidEventException("a batch must stay in one session; event " + Text.quote(event.id())
                        + " names " + Text.quote(event.subject()));
            }
            if (event.tenant() != null && !event.tenant().equals(tenant)) {
                throw new InvalidEventException("a batch must stay in one tenant; event " + Text.quote(event.id())
                        + " names " + Text.quote(event.tenant()));
            }
            if (i > 0 && event.expectedVersion() != null) {
                throw new InvalidEventException("in a batch only the first event may carry expectedversion");
            }
            if (!ids.add(event.id())) {
                throw new InvalidEventException("event id " + Text.quote(event.id()) + " appears twice in one batch");
            }
            Event filled = event.withDefaults(tenant, time);
            completed.add(new Event(filled.id(), filled.source(), filled.type(), filled.kind(), session, filled.time(),
                    filled.tenant(), filled.expectedVersion(), filled.causationId(), filled.correlationId(),
                    filled.data(), filled.payload(), filled.extensions()));
        }
        return new EventBatch(tenant, session, completed, atomic);
    }

    private List<Event> fromBatch(JsonNode tree) {
        if (!tree.isArray()) {
            throw new InvalidEventException("a batch must be a JSON array of structured CloudEvents");
        }
        checkBatchSize(tree.size());
        List<Event> events = new ArrayList<>();
        for (JsonNode element : tree) {
            events.add(fromStructured(element));
        }
        return events;
    }

    private Event fromStructured(JsonNode node) {
        return fromStructured(node, true);
    }

    private Event fromStructured(JsonNode node, boolean untrusted) {
        ObjectNode envelope = object(node, "event");
        if (untrusted) {
            checkShape(envelope, 0);
            // bounded before the schema's patterns run on them
            for (String attribute : List.of("id", "type", "source", "subject", "tenant")) {
                JsonNode value = envelope.get(attribute);
                if (value != null && value.isTextual() && value.textValue().length() > 512) {
                    throw new InvalidEventException(attribute + " is longer than 512 characters");
                }
            }
            validate(envelopeSchema, envelope, "envelope");
            checkSource(envelope.get("source").asText());
        }
        if (envelope.has("data_base64")) {
            throw new InvalidEventException("data_base64 is not supported; send data as JSON");
        }
        return build(envelope.get("id").asText(), envelope.get("source").asText(), envelope.get("type").asText(),
                text(envelope, "subject"), text(envelope, "time"), text(envelope, "tenant"),
                envelope.hasNonNull("expectedversion") ? longValue(envelope.get("expectedversion"), "expectedversion")
                        : null,
                text(envelope, "causationid"), text(envelope, "correlationid"), envelope.get("data"),
                extensions(envelope), untrusted);
    }

    private static ObjectNode extensions(ObjectNode envelope) {
        ObjectNode extensions = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = envelope.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!KNOWN_ATTRIBUTES.contains(field.getKey())) {
                if (extensions == null) {
                    extensions = JsonNodeFactory.instance.objectNode();
                }
                extensions.set(field.getKey(), field.getValue());
            }
        }
        return extensions;
    }

    private static void checkSource(String source) {
        try {
            new java.net.URI(source);
        } catch (java.net.URISyntaxException e) {
            throw new InvalidEventException("source is not a URI reference: " + Text.quote(source));
        }
    }

    private Event fromBinary(Map<String, String> headers, byte[] value) {
        ObjectNode envelope = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<String, String> header : headers.entrySet()) {
            if (header.getKey().startsWith("ce_")) {
                String attribute = header.getKey().substring(3);
                if (attribute.equals("expectedversion")) {
                    try {
                        envelope.put(attribute, Long.parseLong(header.getValue()));
                    } catch (NumberFormatException e) {
                        throw new InvalidEventException(
                                "ce_expectedversion is not an integer: " + Text.quote(header.getValue()));
                    }
                } else {
                    envelope.put(attribute, header.getValue());
                }
            }
        }
        if (value.length > 0) {
            envelope.set("data", read(value, limits.maxEventBytes()));
        }
        return fromStructured(envelope);
    }

    private Event build(String id, String source, String type, String subject, String time, String tenant,
            Long expectedVersion, String causationId, String correlationId, JsonNode data, ObjectNode extensions,
            boolean untrusted) {
        EventType kind = EventType.of(type)
                .orElseThrow(
                        () -> new InvalidEventException("unknown type '" + Text.quote(type) + "' in the reserved namespace "
                                + EventType.RESERVED_PREFIX));
        if (tenant != null && !TENANT.matcher(tenant).matches()) {
            throw new InvalidEventException("tenant must match " + TENANT.pattern());
        }
        Instant instant = null;
        if (time != null) {
            try {
                OffsetDateTime parsed = OffsetDateTime.parse(time);
                if (parsed.getYear() < 1 || parsed.getYear() > 9999) {
                    throw new InvalidEventException("time must lie between years 1 and 9999: " + Text.quote(time));
                }
                // PostgreSQL keeps microseconds; cutting here keeps the archive, heads and views in agreement (I6).
                instant = parsed.toInstant().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
            } catch (DateTimeParseException e) {
                throw new InvalidEventException("time is not an RFC 3339 timestamp: " + Text.quote(time));
            }
        }
        if (expectedVersion != null && expectedVersion < 0) {
            throw new InvalidEventException("expectedversion must be 0 or more");
        }
        EventData payload = payload(kind, data, untrusted);
        return new Event(id, source, type, kind, subject, instant, tenant, expectedVersion, causationId, correlationId,
                data, payload, extensions);
    }

    private EventData payload(EventType kind, JsonNode data, boolean untrusted) {
        JsonNode d = data == null || data.isNull() ? JsonNodeFactory.instance.objectNode() : data;
        if (untrusted && kind != EventType.CUSTOM) {
            validate(dataSchemas.get(kind), d, "data");
        }
        return switch (kind) {
            case SESSION_STARTED -> new EventData.SessionStarted(text(d, "userId"),
                    d.get("metadata") instanceof ObjectNode metadata ? metadata : null);
            case MESSAGE_APPENDED -> new EventData.MessageAppended(text(d, "role"), text(d, "content"), text(d, "name"),
                    text(d, "toolCallId"));
            case TOOL_REQUESTED -> new EventData.ToolRequested(text(d, "callId"), text(d, "tool"), d.get("arguments"));
            case TOOL_COMPLETED -> new EventData.ToolCompleted(text(d, "callId"), d.get("output"), text(d, "error"));
            case STATE_PATCHED -> new EventData.StatePatched(text(d, "scope"), (ObjectNode) d.get("patch"));
            case MEMORY_RECORDED -> new EventData.MemoryRecorded(text(d, "userId"), text(d, "fact"), strings(d.get("tags")),
                    d.path("distinct").asBoolean(false));
            case MEMORY_REVISED -> new EventData.MemoryRevised(text(d, "userId"), text(d, "memoryId"), text(d, "fact"),
                    d.has("tags") && !d.get("tags").isNull() ? strings(d.get("tags")) : null);
            case MEMORY_FORGOTTEN -> new EventData.MemoryForgotten(text(d, "userId"), text(d, "memoryId"),
                    text(d, "reason"));
            case SUMMARY_RECORDED -> new EventData.SummaryRecorded(longValue(d.get("throughVersion"), "throughVersion"),
                    text(d, "summary"),
                    text(d, "model"), text(d, "promptVersion"));
            case SESSION_ENDED -> new EventData.SessionEnded(text(d, "reason"));
            case SESSION_ERASED -> new EventData.SessionErased(text(d, "reason"));
            case SESSION_FORKED -> new EventData.SessionForked(text(d, "sourceSessionId"),
                    longValue(d.get("sourceVersion"), "sourceVersion"), (ObjectNode) d.get("state"));
            case CUSTOM -> new EventData.Custom(data);
        };
    }

    private void validate(JsonSchema schema, JsonNode node, String what) {
        Set<ValidationMessage> errors;
        try {
            errors = schema.validate(node);
        } catch (StackOverflowError e) {
            throw new InvalidEventException(what + " is too complex to validate");
        }
        if (!errors.isEmpty()) {
            StringBuilder reason = new StringBuilder(what).append(" does not match its schema: ");
            Iterator<ValidationMessage> it = errors.iterator();
            for (int i = 0; it.hasNext() && i < 5; i++) {
                reason.append(i > 0 ? "; " : "").append(it.next().getMessage());
            }
            throw new InvalidEventException(reason.toString());
        }
    }

    // Depth and array length are checked on the tree so a violation names the limit, not a parser detail.
    private void checkShape(JsonNode node, int depth) {
        if (node.isContainerNode() && depth + 1 > limits.maxDepth()) {
            throw new InvalidEventException("nesting deeper than " + limits.maxDepth() + " levels");
        }
        if (node.getNodeType() == JsonNodeType.ARRAY && node.size() > limits.maxArrayElements()) {
            throw new InvalidEventException("an array has " + node.size() + " elements; the limit is "
                    + limits.maxArrayElements());
        }
        if (node.isTextual() && !Text.storable(node.textValue())) {
            throw new InvalidEventException(ILL_FORMED);
        }
        if (node.isObject()) {
            node.fieldNames().forEachRemaining(name -> {
                if (!Text.storable(name)) {
                    throw new InvalidEventException(ILL_FORMED);
                }
            });
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                checkShape(child, depth + 1);
            }
        }
    }

    private JsonNode read(byte[] bytes, long maxBytes) {
        if (bytes.length > maxBytes) {
            throw new EventTooLargeException("body of " + bytes.length + " bytes exceeds the limit of " + maxBytes);
        }
        try {
            JsonNode tree = mapper.readTree(bytes);
            if (tree == null || tree.isMissingNode()) {
                throw new InvalidEventException("empty body; expected a CloudEvent in JSON");
            }
            return tree;
        } catch (StreamConstraintsException e) {
            String detail = e.getOriginalMessage() != null && e.getOriginalMessage().contains("nesting")
                    ? "nesting deeper than " + limits.maxDepth() + " levels"
                    : "JSON exceeds the input limits";
            throw new InvalidEventException(detail, e);
        } catch (JsonProcessingException e) {
            throw new InvalidEventException("invalid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long longValue(JsonNode node, String field) {
        if (!node.canConvertToExactIntegral() || !node.canConvertToLong()) {
            throw new InvalidEventException(field + " must be an integer between 0 and " + Long.MAX_VALUE);
        }
        return node.asLong();
    }

    private void checkSize(int bytes, int max, String what) {
        if (bytes > max) {
            throw new EventTooLargeException(what + " of " + bytes + " bytes exceeds the limit of " + max);
        }
    }

    private void checkBatchSize(int size) {
        if (size == 0) {
            throw new InvalidEventException("an atomic batch needs at least one event");
        }
        if (size > limits.maxBatchEvents()) {
            throw new InvalidEventException("a batch of " + size + " events exceeds the limit of "
                    + limits.maxBatchEvents());
        }
    }

    /** Throws when a session id is not usable (characters, length). */
    public static void checkSessionId(String sessionId) {
        if (!ID.matcher(sessionId).matches()) {
            throw new InvalidEventException("session id must match " + ID.pattern());
        }
    }

    private static ObjectNode object(JsonNode node, String what) {
        if (!(node instanceof ObjectNode object)) {
            throw new InvalidEventException(what + " must be a JSON object");
        }
        return object;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        if (array != null) {
            array.forEach(v -> values.add(v.asText()));
        }
        return values;
    }

    /** UTF-8 text of an encoded event, for logs and tests. */
    public static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
