package io.agentstate.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

/**
 * The harness's Redis access, for the hand-written baselines and for checking views: the Vert.x Redis client on the
 * harness's event loops, one connection, used synchronously. A pipeline is sent as Vert.x batches in order; a null
 * reply (absent key) stays null in the list.
 */
final class RedisClient implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    /** Commands per batch; the connection's waiting queue holds twice as many, so a batch is never refused. */
    private static final int BATCH = 4096;

    private final Redis client;
    private final RedisConnection connection;

    private RedisClient(Redis client, RedisConnection connection) {
        this.client = client;
        this.connection = connection;
    }

    /** Connects to {@code redis://host:port}. */
    static RedisClient connect(Vertx vertx, String url) throws IOException {
        Redis client = Redis.createClient(vertx, new RedisOptions().setConnectionString(url)
                .setMaxWaitingHandlers(2 * BATCH));
        try {
            return new RedisClient(client, Bench.sync(client.connect(), Duration.ofSeconds(10)));
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** A command with its arguments: {@code byte[]} as is, anything else as its text. */
    static Request command(Command command, Object... args) {
        Request request = Request.cmd(command);
        for (Object arg : args) {
            if (arg instanceof byte[] bytes) {
                request.arg(bytes);
            } else {
                request.arg(arg.toString());
            }
        }
        return request;
    }

    /** Sends one command and returns its reply (null for an absent key); an error reply fails. */
    Response call(Command command, Object... args) throws IOException {
        return Bench.sync(connection.send(command(command, args)), TIMEOUT);
    }

    /** Sends the commands pipelined, in order, and returns their replies in the same order. */
    List<Response> pipeline(List<Request> requests) throws IOException {
        List<Response> replies = new ArrayList<>(requests.size());
        for (int from = 0; from < requests.size(); from += BATCH) {
            List<Request> batch = requests.subList(from, Math.min(requests.size(), from + BATCH));
            replies.addAll(Bench.sync(connection.batch(new ArrayList<>(batch)), TIMEOUT));
        }
        return replies;
    }

    @Override
    public void close() {
        try {
            Bench.sync(connection.close(), Duration.ofSeconds(10));
        } catch (IOException e) {
            // closing anyway
        } finally {
            client.close();
        }
    }
}
