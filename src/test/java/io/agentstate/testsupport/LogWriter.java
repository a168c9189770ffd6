package io.agentstate.testsupport;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes message events into sessions the two ways agents do (a Kafka producer, {@code POST /sessions/{id}/events}),
 * recording each write and whether it was acknowledged in a {@link History}. Each event's content is its id.
 */
public final class LogWriter implements AutoCloseable {

    public static final String EVENTS_TOPIC = "agent-state.events";

    private final KafkaProducer<String, byte[]> producer;
    private final ServiceProcess service;
    private final History history;
    private final AtomicInteger sequence = new AtomicInteger();
    private final AtomicLong kafkaAcks = new AtomicLong();
    private final AtomicLong restAcks = new AtomicLong();
    private final AtomicLong restFailures = new AtomicLong();

    public LogWriter(String bootstrapServers, ServiceProcess service, History history) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "1");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(8 * 1024 * 1024));
        this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        this.service = service;
        this.history = history;
    }

    public History history() {
        return history;
    }

    public KafkaProducer<String, byte[]> producer() {
        return producer;
    }

    /** A structured CloudEvent appending one user message whose content is the event id. */
    public static String message(String session, String eventId) {
        return """
                {"specversion":"1.0","id":"%s","source":"agent://fault-tests","type":"agentstate.message.appended",
                 "subject":"%s","data":{"role":"user","content":"%s"}}""".formatted(eventId, session, eventId);
    }

    /** A structured-mode record of the event log, keyed by its session. */
    public static ProducerRecord<String, byte[]> record(String session, String json) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(EVENTS_TOPIC, session,
                json.getBytes(StandardCharsets.UTF_8));
        record.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
        return record;
    }

    /** A fresh event id for a session. */
    public String nextId(String session) {
        return session + "-w" + sequence.incrementAndGet();
    }

    /** Produces one event to Kafka and waits for the broker's acknowledgement; returns where it landed. */
    public RecordMetadata kafka(String session) throws InterruptedException {
        String id = nextId(session);
        try {
            RecordMetadata metadata = send(record(session, message(session, id)));
            history.record(session, id, true);
            kafkaAcks.incrementAndGet();
            return metadata;
        } catch (ExecutionException | TimeoutException e) {
            history.record(session, id, false);
            return null;
        }
    }

    /** Produces any record and waits for the acknowledgement; records nothing in the history. */
    public RecordMetadata send(ProducerRecord<String, byte[]> record)
            throws InterruptedException, ExecutionException, TimeoutException {
        return producer.send(record).get(60, TimeUnit.SECONDS);
    }

    /** Appends one event through REST; 201 (applied) and 202 (on the log, decision pending) acknowledge it. */
    public int rest(String session) throws InterruptedException {
        String id = nextId(session);
        int status;
        try {
            HttpResponse<String> response = service.post("/sessions/" + session + "/events", """
                    {"source":"agent://fault-tests","type":"agentstate.message.appended",
                     "data":{"role":"user","content":"%s"}}""".formatted(id), "Idempotency-Key", id);
            status = response.statusCode();
        } catch (IOException e) {
            status = -1;
        }
        boolean acknowledged = status == 201 || status == 202;
        history.record(session, id, acknowledged);
        (acknowledged ? restAcks : restFailures).incrementAndGet();
        return status;
    }

    public long kafkaAcks() {
        return kafkaAcks.get();
    }

    public long restAcks() {
        return restAcks.get();
    }

    public long restFailures() {
        return restFailures.get();
    }

    /**
     * Keeps writing into every session in the background, one round per session every {@code everyMillis}: a Kafka event,
     * then (if asked) a REST append. A session's writes stay sequential, so its production order is well defined.
     */
    public Traffic traffic(List<String> sessions, boolean withRest, long everyMillis) {
        return new Traffic(sessions, withRest, everyMillis);
    }

    /** Background writes started by {@link #traffic}; {@link #close()} stops them and waits for rounds in flight. */
    public final class Traffic implements AutoCloseable {

        private final ScheduledExecutorService writers;
        private final AtomicLong rounds = new AtomicLong();

        private Traffic(List<String> sessions, boolean withRest, long everyMillis) {
            writers = Executors.newScheduledThreadPool(Math.min(sessions.size(), 8));
            for (String session : sessions) {
                writers.scheduleWithFixedDelay(() -> {
                    try {
                        kafka(session);
                        if (withRest) {
                            rest(session);
                        }
                        rounds.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, 0, everyMillis, TimeUnit.MILLISECONDS);
            }
        }

        /** Rounds completed over all sessions. */
        public long rounds() {
            return rounds.get();
        }

        @Override
        public void close() throws InterruptedException {
            // no interrupt: a write in flight finishes and is recorded, so the history stays exact
            writers.shutdown();
            if (!writers.awaitTermination(2, TimeUnit.MINUTES)) {
                throw new IllegalStateException("writers did not stop");
            }
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
