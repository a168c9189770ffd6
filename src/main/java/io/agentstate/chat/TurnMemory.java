package io.agentstate.chat;

import java.util.ArrayList;
import java.util.List;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.memory.ChatMemory;

/**
 * The chat memory of one turn: the window read from the session view, plus what the AI service adds during the turn.
 * Nothing is persisted here; the turn is written to the log whole, as one conditional batch, once the model has
 * answered (the deferred flush), so a failed call leaves the session exactly as it was.
 */
final class TurnMemory implements ChatMemory {

    private final Turn turn;
    private final List<ChatMessage> added = new ArrayList<>();

    TurnMemory(Turn turn) {
        this.turn = turn;
    }

    @Override
    public Object id() {
        return turn;
    }

    @Override
    public synchronized void add(ChatMessage message) {
        // The window already starts with the configured system prompt and the summary.
        if (!(message instanceof SystemMessage)) {
            added.add(message);
        }
    }

    @Override
    public synchronized List<ChatMessage> messages() {
        List<ChatMessage> all = new ArrayList<>(turn.window().size() + added.size());
        all.addAll(turn.window());
        all.addAll(added);
        return all;
    }

    @Override
    public synchronized void clear() {
        added.clear();
    }
}
