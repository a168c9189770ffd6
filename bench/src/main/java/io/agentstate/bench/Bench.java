package io.agentstate.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import io.agentstate.platform.RedisKeys;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

/**
 * What every scenario shares: the options, the stack and the service under test, the results, the harness's own Vert.x
 * instance (the event loops of its HTTP and Redis clients), and helpers to reach PostgreSQL, Redis and Kafka the way an
 * operator would.
 */
final class Bench {

    /** The tenant the service assigns to events that name none (agent-state.tenant). */
    static final String TENANT = "default";
    /** Event loops of the harness's Vert.x instance: one per core of the 2-core machine the figures are taken on. */
    static final int EVENT_LOOPS = 2;

    final BenchOptions options;
    final LocalStack stack;
    final ServiceProcess service;
    final Results results;
    final ServiceMonitor monitor;
    final Credentials credentials;
    final Vertx vertx;
    /** The settings the service was started with, for a scenario that starts another replica beside it. */
    final List<String> serviceProperties;

    Bench(BenchOptions options, LocalStack stack, ServiceProcess service, Results results, ServiceMonitor monitor,
            Credentials credentials, Vertx vertx, List<String> serviceProperties) {
        this.options = options;
        this.stack = stack;
        this.service = service;
        this.results = results;
        this.monitor = monitor;
        this.credentials = credentials;
        this.vertx = vertx;
        this.serviceProperties = List.copyOf(serviceProperties);
    }

    /** A client of the service with one keep-alive connection, sending the harness's API key (when required). */
    ServiceClient http() {
        return http(1);
    }

    /** A client of the service with a pool of this many keep-alive connections over the harness's event loops. */
    ServiceClient http(int connections) {
        return new ServiceClient(vertx, baseUri(), credentials.apiKey(), connections, EVENT_LOOPS);
    }

    /** A request to the service with the harness's API key (when credentials are required). */
    HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(java.net.URI.create(baseUri() + path));
        if (credentials.apiKey() != null) {
            request.header(Credentials.API_KEY_HEADER, credentials.apiKey());
        }
        return request;
    }

    /** A record of one session as the scenarios' producers write it: ingress topic, or the log (sealed if asked). */
    ProducerRecord<String, byte[]> logRecord(String session, byte[] value) {
        return credentials.record(session, value);
    }

    BenchOptions.Sizes sizes() {
        return options.sizes();
    }

    String baseUri() {
        return service.baseUri();
    }

    static void log(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[bench %s] %s%n", LocalTime.now().truncatedTo(ChronoUnit.SECONDS),
                String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    /** A short prefix for the sessions of one run, unique across runs of the harness. */
    static String prefix(String name) {
        return name + Integer.toString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF), 16);
    }

    Connection jdbc() throws SQLException {
        return DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(), stack.postgresPassword());
    }

    RedisClient redis() throws IOException {
        return RedisClient.connect(vertx, stack.redisUrl());
    }

    /**
     * Waits for a Vert.x future from a thread that may block (never an event loop). A failure or a timeout is an
     * {@link IOException}; an interrupt (the scenario's deadline) is kept and ends the wait at once.
     */
    /**
     * Open-loop pacing: sleeps until {@code due} (a {@link System#nanoTime()}) and returns 0, or returns how far behind
     * schedule the caller already is.
     */
    static long awaitDue(long due) {
        long now = System.nanoTime();
        if (due > now) {
            java.util.concurrent.locks.LockSupport.parkNanos(due - now);
            return 0;
        }
        return now - due;
    }

    static <T> T sync(Future<T> future, Duration timeout) throws IOException {
        try {
            return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException(String.valueOf(cause.getMessage()), cause);
        } catch (TimeoutException e) {
            throw new IOException("no answer within " + timeout.toMillis() + " ms", e);
        }
    }

    KafkaProducer<String, byte[]> producer(int lingerMs, int batchBytes) {
        return Records.producer(stack.kafkaBootstrapServers(), lingerMs, batchBytes);
    }

    Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers()));
    }

    /** The sum of the end offsets of a topic's partitions (records ever written to it). */
    long endOffsets(String topic) {
        try (Admin admin = admin()) {
            int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> request = new java.util.HashMap<>();
            for (int p = 0; p < partitions; p++) {
                request.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            return admin.listOffsets(request).all().get().values().stream().mapToLong(info -> info.offset()).sum();
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the end offsets of " + topic, e);
        }
    }

    long queryLong(String sql) {
        try (Connection db = jdbc();
                Statement statement = db.createStatement();
                ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** The sum of the versions of the sessions whose id starts with the prefix: the events they hold. */
    long versionsCommitted(Connection db, String prefix) throws SQLException {
        try (Statement statement = db.createStatement();
                ResultSet rows = statement.executeQuery("SELECT coalesce(sum(version), 0) FROM session_heads "
                        + "WHERE tenant = '" + TENANT + "' AND session_id LIKE '" + prefix + "-%'")) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /** How many of these sessions have a Redis view at least at the expected version. */
    int viewsAt(RedisClient redis, List<String> sessions, long version) throws IOException {
        List<Request> reads = new ArrayList<>(sessions.size());
        for (String session : sessions) {
            reads.add(RedisClient.command(Command.HGET, RedisKeys.view(TENANT, session)[0], "version"));
        }
        int ok = 0;
        for (Response reply : redis.pipeline(reads)) {
            if (reply != null && Long.parseLong(reply.toString()) >= version) {
                ok++;
            }
        }
        return ok;
    }

    /** The stored size, in bytes, of the ledger's tables (every hash partition, with indexes and TOAST). */
    long ledgerBytes() {
        return queryLong("SELECT sum(pg_total_relation_size(p.relid)) FROM unnest(array['events', 'decisions', "
                + "'session_heads', 'rejections', 'snapshots', 'tool_calls', 'session_scopes']) AS t(name), "
                + "LATERAL pg_partition_tree(t.name::regclass) p WHERE p.isleaf");
    }

    long eventRows() {
        return queryLong("SELECT count(*) FROM events");
    }

    /** Every sample of the service's {@code /q/metrics}, by name with labels. */
    Map<String, Double> serviceMetrics() {
        Map<String, Double> metrics = new java.util.HashMap<>();
        try (ServiceClient http = http()) {
            String text = http.get("/q/metrics").text();
            for (String line : text.split("\n")) {
                int space = line.lastIndexOf(' ');
                if (line.startsWith("#") || space < 0) {
                    continue;
                }
                try {
                    metrics.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
                } catch (NumberFormatException e) {
                    // not a sample line
                }
            }
        } catch (IOException e) {
            log("metrics not readable: %s", e.getMessage());
        }
        return metrics;
    }

    /** The growth of the metrics whose name starts with a prefix between two scrapes. */
    static Map<String, Double> growth(Map<String, Double> before, Map<String, Double> after, String prefix) {
        Map<String, Double> grown = new java.util.TreeMap<>();
        after.forEach((name, value) -> {
            if (name.startsWith(prefix)) {
                grown.put(name, CpuProbe.round(value - before.getOrDefault(name, 0.0)));
            }
        });
        return grown;
    }

    /** Waits until a condition holds, polling; false on timeout. */
    static boolean await(long timeoutMillis, long pollMillis, Supplier<Boolean> condition) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (condition.get()) {
                return true;
            }
            sleep(pollMillis);
        }
        return condition.get();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static List<String> sessions(String prefix, int count) {
        List<String> sessions = new ArrayList<>(count);
        for (int s = 0; s < count; s++) {
            sessions.add(Records.session(prefix, s));
        }
        return sessions;
    }

    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
