package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real PostgreSQL server from zonky's binaries, on loopback. PostgreSQL refuses to run as root, so as root it runs
 * inside a user namespace where it is an ordinary user; no account or system package is needed. It always offers TLS
 * with the stack's certificate; {@link #TLS_USER} may connect over TLS only, every other user either way.
 */
final class LocalPostgres implements AutoCloseable {

    static final String DATABASE = "agentstate";
    static final String USER = "postgres";
    static final String PASSWORD = "postgres";
    /** A superuser like {@link #USER}, so it shares the schema whoever migrated it, but refused without TLS. */
    static final String TLS_USER = "agentstate_tls";

    // Written at every start, so a data directory made before TLS gets the same rules. Plaintext stays open to every
    // other user: the other tests, the run command and psql need no certificate.
    private static final String HBA = """
            # Written by LocalPostgres at every start; the first line that matches a connection decides.
            hostnossl all %1$s 0.0.0.0/0    reject
            hostssl   all %1$s 127.0.0.1/32 trust
            host      all all 127.0.0.1/32 trust
            """.formatted(TLS_USER);

    private final int port;
    private final SupervisedProcess process;

    private LocalPostgres(int port, SupervisedProcess process) {
        this.port = port;
        this.process = process;
    }

    static LocalPostgres start(Path dir, int port, boolean durable, ServerCertificate certificate) throws IOException {
        Path home = Binaries.postgres();
        // pgvector for semantic memory, built once into the server's tree; without it the service searches exactly
        PgVector.Result vector = PgVector.install(home);
        if (!vector.available()) {
            System.err.println("[local-stack] " + vector.detail());
        }
        Path data = dir.resolve("data");
        Path log = dir.resolve("postgres.log");
        Files.createDirectories(dir);
        if (!Files.exists(data.resolve("PG_VERSION"))) {
            initdb(home, data, log);
        }
        Path hba = dir.resolve("pg_hba.conf");
        Files.writeString(hba, HBA);
        List<String> command = asOrdinaryUser();
        command.addAll(List.of(home.resolve("bin/postgres").toString(), "-D", data.toString(),
                "-p", Integer.toString(port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=",
                "-c", "max_connections=200",
                "-c", "shared_buffers=256MB",
                "-c", "fsync=" + (durable ? "on" : "off"),
                "-c", "synchronous_commit=" + (durable ? "on" : "off"),
                "-c", "full_page_writes=" + (durable ? "on" : "off"),
                "-c", "hba_file=" + hba,
                "-c", "ssl=on",
                "-c", "ssl_cert_file=" + certificate.certificate(),
                "-c", "ssl_key_file=" + certificate.privateKey()));
        SupervisedProcess process = SupervisedProcess.start("postgres", "INT", command, log);
        LocalPostgres postgres = new LocalPostgres(port, process);
        postgres.awaitReadyAndCreateDatabase(log);
        return postgres;
    }

    int port() {
        return port;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    String reactiveUrl() {
        return "postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    private static void initdb(Path home, Path data, Path log) throws IOException {
        List<String> command = asOrdinaryUser();
        command.addAll(List.of(home.resolve("bin/initdb").toString(), "-D", data.toString(), "-U", USER,
                "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"));
        Process initdb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        try {
            if (initdb.waitFor() != 0) {
                throw new IllegalStateException("initdb failed with exit code " + initdb.exitValue() + "; see " + log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running initdb", e);
        }
    }

    // As root, map this user onto an unprivileged uid in a fresh user namespace; files stay owned by root outside.
    private static List<String> asOrdinaryUser() throws IOException {
        List<String> prefix = new ArrayList<>();
        if (isRoot()) {
            prefix.addAll(List.of("unshare", "--user", "--map-user=1000", "--map-group=1000"));
        }
        return prefix;
    }

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.split("\\s+")[2].equals("0");
            }
        }
        return false;
    }

    private void awaitReadyAndCreateDatabase(Path log) {
        AtomicReference<SQLException> last = new AtomicReference<>();
        try {
            Awaitility.await("PostgreSQL ready").atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(50)).until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("PostgreSQL exited during start-up; see " + log);
                        }
                        try {
                            createDatabaseIfMissing();
                            return true;
                        } catch (SQLException e) {
                            last.set(e);
                            return false;
                        }
                    });
        } catch (ConditionTimeoutException e) {
            close();
            throw new IllegalStateException("PostgreSQL did not accept connections on 127.0.0.1:" + port
                    + " within 60 s; see " + log, last.get());
        }
    }

    private void createDatabaseIfMissing() throws SQLException {
        try (Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres",
                USER, PASSWORD);
                Statement statement = connection.createStatement();
                ResultSet exists = statement
                        .executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
            if (!exists.next()) {
                statement.execute("CREATE DATABASE " + DATABASE);
            }
            try (ResultSet role = statement.executeQuery("SELECT 1 FROM pg_roles WHERE rolname = '" + TLS_USER + "'")) {
                if (!role.next()) {
                    statement.execute("CREATE ROLE " + TLS_USER + " LOGIN SUPERUSER");
                }
            }
        }
    }

    @Override
    public void close() {
        process.close();
    }
}
