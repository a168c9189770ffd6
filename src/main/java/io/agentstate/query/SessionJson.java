package io.agentstate.query;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.ledger.SessionState;
import io.agentstate.ledger.SessionStatus;
import io.agentstate.ledger.SessionViewStore;

/**
 * The body of {@code GET /sessions/{id}} written straight from a cached view: the messages, scopes, summary and metadata
 * are copied as the JSON the ledger stored, so a read costs the copy, not a decode of every message into objects and an
 * encode back. The result is the same document as {@link SessionResponse} serialised by the application's mapper (same
 * members, same order, nulls left out); the one textual difference is that a character outside the BMP stays UTF-8
 * where the mapper writes a surrogate-pair escape. {@code SessionJsonTest} compares it with a rebuilt view's answer.
 */
final class SessionJson {

    private SessionJson() {
    }

    static byte[] write(SessionViewStore.RawView view, ObjectMapper mapper) {
        Map<String, String> meta = view.meta();
        int size = 256;
        for (String message : view.messages()) {
            size += message.length() + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        try (JsonGenerator json = mapper.getFactory().createGenerator(out)) {
            json.setCodec(mapper);
            json.writeStartObject();
            text(json, "tenant", meta.get("tenant"));
            text(json, "sessionId", meta.get("sessionId"));
            text(json, "userId", meta.get("userId"));
            json.writeStringField("status", SessionStatus.valueOf(meta.get("status")).name().toLowerCase(Locale.ROOT));
            json.writeNumberField("version", Long.parseLong(meta.get("version")));
            // stored as Instant.toString(): ISO-8601, as the mapper writes an Instant
            text(json, "createdAt", meta.get("createdAt"));
            text(json, "updatedAt", meta.get("updatedAt"));
            raw(json, "metadata", meta.get("metadata"));
            raw(json, "summary", meta.get("summary"));
            json.writeArrayFieldStart("messages");
            for (String message : view.messages()) {
                json.writeRawValue(object(message));
            }
            json.writeEndArray();
            json.writeNumberField("messageCount", Long.parseLong(meta.get("messageCount")));
            json.writeObjectFieldStart("toolCalls");
            for (Map.Entry<String, SessionState.ToolCall> call : view.toolCalls().entrySet()) {
                json.writeFieldName(call.getKey());
                json.writeObject(ToolCallResponse.from(call.getValue()));
            }
            json.writeEndObject();
            json.writeObjectFieldStart("scopes");
            for (Map.Entry<String, String> scope : new TreeMap<>(view.scopes()).entrySet()) {
                json.writeFieldName(scope.getKey());
                json.writeRawValue(object(scope.getValue()));
            }
            json.writeEndObject();
            json.writeNumberField("bytes", Long.parseLong(meta.get("bytes")));
            text(json, "endedReason", meta.get("endedReason"));
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void text(JsonGenerator json, String name, String value) throws IOException {
        if (value != null) {
            json.writeStringField(name, value);
        }
    }

    private static void raw(JsonGenerator json, String name, String value) throws IOException {
        if (value != null) {
            json.writeFieldName(name);
            json.writeRawValue(object(value));
        }
    }

    // The ledger writes every piece with Jackson, so each is one JSON object; a piece that is not even shaped like one
    // (a damaged or foreign view) fails the copy, and the reader answers from PostgreSQL instead.
    private static String object(String piece) {
        if (piece.isEmpty() || piece.charAt(0) != '{' || piece.charAt(piece.length() - 1) != '}') {
            throw new IllegalStateException("a cached view piece is not a JSON object");
        }
        return piece;
    }
}
