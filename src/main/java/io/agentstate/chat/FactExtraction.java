package io.agentstate.chat;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.context.ThreadContext;
import org.jboss.logging.Logger;

import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.memory.MemoryRecall;
import io.agentstate.memory.MemoryService;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * After a recorded turn of a session with a user, asks the model ({@link FactExtractor}) for new or revised facts
 * about the user, in the background, and records them through {@link MemoryService} as events caused by the turn's
 * reply ({@code causationid}) and correlated with the turn: a new fact unless the user has one that means the same, a
 * revision only of a fact the model was shown, never an overwrite. Event ids derive from the reply's, so a repeat
 * records nothing twice. On by default when a model is configured ({@code agent-state.memory.extraction}).
 */
@ApplicationScoped
public class FactExtraction {

    private static final Logger LOG = Logger.getLogger(FactExtraction.class);
    private static final int MAX_PROPOSALS = 5;
    private static final int MAX_FACT = 2000;
    private static final int KNOWN = 50;

    private final ModelCalls model;
    private final MemoryRecall recall;
    private final MemoryService memories;
    private final MeterRegistry meters;
    private final boolean enabled;
    private final ThreadContext noContext = ThreadContext.builder().propagated().cleared(ThreadContext.ALL_REMAINING)
            .unchanged().build();

    FactExtraction(ModelCalls model, MemoryRecall recall, MemoryService memories, MeterRegistry meters,
            AgentStateConfig config, @ConfigProperty(name = "quarkus.langchain4j.openai.api-key") String apiKey) {
        this.model = model;
        this.recall = recall;
        this.memories = memories;
        this.meters = meters;
        this.enabled = config.memory().extraction().orElse(!"none".equals(apiKey));
        LOG.infof("Fact extraction after chat turns: %s", enabled ? "on" : "off");
    }

    /** Called once a turn is recorded; returns at once. */
    public void afterTurn(SessionKey session, SessionState before, Turn turn, TurnRequests.TurnRequest request,
            TurnRecorder.Written written) {
        String userId = before.userId();
        if (!enabled || userId == null) {
            return;
        }
        List<String> ids = written.decision().eventIds();
        String replyId = ids.get(ids.size() - 1);
        Infrastructure.getDefaultWorkerPool().execute(noContext.contextualRunnable(() -> extract(session, userId,
                request.message(), written.reply(), replyId, request.turnId())));
    }

    private void extract(SessionKey session, String userId, String message, String reply, String replyId,
            String turnId) {
        recall.current(session.tenant(), userId, KNOWN)
                .chain(known -> model.extractFacts(known(known), message, reply)
                        .chain(proposals -> record(session, userId, proposals, known, replyId, turnId)))
                .subscribe().with(count -> {
                }, failure -> {
                    meters.counter("agentstate.chat.failures", "kind", "extraction").increment();
                    LOG.warnf("Facts not extracted from a turn: %s", LogSafe.failure(failure));
                });
    }

    private Uni<Integer> record(SessionKey session, String userId, FactExtractor.Proposals proposals,
            List<MemoryRecall.Recalled> known, String replyId, String turnId) {
        if (proposals == null || proposals.facts() == null || proposals.facts().isEmpty()) {
            return Uni.createFrom().item(0);
        }
        Map<String, MemoryRecall.Recalled> byId = known.stream()
                .collect(Collectors.toMap(MemoryRecall.Recalled::memoryId, Function.identity(), (a, b) -> a));
        List<FactExtractor.Proposal> usable = proposals.facts().stream()
                .filter(p -> p != null && p.fact() != null && !p.fact().isBlank() && p.fact().length() <= MAX_FACT)
                .limit(MAX_PROPOSALS).toList();
        return Multi.createFrom().range(0, usable.size())
                .onItem().transformToUniAndConcatenate(i -> {
                    FactExtractor.Proposal proposal = usable.get(i);
                    List<String> tags = tags(proposal.tags());
                    MemoryService.Origin origin = new MemoryService.Origin(TurnRecorder.SOURCE,
                            eventId(replyId, i), replyId, turnId);
                    Uni<MemoryService.Written> write = proposal.revises() != null && byId.containsKey(proposal.revises())
                            ? memories.revise(session.tenant(), userId, proposal.revises(), proposal.fact().strip(), tags,
                                    session.sessionId(), origin)
                            : memories.record(session.tenant(), userId, proposal.fact().strip(), tags,
                                    session.sessionId(), origin);
                    return write.invoke(w -> meters.counter("agentstate.memory.extracted", "outcome",
                            w.duplicateOf() != null ? "duplicate" : proposal.revises() != null ? "revised" : "recorded")
                            .increment());
                })
                .collect().asList().map(List::size);
    }

    private static String known(List<MemoryRecall.Recalled> known) {
        if (known.isEmpty()) {
            return "(none)";
        }
        StringBuilder text = new StringBuilder();
        known.forEach(fact -> text.append(fact.memoryId()).append(": ").append(fact.fact()).append('\n'));
        return text.toString();
    }

    private static List<String> tags(List<String> proposed) {
        if (proposed == null) {
            return List.of();
        }
        return proposed.stream().filter(t -> t != null && !t.isBlank() && t.length() <= 64).map(String::strip)
                .distinct().limit(8).toList();
    }

    /** {@code <reply id>:fact:<n>}, hashed when that would pass the 128-character limit of an event id. */
    static String eventId(String replyId, int index) {
        return EventIds.bounded(replyId + ":fact:" + index, "fact:", replyId, ":" + index);
    }
}
