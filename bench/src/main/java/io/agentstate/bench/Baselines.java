package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.KeyValueStore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;

/**
 * The baselines, on the same servers and the same records as the ingest scenario (its first measured run, produced
 * again, byte for byte, to a topic of their own with the same 6 partitions): a consumer that only parses, a minimal
 * hand-written loop (one multi-row INSERT and one Redis pipeline per poll batch, sent with the Vert.x Redis client), a
 * naive loop that rewrites each session's whole state per batch, and Kafka Streams aggregating per session. Each is
 * timed from its first record to its last.
 */
final class Baselines {

    static final String TOPIC = "bench.baseline";

    private final Bench bench;
    private final String prefix;
    private final int sessions;
    private final int perSession;
    private final long total;

    Baselines(Bench bench, String prefix) {
        this.bench = bench;
        this.prefix = prefix;
        this.sessions = bench.sizes().ingestSessions();
        this.perSession = bench.sizes().ingestEventsPerSession();
        this.total = (long) sessions * perSession;
    }

    // why the records could not be produced: every baseline then fails at once with it, instead of waiting for records
    private volatile Exception unavailable;

    /** Produces the ingest run's records to the baselines' topic. */
    void prepare() throws Exception {
        try {
            produce();
        } catch (Exception first) {
            // a partition that takes no write for the whole delivery timeout: once more on a topic made anew
            Bench.log("baselines: producing the records failed (%s); once more on a new topic", first);
            try (Admin admin = bench.admin()) {
                admin.deleteTopics(List.of(TOPIC)).all().get(60, java.util.concurrent.TimeUnit.SECONDS);
                Bench.await(30_000, 200, () -> {
                    try {
                        return !admin.listTopics().names().get().contains(TOPIC);
                    } catch (Exception e) {
                        return false;
                    }
                });
                produce();
            } catch (Exception e) {
                e.addSuppressed(first);
                unavailable = e;
                throw e;
            }
        }
    }

    private void requireRecords() {
        if (unavailable != null) {
            throw new IllegalStateException("no baseline records to read: " + unavailable.getMessage(), unavailable);
        }
    }

    private void produce() throws Exception {
        try (Admin admin = bench.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 6, (short) 1))).all().get();
            // produce only once every partition has a leader the broker knows of
            boolean ready = Bench.await(30_000, 100, () -> {
                try {
                    return admin.describeTopics(List.of(TOPIC)).allTopicNames().get().get(TOPIC).partitions().stream()
                            .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
                } catch (Exception e) {
                    return false;
                }
            });
            if (!ready) {
                throw new IllegalStateException("topic " + TOPIC + " has partitions without a leader");
            }
        }
        List<String> ids = Bench.sessions(prefix, sessions);
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaProducer<String, byte[]> producer = bench.producer(5, 262144)) {
            for (int n = 1; n <= perSession; n++) {
                for (String session : ids) {
                    producer.send(Records.record(TOPIC, session, Records.message(session, n, bench.sizes().eventBytes())),
                            (metadata, e) -> {
                                if (e != null) {
                                    failure.compareAndSet(null, e);
                                }
                            });
                }
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("producing the baseline records failed", failure.get());
        }
        Bench.log("baselines: %d records of ingest run %s on topic %s", total, prefix, TOPIC);
    }

    private Results.Scenario scenario(String id, String title, String what) {
        Results.Scenario scenario = bench.results.scenario(id, title);
        scenario.setup.put("records", total);
        scenario.setup.put("recordsOf", "ingest run " + prefix + " (same bytes, same keys, 6 partitions)");
        scenario.setup.put("what", what);
        return scenario;
    }

    private KafkaConsumer<String, byte[]> consumer() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bench.stack.kafkaBootstrapServers());
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new ByteArrayDeserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        for (int p = 0; p < 6; p++) {
            partitions.add(new TopicPartition(TOPIC, p));
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        return consumer;
    }

    /** A consumer loop over all the records; returns events per second from the first record to the last. */
    private double loop(BatchHandler handler) throws Exception {
        requireRecords();
        long seen = 0;
        long first = 0;
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (seen < total) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("only " + seen + " of " + total + " records read");
                    }
                    continue;
                }
                if (first == 0) {
                    first = System.nanoTime();
                }
                handler.handle(records);
                seen += records.count();
            }
        }
        return total / ((System.nanoTime() - first) / 1e9);
    }

    private interface BatchHandler {
        void handle(ConsumerRecords<String, byte[]> records) throws Exception;
    }

    /** (a) The raw limit of reading: a consumer that parses each record's JSON and nothing else. */
    void parseOnly() throws Exception {
        Results.Scenario scenario = scenario("baseline-parse", "Limit: Kafka consumer that only parses",
                "KafkaConsumer (max.poll.records=2000) + Jackson readTree of every record value");
        AtomicLong checksum = new AtomicLong();
        for (int r = 0; r < bench.sizes().runs(); r++) {
            double rate = loop(records -> {
                long sum = 0;
                for (ConsumerRecord<String, byte[]> record : records) {
                    JsonNode event = Results.JSON.readTree(record.value());
                    sum += event.path("data").path("content").asText().length() + event.path("id").asText().length();
                }
                checksum.addAndGet(sum);
            });
            scenario.add("parse-only consumer", "events/s", "events/s", rate);
            Bench.log("baseline parse-only: %.0f events/s", rate);
        }
        scenario.details.put("checksum", checksum.get());
    }

    /** (b) The raw limit of writing: per poll batch one multi-row INSERT (its own transaction) and one pipeline. */
    void rawLoop() throws Exception {
        Results.Scenario scenario = scenario("baseline-raw-loop",
                "Limit: hand-written loop, one INSERT and one Redis pipeline per batch",
                "per poll batch: parse, one multi-row INSERT into a plain table (session_id, event_id PK, payload) in "
                        + "one committed transaction (fsync on), then one Redis pipeline of RPUSH per record (Vert.x Redis "
                        + "client batches, one connection)");
        for (int r = 0; r < bench.sizes().runs(); r++) {
            try (Connection db = bench.jdbc(); RedisClient redis = bench.redis()) {
                try (Statement ddl = db.createStatement()) {
                    ddl.execute("DROP TABLE IF EXISTS bench_raw_events");
                    ddl.execute("CREATE TABLE bench_raw_events (session_id text NOT NULL, event_id text PRIMARY KEY, "
                            + "payload bytea NOT NULL)");
                }
                double rate = loop(records -> {
                    List<String[]> rows = new ArrayList<>(records.count());
                    List<byte[]> payloads = new ArrayList<>(records.count());
                    for (ConsumerRecord<String, byte[]> record : records) {
                        JsonNode event = Results.JSON.readTree(record.value());
                        rows.add(new String[] { event.path("subject").asText(), event.path("id").asText() });
                        payloads.add(record.value());
                    }
                    StringBuilder sql = new StringBuilder("INSERT INTO bench_raw_events VALUES ");
                    for (int i = 0; i < rows.size(); i++) {
                        sql.append(i == 0 ? "(?,?,?)" : ",(?,?,?)");
                    }
                    try (PreparedStatement insert = db.prepareStatement(sql.toString())) {
                        int p = 1;
                        for (int i = 0; i < rows.size(); i++) {
                            insert.setString(p++, rows.get(i)[0]);
                            insert.setString(p++, rows.get(i)[1]);
                            insert.setBytes(p++, payloads.get(i));
                        }
                        insert.executeUpdate();
                    }
                    List<Request> pushes = new ArrayList<>(rows.size());
                    for (int i = 0; i < rows.size(); i++) {
                        pushes.add(RedisClient.command(Command.RPUSH, "bench:raw:{" + rows.get(i)[0] + "}",
                                payloads.get(i)));
                    }
                    redis.pipeline(pushes);
                });
                scenario.add("raw loop", "events/s", "events/s", rate);
                Bench.log("baseline raw loop: %.0f events/s", rate);
                cleanRedis(redis, "bench:raw:");
                try (Statement ddl = db.createStatement()) {
                    ddl.execute("DROP TABLE bench_raw_events");
                }
            }
        }
    }

    /**
     * The naive loop the design warns about: per poll batch, read each touched session's whole state from PostgreSQL,
     * append the messages, and write the whole state back to PostgreSQL (one multi-row upsert) and Redis (SET).
     */
    void naiveLoop() throws Exception {
        Results.Scenario scenario = scenario("baseline-naive-loop",
                "Naive loop: rewrite each session's whole state per batch",
                "per poll batch: SELECT the touched sessions' JSON states, append the messages, one multi-row "
                        + "upsert of the whole states (one transaction, fsync on), one Redis pipeline of SET per session "
                        + "(Vert.x Redis client batches, one connection)");
        for (int r = 0; r < bench.sizes().runs(); r++) {
            try (Connection db = bench.jdbc(); RedisClient redis = bench.redis()) {
                try (Statement ddl = db.createStatement()) {
                    ddl.execute("DROP TABLE IF EXISTS bench_naive_state");
                    ddl.execute("CREATE TABLE bench_naive_state (session_id text PRIMARY KEY, version bigint NOT NULL, "
                            + "state bytea NOT NULL)");
                }
                double rate = loop(records -> naiveBatch(db, redis, records));
                scenario.add("naive whole-state loop", "events/s", "events/s", rate);
                scenario.details.put("stateBytesAtEnd",
                        bench.queryLong("SELECT coalesce(avg(length(state)), 0)::bigint FROM bench_naive_state"));
                Bench.log("baseline naive loop: %.0f events/s", rate);
                cleanRedis(redis, "bench:naive:");
                try (Statement ddl = db.createStatement()) {
                    ddl.execute("DROP TABLE bench_naive_state");
                }
            }
        }
    }

    private void naiveBatch(Connection db, RedisClient redis, ConsumerRecords<String, byte[]> records)
            throws Exception {
        Map<String, List<JsonNode>> bySession = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            JsonNode event = Results.JSON.readTree(record.value());
            bySession.computeIfAbsent(event.path("subject").asText(), k -> new ArrayList<>()).add(event);
        }
        Map<String, byte[]> stored = new HashMap<>();
        try (PreparedStatement select = db.prepareStatement("SELECT session_id, state FROM bench_naive_state "
                + "WHERE session_id = ANY(?)")) {
            select.setArray(1, db.createArrayOf("text", bySession.keySet().toArray()));
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    stored.put(rows.getString(1), rows.getBytes(2));
                }
            }
        }
        List<Object[]> rows = new ArrayList<>(bySession.size());
        for (Map.Entry<String, List<JsonNode>> entry : bySession.entrySet()) {
            byte[] previous = stored.get(entry.getKey());
            ObjectNode state = previous == null ? Results.JSON.createObjectNode().put("sessionId", entry.getKey())
                    .put("version", 0)
                    : (ObjectNode) Results.JSON.readTree(previous);
            ArrayNode messages = state.has("messages") ? (ArrayNode) state.get("messages") : state.putArray("messages");
            long version = state.path("version").asLong();
            for (JsonNode event : entry.getValue()) {
                version++;
                messages.addObject().put("version", version).put("id", event.path("id").asText())
                        .put("role", event.path("data").path("role").asText())
                        .put("content", event.path("data").path("content").asText());
            }
            state.put("version", version);
            rows.add(new Object[] { entry.getKey(), version, Results.JSON.writeValueAsBytes(state) });
        }
        StringBuilder sql = new StringBuilder("INSERT INTO bench_naive_state VALUES ");
        for (int i = 0; i < rows.size(); i++) {
            sql.append(i == 0 ? "(?,?,?)" : ",(?,?,?)");
        }
        sql.append(" ON CONFLICT (session_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state");
        try (PreparedStatement upsert = db.prepareStatement(sql.toString())) {
            int p = 1;
            for (Object[] row : rows) {
                upsert.setString(p++, (String) row[0]);
                upsert.setLong(p++, (Long) row[1]);
                upsert.setBytes(p++, (byte[]) row[2]);
            }
            upsert.executeUpdate();
        }
        List<Request> sets = new ArrayList<>(rows.size());
        for (Object[] row : rows) {
            sets.add(RedisClient.command(Command.SET, "bench:naive:{" + row[0] + "}", row[2]));
        }
        redis.pipeline(sets);
    }

    private void cleanRedis(RedisClient redis, String keyPrefix) throws IOException {
        List<Request> deletes = new ArrayList<>();
        for (String session : Bench.sessions(prefix, sessions)) {
            deletes.add(RedisClient.command(Command.DEL, keyPrefix + "{" + session + "}"));
        }
        redis.pipeline(deletes);
    }

    /**
     * (c) Kafka Streams: per session into a RocksDB store with a changelog topic, either count and last message, or
     * every message kept (the peer, and what a session view holds).
     */
    void streams(String guarantee, boolean keepMessages) throws Exception {
        Results.Scenario scenario = bench.results.find("baseline-streams");
        if (scenario == null) {
            scenario = scenario("baseline-streams", "Kafka Streams aggregating per session",
                    "KStream -> parse -> groupByKey -> aggregate into a RocksDB store with changelog: either count + "
                            + "last message, or count + every message (length-prefixed, the value grows with the "
                            + "session); 2 stream threads, max.poll.records=2000, default commit intervals and 10 MB "
                            + "cache; timed from the first record aggregated to the last");
        }
        for (int r = 0; r < bench.sizes().streamsRuns(); r++) {
            double rate = streamsOnce(guarantee, keepMessages);
            String variant = "Kafka Streams " + guarantee + (keepMessages ? ", messages kept" : ", count + last");
            scenario.add(variant, "events/s", "events/s", rate);
            Bench.log("baseline %s: %.0f events/s", variant, rate);
        }
    }

    private double streamsOnce(String guarantee, boolean keepMessages) throws Exception {
        Path stateDir = Files.createTempDirectory(bench.options.workDir(), "streams-");
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench-streams-" + UUID.randomUUID().toString().substring(0, 8));
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bench.stack.kafkaBootstrapServers());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 2000);
        AtomicLong processed = new AtomicLong();
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(TOPIC, Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .mapValues(Baselines::content)
                .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .aggregate(() -> new byte[8], (session, content, aggregate) -> {
                    long count = processed.incrementAndGet();
                    if (count == 1) {
                        first.set(System.nanoTime());
                    } else if (count == total) {
                        last.set(System.nanoTime());
                    }
                    return keepMessages ? append(aggregate, content) : aggregate(aggregate, content);
                }, Materialized.<String, byte[], KeyValueStore<Bytes, byte[]>> as("sessions")
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.ByteArray()));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        streams.setUncaughtExceptionHandler(e -> {
            failure.compareAndSet(null, e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        try {
            streams.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (last.get() == 0 && failure.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            if (failure.get() != null) {
                throw new IllegalStateException("Kafka Streams failed: " + failure.get(), failure.get());
            }
            if (last.get() == 0) {
                // report the rate over what it did aggregate, and say so
                Bench.log("Kafka Streams %s aggregated only %d of %d records in 5 minutes", guarantee, processed.get(),
                        total);
                return processed.get() / ((System.nanoTime() - first.get()) / 1e9);
            }
            return total / ((last.get() - first.get()) / 1e9);
        } finally {
            streams.close(Duration.ofSeconds(60));
            streams.cleanUp();
        }
    }

    private static String content(byte[] value) {
        try {
            return Results.JSON.readTree(value).path("data").path("content").asText();
        } catch (IOException e) {
            return "";
        }
    }

    /** Count (8 bytes) then every message so far, each as a 4-byte length and UTF-8 bytes. */
    private static byte[] append(byte[] previous, String content) {
        byte[] text = content.getBytes(StandardCharsets.UTF_8);
        byte[] next = java.util.Arrays.copyOf(previous, previous.length + 4 + text.length);
        long count = 0;
        for (int i = 0; i < 8; i++) {
            count = (count << 8) | (previous[i] & 0xFF);
        }
        count++;
        for (int i = 7; i >= 0; i--) {
            next[i] = (byte) count;
            count >>>= 8;
        }
        int at = previous.length;
        next[at] = (byte) (text.length >>> 24);
        next[at + 1] = (byte) (text.length >>> 16);
        next[at + 2] = (byte) (text.length >>> 8);
        next[at + 3] = (byte) text.length;
        System.arraycopy(text, 0, next, at + 4, text.length);
        return next;
    }

    private static byte[] aggregate(byte[] previous, String content) {
        long count = 0;
        for (int i = 0; i < 8; i++) {
            count = (count << 8) | (previous[i] & 0xFF);
        }
        count++;
        byte[] text = content.getBytes(StandardCharsets.UTF_8);
        byte[] next = new byte[8 + text.length];
        for (int i = 7; i >= 0; i--) {
            next[i] = (byte) count;
            count >>>= 8;
        }
        System.arraycopy(text, 0, next, 8, text.length);
        return next;
    }
}
