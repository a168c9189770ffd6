package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.History;
import io.agentstate.testsupport.LivenessWatch;
import io.agentstate.testsupport.LogWriter;
import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * One of two ledger replicas frozen with SIGSTOP for 60 s while agents keep producing (I7): the other replica takes its
 * partitions and goes on, and when the zombie wakes up it commits nothing (versions stay 1..n) and leaves no stale view
 * behind (every view's version equals the PostgreSQL head).
 */
class ZombieOwnerIT {

    private static final Logger LOG = Logger.getLogger(ZombieOwnerIT.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GROUP = "agent-state.ledger";
    private static final int SESSIONS = 24;
    private static final Duration FROZEN = Duration.ofSeconds(60);

    @Test
    void shouldFenceAPausedOwnerAndLetTheOtherReplicaProceed() throws Exception {
        Path logs = Files.createDirectories(Path.of("target", "system-logs"));
        String run = UUID.randomUUID().toString().substring(0, 8);
        List<String> sessions = IntStream.range(0, SESSIONS).mapToObj(i -> "zo-" + run + "-" + i).toList();
        History history = new History();
        try (LocalStack stack = LocalStack.start(LocalStack.Settings.throwaway());
                Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                        stack.kafkaBootstrapServers()))) {
            ServiceProcess zombie = ServiceProcess.start(stack, Ports.free(), logs.resolve("zombie-a-" + run + ".log"));
            ServiceProcess survivor = ServiceProcess.start(stack, Ports.free(), logs.resolve("zombie-b-" + run + ".log"));
            try (LogWriter writer = new LogWriter(stack.kafkaBootstrapServers(), survivor, history);
                    LivenessWatch survivorLiveness = LivenessWatch.of(survivor, "survivor")) {
                long stopped;
                long fencingMillis;
                LivenessWatch zombieLiveness;
                try (LogWriter.Traffic traffic = writer.traffic(sessions, false, 200)) {
                    awaitOwners(admin, 2);
                    awaitRounds(traffic, 2 * SESSIONS);

                    // frozen while records flow: most likely between fetching a batch and committing it
                    Map<String, Integer> writtenAtStop = writtenPerSession(history, sessions);
                    zombie.pause();
                    stopped = System.nanoTime();
                    assertThat(zombie.isStopped()).isTrue();

                    fencingMillis = awaitFirstWritesAfter(writtenAtStop, history, survivor, stopped);
                    Duration left = FROZEN.minusNanos(System.nanoTime() - stopped);
                    if (!left.isNegative()) {
                        await("zombie frozen").pollDelay(Duration.ZERO).pollInterval(Duration.ofSeconds(1))
                                .during(left).atMost(left.plusSeconds(30)).untilAsserted(() -> {
                                    assertThat(zombie.isStopped()).as("zombie still stopped").isTrue();
                                    assertThat(survivorLiveness.failures()).as("survivor liveness").isEmpty();
                                });
                    }
                    zombie.resume();
                    zombieLiveness = LivenessWatch.of(zombie, "zombie");
                    // the zombie rejoins and takes some partitions back while events still flow
                    awaitOwners(admin, 2);
                    awaitRounds(traffic, 2 * SESSIONS);
                }
                await("every acknowledged event applied").atMost(Duration.ofMinutes(3))
                        .pollInterval(Duration.ofMillis(500)).until(() -> history.allAcknowledgedApplied(survivor));

                for (ServiceProcess service : List.of(survivor, zombie)) {
                    await("ready").atMost(Duration.ofMinutes(1)).until(() -> service.health("ready") == 200);
                }
                Map<String, History.Recorded> recorded = history.check(survivor);
                Map<String, Long> heads = heads(stack, sessions);
                for (String session : sessions) {
                    assertThat(heads.get(session)).as("PostgreSQL head of %s", session)
                            .isEqualTo((long) recorded.get(session).version());
                }
                // a zombie's late Redis write would leave a view behind its head for good; give the owners time to heal
                await("views at the PostgreSQL head").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofSeconds(1))
                        .untilAsserted(() -> {
                            for (ServiceProcess service : List.of(survivor, zombie)) {
                                for (String session : sessions) {
                                    assertThat(viewVersion(service, session)).as("view of %s", session)
                                            .isEqualTo(heads.get(session));
                                }
                            }
                        });
                history.checkNoDeadLetters(stack.kafkaBootstrapServers());
                assertThat(survivorLiveness.failures()).as("survivor liveness throughout").isEmpty();
                assertThat(zombieLiveness.failures()).as("zombie liveness after SIGCONT").isEmpty();
                zombieLiveness.close();
                LOG.infof("FAULT replica SIGSTOPped %d s: fencing delay (stop -> the other replica applies new events on "
                        + "every session) %d ms; %d events applied over %d sessions", FROZEN.toSeconds(), fencingMillis,
                        recorded.values().stream().mapToInt(History.Recorded::version).sum(), SESSIONS);
            } finally {
                zombie.close();
                survivor.close();
            }
        }
    }

    /** Waits until, on every session, the first write produced after the stop is applied; returns stop to then. */
    private static long awaitFirstWritesAfter(Map<String, Integer> writtenAtStop, History history,
            ServiceProcess survivor, long stopped) {
        Map<String, String> firstAfter = new HashMap<>();
        await("a write after the stop on every session").atMost(Duration.ofMinutes(1))
                .pollInterval(Duration.ofMillis(100)).until(() -> writtenAtStop.entrySet().stream()
                        .allMatch(s -> history.writes(s.getKey()).size() > s.getValue()));
        writtenAtStop.forEach((session, count) -> {
            History.Write write = history.writes(session).get(count);
            assertThat(write.acknowledged()).as("Kafka acknowledged %s", write.eventId()).isTrue();
            firstAfter.put(session, write.eventId());
        });
        await("the survivor applies new events on every session").atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(250)).until(() -> {
                    for (Map.Entry<String, String> session : firstAfter.entrySet()) {
                        if (!History.applied(survivor, session.getKey(), session.getValue())) {
                            return false;
                        }
                    }
                    return true;
                });
        return (System.nanoTime() - stopped) / 1_000_000;
    }

    private static Map<String, Integer> writtenPerSession(History history, List<String> sessions) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String session : sessions) {
            counts.put(session, history.writes(session).size());
        }
        return counts;
    }

    private static void awaitRounds(LogWriter.Traffic traffic, int more) {
        long target = traffic.rounds() + more;
        await("traffic").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100))
                .until(() -> traffic.rounds() >= target);
    }

    // both replicas are members of the ledger's group and each owns at least one partition
    private static void awaitOwners(Admin admin, int owners) {
        await("ledger group with " + owners + " owners").atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
                    ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(GROUP)).all().get()
                            .get(GROUP);
                    return group.members().stream()
                            .filter(member -> !member.assignment().topicPartitions().isEmpty()).count() == owners;
                });
    }

    private static Map<String, Long> heads(LocalStack stack, List<String> sessions) throws Exception {
        Map<String, Long> heads = new HashMap<>();
        try (Connection db = DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(),
                stack.postgresPassword());
                PreparedStatement query = db
                        .prepareStatement("SELECT session_id, version FROM session_heads WHERE session_id = ANY (?)")) {
            query.setArray(1, db.createArrayOf("text", sessions.toArray()));
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    heads.put(rows.getString(1), rows.getLong(2));
                }
            }
        }
        return heads;
    }

    private static long viewVersion(ServiceProcess service, String session) throws Exception {
        HttpResponse<String> response = service.get("/sessions/" + session);
        assertThat(response.statusCode()).as("GET %s", session).isEqualTo(200);
        return JSON.readTree(response.body()).path("version").asLong();
    }

}
