package io.agentstate.chat;

import jakarta.enterprise.context.ApplicationScoped;

import dev.langchain4j.memory.ChatMemory;
import dev.langchain4j.memory.chat.ChatMemoryProvider;

/** Gives the AI service the memory of a {@link Turn}: the session view's window, never another session's. */
@ApplicationScoped
public class SessionMemoryProvider implements ChatMemoryProvider {

    @Override
    public ChatMemory get(Object memoryId) {
        if (!(memoryId instanceof Turn turn)) {
            throw new IllegalArgumentException("the session assistant's memory id must be a Turn");
        }
        return new TurnMemory(turn);
    }
}
