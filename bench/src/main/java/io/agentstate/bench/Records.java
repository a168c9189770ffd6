package io.agentstate.bench;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The records every scenario and baseline uses: structured CloudEvents ({@code message.appended} with a filler content
 * sized so the whole record value has a fixed size), keyed by session, as an agent would produce them. The same
 * arguments always give the same bytes, so baselines read exactly the records the service ingested.
 */
final class Records {

    static final String EVENTS_TOPIC = "agent-state.events";
    static final String DEAD_LETTER_TOPIC = "agent-state.events.dlq";
    static final String CONTENT_TYPE = "application/cloudevents+json";
    static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    /** Words of the filler text; their pseudo-random order keeps it about as compressible as prose. */
    private static final String[] WORDS = String.join(" ",
            "agent plan search result tool call read write summary user assistant message state session version",
            "order review draft answer question context memory fact source report table query update check error",
            "retry budget token model prompt reply step task goal data file page note list item value field",
            "record event log commit batch stream topic key schema cache view store index shard replica node",
            "cluster latency through the of and to in for with on at by from into over after before while then",
            "when because").split(" ");

    private Records() {
    }

    static String session(String prefix, int index) {
        return prefix + "-s" + index;
    }

    /** The value of the n-th (1-based) event of a session, about {@code bytes} long in UTF-8. */
    static byte[] message(String sessionId, int n, int bytes) {
        String role = n % 2 == 1 ? "user" : "assistant";
        String head = "{\"specversion\":\"1.0\",\"id\":\"" + sessionId + "-e" + n
                + "\",\"source\":\"agent://bench\",\"type\":\"agentstate.message.appended\",\"subject\":\"" + sessionId
                + "\",\"time\":\"" + T0.plusSeconds(n) + "\",\"data\":{\"role\":\"" + role + "\",\"content\":\"";
        String tail = "\"}}";
        return (head + content(n, bytes - head.length() - tail.length()) + tail).getBytes(StandardCharsets.UTF_8);
    }

    /** A REST body for one {@code message.appended}; the id comes from the {@code Idempotency-Key} header. */
    static byte[] restMessage(int n, int bytes) {
        String role = n % 2 == 1 ? "user" : "assistant";
        String head = "{\"specversion\":\"1.0\",\"source\":\"agent://bench\",\"type\":\"agentstate.message.appended\","
                + "\"data\":{\"role\":\"" + role + "\",\"content\":\"";
        String tail = "\"}}";
        return (head + content(n, bytes - head.length() - tail.length()) + tail).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Deterministic ASCII text of a given length (no character that JSON escapes): words in xorshift order seeded by
     * {@code n}. The LangGraph peer's script generates the same text.
     */
    static String content(int n, int length) {
        StringBuilder text = new StringBuilder(Math.max(length, 1) + 16);
        text.append("step ").append(n).append(":");
        int x = n * 0x9E3779B1 + 1;
        if (x == 0) {
            x = 1;
        }
        while (text.length() < length) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            text.append(' ').append(WORDS[Integer.remainderUnsigned(x, WORDS.length)]);
        }
        text.setLength(Math.max(length, 1));
        return text.toString();
    }

    static ProducerRecord<String, byte[]> record(String topic, String sessionId, byte[] value) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, sessionId, value);
        record.headers().add("content-type", CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
        return record;
    }

    /** A producer as an agent would configure it: acks=all, idempotent, with the given batching. */
    static KafkaProducer<String, byte[]> producer(String bootstrap, int lingerMs, int batchBytes) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.LINGER_MS_CONFIG, Integer.toString(lingerMs));
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(batchBytes));
        props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(256L * 1024 * 1024));
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-producer");
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }
}
