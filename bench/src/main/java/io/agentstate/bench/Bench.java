package io.agentstate.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import java.net.http.HttpRequest;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import io.agentstate.platform.RedisKeys;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * What every scenario shares: the options, the stack and the service under test, the results, and helpers to reach
 * PostgreSQL, Redis and Kafka the way an operator would.
 */
final class Bench {

    /** The tenant the service assigns to events that name none (agent-state.tenant). */
    static final String TENANT = "default";

    final BenchOptions options;
    final LocalStack stack;
    final ServiceProcess service;
    final Results results;
    final ServiceMonitor monitor;
    final Credentials credentials;

    Bench(BenchOptions options, LocalStack stack, ServiceProcess service, Results results, ServiceMonitor monitor,
            Credentials credentials) {
        this.options = options;
        this.stack = stack;
        this.service = service;
        this.results = results;
        this.monitor = monitor;
        this.credentials = credentials;
    }

    /** A keep-alive connection to the service that sends the harness's API key (when credentials are required). */
    HttpConnection http() {
        return HttpConnection.to(baseUri(), credentials.apiKey());
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

    Resp redis() throws IOException {
        return Resp.connect(stack.redisUrl());
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
    int viewsAt(Resp redis, List<String> sessions, long version) throws IOException {
        for (String session : sessions) {
            redis.command("HGET", RedisKeys.view(TENANT, session)[0], "version");
        }
        int ok = 0;
        for (Object reply : redis.sync()) {
            if (reply instanceof byte[] bytes && Long.parseLong(new String(bytes)) >= version) {
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
        try (HttpConnection http = http()) {
            String text = new String(http.get("/q/metrics").body(), java.nio.charset.StandardCharsets.UTF_8);
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
