package io.agentstate.memory;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * What chat takes from long-term memory: the user's facts most relevant to a new message, for the system part of the
 * prompt, and the exact revisions a recorded turn used, to rebuild its prompt. Recall never fails a turn: when the
 * embedding model or the search fails, the turn goes on without facts, and the failure is counted and logged.
 */
@ApplicationScoped
public class MemoryRecall {

    /** A fact as a prompt used it: the revision's event id names the exact text. */
    public record Recalled(String memoryId, String eventId, String fact, Double score) {
    }

    private static final Logger LOG = Logger.getLogger(MemoryRecall.class);

    private final MemoryService memories;
    private final MemoryRepository repository;
    private final AgentStateConfig.Memory config;
    private final MeterRegistry meters;

    MemoryRecall(MemoryService memories, MemoryRepository repository, AgentStateConfig config, MeterRegistry meters) {
        this.memories = memories;
        this.repository = repository;
        this.config = config.memory();
        this.meters = meters;
    }

    /** The facts of the session's user relevant to a message, best first; none for a session without a user. */
    public Uni<List<Recalled>> forTurn(String tenant, String userId, String message) {
        if (userId == null || config.chatFacts() <= 0) {
            return Uni.createFrom().item(List.of());
        }
        return memories.search(tenant, userId, message, null, config.chatFacts())
                .map(found -> found.stream().filter(m -> m.score() != null && m.score() >= config.chatMinScore())
                        .map(m -> new Recalled(m.memoryId(), m.eventId(), m.fact(), m.score())).toList())
                .onFailure().recoverWithItem(failure -> {
                    meters.counter("agentstate.chat.failures", "kind", "recall").increment();
                    LOG.warnf("Turn prompted without long-term facts, recall failed: %s", LogSafe.failure(failure));
                    return List.of();
                });
    }

    /**
     * The revisions a turn used, in its order; a revision since forgotten (or shredded with its user) comes back with a
     * null fact.
     */
    public Uni<List<Recalled>> revisions(String tenant, List<String> eventIds) {
        return repository.byEventIds(tenant, eventIds).map(found -> {
            List<Recalled> used = new ArrayList<>(eventIds.size());
            for (String eventId : eventIds) {
                MemoryRepository.Memory memory = found.get(eventId);
                used.add(memory == null ? new Recalled(null, eventId, null, null)
                        : new Recalled(memory.memoryId(), eventId, memory.fact(), null));
            }
            return used;
        });
    }

    /** The user's current facts, newest first (what extraction may revise). */
    public Uni<List<Recalled>> current(String tenant, String userId, int limit) {
        return repository.forUser(tenant, userId, null, limit).map(found -> found.stream()
                .map(m -> new Recalled(m.memoryId(), m.eventId(), m.fact(), null)).toList());
    }
}
