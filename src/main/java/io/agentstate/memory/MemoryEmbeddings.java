package io.agentstate.memory;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import io.agentstate.platform.AgentStateConfig;
import io.smallrye.mutiny.Uni;

/**
 * The embedding model of long-term memory, behind LangChain4j's {@link EmbeddingModel}: all-MiniLM-L6-v2 (quantised)
 * in process by default, or an OpenAI-compatible endpoint. Loaded on first use, off the event loop; every vector is
 * L2-normalised, so a dot product is the cosine similarity. {@link #modelId()} is recorded with each vector, so a change
 * of model is seen and re-embedded.
 */
@ApplicationScoped
public class MemoryEmbeddings {

    private static final Logger LOG = Logger.getLogger(MemoryEmbeddings.class);

    // Inference blocks and is CPU-bound; two threads on the machines this runs on, never the event loop.
    private static final ExecutorService THREADS = Executors.newFixedThreadPool(2, task -> {
        Thread thread = new Thread(task, "agent-state-embed");
        thread.setDaemon(true);
        return thread;
    });

    private final AgentStateConfig.Embedding config;
    private final String modelId;
    private volatile EmbeddingModel model;

    MemoryEmbeddings(AgentStateConfig config) {
        this.config = config.memory().embedding();
        this.modelId = switch (this.config.provider()) {
            case "in-process" -> "in-process:all-minilm-l6-v2-q";
            case "openai" -> "openai:" + this.config.modelName();
            default -> throw new IllegalArgumentException("agent-state.memory.embedding.provider is "
                    + this.config.provider() + "; use in-process or openai");
        };
    }

    /** The model that makes the vectors, as recorded with each of them. */
    public String modelId() {
        return modelId;
    }

    /** The vector of one text (blocking: call from a worker). */
    public float[] embedBlocking(String text) {
        return normalised(model().embed(text).content());
    }

    /** The vectors of several texts, in order (blocking). */
    public float[][] embedAllBlocking(List<String> texts) {
        List<Embedding> embeddings = model().embedAll(texts.stream().map(TextSegment::from).toList()).content();
        float[][] vectors = new float[embeddings.size()][];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = normalised(embeddings.get(i));
        }
        return vectors;
    }

    /** The vector of one text, computed on the embedding threads. */
    public Uni<float[]> embed(String text) {
        return Uni.createFrom().item(() -> embedBlocking(text)).runSubscriptionOn(THREADS);
    }

    /** Several vectors, computed on the embedding threads. */
    public Uni<float[][]> embedAll(List<String> texts) {
        return Uni.createFrom().item(() -> embedAllBlocking(texts)).runSubscriptionOn(THREADS);
    }

    private EmbeddingModel model() {
        EmbeddingModel current = model;
        if (current == null) {
            synchronized (this) {
                current = model;
                if (current == null) {
                    long start = System.nanoTime();
                    current = create();
                    model = current;
                    LOG.infof("Embedding model %s ready in %d ms", modelId, (System.nanoTime() - start) / 1_000_000);
                }
            }
        }
        return current;
    }

    private EmbeddingModel create() {
        if (config.provider().equals("in-process")) {
            return new AllMiniLmL6V2QuantizedEmbeddingModel();
        }
        return OpenAiEmbeddingModel.builder()
                .baseUrl(config.baseUrl())
                .apiKey(config.apiKey().orElse("none"))
                .modelName(config.modelName())
                .timeout(config.timeout())
                .maxRetries(2)
                .build();
    }

    private static float[] normalised(Embedding embedding) {
        float[] vector = embedding.vector();
        double norm = 0;
        for (float v : vector) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        if (norm == 0) {
            return vector;
        }
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) {
            unit[i] = (float) (vector[i] / norm);
        }
        return unit;
    }
}
