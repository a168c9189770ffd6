package io.agentstate.platform;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

import org.jboss.logging.Logger;

import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.RedisConnection;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * One long-lived Redis pub/sub connection (channels or patterns) that subscribes again, with back-off, after any end of
 * the connection: a failure, and also a clean close (a Redis restart, {@code CLIENT KILL TYPE pubsub}), which ends the
 * socket without an error and which a plain {@code Multi} subscription never reports.
 */
public final class RedisSubscription {

    private static final Logger LOG = Logger.getLogger(RedisSubscription.class);
    private static final Duration FIRST_DELAY = Duration.ofMillis(50);
    private static final Duration MAX_DELAY = Duration.ofSeconds(5);

    private final String name;
    private final Redis redis;
    private final Vertx vertx;
    private final boolean patterns;
    private final List<String> targets;
    private final BiConsumer<String, String> onMessage;
    private final Runnable onSubscribed;

    // every connection attempt gets a generation; callbacks of an older one are ignored, so one loss resubscribes once
    private final AtomicLong generation = new AtomicLong();
    private volatile RedisConnection connection;
    private volatile boolean stopped;
    private volatile boolean subscribed;
    private volatile int failures;

    private RedisSubscription(String name, Redis redis, Vertx vertx, boolean patterns, List<String> targets,
            BiConsumer<String, String> onMessage, Runnable onSubscribed) {
        this.name = name;
        this.redis = redis;
        this.vertx = vertx;
        this.patterns = patterns;
        this.targets = List.copyOf(targets);
        this.onMessage = onMessage;
        this.onSubscribed = onSubscribed;
    }

    /**
     * Subscribes to channels by name. {@code onMessage} gets (channel, payload); {@code onSubscribed} runs each time Redis
     * confirms a (re)subscription, so the caller can catch up on what was published while it was away.
     */
    public static RedisSubscription channels(String name, Redis redis, Vertx vertx, List<String> channels,
            BiConsumer<String, String> onMessage, Runnable onSubscribed) {
        return new RedisSubscription(name, redis, vertx, false, channels, onMessage, onSubscribed);
    }

    /** Subscribes to channel patterns ({@code PSUBSCRIBE}); otherwise as {@link #channels}. */
    public static RedisSubscription patterns(String name, Redis redis, Vertx vertx, List<String> patterns,
            BiConsumer<String, String> onMessage, Runnable onSubscribed) {
        return new RedisSubscription(name, redis, vertx, true, patterns, onMessage, onSubscribed);
    }

    /** Opens the connection; returns at once, subscribing in the background. */
    public void start() {
        connect(generation.get());
    }

    /** Closes the connection for good. */
    public void stop() {
        stopped = true;
        generation.incrementAndGet();
        closeQuietly(connection);
    }

    /** Whether Redis has confirmed the current subscription. */
    public boolean subscribed() {
        return subscribed;
    }

    private void connect(long gen) {
        if (stopped || generation.get() != gen) {
            return;
        }
        redis.connect()
                .subscribe().with(conn -> onConnected(gen, conn), failure -> lost(gen, failure));
    }

    private void onConnected(long gen, RedisConnection conn) {
        if (stopped || generation.get() != gen) {
            closeQuietly(conn);
            return;
        }
        connection = conn;
        conn.handler(response -> onResponse(gen, response));
        conn.endHandler(() -> lost(gen, null));
        conn.exceptionHandler(failure -> lost(gen, failure));
        Request request = Request.cmd(patterns ? Command.PSUBSCRIBE : Command.SUBSCRIBE);
        targets.forEach(request::arg);
        conn.send(request)
                .subscribe().with(ignored -> {
                }, failure -> lost(gen, failure));
    }

    private void onResponse(long gen, Response response) {
        if (response == null || response.size() == 0 || generation.get() != gen) {
            return;
        }
        String kind = response.get(0).toString();
        switch (kind) {
            case "message" -> onMessage.accept(response.get(1).toString(), response.get(2).toString());
            case "pmessage" -> onMessage.accept(response.get(2).toString(), response.get(3).toString());
            case "subscribe", "psubscribe" -> confirmed();
            default -> {
                // unsubscribe confirmations and pongs need nothing
            }
        }
    }

    private void confirmed() {
        if (subscribed) {
            // one confirmation per channel or pattern; the first one is enough
            return;
        }
        subscribed = true;
        failures = 0;
        LOG.debugf("Redis subscription %s is active", name);
        onSubscribed.run();
    }

    private void lost(long gen, Throwable failure) {
        if (stopped || !generation.compareAndSet(gen, gen + 1)) {
            return;
        }
        subscribed = false;
        RedisConnection old = connection;
        connection = null;
        closeQuietly(old);
        long delay = Math.min(MAX_DELAY.toMillis(), FIRST_DELAY.toMillis() << Math.min(failures, 10));
        failures++;
        if (failure == null) {
            // a clean close is routine (Redis restart, CLIENT KILL, an idle-timeout proxy)
            LOG.infof("Redis subscription %s ended; subscribing again in %d ms", name, delay);
        } else {
            LOG.warnf("Redis subscription %s failed (%s); subscribing again in %d ms", name, LogSafe.failure(failure), delay);
        }
        vertx.setTimer(delay, id -> connect(gen + 1));
    }

    private static void closeQuietly(RedisConnection conn) {
        if (conn != null) {
            conn.close().subscribe().with(ignored -> {
            }, ignored -> {
            });
        }
    }
}
