package io.agentstate.chat;

import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.langchain4j.model.output.TokenUsage;
import dev.langchain4j.service.Result;
import io.agentstate.platform.LogSafe;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkiverse.langchain4j.ChatMemoryRemover;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * The model calls of a turn and of a summary. They block, so they run on a worker thread; the AI services are
 * application scoped, so no call needs (or activates) a request context. Failures become 502 or 504 problems.
 */
@ApplicationScoped
public class ModelCalls {

    private static final Logger LOG = Logger.getLogger(ModelCalls.class);

    // Model calls block, so they leave the event loop; and they run on threads that carry no Vert.x context. On a
    // worker that carries the HTTP request's duplicated context, the REST client's own callbacks ran the server
    // request's handler chain again (handleRequestScopeActivation) after the request scope had ended: the intermittent
    // 500 with ContextNotActiveException for CurrentVertxRequest. The reply continues on the pipeline's next stage.
    private static final ExecutorService MODEL_THREADS = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "agent-state-model");
        thread.setDaemon(true);
        return thread;
    });

    private final SessionAssistant assistant;
    private final ConversationSummarizer summarizer;
    private final FactExtractor extractor;
    private final MeterRegistry meters;
    private final Timer latency;

    ModelCalls(SessionAssistant assistant, ConversationSummarizer summarizer, FactExtractor extractor,
            MeterRegistry meters) {
        this.assistant = assistant;
        this.extractor = extractor;
        this.summarizer = summarizer;
        this.meters = meters;
        this.latency = Timer.builder("agentstate.chat.model.latency").description("Model call time per turn")
                .publishPercentiles(0.5, 0.99).register(meters);
    }

    /** The reply to a user message over a turn's window. */
    public Uni<String> reply(Turn turn, String message) {
        return Uni.createFrom().item(() -> replyBlocking(turn, message))
                .runSubscriptionOn(MODEL_THREADS);
    }

    /** The same reply, token by token. */
    public Multi<String> replyStreaming(Turn turn, String message) {
        Timer.Sample sample = Timer.start(meters);
        return Multi.createFrom().deferred(() -> assistant.replyStreaming(turn, message))
                .runSubscriptionOn(MODEL_THREADS)
                .onFailure().transform(this::failure)
                .onCompletion().invoke(() -> sample.stop(latency))
                .onTermination().invoke(() -> forget(turn));
    }

    /** A summary of older messages, merged with the previous summary. */
    public Uni<String> summarize(String previous, String transcript) {
        return Uni.createFrom().item(() -> summarizer.summarize(previous, transcript))
                .runSubscriptionOn(MODEL_THREADS);
    }

    /** Facts about the user proposed from one exchange. */
    public Uni<FactExtractor.Proposals> extractFacts(String known, String message, String reply) {
        return Uni.createFrom().item(() -> extractor.extract(known, message, reply))
                .runSubscriptionOn(MODEL_THREADS);
    }

    /** 502 for an answer with no text. */
    public ProblemException malformed() {
        meters.counter("agentstate.chat.failures", "kind", "malformed").increment();
        return new ProblemException(Problem.of(502, "model-error", "Model failed",
                "the model returned an empty or malformed answer; the session is unchanged"));
    }

    private String replyBlocking(Turn turn, String message) {
        Timer.Sample sample = Timer.start(meters);
        Result<String> result;
        try {
            result = assistant.reply(turn, message);
        } catch (RuntimeException e) {
            throw failure(e);
        } finally {
            sample.stop(latency);
            forget(turn);
        }
        count(result.tokenUsage());
        if (result.content() == null || result.content().isBlank()) {
            throw malformed();
        }
        return result.content();
    }

    // The AI service keeps a memory per memory id; a turn's id is never used again.
    private void forget(Turn turn) {
        ChatMemoryRemover.remove(assistant, turn);
    }

    private void count(TokenUsage usage) {
        if (usage == null) {
            return;
        }
        if (usage.inputTokenCount() != null) {
            meters.counter("agentstate.chat.tokens", "direction", "in").increment(usage.inputTokenCount());
        }
        if (usage.outputTokenCount() != null) {
            meters.counter("agentstate.chat.tokens", "direction", "out").increment(usage.outputTokenCount());
        }
    }

    private ProblemException failure(Throwable failure) {
        if (failure instanceof ProblemException problem) {
            return problem;
        }
        boolean timeout = isTimeout(failure);
        meters.counter("agentstate.chat.failures", "kind", timeout ? "timeout" : "error").increment();
        LOG.warnf("Model call failed (%s): %s", timeout ? "timeout" : "error", LogSafe.failure(failure));
        return timeout
                ? new ProblemException(Problem.of(504, "model-timeout", "Model timed out",
                        "the model did not answer in time; the session is unchanged"))
                : new ProblemException(Problem.of(502, "model-error", "Model failed",
                        "the model call failed; the session is unchanged"));
    }

    /** A timeout anywhere in the cause chain: LangChain4j's own, or the HTTP client's. */
    static boolean isTimeout(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof dev.langchain4j.exception.TimeoutException || t instanceof TimeoutException
                    || t instanceof SocketTimeoutException || t instanceof HttpTimeoutException) {
                return true;
            }
        }
        return false;
    }
}
