package io.agentstate.memory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.EventBatch;
import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.ingest.IngestService;
import io.agentstate.ledger.Decision;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.ProblemException;
import io.smallrye.mutiny.Uni;

/**
 * Long-term memory as a service: search by meaning, and facts recorded, revised and forgotten as events appended to a
 * session (their provenance) through {@link IngestService}, like any other write. A new fact that means what one of the
 * user's facts already says is answered as a duplicate of it and not recorded.
 */
@ApplicationScoped
public class MemoryService {

    /** The source of the memory events the service writes for the memory API and for chat's extraction. */
    public static final String SOURCE = "agent://agent-state/memory";

    /** How a write ended: written (or pending), or the near-duplicate that made it unnecessary. */
    public record Written(String memoryId, String eventId, String sessionId, Optional<Decision> decision,
            MemoryRepository.Memory duplicateOf) {
    }

    /** Who asks for a write and what it is caused by; each may be null. */
    public record Origin(String source, String idempotencyKey, String causationId, String correlationId) {
    }

    private final MemoryRepository repository;
    private final MemoryVectors vectors;
    private final MemoryEmbeddings embeddings;
    private final MemoryProjector projector;
    private final IngestService ingest;
    private final EventCodec codec;
    private final ObjectMapper mapper;
    private final AgentStateConfig.Memory config;

    MemoryService(MemoryRepository repository, MemoryVectors vectors, MemoryEmbeddings embeddings,
            MemoryProjector projector, IngestService ingest, EventCodec codec, ObjectMapper mapper,
            AgentStateConfig config) {
        this.repository = repository;
        this.vectors = vectors;
        this.embeddings = embeddings;
        this.projector = projector;
        this.ingest = ingest;
        this.codec = codec;
        this.mapper = mapper;
        this.config = config.memory();
    }

    /** The embedding model's id, recorded with each vector. */
    public String model() {
        return embeddings.modelId();
    }

    /** The storage path searches use. */
    public Uni<MemoryVectors.Path> path() {
        return vectors.path();
    }

    /** A user's current facts ranked by similarity to a query, best first, each with its score. */
    public Uni<List<MemoryRepository.Memory>> search(String tenant, String userId, String query, String tag,
            int limit) {
        return embeddings.embed(query)
                .chain(vector -> vectors.nearest(tenant, userId, embeddings.modelId(), vector, tag, limit, null))
                .chain(found -> resolve(tenant, found));
    }

    /** The same search across every user of a tenant. */
    public Uni<List<MemoryRepository.Memory>> searchTenant(String tenant, String query, String tag, int limit) {
        return search(tenant, null, query, tag, limit);
    }

    /** A user's current facts, newest first. */
    public Uni<List<MemoryRepository.Memory>> newest(String tenant, String userId, String tag, int limit) {
        return repository.forUser(tenant, userId, tag, limit);
    }

    /** How many of the user's (or tenant's) current facts searches do not see yet: not yet embedded by this model. */
    public Uni<Long> unindexed(String tenant, String userId) {
        return repository.unindexed(tenant, userId, embeddings.modelId());
    }

    /** The current revision of a fact and its history, oldest first; empty when there is no such fact. */
    public Uni<List<MemoryRepository.Memory>> history(String tenant, String userId, String memoryId) {
        return repository.history(tenant, userId, memoryId);
    }

    /**
     * Records a fact in a session unless the user already has one that means the same (cosine at or above
     * {@code agent-state.memory.duplicate-threshold}, or the same text): then that fact is the answer.
     */
    public Uni<Written> record(String tenant, String userId, String fact, List<String> tags, String sessionId,
            Origin origin) {
        String eventId = eventId(origin);
        Uni<Written> write = Uni.createFrom().deferred(() -> append(tenant, sessionId, eventId, eventId,
                EventType.MEMORY_RECORDED, data(userId, null, fact, tags, null), origin));
        return ingest.find(tenant, sessionId, eventId)
                // a repeat of an earlier request gets its answer, without a second duplicate check
                .chain(found -> found.here().isPresent() ? write
                        : duplicate(tenant, userId, fact).chain(existing -> existing.isPresent()
                                ? Uni.createFrom().item(new Written(existing.get().memoryId(), null, sessionId,
                                        Optional.empty(), existing.get()))
                                : write));
    }

    /** Replaces a fact's text (and tags, when given), in the given session or the one of its current revision. */
    public Uni<Written> revise(String tenant, String userId, String memoryId, String fact, List<String> tags,
            String sessionId, Origin origin) {
        return existing(tenant, userId, memoryId).chain(current -> append(tenant,
                sessionId != null ? sessionId : current.sessionId(), memoryId, eventId(origin),
                EventType.MEMORY_REVISED, data(userId, memoryId, fact, tags, null), origin));
    }

    /** Removes a fact, every revision and its vector, in the given session or the one of its current revision. */
    public Uni<Written> forget(String tenant, String userId, String memoryId, String reason, String sessionId,
            Origin origin) {
        return existing(tenant, userId, memoryId).chain(current -> append(tenant,
                sessionId != null ? sessionId : current.sessionId(), memoryId, eventId(origin),
                EventType.MEMORY_FORGOTTEN, data(userId, memoryId, null, null, reason), origin));
    }

    /** Drops and rebuilds the vectors of a tenant's facts in the background; the number of revisions to embed. */
    public Uni<Integer> rebuild(String tenant) {
        return projector.rebuild(tenant);
    }

    /** The user's existing fact that a new one would repeat, if any. */
    public Uni<Optional<MemoryRepository.Memory>> duplicate(String tenant, String userId, String fact) {
        return embeddings.embed(fact)
                .chain(vector -> vectors.nearest(tenant, userId, embeddings.modelId(), vector, null, 1, null))
                .chain(found -> {
                    boolean near = !found.isEmpty() && found.get(0).score() >= config.duplicateThreshold();
                    Uni<List<MemoryRepository.Memory>> candidates = near ? resolve(tenant, found)
                            : Uni.createFrom().item(List.of());
                    return candidates.chain(near1 -> !near1.isEmpty() ? Uni.createFrom().item(Optional.of(near1.get(0)))
                            // a fact not embedded yet has no vector to find: the same text is still a duplicate
                            : repository.unembedded(tenant, userId, embeddings.modelId()).map(all -> all.stream()
                                    .filter(m -> m.duplicateOf() == null && m.fact().strip().equalsIgnoreCase(fact.strip()))
                                    .findFirst()));
                });
    }

    private Uni<MemoryRepository.Memory> existing(String tenant, String userId, String memoryId) {
        return repository.current(tenant, userId, memoryId).map(found -> found.orElseThrow(() -> ProblemException
                .notFound("user " + userId + " has no fact " + memoryId + " (never recorded, or forgotten)")));
    }

    private Uni<List<MemoryRepository.Memory>> resolve(String tenant, List<MemoryVectors.Scored> found) {
        return repository.byEventIds(tenant, found.stream().map(MemoryVectors.Scored::eventId).toList())
                .map(rows -> ranked(found, rows));
    }

    private static List<MemoryRepository.Memory> ranked(List<MemoryVectors.Scored> found,
            Map<String, MemoryRepository.Memory> rows) {
        List<MemoryRepository.Memory> ranked = new ArrayList<>(found.size());
        for (MemoryVectors.Scored scored : found) {
            MemoryRepository.Memory memory = rows.get(scored.eventId());
            if (memory != null) {
                ranked.add(memory.scored(Math.round(scored.score() * 10_000) / 10_000.0));
            }
        }
        return ranked;
    }

    private Uni<Written> append(String tenant, String sessionId, String memoryId, String eventId, EventType type,
            ObjectNode data, Origin origin) {
        ObjectNode event = mapper.createObjectNode();
        event.put("id", eventId);
        event.put("source", origin.source() != null ? origin.source() : SOURCE);
        event.put("type", type.type().orElseThrow());
        if (origin.causationId() != null) {
            event.put("causationid", origin.causationId());
        }
        if (origin.correlationId() != null) {
            event.put("correlationid", origin.correlationId());
        }
        event.set("data", data);
        EventBatch batch = codec.decodeRequest(sessionId, event.toString().getBytes(StandardCharsets.UTF_8), tenant,
                null, null, Instant.now());
        return ingest.append(batch)
                .invoke(result -> projector.wake())
                .map(result -> new Written(memoryId, eventId, sessionId, result.decision(), null));
    }

    private ObjectNode data(String userId, String memoryId, String fact, List<String> tags, String reason) {
        ObjectNode data = mapper.createObjectNode();
        data.put("userId", userId);
        if (memoryId != null) {
            data.put("memoryId", memoryId);
        }
        if (fact != null) {
            data.put("fact", fact);
        }
        if (tags != null) {
            tags.forEach(data.putArray("tags")::add);
        }
        if (reason != null) {
            data.put("reason", reason);
        }
        return data;
    }

    private static String eventId(Origin origin) {
        return origin.idempotencyKey() != null ? origin.idempotencyKey() : UUID.randomUUID().toString();
    }
}
