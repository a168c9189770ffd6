package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;
import io.agentstate.testsupport.localstack.ServerCertificate;

/**
 * Transport security end to end: the packaged service reaches PostgreSQL, Kafka and Redis over verified TLS only and
 * answers HTTPS, configured with the keys of docs/operations.md (Transport security), and each server confirms from its
 * own side that the service's connections are encrypted. A service that does not trust PostgreSQL's certificate must
 * refuse to start rather than fall back to plaintext or to trusting anything.
 */
class TransportTlsIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static LocalStack stack;
    private static Path logs;

    @BeforeAll
    static void startStack() throws IOException {
        logs = Files.createDirectories(Path.of("target", "system-logs"));
        stack = LocalStack.start(LocalStack.Settings.throwaway());
        // external servers (named in the environment) are not ours to reconfigure for TLS
        assumeThat(stack.postgresTlsUser() != null && stack.kafkaSslBootstrapServers() != null
                && stack.redisTlsUrl() != null).as("every server of the stack is local").isTrue();
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void shouldWriteAndReadAnEventWithEveryConnectionEncrypted() throws Exception {
        int httpsPort = Ports.free();
        Path cert = stack.certificate().certificate();
        Path key = stack.certificate().privateKey();
        try (ServiceProcess service = ServiceProcess.start(stack, tlsConfig(cert), Ports.free(), log("tls"),
                "-Dquarkus.http.ssl-port=" + httpsPort,
                "-Dquarkus.http.ssl.certificate.files=" + cert,
                "-Dquarkus.http.ssl.certificate.key-files=" + key)) {
            // a client that trusts the stack's certificate and nothing else: the handshake proves whose key answers
            HttpClient https = HttpClient.newBuilder().sslContext(stack.certificate().clientContext())
                    .connectTimeout(Duration.ofSeconds(10)).build();
            String base = "https://127.0.0.1:" + httpsPort;
            String session = "tls-" + UUID.randomUUID();
            // Ready on the HTTP port does not mean listening on HTTPS yet: Quarkus binds the two servers one after the
            // other, and health answers on the first while the second is still being bound.
            Awaitility.await("HTTPS listening").atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> https.send(HttpRequest.newBuilder(URI.create(base + "/q/health/ready"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding())
                            .statusCode() == 200);

            HttpRequest append = HttpRequest.newBuilder(URI.create(base + "/sessions/" + session + "/events"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", session + "-1")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"source\":\"agent://tls\","
                            + "\"type\":\"agentstate.message.appended\","
                            + "\"data\":{\"role\":\"user\",\"content\":\"sealed in transit\"}}"))
                    .build();
            HttpResponse<String> appended;
            try {
                appended = https.send(append, HttpResponse.BodyHandlers.ofString());
            } catch (ConnectException e) {
                // once seen under load: say what listened where, from outside the client, rather than just "Connect"
                throw new AssertionError("HTTPS port " + httpsPort + " refused (" + e.getCause() + "); a plain TCP "
                        + "connect there " + tcpConnect(httpsPort) + "; the service log: " + service.log(), e);
            }
            // 201 means the event went through Kafka's SSL listener and the ledger decided it (PostgreSQL, Redis)
            assertThat(appended.statusCode()).as(appended.body()).isEqualTo(201);
            assertThat(JSON.readTree(appended.body()).path("version").asInt()).isEqualTo(1);

            HttpResponse<String> read = https.send(HttpRequest.newBuilder(URI.create(base + "/sessions/" + session))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
            JsonNode state = JSON.readTree(read.body());
            assertThat(state.path("version").asInt()).isEqualTo(1);
            assertThat(state.path("messages").get(0).path("content").asText()).isEqualTo("sealed in transit");

            assertPostgresSeesOnlyEncryptedConnections(session);
            assertRedisSeesTheServiceOnlyOnItsTlsPort();
            assertKafkaSeesTheServiceOnlyOnItsSslListener();
        }
    }

    @Test
    void shouldRefuseToStartWhenThePostgresCertificateIsNotTrusted() throws Exception {
        // a certificate for the same names that PostgreSQL does not hold the key of
        Path elsewhere = Files.createTempDirectory("agent-state-stranger");
        ServerCertificate stranger = ServerCertificate.in(elsewhere);
        Map<String, String> config = tlsConfig(stack.certificate().certificate());
        config.put("quarkus.datasource.reactive.trust-certificate-pem.certs", stranger.certificate().toString());
        config.put("quarkus.datasource.jdbc.url", stack.postgresJdbcUrl() + "?sslmode=verify-full&sslrootcert="
                + stranger.certificate());
        Path log = log("untrusted");
        ServiceProcess started = null;
        try {
            started = ServiceProcess.start(stack, config, Ports.free(), log);
        } catch (IllegalStateException expected) {
            assertThat(expected).hasMessageContaining("exited during start-up");
        } finally {
            if (started != null) {
                started.close();
            }
            for (Path file : List.of(stranger.certificate(), stranger.privateKey(), stranger.keyStore(), elsewhere)) {
                Files.deleteIfExists(file);
            }
        }
        assertThat(started).as("a service that trusts another certificate started; see %s", log).isNull();
        assertThat(Files.readString(log))
                .contains("PostgreSQL is unreachable at")
                .contains("(setting quarkus.datasource.reactive.url)")
                // all the Vert.x client says; the configuration differs from the passing test's in the trusted file only
                .contains("SSL handshake failed");
    }

    private static String tcpConnect(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return "succeeded";
        } catch (IOException e) {
            return "failed too: " + e;
        }
    }

    /**
     * The service configuration of docs/operations.md: PostgreSQL with {@code verify-full} for the reactive client and
     * for Flyway's JDBC URL, Kafka over SSL, Redis over {@code rediss://}, each trusting {@code trusted} only.
     */
    private static Map<String, String> tlsConfig(Path trusted) {
        Map<String, String> config = new LinkedHashMap<>();
        // a user that PostgreSQL refuses without TLS, so no connection of the service can quietly stay plaintext
        config.put("quarkus.datasource.username", stack.postgresTlsUser());
        config.put("quarkus.datasource.reactive.postgresql.ssl-mode", "verify-full");
        config.put("quarkus.datasource.reactive.hostname-verification-algorithm", "HTTPS");
        config.put("quarkus.datasource.reactive.trust-certificate-pem", "true");
        config.put("quarkus.datasource.reactive.trust-certificate-pem.certs", trusted.toString());
        config.put("quarkus.datasource.jdbc.url", stack.postgresJdbcUrl() + "?sslmode=verify-full&sslrootcert="
                + trusted);
        // only the SSL listener: a client that ignored these settings would not get past the handshake
        config.put("kafka.bootstrap.servers", stack.kafkaSslBootstrapServers());
        config.put("kafka.security.protocol", "SSL");
        config.put("kafka.ssl.truststore.type", "PEM");
        config.put("kafka.ssl.truststore.location", trusted.toString());
        config.put("quarkus.redis.hosts", stack.redisTlsUrl());
        config.put("quarkus.redis.tls-configuration-name", "redis");
        config.put("quarkus.tls.redis.trust-store.pem.certs", trusted.toString());
        config.put("quarkus.tls.redis.hostname-verification-algorithm", "HTTPS");
        return config;
    }

    private static void assertPostgresSeesOnlyEncryptedConnections(String session) throws SQLException {
        List<String> applications = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(stack.postgresJdbcUrl(), stack.postgresUser(),
                stack.postgresPassword())) {
            try (PreparedStatement backends = db.prepareStatement("""
                    SELECT a.application_name, s.ssl, s.version
                    FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                    WHERE a.usename = ?
                    """)) {
                backends.setString(1, stack.postgresTlsUser());
                try (ResultSet rows = backends.executeQuery()) {
                    while (rows.next()) {
                        String application = rows.getString(1);
                        assertThat(rows.getBoolean(2)).as("TLS on the backend of %s", application).isTrue();
                        assertThat(rows.getString(3)).as("TLS version of %s", application).startsWith("TLSv1.");
                        applications.add(application);
                    }
                }
            }
            // both clients hold connections: the reactive pool and the JDBC pool that Flyway used
            assertThat(applications).as("the service's PostgreSQL connections").contains("vertx-pg-client",
                    "PostgreSQL JDBC Driver");
            assertThat(strings(db, "SELECT DISTINCT installed_by FROM flyway_schema_history"))
                    .as("who ran the migration").containsExactly(stack.postgresTlsUser());
            try (PreparedStatement events = db.prepareStatement("SELECT count(*) FROM events WHERE session_id = ?")) {
                events.setString(1, session);
                try (ResultSet count = events.executeQuery()) {
                    count.next();
                    assertThat(count.getLong(1)).as("archived events of %s", session).isEqualTo(1);
                }
            }
        }
        // the server's side of the bargain: the same user without TLS is turned away
        assertThatThrownBy(() -> DriverManager.getConnection(stack.postgresJdbcUrl() + "?sslmode=disable",
                stack.postgresTlsUser(), stack.postgresPassword()).close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("no encryption");
    }

    private static void assertRedisSeesTheServiceOnlyOnItsTlsPort() throws IOException {
        int plainPort = URI.create(stack.redisUrl()).getPort();
        List<String> clients = Arrays.asList(redis(plainPort, "CLIENT", "LIST").split("\r?\n"));
        List<String> onTls = clients.stream().filter(c -> c.contains(" laddr=127.0.0.1:" + stack.redisTlsPort() + " "))
                .toList();
        List<String> onPlain = clients.stream().filter(c -> c.contains(" laddr=127.0.0.1:" + plainPort + " ")).toList();
        assertThat(onTls).as("clients on the TLS port (the service's pool and subscriptions)").isNotEmpty();
        // the one plaintext client is this check itself
        assertThat(onPlain).as("clients on the plaintext port").hasSize(1);
    }

    private static void assertKafkaSeesTheServiceOnlyOnItsSslListener() throws Exception {
        // the broker runs inside this JVM, so its own socket-server metrics are at hand
        assertThat(brokerConnections("SSL")).as("connections on the SSL listener").isPositive();
        assertThat(brokerConnections("PLAINTEXT")).as("connections on the plaintext listener").isZero();
    }

    private static double brokerConnections(String listener) throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        double total = 0;
        for (ObjectName name : server.queryNames(
                new ObjectName("kafka.server:type=socket-server-metrics,listener=" + listener + ",networkProcessor=*"),
                null)) {
            total += ((Number) server.getAttribute(name, "connection-count")).doubleValue();
        }
        return total;
    }

    /** One command to Redis in its own protocol; returns a bulk or simple string reply. */
    private static String redis(int port, String... args) throws IOException {
        StringBuilder command = new StringBuilder("*").append(args.length).append("\r\n");
        for (String arg : args) {
            command.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg)
                    .append("\r\n");
        }
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(command.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            String first = line(in);
            if (first.startsWith("$")) {
                byte[] body = in.readNBytes(Integer.parseInt(first.substring(1)));
                return new String(body, StandardCharsets.UTF_8);
            }
            if (first.startsWith("+")) {
                return first.substring(1);
            }
            throw new IllegalStateException("Redis answered " + String.join(" ", args) + " with " + first);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("Redis closed the connection mid-reply");
            }
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }

    private static List<String> strings(Connection db, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (PreparedStatement statement = db.prepareStatement(sql); ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
                values.add(rows.getString(1));
            }
        }
        return values;
    }

    private static Path log(String name) {
        return logs.resolve("transport-" + name + "-" + UUID.randomUUID().toString().substring(0, 8) + ".log");
    }

}
