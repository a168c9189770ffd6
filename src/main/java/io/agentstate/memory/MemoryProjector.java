package io.agentstate.memory;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;

/**
 * Embeds facts after the ledger has committed them: a projection, off the ledger's path. Each round takes the oldest
 * current revisions without a vector of the current model (new, revised, or embedded by another model), embeds them on
 * the embedding threads and stores the vectors; the first vector of a fact is compared with the user's other facts and
 * a near-duplicate names the fact it repeats. Storing is idempotent per event id, so two replicas embedding the same
 * fact, or a round repeated after a failure, change nothing; a failed round is retried at the next tick and never stops
 * the ledger.
 */
@ApplicationScoped
public class MemoryProjector {

    private static final Logger LOG = Logger.getLogger(MemoryProjector.class);

    private final MemoryRepository repository;
    private final MemoryVectors vectors;
    private final MemoryEmbeddings embeddings;
    private final Vertx vertx;
    private final AgentStateConfig.Memory config;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicBoolean again = new AtomicBoolean();
    private final Counter embedded;
    private final Counter failures;
    private volatile boolean otherModels = true;
    private volatile boolean stopped;
    private long timer = -1;

    MemoryProjector(MemoryRepository repository, MemoryVectors vectors, MemoryEmbeddings embeddings, Vertx vertx,
            AgentStateConfig config, MeterRegistry meters) {
        this.repository = repository;
        this.vectors = vectors;
        this.embeddings = embeddings;
        this.vertx = vertx;
        this.config = config.memory();
        this.embedded = Counter.builder("agentstate.memory.embedded").description("Fact revisions embedded")
                .register(meters);
        this.failures = Counter.builder("agentstate.memory.embed.failures").description("Projector rounds failed")
                .register(meters);
    }

    void onStart(@Observes StartupEvent event) {
        timer = vertx.setPeriodic(config.projectorInterval().toMillis(), id -> wake());
    }

    void onStop(@Observes ShutdownEvent event) {
        stopped = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** Runs a round now (or right after the current one): a fact was just written, or vectors were dropped. */
    public void wake() {
        if (stopped) {
            return;
        }
        if (!running.compareAndSet(false, true)) {
            again.set(true);
            return;
        }
        again.set(false);
        round().subscribe().with(more -> {
            running.set(false);
            if (more || again.getAndSet(false)) {
                wake();
            }
        }, failure -> {
            running.set(false);
            failures.increment();
            LOG.warnf("Memory projector round failed; retried at the next tick: %s", LogSafe.failure(failure));
        });
    }

    /** Re-embeds every fact of a tenant in the background: vectors are dropped, then rebuilt from the facts. */
    public Uni<Integer> rebuild(String tenant) {
        return vectors.reset(tenant).invoke(count -> {
            otherModels = true;
            wake();
        });
    }

    // true when the round was full, so more may be waiting
    private Uni<Boolean> round() {
        int size = config.projectorBatch();
        boolean includeOther = otherModels;
        return repository.toEmbed(embeddings.modelId(), size, includeOther)
                .chain(pending -> {
                    if (pending.isEmpty()) {
                        otherModels = false;
                        return Uni.createFrom().item(false);
                    }
                    return embeddings.embedAll(pending.stream().map(MemoryRepository.ToEmbed::fact).toList())
                            .chain(vectorsOf -> store(pending, vectorsOf))
                            .map(done -> pending.size() >= size);
                });
    }

    // One at a time, oldest first: a fact's near-duplicate check sees the facts stored before it in this round.
    private Uni<Void> store(List<MemoryRepository.ToEmbed> pending, float[][] vectorsOf) {
        return Multi.createFrom().range(0, pending.size())
                .onItem().transformToUniAndConcatenate(i -> {
                    MemoryRepository.ToEmbed fact = pending.get(i);
                    float[] vector = vectorsOf[i];
                    Uni<String> duplicate = fact.first()
                            ? vectors.nearest(fact.tenant(), fact.userId(), embeddings.modelId(), vector, null, 1,
                                    fact.memoryId())
                                    .map(found -> !found.isEmpty()
                                            && found.get(0).score() >= config.duplicateThreshold()
                                                    ? found.get(0).memoryId()
                                                    : null)
                            : Uni.createFrom().nullItem();
                    return duplicate.chain(of -> vectors.store(fact.tenant(), fact.userId(), fact.eventId(),
                            embeddings.modelId(), vector, of)).invoke(() -> embedded.increment());
                })
                .collect().last().replaceWithVoid();
    }
}
