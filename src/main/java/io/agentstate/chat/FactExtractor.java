package io.agentstate.chat;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.UserMessage;
import io.quarkiverse.langchain4j.RegisterAiService;

/** Proposes long-term facts about the user from one exchange, as structured output; stateless (no memory). */
// Application scoped for the same reason as the other AI services (docs/chat.md, "Threads and request contexts").
@ApplicationScoped
@RegisterAiService(chatMemoryProviderSupplier = RegisterAiService.NoChatMemoryProviderSupplier.class)
public interface FactExtractor {

    /** What the model proposes: new facts, and changes to known ones ({@code revises} names the fact replaced). */
    record Proposals(List<Proposal> facts) {
    }

    /** One proposed fact: its text, labels, and the id of the known fact it replaces, or null for a new fact. */
    record Proposal(String fact, List<String> tags, String revises) {
    }

    @SystemMessage("""
            You keep the long-term memory of an assistant about one user: durable facts such as preferences,
            allergies and health, family, work, places, tools, habits and plans.
            From the latest exchange, propose only facts the user stated or clearly implied about themselves that are
            not already known, or that change a known fact: then set "revises" to the id of the known fact it
            replaces. Write each fact as one short sentence about the user in the third person. Propose nothing for
            small talk, questions, or anything only the assistant said. Most exchanges hold no new fact: then answer
            with an empty list.
            """)
    @UserMessage("""
            Known facts (id: fact):
            {known}

            The user said:
            {message}

            The assistant replied:
            {reply}
            """)
    Proposals extract(String known, String message, String reply);
}
