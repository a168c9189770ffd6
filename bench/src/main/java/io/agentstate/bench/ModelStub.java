package io.agentstate.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A model that answers at once: an OpenAI-compatible {@code /v1/chat/completions} on loopback returning a fixed short
 * completion (or a stream of three chunks). It counts calls and the time spent inside its handler, so the chat scenario
 * can subtract the model's share from a turn's latency.
 */
final class ModelStub implements AutoCloseable {

    private static final byte[] COMPLETION = ("{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
            + "\"model\":\"bench-stub\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            + "\"Noted. The plan stays: search, read, summarise.\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":12,\"total_tokens\":62}}")
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] STREAM = ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            + "\"model\":\"bench-stub\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Noted.\"}}]}\n\n"
            + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench-stub\","
            + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
            .getBytes(StandardCharsets.UTF_8);

    private final HttpServer server;
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong nanos = new AtomicLong();

    private ModelStub(HttpServer server) {
        this.server = server;
    }

    static ModelStub start() throws IOException {
        // The JDK server writes a response's headers and body separately; without TCP_NODELAY the body waits for the
        // client's delayed ACK (40 ms on Linux), which a turn's overhead would wrongly include. Read once, when the
        // first server of this JVM is made.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        ModelStub stub = new ModelStub(server);
        server.createContext("/v1/chat/completions", stub::handle);
        server.setExecutor(Executors.newFixedThreadPool(4, task -> {
            Thread thread = new Thread(task, "bench-model-stub");
            thread.setDaemon(true);
            return thread;
        }));
        server.start();
        return stub;
    }

    /** The base URL to give {@code quarkus.langchain4j.openai.base-url}. */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    long calls() {
        return calls.get();
    }

    /** Total time spent answering, in nanoseconds. */
    long nanos() {
        return nanos.get();
    }

    private void handle(HttpExchange exchange) throws IOException {
        long begin = System.nanoTime();
        try (InputStream in = exchange.getRequestBody(); OutputStream out = exchange.getResponseBody()) {
            String request = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            boolean stream = request.replace(" ", "").contains("\"stream\":true");
            byte[] body = stream ? STREAM : COMPLETION;
            exchange.getResponseHeaders().add("Content-Type", stream ? "text/event-stream" : "application/json");
            exchange.sendResponseHeaders(200, body.length);
            out.write(body);
        } finally {
            calls.incrementAndGet();
            nanos.addAndGet(System.nanoTime() - begin);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
