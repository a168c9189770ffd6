package io.agentstate.chat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.context.ManagedExecutor;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.langchain4j.model.output.TokenUsage;
import dev.langchain4j.service.Result;
import io.agentstate.event.EventCodec;
import io.agentstate.ingest.IngestService;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.query.SessionReader;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.arc.Arc;
import io.quarkus.arc.ManagedContext;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * Runs conversation turns over the session log. A turn reads the session view at version v, asks the model, then writes
 * the user message and the reply as one atomic batch conditional on v: recorded whole or not at all, never interleaved
 * with another turn. The loser of a race is retried on the new state. Chat is a client like any agent: it reads through
 * {@code query} and writes through {@code ingest}.
 */
@ApplicationScoped
public class ChatService {

    /** The source of the events chat writes. */
    public static final String SOURCE = "agent://agent-state/chat";
    private static final Logger LOG = Logger.getLogger(ChatService.class);

    /** The result of a turn. */
    public record ChatReply(String sessionId, String turnId, String reply, long version, boolean repeated) {
    }

    /** One server-sent event of a streamed turn: token, restart (the turn lost a race), done or error. */
    public record ChatEvent(String type, String text, Long version, String turnId, Integer status, String detail) {

        static ChatEvent token(String text) {
            return new ChatEvent("token", text, null, null, null, null);
        }

        static ChatEvent restart(String turnId) {
            return new ChatEvent("restart", null, null, turnId, null, "the session moved on; answering again");
        }

        static ChatEvent done(ChatReply reply) {
            return new ChatEvent("done", null, reply.version(), reply.turnId(), null, null);
        }

        static ChatEvent error(Problem problem) {
            return new ChatEvent("error", null, null, null, problem.status(), problem.detail());
        }
    }

    private record Written(Decision decision, String reply) {
    }

    private final SessionAssistant assistant;
    private final ConversationSummarizer summarizer;
    private final SessionReader reader;
    private final IngestService ingest;
    private final EventCodec codec;
    private final AgentStateConfig config;
    private final MeterRegistry meters;
    private final Timer modelLatency;
    private final String apiKey;
    private final String modelName;
    private final ManagedExecutor workers;
    private final Map<String, Uni<ChatReply>> inFlight = new ConcurrentHashMap<>();
    private final Set<SessionKey> summarising = ConcurrentHashMap.newKeySet();

    ChatService(SessionAssistant assistant, ConversationSummarizer summarizer, SessionReader reader, IngestService ingest,
            EventCodec codec, AgentStateConfig config, MeterRegistry meters,
            @ConfigProperty(name = "quarkus.langchain4j.openai.api-key") Optional<String> apiKey,
            @ConfigProperty(name = "quarkus.langchain4j.openai.chat-model.model-name") String modelName,
            ManagedExecutor workers) {
        this.workers = workers;
        this.assistant = assistant;
        this.summarizer = summarizer;
        this.reader = reader;
        this.ingest = ingest;
        this.codec = codec;
        this.config = config;
        this.meters = meters;
        this.apiKey = apiKey.orElse("");
        this.modelName = modelName;
        this.modelLatency = Timer.builder("agentstate.chat.model.latency").description("Model call time per turn")
                .publishPercentiles(0.5, 0.99).register(meters);
    }

    /** One whole turn. */
    public Uni<ChatReply> turn(String sessionId, String message, String idempotencyKey) {
        String turnId = prepare(sessionId, message, idempotencyKey);
        SessionKey session = new SessionKey(ingest.tenant(), sessionId);
        String flightKey = session.tenant() + "/" + sessionId + "/" + turnId;
        // A client retry that arrives while the first request still runs shares its answer: one model call.
        return inFlight.computeIfAbsent(flightKey, k -> previous(session, turnId)
                .chain(done -> done.isPresent() ? Uni.createFrom().item(done.get()) : attempt(session, message, turnId, 1))
                // a block lambda: remove() returns this very Uni, and eventually(Supplier<Uni>) would wait on itself
                .eventually(() -> {
                    inFlight.remove(flightKey);
                })
                .memoize().indefinitely());
    }

    /** One turn, streamed: tokens, then the version it was recorded at. */
    public Multi<ChatEvent> stream(String sessionId, String message, String idempotencyKey) {
        String turnId = prepare(sessionId, message, idempotencyKey);
        SessionKey session = new SessionKey(ingest.tenant(), sessionId);
        return previous(session, turnId).toMulti()
                .flatMap(done -> done.isPresent()
                        ? Multi.createFrom().items(ChatEvent.token(done.get().reply()), ChatEvent.done(done.get()))
                        : streamAttempt(session, message, turnId, 1))
                .onFailure().recoverWithItem(failure -> ChatEvent.error(problem(failure)));
    }

    private String prepare(String sessionId, String message, String idempotencyKey) {
        if (apiKey.isBlank() || apiKey.equals("none")) {
            meters.counter("agentstate.chat.failures", "kind", "not_configured").increment();
            throw new ProblemException(Problem.of(503, "model-not-configured", "Model not configured",
                    "no API key: set QUARKUS_LANGCHAIN4J_OPENAI_API_KEY (quarkus.langchain4j.openai.api-key), and "
                            + "QUARKUS_LANGCHAIN4J_OPENAI_BASE_URL for an OpenAI-compatible server"));
        }
        EventCodec.checkSessionId(sessionId);
        if (message == null || message.isBlank()) {
            throw ProblemException.badRequest("message must not be blank");
        }
        if (message.length() > 200_000) {
            throw ProblemException.badRequest("message of " + message.length() + " characters exceeds 200000");
        }
        String turnId = idempotencyKey != null ? idempotencyKey : UUID.randomUUID().toString();
        if (!turnId.matches("[A-Za-z0-9._:@-]{1,100}")) {
            throw ProblemException.badRequest("Idempotency-Key must be 1 to 100 of A-Z a-z 0-9 . _ : @ -");
        }
        return turnId;
    }

    // A turn whose key already has a recorded reply is answered from the log, without calling the model.
    private Uni<Optional<ChatReply>> previous(SessionKey session, String turnId) {
        return findAccepted(session, turnId, 1);
    }

    private Uni<Optional<ChatReply>> findAccepted(SessionKey session, String turnId, int attempt) {
        if (attempt > config.chat().maxAttempts()) {
            return Uni.createFrom().item(Optional.empty());
        }
        return ingest.decision(session.sessionId(), assistantId(turnId, attempt))
                .chain(stored -> {
                    if (stored.isEmpty() || stored.get().outcome() != Decision.Outcome.ACCEPTED) {
                        return findAccepted(session, turnId, attempt + 1);
                    }
                    long version = stored.get().firstVersion();
                    String expectedId = assistantId(turnId, attempt);
                    return reader.eventAt(session, version)
                            .onFailure(ProblemException.class).recoverWithNull()
                            // after an erasure the version may hold another event: then the reply is gone
                            .map(event -> event != null && event.id().equals(expectedId)
                                    ? Optional.of(new ChatReply(session.sessionId(), turnId,
                                            event.data().get("content").asText(), version, true))
                                    : Optional.<ChatReply> empty());
                });
    }

    private Uni<ChatReply> attempt(SessionKey session, String message, String turnId, int attempt) {
        return readState(session)
                .chain(state -> {
                    Turn turn = turn(session, state);
                    return blocking(() -> callModel(turn, message))
                            .chain(reply -> write(session, turn, message, reply, turnId, attempt));
                })
                .chain(written -> outcome(session, message, turnId, attempt, written,
                        () -> attempt(session, message, turnId, attempt + 1)));
    }

    private Multi<ChatEvent> streamAttempt(SessionKey session, String message, String turnId, int attempt) {
        return readState(session).toMulti().flatMap(state -> {
            Turn turn = turn(session, state);
            StringBuilder reply = new StringBuilder();
            Timer.Sample sample = Timer.start(meters);
            Multi<ChatEvent> tokens = Multi.createFrom().deferred(() -> inRequestContext(
                    () -> assistant.replyStreaming(turn, message)))
                    .runSubscriptionOn(workers)
                    .onFailure().transform(this::modelFailure)
                    .onItem().invoke(reply::append)
                    .map(ChatEvent::token)
                    .onCompletion().invoke(() -> sample.stop(modelLatency));
            Multi<ChatEvent> end = Multi.createFrom().deferred(() -> {
                String text = reply.toString();
                if (text.isBlank()) {
                    return Multi.createFrom().failure(malformed());
                }
                return write(session, turn, message, text, turnId, attempt).toMulti()
                        .flatMap(written -> written.decision().outcome() == Decision.Outcome.CONFLICT
                                && attempt < config.chat().maxAttempts()
                                        ? Multi.createBy().concatenating().streams(
                                                Multi.createFrom().item(ChatEvent.restart(turnId)),
                                                streamAttempt(session, message, turnId, attempt + 1))
                                        : outcome(session, message, turnId, attempt, written,
                                                () -> Uni.createFrom().failure(new IllegalStateException("unreachable")))
                                                .map(ChatEvent::done).toMulti());
            });
            return Multi.createBy().concatenating().streams(tokens, end);
        });
    }

    private Uni<SessionState> readState(SessionKey session) {
        return reader.current(session)
                .onFailure(ProblemException.class).recoverWithUni(failure -> {
                    if (((ProblemException) failure).problem().status() == 404) {
                        return Uni.createFrom().item(SessionState.empty(session.tenant(), session.sessionId()));
                    }
                    return Uni.createFrom().failure(failure);
                });
    }

    private Turn turn(SessionKey session, SessionState state) {
        return new Turn(UUID.randomUUID().toString(), session.tenant(), session.sessionId(), state.version(),
                PromptWindow.of(state, config.chat().systemPrompt()));
    }

    private String callModel(Turn turn, String message) {
        Timer.Sample sample = Timer.start(meters);
        Result<String> result;
        try {
            result = assistant.reply(turn, message);
        } catch (RuntimeException e) {
            throw modelFailure(e);
        } finally {
            sample.stop(modelLatency);
        }
        TokenUsage usage = result.tokenUsage();
        if (usage != null) {
            if (usage.inputTokenCount() != null) {
                meters.counter("agentstate.chat.tokens", "direction", "in").increment(usage.inputTokenCount());
            }
            if (usage.outputTokenCount() != null) {
                meters.counter("agentstate.chat.tokens", "direction", "out").increment(usage.outputTokenCount());
            }
        }
        if (result.content() == null || result.content().isBlank()) {
            throw malformed();
        }
        return result.content();
    }

    // The user message and the reply, one atomic batch conditional on the version the prompt was built from.
    private Uni<Written> write(SessionKey session, Turn turn, String message, String reply, String turnId, int attempt) {
        ArrayNode batch = JsonNodeFactory.instance.arrayNode();
        batch.add(event(userId(turnId, attempt), "user", message, turnId));
        batch.add(event(assistantId(turnId, attempt), "assistant", reply, turnId));
        byte[] body = batch.toString().getBytes(StandardCharsets.UTF_8);
        return ingest.append(session.sessionId(), body, null, Long.toString(turn.version()))
                .map(result -> new Written(result.decision().orElseThrow(() -> new ProblemException(Problem.of(503,
                        "ledger-busy", "Turn not yet recorded", "the ledger did not decide within the wait budget; "
                                + "repeat the request with Idempotency-Key " + turnId + " to get its answer"))),
                        reply));
    }

    private Uni<ChatReply> outcome(SessionKey session, String message, String turnId, int attempt, Written written,
            Supplier<Uni<ChatReply>> retry) {
        Decision decision = written.decision();
        switch (decision.outcome()) {
            case ACCEPTED -> {
                meters.counter("agentstate.chat.turns", "outcome", "recorded").increment();
                summariseLater(session);
                return Uni.createFrom().item(new ChatReply(session.sessionId(), turnId, written.reply(),
                        decision.lastVersion(), false));
            }
            case DUPLICATE -> {
                return previous(session, turnId).map(found -> found.orElseThrow(() -> new ProblemException(Problem.of(
                        409, "turn-refused", "Turn refused", decision.reason()))));
            }
            case CONFLICT -> {
                meters.counter("agentstate.chat.turns", "outcome", "retried").increment();
                if (attempt < config.chat().maxAttempts()) {
                    return retry.get();
                }
                throw new ProblemException(Problem.of(409, "version-conflict", "Session too busy",
                        "the turn lost the race for the session version " + attempt + " times; try again")
                        .with("currentVersion", decision.currentVersion()));
            }
            case REJECTED -> {
                meters.counter("agentstate.chat.turns", "outcome", "rejected").increment();
                throw new ProblemException(Problem.of(409, "turn-refused", "Turn refused", decision.reason())
                        .with("currentVersion", decision.currentVersion()));
            }
        }
        throw new IllegalStateException("unknown outcome " + decision.outcome());
    }

    // Past the budget, the older verbatim part is folded into the summary, after the reply has gone back.
    private void summariseLater(SessionKey session) {
        if (!summarising.add(session)) {
            return;
        }
        reader.current(session)
                .chain(state -> {
                    List<SessionState.Message> verbatim = state.messages();
                    int keep = Math.min(config.chat().keepVerbatimMessages(), verbatim.size());
                    boolean over = verbatim.size() > config.chat().maxVerbatimMessages()
                            || PromptWindow.estimateTokens(verbatim) > config.chat().maxVerbatimTokens();
                    if (!over || verbatim.size() - keep < 1) {
                        return Uni.createFrom().voidItem();
                    }
                    List<SessionState.Message> older = verbatim.subList(0, verbatim.size() - keep);
                    long through = older.get(older.size() - 1).version();
                    StringBuilder transcript = new StringBuilder();
                    older.forEach(m -> transcript.append(m.role()).append(": ").append(m.content()).append('\n'));
                    String previous = state.summary() != null ? state.summary().text() : "(none)";
                    return blocking(() -> summarizer.summarize(previous, transcript.toString()))
                            .chain(summary -> recordSummary(session, through, summary));
                })
                .eventually(() -> summarising.remove(session))
                .subscribe().with(ok -> {
                }, failure -> {
                    meters.counter("agentstate.chat.failures", "kind", "summary").increment();
                    LOG.warnf("Summary not recorded: %s", failure.getMessage());
                });
    }

    private Uni<Void> recordSummary(SessionKey session, long through, String summary) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        // One id per covered range: a second summary of the same range is a duplicate, never applied twice.
        event.put("id", summaryId(session.sessionId(), through));
        event.put("source", SOURCE);
        event.put("type", "agentstate.summary.recorded");
        ObjectNode data = event.putObject("data");
        data.put("throughVersion", through);
        data.put("summary", summary);
        data.put("model", modelName);
        data.put("promptVersion", ConversationSummarizer.PROMPT_VERSION);
        return ingest.append(session.sessionId(), event.toString().getBytes(StandardCharsets.UTF_8), null, null)
                .invoke(result -> result.decision().filter(d -> d.outcome() == Decision.Outcome.ACCEPTED)
                        .ifPresent(d -> meters.counter("agentstate.chat.summaries").increment()))
                .replaceWithVoid();
    }

    // Deterministic per covered range; long session ids are hashed so the id stays within the 128-character limit.
    static String summaryId(String sessionId, long through) {
        String id = "summary:" + sessionId + ":" + through;
        if (id.length() <= 128) {
            return id;
        }
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(sessionId.getBytes(StandardCharsets.UTF_8));
            return "summary:" + java.util.HexFormat.of().formatHex(digest) + ":" + through;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode event(String id, String role, String content, String turnId) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        event.put("id", id);
        event.put("source", SOURCE);
        event.put("type", "agentstate.message.appended");
        event.put("correlationid", turnId);
        ObjectNode data = event.putObject("data");
        data.put("role", role);
        data.put("content", content);
        return event;
    }

    private static String userId(String turnId, int attempt) {
        return turnId + ":" + attempt + ":user";
    }

    private static String assistantId(String turnId, int attempt) {
        return turnId + ":" + attempt + ":assistant";
    }

    // Model calls block, so they run on a worker of the context-propagating executor: the AI service runs in the
    // caller's request context. A background summary has none, so one is activated for its call.
    private <T> Uni<T> blocking(Supplier<T> call) {
        return Uni.createFrom().item(() -> inRequestContext(call)).runSubscriptionOn(workers);
    }

    private static <T> T inRequestContext(Supplier<T> call) {
        ManagedContext context = Arc.container().requestContext();
        if (context.isActive()) {
            return call.get();
        }
        context.activate();
        try {
            return call.get();
        } finally {
            context.terminate();
        }
    }

    private ProblemException modelFailure(Throwable failure) {
        if (failure instanceof ProblemException problem) {
            return problem;
        }
        boolean timeout = false;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t.getClass().getSimpleName().contains("Timeout")
                    || (t.getMessage() != null && t.getMessage().toLowerCase().contains("timed out"))) {
                timeout = true;
            }
        }
        meters.counter("agentstate.chat.failures", "kind", timeout ? "timeout" : "error").increment();
        LOG.warnf("Model call failed (%s): %s", timeout ? "timeout" : "error", failure.getMessage());
        return timeout
                ? new ProblemException(Problem.of(504, "model-timeout", "Model timed out",
                        "the model did not answer in time; the session is unchanged"))
                : new ProblemException(Problem.of(502, "model-error", "Model failed",
                        "the model call failed; the session is unchanged"));
    }

    private ProblemException malformed() {
        meters.counter("agentstate.chat.failures", "kind", "malformed").increment();
        return new ProblemException(Problem.of(502, "model-error", "Model failed",
                "the model returned an empty or malformed answer; the session is unchanged"));
    }

    private static Problem problem(Throwable failure) {
        return failure instanceof ProblemException p ? p.problem()
                : Problem.of(500, "internal", "Internal error", "the turn failed; see the service log");
    }

}
