package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.jboss.logging.Logger;

import io.agentstate.security.MasterKey;
import io.agentstate.testsupport.Ports;

/**
 * Real Kafka, PostgreSQL and Redis servers on loopback for tests, the run command and the benchmarks, and the keys a
 * deployment would keep in Secrets (the audit signing key, the master keyset). Each server stays off when the environment
 * already names an external endpoint for it. Every server also offers TLS with one self-signed
 * {@link ServerCertificate}; {@link #serviceConfig()} stays plaintext and a test that wants TLS asks for the TLS
 * endpoints.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LocalStack.class);

    /** The setting that carries the audit chain's signing key. */
    public static final String SIGNING_KEY = "agent-state.audit.signing-key";
    private static final String SIGNING_KEY_FILE = "audit-signing-key";

    /**
     * How to start the stack.
     *
     * @param dir where the servers keep their data
     * @param ephemeral delete {@code dir} on close (tests)
     * @param durable fsync PostgreSQL commits (the run command and benchmarks); tests trade it for speed
     * @param kafkaPort 0 for a free port
     * @param postgresPort 0 for a free port
     * @param redisPort 0 for a free port
     * @param partitions partitions of the event topic
     */
    public record Settings(Path dir, boolean ephemeral, boolean durable, int kafkaPort, int postgresPort, int redisPort,
            int partitions) {

        /** A throwaway stack on free ports, deleted on close. */
        public static Settings throwaway() {
            try {
                return new Settings(Files.createTempDirectory("agent-state-stack"), true, false, 0, 0, 0, 6);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** What the environment already provides, so those servers are not started (or that key not made). */
    record External(String kafka, String redis, String postgresReactive, String postgresJdbc, String signingKey) {
        static External fromEnvironment() {
            return new External(System.getenv("KAFKA_BOOTSTRAP_SERVERS"), System.getenv("QUARKUS_REDIS_HOSTS"),
                    System.getenv("QUARKUS_DATASOURCE_REACTIVE_URL"), System.getenv("QUARKUS_DATASOURCE_JDBC_URL"),
                    System.getenv("AGENT_STATE_AUDIT_SIGNING_KEY"));
        }
    }

    private final Settings settings;
    private final ServerCertificate certificate;
    private final LocalKafka kafka;
    private final LocalPostgres postgres;
    private final LocalRedis redis;
    private final String signingKey;
    private final Map<String, Long> startMillis;

    private LocalStack(Settings settings, ServerCertificate certificate, LocalKafka kafka, LocalPostgres postgres,
            LocalRedis redis, String signingKey, Map<String, Long> startMillis) {
        this.settings = settings;
        this.certificate = certificate;
        this.kafka = kafka;
        this.postgres = postgres;
        this.redis = redis;
        this.signingKey = signingKey;
        this.startMillis = startMillis;
    }

    /** Starts the three servers in parallel; fails with the first server's error after stopping the others. */
    public static LocalStack start(Settings settings) {
        External external = External.fromEnvironment();
        Map<String, Long> timings = new LinkedHashMap<>();
        ServerCertificate certificate = certificate(settings);
        CompletableFuture<LocalKafka> kafka = external.kafka() != null ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> timed("kafka", timings,
                        () -> LocalKafka.start(settings.dir().resolve("kafka"), port(settings.kafkaPort()), Ports.free(),
                                Ports.free(), settings.partitions(), certificate)));
        CompletableFuture<LocalPostgres> postgres = external.postgresReactive() != null
                ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> timed("postgres", timings,
                        () -> LocalPostgres.start(settings.dir().resolve("postgres"), port(settings.postgresPort()),
                                settings.durable(), certificate)));
        CompletableFuture<LocalRedis> redis = external.redis() != null ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> timed("redis", timings,
                        () -> LocalRedis.start(settings.dir().resolve("redis"), port(settings.redisPort()), Ports.free(),
                                certificate)));
        try {
            CompletableFuture.allOf(kafka, postgres, redis).join();
        } catch (CompletionException e) {
            closeQuietly(kafka.getNow(null));
            closeQuietly(postgres.getNow(null));
            closeQuietly(redis.getNow(null));
            if (settings.ephemeral()) {
                Binaries.deleteTree(settings.dir());
            }
            throw new IllegalStateException("The local stack did not start: " + e.getCause().getMessage(), e.getCause());
        }
        String key = external.signingKey() != null ? null : signingKey(settings.dir());
        LocalStack stack = new LocalStack(settings, certificate, kafka.join(), postgres.join(), redis.join(), key,
                timings);
        LOG.infof("Local stack up in %s (%s)", settings.dir(), timings);
        return stack;
    }

    // The key lives next to the servers' data, outside PostgreSQL, and is made once: heads signed before a restart of the
    // run command still verify after it. A throwaway stack's key goes with its directory.
    private static String signingKey(Path dir) {
        Path file = dir.resolve(SIGNING_KEY_FILE);
        try {
            if (!Files.exists(file)) {
                byte[] key = new byte[32];
                new SecureRandom().nextBytes(key);
                Files.createDirectories(dir);
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(file, Base64.getEncoder().encodeToString(key) + "\n", StandardCharsets.US_ASCII,
                            StandardOpenOption.TRUNCATE_EXISTING);
                } catch (FileAlreadyExistsException e) {
                    // made meanwhile by another start on the same directory: use that one
                }
            }
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the audit signing key in " + file, e);
        }
    }

    /** The audit signing key this stack gives the service (base64), or null when the environment names one. */
    public String signingKey() {
        return signingKey;
    }

    /** Start-up time of each server this stack started, in milliseconds. */
    public Map<String, Long> startMillis() {
        return Map.copyOf(startMillis);
    }

    public String kafkaBootstrapServers() {
        return kafka != null ? kafka.bootstrapServers() : External.fromEnvironment().kafka();
    }

    public String redisUrl() {
        return redis != null ? redis.url() : External.fromEnvironment().redis();
    }

    public String postgresReactiveUrl() {
        return postgres != null ? postgres.reactiveUrl() : External.fromEnvironment().postgresReactive();
    }

    public String postgresJdbcUrl() {
        return postgres != null ? postgres.jdbcUrl() : External.fromEnvironment().postgresJdbc();
    }

    public String postgresUser() {
        return LocalPostgres.USER;
    }

    public String postgresPassword() {
        return LocalPostgres.PASSWORD;
    }

    /** The directory every local server keeps its data in (PostgreSQL data and WAL, the Kafka log, Redis). */
    public Path dir() {
        return settings.dir();
    }

    /** The certificate every local server offers; clients trust it as their only root. */
    public ServerCertificate certificate() {
        return certificate;
    }

    /** Kafka's SSL listener, or null when Kafka is external. */
    public String kafkaSslBootstrapServers() {
        return kafka != null ? kafka.sslBootstrapServers() : null;
    }

    /** Redis's TLS port as a {@code rediss://} URL, or null when Redis is external. */
    public String redisTlsUrl() {
        return redis != null ? redis.tlsUrl() : null;
    }

    /** Redis's TLS port, or 0 when Redis is external. */
    public int redisTlsPort() {
        return redis != null ? redis.tlsPort() : 0;
    }

    /** The PostgreSQL user that the server refuses without TLS, or null when PostgreSQL is external. */
    public String postgresTlsUser() {
        return postgres != null ? LocalPostgres.TLS_USER : null;
    }

    /** The service configuration that points at the servers this stack started (external ones are left alone). */
    /**
     * The service configuration that points at the servers this stack started (external ones are left alone), with the
     * stack's audit signing key unless the environment names one.
     */
    public Map<String, String> serviceConfig() {
        Map<String, String> config = new LinkedHashMap<>();
        if (signingKey != null) {
            config.put(SIGNING_KEY, signingKey);
        }
        if (kafka != null) {
            config.put("kafka.bootstrap.servers", kafka.bootstrapServers());
        }
        if (redis != null) {
            config.put("quarkus.redis.hosts", redis.url());
        }
        if (postgres != null) {
            config.put("quarkus.datasource.reactive.url", postgres.reactiveUrl());
            config.put("quarkus.datasource.jdbc.url", postgres.jdbcUrl());
            config.put("quarkus.datasource.username", LocalPostgres.USER);
            config.put("quarkus.datasource.password", LocalPostgres.PASSWORD);
        }
        config.put("agent-state.crypto.master-keyset-file", masterKeyset().toString());
        return config;
    }

    /**
     * The development master keyset of this stack's directory, made on first use: the run command's data stays
     * readable across restarts, and every service process of one test stack shares one key.
     */
    public synchronized Path masterKeyset() {
        Path file = settings.dir().resolve("master-keyset.json");
        try {
            if (!Files.exists(file)) {
                Files.createDirectories(settings.dir());
                Path partial = Files.createTempFile(settings.dir(), "master-keyset", ".tmp");
                Files.writeString(partial, MasterKey.generate());
                Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-------"));
                Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
            }
            return file.toAbsolutePath();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot write the development master keyset in " + settings.dir(), e);
        }
    }

    /** The same configuration as JVM system-property arguments for a service started in another process. */
    public List<String> serviceSystemProperties() {
        List<String> args = new ArrayList<>();
        serviceConfig().forEach((key, value) -> args.add("-D" + key + "=" + value));
        return args;
    }

    @Override
    public void close() {
        closeQuietly(kafka);
        closeQuietly(redis);
        closeQuietly(postgres);
        if (settings.ephemeral()) {
            Binaries.deleteTree(settings.dir());
        }
    }

    private static ServerCertificate certificate(Settings settings) {
        try {
            return ServerCertificate.in(settings.dir().resolve("tls"));
        } catch (IOException e) {
            if (settings.ephemeral()) {
                Binaries.deleteTree(settings.dir());
            }
            throw new IllegalStateException("The local stack's certificate could not be made: " + e.getMessage(), e);
        }
    }

    private interface Starter<T> {
        T start() throws Exception;
    }

    private static <T> T timed(String name, Map<String, Long> timings, Starter<T> starter) {
        long begin = System.nanoTime();
        try {
            T server = starter.start();
            synchronized (timings) {
                timings.put(name, (System.nanoTime() - begin) / 1_000_000);
            }
            return server;
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(name + ": " + e.getMessage(), e);
        }
    }

    private static int port(int requested) {
        return requested != 0 ? requested : Ports.free();
    }

    private static void closeQuietly(AutoCloseable server) {
        if (server == null) {
            return;
        }
        try {
            server.close();
        } catch (Exception e) {
            LOG.warnf("Stopping %s failed: %s", server.getClass().getSimpleName(), e.getMessage());
        }
    }
}
