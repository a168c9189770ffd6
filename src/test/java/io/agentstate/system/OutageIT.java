package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.FaultProxy;
import io.agentstate.testsupport.History;
import io.agentstate.testsupport.LivenessWatch;
import io.agentstate.testsupport.LogWriter;
import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * PostgreSQL and Redis unreachable for 90 s each while agents keep writing through Kafka and REST (I5, I6, I8): the
 * ledger waits the outage out with liveness UP, dead-letters nothing, and once the server is back applies every
 * acknowledged event exactly once, in order. One stack and one service for the class; the service reaches PostgreSQL
 * (reactive and JDBC) and Redis only through fault proxies.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutageIT {

    private static final Logger LOG = Logger.getLogger(OutageIT.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration OUTAGE = Duration.ofSeconds(90);
    private static final int SESSIONS = 6;

    private LocalStack stack;
    private FaultProxy postgres;
    private FaultProxy redis;
    private ServiceProcess service;

    @BeforeAll
    void startStackBehindProxies() throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "system-logs"));
        stack = LocalStack.start(LocalStack.Settings.throwaway());
        postgres = FaultProxy.start("postgres", stack.postgresJdbcUrl());
        redis = FaultProxy.start("redis", stack.redisUrl());
        Map<String, String> endpoints = new LinkedHashMap<>();
        endpoints.put("quarkus.datasource.reactive.url", postgres.rewrite(stack.postgresReactiveUrl()));
        endpoints.put("quarkus.datasource.jdbc.url", postgres.rewrite(stack.postgresJdbcUrl()));
        endpoints.put("quarkus.redis.hosts", redis.rewrite(stack.redisUrl()));
        service = ServiceProcess.start(stack, endpoints, Ports.free(),
                logs.resolve("outage-" + UUID.randomUUID().toString().substring(0, 8) + ".log"));
    }

    @AfterAll
    void stop() throws Exception {
        if (service != null) {
            service.close();
        }
        if (postgres != null) {
            postgres.close();
        }
        if (redis != null) {
            redis.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void shouldApplyEveryAcknowledgedEventOnceWhenPostgresIsUnreachableFor90Seconds() throws Exception {
        List<String> sessions = sessions("pg");
        History history = new History();
        try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), service, history);
                LivenessWatch liveness = LivenessWatch.of(service, "postgres-outage")) {
            long recoveryMillis = outage(postgres, "apply", writer, sessions, liveness);

            Map<String, History.Recorded> recorded = checkRecovered(history, liveness);
            LOG.infof("FAULT postgres unreachable %d s: recovery (restore -> every acknowledged event applied) %d ms; "
                    + "%d events recorded, %d Kafka acks, %d REST acks, %d REST writes refused or unanswered",
                    OUTAGE.toSeconds(), recoveryMillis, recorded.values().stream().mapToInt(History.Recorded::version)
                            .sum(),
                    writer.kafkaAcks(), writer.restAcks(), writer.restFailures());
        }
    }

    @Test
    void shouldServeViewsEqualToTheArchiveWhenRedisWasUnreachableFor90Seconds() throws Exception {
        List<String> sessions = sessions("rd");
        History history = new History();
        try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), service, history);
                LivenessWatch liveness = LivenessWatch.of(service, "redis-outage")) {
            long recoveryMillis = outage(redis, "redis", writer, sessions, liveness);

            Map<String, History.Recorded> recorded = checkRecovered(history, liveness);
            Map<String, JsonNode> served = new LinkedHashMap<>();
            for (Map.Entry<String, History.Recorded> session : recorded.entrySet()) {
                JsonNode view = view(session.getKey());
                List<String> ids = session.getValue().eventIds();
                assertThat(view.path("messageCount").asLong()).as("message count of %s", session.getKey())
                        .isEqualTo(ids.size());
                List<String> shown = new ArrayList<>();
                view.path("messages").forEach(message -> shown.add(message.path("eventId").asText()));
                // the view holds the newest messages; whatever it holds must be the archive's tail, in order
                assertThat(shown).as("messages of %s", session.getKey()).isNotEmpty()
                        .isEqualTo(ids.subList(ids.size() - shown.size(), ids.size()));
                served.put(session.getKey(), view);
            }
            // I6: what Redis served after the outage equals what PostgreSQL rebuilds from scratch
            flushAll();
            for (Map.Entry<String, JsonNode> session : served.entrySet()) {
                assertThat(view(session.getKey())).as("view of %s rebuilt after FLUSHALL", session.getKey())
                        .isEqualTo(session.getValue());
            }
            LOG.infof("FAULT redis unreachable %d s: recovery (restore -> every acknowledged event applied) %d ms; "
                    + "%d Kafka acks, %d REST acks, %d REST writes refused or unanswered", OUTAGE.toSeconds(),
                    recoveryMillis, writer.kafkaAcks(), writer.restAcks(), writer.restFailures());
        }
    }

    /**
     * Writes a first round and waits for it, cuts the proxy for {@link #OUTAGE} while REST and Kafka writes go on, then
     * restores it and returns how long the service took from there to apply every acknowledged write. The ledger's
     * retry meters must say what an operator's alert reads: a batch failing at {@code stage} while the server is away,
     * none once it is back.
     */
    private long outage(FaultProxy proxy, String stage, LogWriter writer, List<String> sessions,
            LivenessWatch liveness) throws Exception {
        for (String session : sessions) {
            assertThat(writer.kafka(session)).isNotNull();
            assertThat(writer.rest(session)).isEqualTo(201);
        }
        awaitApplied(writer.history(), Duration.ofSeconds(60));

        long kafkaAcksBefore = writer.kafkaAcks();
        double retriesBefore = metric("agentstate_ledger_batch_retries_total", "stage=\"" + stage + "\"", true);
        try (LogWriter.Traffic traffic = writer.traffic(sessions, true, 1_000)) {
            proxy.cut();
            await(proxy + " outage").pollDelay(Duration.ZERO).pollInterval(Duration.ofSeconds(1))
                    .during(OUTAGE).atMost(OUTAGE.plusSeconds(30))
                    .untilAsserted(() -> assertThat(liveness.failures()).as("liveness during the outage").isEmpty());
        }
        // the log kept growing while the server was away: this is what the ledger has to catch up on
        assertThat(writer.kafkaAcks() - kafkaAcksBefore).as("Kafka events acknowledged during the outage")
                .isGreaterThanOrEqualTo(SESSIONS * 10L);
        // the batch in hand has been failing since shortly after the cut, and is still being retried
        assertThat(metric("agentstate_ledger_batch_retrying_seconds", "", false)).as("seconds the batch has been retried")
                .isGreaterThan(OUTAGE.toSeconds() / 2.0);
        double retries = metric("agentstate_ledger_batch_retries_total", "stage=\"" + stage + "\"", false);
        assertThat(retries).as("batch retries at stage %s during the outage", stage).isGreaterThan(retriesBefore);
        proxy.restore();
        long restored = System.nanoTime();
        awaitApplied(writer.history(), Duration.ofMinutes(3));
        long recovery = (System.nanoTime() - restored) / 1_000_000;
        await("no batch retrying").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250))
                .until(() -> metric("agentstate_ledger_batch_retrying_seconds", "", false) == 0);
        return recovery;
    }

    /**
     * The sum of a meter's samples in the service's Prometheus text whose labels contain {@code labels}; 0 for a meter
     * not there yet when {@code absentIsZero} (a counter appears with its first increment).
     */
    private double metric(String name, String labels, boolean absentIsZero) throws Exception {
        HttpResponse<String> response = service.get("/q/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        double sum = 0;
        boolean found = false;
        for (String line : response.body().split("\n")) {
            if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.contains(labels)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        assertThat(found || absentIsZero).as("%s{%s} in /q/metrics", name, labels).isTrue();
        return sum;
    }

    private Map<String, History.Recorded> checkRecovered(History history, LivenessWatch liveness) throws Exception {
        await("ready again").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500))
                .until(() -> service.health("ready") == 200);
        Map<String, History.Recorded> recorded = history.check(service);
        history.checkViews(service, recorded);
        history.checkNoDeadLetters(stack.kafkaBootstrapServers());
        assertThat(liveness.failures()).as("liveness from before the outage until now").isEmpty();
        assertThat(liveness.polls()).isPositive();
        return recorded;
    }

    private void awaitApplied(History history, Duration atMost) {
        await("every acknowledged event applied").atMost(atMost).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(250)).until(() -> history.allAcknowledgedApplied(service));
    }

    private JsonNode view(String session) throws Exception {
        HttpResponse<String> response = service.get("/sessions/" + session);
        assertThat(response.statusCode()).as("GET %s: %s", session, response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    // straight to the real Redis, past the proxy: the service must rebuild every view from PostgreSQL
    private void flushAll() throws IOException {
        FaultProxy.HostPort address = FaultProxy.HostPort.of(stack.redisUrl());
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address.host(), address.port()), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("FLUSHALL\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            assertThat(new String(in.readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("+OK\r\n");
        }
    }

    private static List<String> sessions(String prefix) {
        String run = UUID.randomUUID().toString().substring(0, 8);
        return IntStream.range(0, SESSIONS).mapToObj(i -> prefix + "-" + run + "-" + i).toList();
    }

}
