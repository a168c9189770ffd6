package io.agentstate.chat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.context.ThreadContext;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.ingest.IngestService;
import io.agentstate.ledger.Decision;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * Keeps a long conversation within budget: after a recorded turn, when the verbatim part is over its budget, the older
 * part is summarised by the model and recorded as {@code summary.recorded}, in the background. The check uses the state
 * the turn was built on plus the turn itself, so it reads nothing more.
 */
@ApplicationScoped
public class SummaryScheduler {

    private static final Logger LOG = Logger.getLogger(SummaryScheduler.class);

    private final ModelCalls model;
    private final IngestService ingest;
    private final AgentStateConfig config;
    private final MeterRegistry meters;
    private final String modelName;
    private final Set<SessionKey> summarising = ConcurrentHashMap.newKeySet();
    // The background work must not carry the request's context: it outlives the request that started it.
    private final ThreadContext noContext = ThreadContext.builder().propagated().cleared(ThreadContext.ALL_REMAINING)
            .unchanged().build();

    SummaryScheduler(ModelCalls model, IngestService ingest, AgentStateConfig config, MeterRegistry meters,
            @ConfigProperty(name = "quarkus.langchain4j.openai.chat-model.model-name") String modelName) {
        this.model = model;
        this.ingest = ingest;
        this.config = config;
        this.meters = meters;
        this.modelName = modelName;
    }

    /** Called once a turn is recorded at {@code replyVersion} on top of {@code before}. */
    public void afterTurn(SessionKey session, SessionState before, String message, String reply, long replyVersion) {
        List<SessionState.Message> verbatim = new ArrayList<>(before.messages());
        verbatim.add(new SessionState.Message(replyVersion - 1, null, "user", message, null, null, null, null));
        verbatim.add(new SessionState.Message(replyVersion, null, "assistant", reply, null, null, null, null));
        int keep = Math.min(config.chat().keepVerbatimMessages(), verbatim.size());
        boolean over = verbatim.size() > config.chat().maxVerbatimMessages()
                || PromptWindow.estimateTokens(verbatim) > config.chat().maxVerbatimTokens();
        if (!over || verbatim.size() - keep < 1 || !summarising.add(session)) {
            return;
        }
        List<SessionState.Message> older = verbatim.subList(0, verbatim.size() - keep);
        String previous = before.summary() != null ? before.summary().text() : "(none)";
        Infrastructure.getDefaultWorkerPool().execute(noContext.contextualRunnable(
                () -> summarise(session, previous, List.copyOf(older))));
    }

    private void summarise(SessionKey session, String previous, List<SessionState.Message> older) {
        long through = older.get(older.size() - 1).version();
        StringBuilder transcript = new StringBuilder();
        older.forEach(m -> transcript.append(m.role()).append(": ").append(m.content()).append('\n'));
        model.summarize(previous, transcript.toString())
                .chain(summary -> record(session, through, summary))
                .eventually(() -> summarising.remove(session))
                .subscribe().with(ok -> {
                }, failure -> {
                    meters.counter("agentstate.chat.failures", "kind", "summary").increment();
                    LOG.warnf("Summary not recorded: %s", LogSafe.failure(failure));
                });
    }

    private Uni<Void> record(SessionKey session, long through, String summary) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        // One id per covered range: a second summary of the same range is a duplicate, never applied twice.
        event.put("id", summaryId(session.sessionId(), through));
        event.put("source", TurnRecorder.SOURCE);
        event.put("type", "agentstate.summary.recorded");
        ObjectNode data = event.putObject("data");
        data.put("throughVersion", through);
        data.put("summary", summary);
        data.put("model", modelName);
        data.put("promptVersion", ConversationSummarizer.PROMPT_VERSION);
        return ingest
                .append(session.tenant(), session.sessionId(), event.toString().getBytes(StandardCharsets.UTF_8), null, null)
                .invoke(result -> result.decision().filter(d -> d.outcome() == Decision.Outcome.ACCEPTED)
                        .ifPresent(d -> meters.counter("agentstate.chat.summaries").increment()))
                .replaceWithVoid();
    }

    /** Deterministic per covered range; long session ids are hashed so the id stays within the 128-character limit. */
    static String summaryId(String sessionId, long through) {
        return EventIds.bounded("summary:" + sessionId + ":" + through, "summary:", sessionId, ":" + through);
    }
}
