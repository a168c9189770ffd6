package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * No session id, user id or content reaches the service's log at INFO and above, even when the service has reason to
 * talk about them: dead letters that quote ids, refused requests, a forgotten user, an unknown session.
 */
class LogPrivacyIT {

    @Test
    void shouldLogNoIdOrContentOfASessionWhateverHappensToIt() throws Exception {
        String canary = "CANARY" + UUID.randomUUID().toString().replace("-", "");
        String session = "s-" + canary;
        String user = "u-" + canary;
        Path log = Files.createDirectories(Path.of("target", "system-logs")).resolve("privacy-" + canary + ".log");
        try (LocalStack stack = LocalStack.start(LocalStack.Settings.throwaway());
                ServiceProcess service = ServiceProcess.start(stack, Ports.free(), log)) {
            post(service, session, "start", "{\"source\":\"agent://p\",\"type\":\"agentstate.session.started\","
                    + "\"data\":{\"userId\":\"" + user + "\"}}", 201);
            post(service, session, "msg", message("hello " + canary), 201);
            post(service, session, "fact", "{\"source\":\"agent://p\",\"type\":\"agentstate.memory.recorded\","
                    + "\"data\":{\"userId\":\"" + user + "\",\"fact\":\"likes " + canary + "\",\"tags\":[]}}", 201);
            // refused at the edge, quoting what it refuses
            post(service, session, "bad", "{\"source\":\"agent://p\",\"type\":\"agentstate.message.appended\","
                    + "\"data\":{\"role\":\"" + canary + "\",\"content\":\"x\"}}", 400);
            assertThat(service.get("/sessions/other-" + canary).statusCode()).isEqualTo(404);

            // dead letters whose reasons quote ids and content
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrapServers(),
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
                for (String value : List.of("{not json " + canary,
                        envelope("key-differs-" + canary, "agentstate.message.appended", "{\"role\":\"user\","
                                + "\"content\":\"" + canary + "\"}", "other-" + session),
                        envelope("role-" + canary, "agentstate.message.appended",
                                "{\"role\":\"" + canary + "\",\"content\":\"x\"}", session),
                        envelope("erase-" + canary, "agentstate.session.erased", "{}", session))) {
                    producer.send(new ProducerRecord<>("agent-state.events", session, value)).get();
                }
            }
            await("the four dead letters logged").atMost(Duration.ofMinutes(1))
                    .until(() -> count(log, "Dead-lettering record") >= 4);

            HttpResponse<String> forgotten = HttpClient.newHttpClient().send(HttpRequest
                    .newBuilder(URI.create(service.baseUri() + "/users/" + user)).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(forgotten.statusCode()).isEqualTo(200);
            assertThat(forgotten.body()).contains(session);
        }

        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(text).as("the service logged dead letters, so it had something to say").contains("Dead-lettering");
        assertThat(text.lines().filter(line -> line.contains(canary)).toList())
                .as("log lines holding a session id, a user id or content").isEmpty();
    }

    private static void post(ServiceProcess service, String session, String key, String json, int status)
            throws Exception {
        HttpResponse<String> response = service.post("/sessions/" + session + "/events", json, "Idempotency-Key",
                session + "-" + key);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    }

    private static String message(String content) {
        return "{\"source\":\"agent://p\",\"type\":\"agentstate.message.appended\",\"data\":{\"role\":\"user\","
                + "\"content\":\"" + content + "\"}}";
    }

    private static String envelope(String id, String type, String data, String subject) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"agent://p\",\"type\":\"" + type
                + "\",\"subject\":\"" + subject + "\",\"data\":" + data + "}";
    }

    private static long count(Path log, String text) throws Exception {
        return Files.readString(log, StandardCharsets.UTF_8).lines().filter(line -> line.contains(text)).count();
    }

}
