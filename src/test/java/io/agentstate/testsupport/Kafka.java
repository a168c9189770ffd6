package io.agentstate.testsupport;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.agentstate.testsupport.localstack.LocalStackResource;

/** A plain Kafka producer and consumer against the local stack, as an agent outside the service would use them. */
public final class Kafka {

    public static final String EVENTS = "agent-state.events";
    public static final String DEAD_LETTERS = "agent-state.events.dlq";

    private static KafkaProducer<String, byte[]> producer;

    private Kafka() {
    }

    private static synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            producer = newProducer(Map.of(ProducerConfig.LINGER_MS_CONFIG, "1"));
        }
        return producer;
    }

    // acks=all to the local stack, with the settings a caller adds
    private static KafkaProducer<String, byte[]> newProducer(Map<String, String> settings) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalStackResource.shared().kafkaBootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.putAll(settings);
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    /** Publishes a record to the event log and waits for the broker's acknowledgement. */
    public static void send(String key, String value, Map<String, String> headers) {
        send(EVENTS, key, value, headers);
    }

    /** Publishes a record to a topic and waits for the broker's acknowledgement. */
    public static void send(String topic, String key, String value, Map<String, String> headers) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key,
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
        headers.forEach((name, v) -> record.headers().add(new RecordHeader(name, v.getBytes(StandardCharsets.UTF_8))));
        try {
            producer().send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException("publish failed", e);
        }
    }

    private static KafkaProducer<String, byte[]> burstProducer;

    // One request in flight per partition: a burst into a topic created a moment ago cannot have a later batch
    // appended before an earlier one that the broker refused while its partitions were still being set up.
    private static synchronized KafkaProducer<String, byte[]> burstProducer() {
        if (burstProducer == null) {
            burstProducer = newProducer(Map.of(ProducerConfig.LINGER_MS_CONFIG, "5",
                    ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1"));
        }
        return burstProducer;
    }

    /**
     * Publishes structured-mode CloudEvents (key, JSON) to a topic in this order without waiting between them, so they
     * reach the broker together (and a consumer in one poll), then waits for every acknowledgement.
     */
    public static void sendAllStructured(String topic, List<Map.Entry<String, String>> records) {
        List<java.util.concurrent.Future<?>> acks = new java.util.ArrayList<>();
        for (Map.Entry<String, String> entry : records) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, entry.getKey(),
                    entry.getValue().getBytes(StandardCharsets.UTF_8));
            record.headers().add(new RecordHeader("content-type",
                    "application/cloudevents+json".getBytes(StandardCharsets.UTF_8)));
            acks.add(burstProducer().send(record));
        }
        try {
            for (java.util.concurrent.Future<?> ack : acks) {
                ack.get();
            }
        } catch (Exception e) {
            throw new IllegalStateException("publish failed", e);
        }
    }

    /** Publishes a structured-mode CloudEvent to the event log. */
    public static void sendStructured(String key, String json) {
        send(key, json, Map.of("content-type", "application/cloudevents+json"));
    }

    /** Publishes a structured-mode CloudEvent to a topic (a tenant's ingress topic). */
    public static void sendStructured(String topic, String key, String json) {
        send(topic, key, json, Map.of("content-type", "application/cloudevents+json"));
    }

    /** Creates a topic with the event log's partition count, as an operator's manifest would; a no-op if it exists. */
    public static void createTopic(String topic) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                LocalStackResource.shared().kafkaBootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions(EVENTS)), Optional.empty()))).all()
                    .get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("topic " + topic + " not created", e);
            }
        } catch (Exception e) {
            throw new IllegalStateException("topic " + topic + " not created", e);
        }
    }

    /** The partition count of a topic, or 0 when it does not exist. */
    public static int partitions(String topic) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                LocalStackResource.shared().kafkaBootstrapServers()))) {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                    .partitions().size();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return 0;
            }
            throw new IllegalStateException("topic " + topic + " not described", e);
        } catch (Exception e) {
            throw new IllegalStateException("topic " + topic + " not described", e);
        }
    }

    /** Every record of a topic whose key is one of the given keys, read from the start. */
    public static List<ConsumerRecord<String, byte[]>> readAll(String topic, java.util.Set<String> keys,
            int expected, Duration timeout) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalStackResource.shared().kafkaBootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, byte[]>> found = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (found.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (keys.contains(record.key())) {
                        found.add(record);
                    }
                }
            }
        }
        return found;
    }
}
