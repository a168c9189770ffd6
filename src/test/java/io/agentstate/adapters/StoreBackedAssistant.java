package io.agentstate.adapters;

import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import dev.langchain4j.memory.chat.ChatMemoryProvider;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.service.MemoryId;
import dev.langchain4j.service.UserMessage;
import io.agentstate.langchain4j.AgentStateChatMemoryStore;
import io.quarkiverse.langchain4j.RegisterAiService;

/**
 * A quarkus-langchain4j AI service whose chat memory is kept in agent-state through {@link AgentStateChatMemoryStore}:
 * the shape a user's application takes (see clients/langchain4j/README.md).
 */
@ApplicationScoped
@RegisterAiService(chatMemoryProviderSupplier = StoreBackedAssistant.Memory.class)
public interface StoreBackedAssistant {

    String chat(@MemoryId String conversation, @UserMessage String message);

    /** A ten-message window per conversation, stored in the service the test points it at. */
    class Memory implements Supplier<ChatMemoryProvider> {
        static volatile AgentStateChatMemoryStore store;

        @Override
        public ChatMemoryProvider get() {
            return id -> MessageWindowChatMemory.builder().id(id).maxMessages(10).chatMemoryStore(store).build();
        }
    }
}
