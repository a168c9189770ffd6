package io.agentstate.chat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.EventCodec;
import io.agentstate.event.InvalidEventException;
import io.agentstate.event.Text;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Checks a chat request at the edge, in the order a client can act on: the session id, the Idempotency-Key, the body,
 * the message; only a valid request is told that the model is not configured. It also knows how large a message event
 * may be (the ingest byte limit and the schema's character limit), so neither the user's message nor the model's reply
 * is found too large only when the turn is written.
 */
@ApplicationScoped
public class TurnRequests {

    /** A validated turn request of a caller's tenant. */
    public record TurnRequest(String tenant, String sessionId, String turnId, String message) {
    }

    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._:@-]{1,100}");
    // Room for what ingest adds to a chat event (subject, tenant, time, spec version, expected version).
    private static final int ENVELOPE_RESERVE_BYTES = 512;

    private final ObjectMapper mapper = new ObjectMapper();
    private final String apiKey;
    private final MeterRegistry meters;
    private final int maxEventBytes;
    private final int maxContentChars;

    TurnRequests(AgentStateConfig config, MeterRegistry meters,
            @ConfigProperty(name = "quarkus.langchain4j.openai.api-key") Optional<String> apiKey) {
        this.apiKey = apiKey.orElse("");
        this.meters = meters;
        this.maxEventBytes = config.ingest().maxEventBytes();
        this.maxContentChars = contentLimit();
    }

    /** A valid request, or a 400 naming what is wrong; then 503 when no model is configured. */
    public TurnRequest validate(String tenant, String sessionId, String idempotencyKey, byte[] body) {
        try {
            EventCodec.checkSessionId(sessionId);
        } catch (InvalidEventException e) {
            throw invalid(e.getMessage());
        }
        if (idempotencyKey != null && !KEY.matcher(idempotencyKey).matches()) {
            throw invalid("Idempotency-Key must be 1 to 100 of A-Z a-z 0-9 . _ : @ -");
        }
        String message = message(body);
        if (!Text.storable(message)) {
            // refused before the model is asked: an unpaired surrogate or U+0000 could not be recorded anyway
            throw invalid("message holds an unpaired UTF-16 surrogate or U+0000, which cannot be stored");
        }
        if (message.length() > maxContentChars) {
            throw invalid("message of " + message.length() + " characters exceeds " + maxContentChars);
        }
        int bytes = eventBytes(message);
        if (bytes > maxEventBytes) {
            throw invalid("message of " + bytes + " bytes as an event exceeds agent-state.ingest.max-event-bytes ("
                    + maxEventBytes + ")");
        }
        requireModel();
        return new TurnRequest(tenant, sessionId, idempotencyKey != null ? idempotencyKey : UUID.randomUUID().toString(),
                message);
    }

    /** Throws 502 when the model's reply could not be recorded as an event; checked before the turn is written. */
    public void checkReply(String reply) {
        if (!Text.storable(reply)) {
            meters.counter("agentstate.chat.failures", "kind", "unstorable").increment();
            throw new ProblemException(Problem.of(502, "model-reply-unstorable", "Model reply cannot be stored",
                    "the model's reply holds an unpaired UTF-16 surrogate or U+0000, which cannot be recorded; the "
                            + "session is unchanged"));
        }
        if (reply.length() > maxContentChars) {
            throw replyTooLarge(reply.length() + " characters, over the " + maxContentChars + " a message may have");
        }
        int bytes = eventBytes(reply);
        if (bytes > maxEventBytes) {
            throw replyTooLarge(bytes + " bytes as an event, over agent-state.ingest.max-event-bytes (" + maxEventBytes
                    + ")");
        }
    }

    private void requireModel() {
        if (apiKey.isBlank() || apiKey.equals("none")) {
            meters.counter("agentstate.chat.failures", "kind", "not_configured").increment();
            throw new ProblemException(Problem.of(503, "model-not-configured", "Model not configured",
                    "no API key: set QUARKUS_LANGCHAIN4J_OPENAI_API_KEY (quarkus.langchain4j.openai.api-key), and "
                            + "QUARKUS_LANGCHAIN4J_OPENAI_BASE_URL for an OpenAI-compatible server"));
        }
    }

    private String message(byte[] body) {
        JsonNode tree;
        try {
            tree = body == null || body.length == 0 ? null : mapper.readTree(body);
        } catch (IOException e) {
            throw invalid("body must be a JSON object {\"message\": \"...\"}; it is not valid JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw invalid("body must be a JSON object {\"message\": \"...\"}");
        }
        JsonNode message = tree.get("message");
        if (message == null || !message.isTextual() || message.asText().isBlank()) {
            throw invalid("message must not be blank");
        }
        return message.asText();
    }

    // The serialised size of a message event carrying this content, with room for the envelope ingest completes.
    private int eventBytes(String content) {
        ObjectNode event = mapper.createObjectNode();
        event.put("id", "x".repeat(128));
        event.put("source", TurnRecorder.SOURCE);
        event.put("type", "agentstate.message.appended");
        event.put("correlationid", "x".repeat(100));
        event.putObject("data").put("role", "assistant").put("content", content);
        try {
            return mapper.writeValueAsBytes(event).length + ENVELOPE_RESERVE_BYTES;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private int contentLimit() {
        try (InputStream in = EventCodec.schema("agentstate.message.appended")) {
            JsonNode limit = mapper.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .path("properties").path("content").path("maxLength");
            return limit.isInt() ? limit.asInt() : Integer.MAX_VALUE;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the message schema", e);
        }
    }

    private static ProblemException invalid(String detail) {
        return new ProblemException(Problem.of(400, "invalid-request", "Invalid request", detail));
    }

    private ProblemException replyTooLarge(String what) {
        meters.counter("agentstate.chat.failures", "kind", "too_large").increment();
        return new ProblemException(Problem.of(502, "model-reply-too-large", "Model reply too large",
                "the model's reply of " + what + " cannot be recorded; the session is unchanged"));
    }
}
