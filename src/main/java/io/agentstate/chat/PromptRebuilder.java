package io.agentstate.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.agentstate.event.Event;
import io.agentstate.event.EventType;
import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.memory.MemoryRecall;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.query.SessionReader;
import io.smallrye.mutiny.Uni;

/**
 * What the model saw at a chat turn, rebuilt from the log alone: the reply at version n names the version its window
 * was built from, the summary in it and the system prompt's version; the state at that version, folded from the
 * archive, gives the window through {@link PromptWindow}, and the user message of the same batch (version n - 1) ends
 * it. No copy of the prompt is stored anywhere.
 */
@ApplicationScoped
public class PromptRebuilder {

    /** One message as the model got it. */
    public record PromptMessage(String role, String content, String name) {
    }

    /**
     * The rebuilt prompt of the reply at {@code version}; {@code memories} are the user's long-term facts recalled into
     * its system message, each the exact revision used (a fact since forgotten has no text, and shows as such).
     */
    public record Prompt(String sessionId, long version, long windowVersion, Long summaryVersion, String promptVersion,
            List<MemoryRecall.Recalled> memories, List<PromptMessage> messages) {
    }

    /** How a recalled fact forgotten since the turn shows in its rebuilt prompt. */
    public static final String FORGOTTEN = "(a fact forgotten since this turn)";

    private final SessionReader reader;
    private final MemoryRecall recall;
    private final AgentStateConfig config;

    PromptRebuilder(SessionReader reader, MemoryRecall recall, AgentStateConfig config) {
        this.reader = reader;
        this.recall = recall;
        this.config = config;
    }

    public Uni<Prompt> rebuild(SessionKey session, long version) {
        return reader.eventAt(session, version)
                .chain(reply -> {
                    JsonNode recorded = sources(reply, version);
                    long windowVersion = recorded.get("windowVersion").asLong();
                    Long summaryVersion = recorded.get("summaryVersion").isIntegralNumber()
                            ? recorded.get("summaryVersion").asLong()
                            : null;
                    String promptVersion = recorded.get("promptVersion").asText();
                    String systemPrompt = config.chat().systemPrompt();
                    if (!PromptWindow.promptVersion(systemPrompt).equals(promptVersion)) {
                        throw new ProblemException(Problem.of(409, "prompt-template-changed",
                                "Prompt template changed", "the turn at version " + version + " was prompted with "
                                        + "system prompt " + promptVersion + "; the service now runs "
                                        + PromptWindow.promptVersion(systemPrompt)
                                        + " (agent-state.chat.system-prompt), so its window cannot be rebuilt exactly"));
                    }
                    Uni<SessionState> state = windowVersion == 0
                            ? Uni.createFrom().item(SessionState.empty(session.tenant(), session.sessionId()))
                            : reader.atVersion(session, windowVersion);
                    List<String> used = new ArrayList<>();
                    recorded.path("memories").forEach(id -> used.add(id.asText()));
                    return state.chain(folded -> reader.eventAt(session, version - 1)
                            .chain(user -> recall.revisions(session.tenant(), used)
                                    .map(facts -> prompt(session, version, reply, user, folded, windowVersion,
                                            summaryVersion, promptVersion, systemPrompt, facts))));
                });
    }

    private static JsonNode sources(Event reply, long version) {
        JsonNode prompt = reply.kind() == EventType.MESSAGE_APPENDED && reply.data() != null
                ? reply.data().get("prompt")
                : null;
        if (prompt == null || !prompt.path("windowVersion").isIntegralNumber()
                || !prompt.path("promptVersion").isTextual() || !prompt.has("summaryVersion")) {
            throw ProblemException.notFound("version " + version + " is not a reply written by the chat endpoint "
                    + "(an assistant message whose data names its prompt)");
        }
        return prompt;
    }

    private static Prompt prompt(SessionKey session, long version, Event reply, Event user, SessionState state,
            long windowVersion, Long summaryVersion, String promptVersion, String systemPrompt,
            List<MemoryRecall.Recalled> facts) {
        Long folded = state.summary() != null ? state.summary().version() : null;
        boolean sameTurn = user.kind() == EventType.MESSAGE_APPENDED && "user".equals(user.data().path("role").asText())
                && user.correlationId() != null && user.correlationId().equals(reply.correlationId());
        if (!sameTurn || windowVersion != version - 2 || !Objects.equals(folded, summaryVersion)) {
            throw new IllegalStateException("the log does not hold the turn at version " + version + " as it was "
                    + "recorded (user message, window version or summary differ)");
        }
        List<PromptMessage> messages = new ArrayList<>();
        List<String> texts = facts.stream().map(f -> f.fact() != null ? f.fact() : FORGOTTEN).toList();
        for (ChatMessage message : PromptWindow.of(state, systemPrompt, texts)) {
            messages.add(of(message));
        }
        messages.add(new PromptMessage("user", user.data().get("content").asText(), null));
        return new Prompt(session.sessionId(), version, windowVersion, summaryVersion, promptVersion, facts, messages);
    }

    private static PromptMessage of(ChatMessage message) {
        if (message instanceof SystemMessage system) {
            return new PromptMessage("system", system.text(), null);
        }
        if (message instanceof UserMessage user) {
            return new PromptMessage("user", user.singleText(), user.name());
        }
        if (message instanceof AiMessage ai) {
            return new PromptMessage("assistant", ai.text(), null);
        }
        throw new IllegalStateException("a prompt window holds system, user and assistant messages only");
    }
}
