package io.agentstate.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * The harness's HTTP client to the service: the Vert.x HttpClient (HTTP/1.1, keep-alive, no pipelining) on the
 * harness's own event loops, with a pool sized to the caller's concurrency and {@code X-API-Key} on every request when
 * credentials are required. Futures for the load generators, blocking calls for set-up and sequential loops (never
 * from an event loop).
 */
final class ServiceClient implements AutoCloseable {

    /** How long one request may take before it fails (the client resets it). */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** A response: status, the ETag without quotes (or null), and the body. */
    record Response(int status, String etag, Buffer body) {

        /** The session version an ETag such as {@code "12"} carries, or -1. */
        long version() {
            return etag == null ? -1 : Long.parseLong(etag);
        }

        int length() {
            return body == null ? 0 : body.length();
        }

        byte[] bytes() {
            return body == null ? new byte[0] : body.getBytes();
        }

        String text() {
            return body == null ? "" : body.toString(StandardCharsets.UTF_8);
        }
    }

    private final HttpClient client;
    private final Vertx vertx;
    private final String host;
    private final int port;
    private final String apiKey;

    /**
     * A client of the service at {@code baseUri}.
     *
     * @param connections the most keep-alive connections it opens (requests beyond wait for one)
     * @param eventLoops how many of the harness's event loops its connections spread over
     */
    ServiceClient(Vertx vertx, String baseUri, String apiKey, int connections, int eventLoops) {
        URI uri = URI.create(baseUri);
        this.vertx = vertx;
        this.host = uri.getHost();
        this.port = uri.getPort();
        this.apiKey = apiKey;
        HttpClientOptions options = new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                .setKeepAlive(true)
                .setPipelining(false)
                .setTcpNoDelay(true)
                .setConnectTimeout(5000)
                .setDefaultHost(host)
                .setDefaultPort(port);
        PoolOptions pool = new PoolOptions()
                .setHttp1MaxSize(Math.max(1, connections))
                .setEventLoopSize(Math.max(1, eventLoops));
        this.client = vertx.createHttpClient(options, pool);
    }

    Future<Response> getAsync(String path) {
        return send(HttpMethod.GET, path, Map.of(), null);
    }

    Future<Response> postAsync(String path, Map<String, String> headers, byte[] body) {
        return send(HttpMethod.POST, path, headers, body);
    }

    /** A GET, blocking; a failed one is tried once more (the server may have closed an idle keep-alive connection). */
    Response get(String path) throws IOException {
        try {
            return Bench.sync(getAsync(path), TIMEOUT.plusSeconds(5));
        } catch (IOException stale) {
            return Bench.sync(getAsync(path), TIMEOUT.plusSeconds(5));
        }
    }

    /** A POST, blocking; never repeated here (the caller decides, with its Idempotency-Key). */
    Response post(String path, Map<String, String> headers, byte[] body) throws IOException {
        return Bench.sync(postAsync(path, headers, body), TIMEOUT.plusSeconds(5));
    }

    private Future<Response> send(HttpMethod method, String path, Map<String, String> headers, byte[] body) {
        RequestOptions request = new RequestOptions()
                .setMethod(method)
                .setHost(host)
                .setPort(port)
                .setURI(path)
                .setIdleTimeout(TIMEOUT.toMillis());
        if (apiKey != null) {
            request.putHeader(Credentials.API_KEY_HEADER, apiKey);
        }
        headers.forEach(request::putHeader);
        Future<Response> answer = client.request(request)
                .compose(sent -> body == null ? sent.send() : sent.send(Buffer.buffer(body)))
                .compose(response -> response.body()
                        .map(content -> new Response(response.statusCode(), etag(response.getHeader("ETag")),
                                content)));
        // the idle timeout starts only once a connection is had: the whole exchange, waiting for one included, is
        // bounded here, so no request stays unanswered
        io.vertx.core.Promise<Response> bounded = io.vertx.core.Promise.promise();
        long timer = vertx.setTimer(TIMEOUT.toMillis(), id -> bounded.tryFail(new java.util.concurrent.TimeoutException(
                method + " " + path + " unanswered after " + TIMEOUT.toSeconds() + " s")));
        answer.onComplete(result -> {
            vertx.cancelTimer(timer);
            if (result.succeeded()) {
                bounded.tryComplete(result.result());
            } else {
                bounded.tryFail(result.cause());
            }
        });
        return bounded.future();
    }

    private static String etag(String header) {
        return header == null ? null : header.replace("W/", "").replace("\"", "");
    }

    @Override
    public void close() {
        try {
            Bench.sync(client.close(), Duration.ofSeconds(10));
        } catch (IOException e) {
            // closing anyway: the connections go with the harness's Vert.x instance at the latest
        }
    }
}
