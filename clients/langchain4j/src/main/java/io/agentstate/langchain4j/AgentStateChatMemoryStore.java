package io.agentstate.langchain4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ChatMessageDeserializer;
import dev.langchain4j.data.message.ChatMessageSerializer;
import dev.langchain4j.store.memory.chat.ChatMemoryStore;

/**
 * A LangChain4j {@link ChatMemoryStore} on the agent-state service, over its HTTP API. Each memory id is a session;
 * each {@link #updateMessages} appends one {@code dev.langchain4j.memory.updated} event holding the whole message list
 * (LangChain4j's replace semantics), so the session's timeline shows every state the memory had, encrypted,
 * tenant-scoped and audited like any session; {@link #getMessages} reads the newest of those events, and
 * {@link #deleteMessages} erases the session.
 *
 * <p>
 * One memory must fit one event (256 KiB by default, {@code agent-state.ingest.max-event-bytes}): a window-bounded
 * memory ({@code MessageWindowChatMemory}, {@code TokenWindowChatMemory}) does; an unbounded one is refused with the
 * service's 413, never truncated.
 */
public final class AgentStateChatMemoryStore implements ChatMemoryStore {

    /** The type of the events that hold a memory's messages. */
    public static final String EVENT_TYPE = "dev.langchain4j.memory.updated";

    /** The {@code source} of those events. */
    public static final String SOURCE = "agent://langchain4j";

    private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");
    private static final int MAX_ATTEMPTS = 5;
    private static final Duration DECISION_WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI baseUri;
    private final String sessionPrefix;
    private final String apiKey;
    private final String token;
    private final HttpClient http;
    private final Duration timeout;

    private AgentStateChatMemoryStore(Builder builder) {
        String base = Objects.requireNonNull(builder.baseUrl, "baseUrl").toString();
        this.baseUri = URI.create(base.endsWith("/") ? base : base + "/");
        this.sessionPrefix = builder.sessionPrefix;
        if (!sessionPrefix.isEmpty() && !SESSION_ID.matcher(sessionPrefix).matches() || sessionPrefix.length() > 64) {
            throw new IllegalArgumentException("sessionPrefix may only use [A-Za-z0-9._:@-], at most 64 characters");
        }
        this.apiKey = builder.apiKey;
        this.token = builder.token;
        this.timeout = builder.timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** A builder: {@code AgentStateChatMemoryStore.builder().baseUrl("http://localhost:8080").build()}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The session that holds a memory: {@code <prefix>n.<id>} when the id's text fits a session id, else
     * {@code <prefix>h.<first 40 hex digits of its SHA-256>}. The marker keeps the two forms apart, so no id can name
     * another id's session. Ids are compared by their text ({@code 42} and {@code "42"} are one memory).
     */
    public String sessionIdFor(Object memoryId) {
        String id = String.valueOf(Objects.requireNonNull(memoryId, "memoryId"));
        String named = sessionPrefix + "n." + id;
        if (SESSION_ID.matcher(named).matches()) {
            return named;
        }
        return sessionPrefix + "h." + sha256(id).substring(0, 40);
    }

    @Override
    public List<ChatMessage> getMessages(Object memoryId) {
        String session = sessionIdFor(memoryId);
        String what = "reading memory " + memoryId;
        // newest first; refused updates (made after the newest accepted one) come before it and are passed over
        String page = "sessions/" + session + "/events?type=" + encode(EVENT_TYPE) + "&order=desc&limit=20";
        String cursor = null;
        do {
            HttpResponse<String> response = send(request(cursor == null ? page : page + "&cursor=" + encode(cursor))
                    .GET().build(), what);
            if (response.statusCode() == 404) {
                return List.of();
            }
            check(response, 200, what);
            JsonNode body = read(response.body());
            for (JsonNode entry : body.path("entries")) {
                if ("accepted".equals(entry.path("outcome").asText())) {
                    JsonNode messages = entry.path("event").path("data").path("messages");
                    return messages.isArray() ? ChatMessageDeserializer.messagesFromJson(messages.toString())
                            : List.of();
                }
            }
            cursor = body.path("next").isTextual() ? body.path("next").asText() : null;
        } while (cursor != null);
        return List.of();
    }

    @Override
    public void updateMessages(Object memoryId, List<ChatMessage> messages) {
        String session = sessionIdFor(memoryId);
        ObjectNode event = JSON.createObjectNode()
                .put("source", SOURCE)
                .put("type", EVENT_TYPE);
        event.putObject("data").set("messages", read(ChatMessageSerializer.messagesToJson(messages)));
        // one key for every retry of this update, so a retry after a lost answer is a duplicate, never a second copy
        String key = "lc4j-" + UUID.randomUUID();
        String what = "updating memory " + memoryId;
        HttpResponse<String> response = send(request("sessions/" + session + "/events")
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(event.toString()))
                .build(), what);
        if (response.statusCode() == 202) {
            awaitDecision(session, key, what, true);
            return;
        }
        check(response, response.statusCode() == 200 ? 200 : 201, what);
    }

    @Override
    public void deleteMessages(Object memoryId) {
        String session = sessionIdFor(memoryId);
        String key = "lc4j-erase-" + UUID.randomUUID();
        HttpResponse<String> response = send(request("sessions/" + session).header("Idempotency-Key", key).DELETE()
                .build(), "deleting memory " + memoryId);
        if (response.statusCode() == 202) {
            // any decision settles it: a refusal means there was no session left to erase
            awaitDecision(session, key, "deleting memory " + memoryId, false);
        } else if (response.statusCode() != 404) {
            check(response, 204, "deleting memory " + memoryId);
        }
    }

    // The ledger had not decided within the service's wait: poll the decision until it has.
    private void awaitDecision(String session, String eventId, String what, boolean mustBeAccepted) {
        long deadline = System.nanoTime() + DECISION_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> response = send(request("sessions/" + session + "/events/" + encode(eventId)).GET()
                    .build(), what);
            if (response.statusCode() == 200) {
                String outcome = read(response.body()).path("outcome").asText();
                if (!mustBeAccepted || outcome.equals("accepted") || outcome.equals("duplicate")) {
                    return;
                }
                throw new AgentStateException(what + " was refused: " + read(response.body()).path("reason").asText(),
                        200);
            }
            if (response.statusCode() != 404) {
                // 404 is "not decided yet"; anything else is an answer of its own
                check(response, 200, what);
            }
            pause(200);
        }
        throw new AgentStateException(what + " is still undecided after " + DECISION_WAIT.toSeconds()
                + " s; it may still be applied", 202);
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(baseUri.resolve(path)).timeout(timeout)
                .header("Accept", "application/json");
        if (apiKey != null) {
            builder.header("X-API-Key", apiKey);
        }
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        return builder;
    }

    // Network failures and 502/503/504 are retried with the same request (and so the same Idempotency-Key).
    private HttpResponse<String> send(HttpRequest request, String what) {
        for (int attempt = 1;; attempt++) {
            try {
                HttpResponse<String> response = http.send(request,
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                int status = response.statusCode();
                if ((status == 502 || status == 503 || status == 504) && attempt < MAX_ATTEMPTS) {
                    pause(100L << attempt);
                    continue;
                }
                return response;
            } catch (IOException e) {
                if (attempt >= MAX_ATTEMPTS) {
                    throw new AgentStateException(what + " failed: " + e.getMessage(), 0);
                }
                pause(100L << attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AgentStateException(what + " was interrupted", 0);
            }
        }
    }

    private static void check(HttpResponse<String> response, int expected, String what) {
        if (response.statusCode() != expected) {
            String detail = response.body();
            try {
                JsonNode problem = JSON.readTree(detail);
                detail = problem.path("detail").asText(detail);
            } catch (IOException | RuntimeException e) {
                // not a problem document: the body as it came
            }
            throw new AgentStateException(what + " failed with HTTP " + response.statusCode() + ": " + detail,
                    response.statusCode());
        }
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An answer of the service that is not a success; {@link #status()} is 0 when it did not answer. */
    public static final class AgentStateException extends RuntimeException {
        private final int status;

        AgentStateException(String message, int status) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** Options of the store. */
    public static final class Builder {
        private Object baseUrl;
        private String sessionPrefix = "lc4j-";
        private String apiKey;
        private String token;
        private Duration timeout = Duration.ofSeconds(30);

        private Builder() {
        }

        /** The service, e.g. {@code http://localhost:8080}. */
        public Builder baseUrl(Object baseUrl) {
            this.baseUrl = baseUrl;
            return this;
        }

        /** Prefix of every session id (default {@code lc4j-}). */
        public Builder sessionPrefix(String sessionPrefix) {
            this.sessionPrefix = Objects.requireNonNull(sessionPrefix);
            return this;
        }

        /** An API key ({@code ask_...}), sent as {@code X-API-Key}. */
        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        /** A JWT, sent as {@code Authorization: Bearer}. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Per request (default 30 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout);
            return this;
        }

        public AgentStateChatMemoryStore build() {
            return new AgentStateChatMemoryStore(this);
        }
    }
}
