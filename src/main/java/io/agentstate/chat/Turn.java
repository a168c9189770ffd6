package io.agentstate.chat;

import java.util.List;

import dev.langchain4j.data.message.ChatMessage;
import io.agentstate.memory.MemoryRecall;

/**
 * One attempt at a conversation turn: the memory id of the AI service. It carries the prompt window built from the
 * session view at {@code version}, so the model sees exactly that version and nothing from another session.
 *
 * @param attempt unique per attempt, so two attempts never share a memory
 * @param tenant owning tenant
 * @param sessionId the session
 * @param version the session version the window was built from; the turn is written conditionally on it
 * @param window the messages before the new user message, system prompt and summary first
 * @param summaryVersion the version of the summary in the window, or null
 * @param promptVersion {@link PromptWindow#promptVersion} of the system prompt in the window
 * @param facts the user's long-term facts recalled into the system part of the window
 */
public record Turn(String attempt, String tenant, String sessionId, long version, List<ChatMessage> window,
        Long summaryVersion, String promptVersion, List<MemoryRecall.Recalled> facts) {

    public Turn {
        window = List.copyOf(window);
        facts = List.copyOf(facts);
    }
}
