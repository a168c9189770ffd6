package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The run command ({@code ./mvnw -Prun}): starts the local stack with its data in one directory, runs the packaged
 * service against it in a child JVM, and stops everything when either side ends. The data survives restarts, even after
 * {@code kill -9}: the servers' watchdogs stop them when this process disappears. So does the audit signing key, made
 * on the first start as {@code audit-signing-key} in the data directory.
 */
public final class LocalRun {

    private LocalRun() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of(System.getProperty("agentstate.data", ".data")).toAbsolutePath();
        Path jar = Path.of(System.getProperty("agentstate.app.jar", "target/quarkus-app/quarkus-run.jar"));
        if (!Files.exists(jar)) {
            throw new IllegalStateException("No packaged service at " + jar + "; run ./mvnw -Prun from the project root");
        }
        Files.createDirectories(data);
        try (FileChannel lockFile = FileChannel.open(data.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
                FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                throw new IllegalStateException("Another agent-state run already uses " + data);
            }
            System.exit(run(data, jar));
        }
    }

    private static int run(Path data, Path jar) throws IOException, InterruptedException {
        LocalStack.Settings settings = new LocalStack.Settings(data, false, true,
                Integer.getInteger("agentstate.kafka.port", 19092),
                Integer.getInteger("agentstate.postgres.port", 15432),
                Integer.getInteger("agentstate.redis.port", 16379),
                Integer.getInteger("agentstate.partitions", 6));
        LocalStack stack = LocalStack.start(settings);
        writeEndpoints(data, stack);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                System.getProperty("agentstate.service.heap", "-Xmx512m")));
        command.addAll(stack.serviceSystemProperties());
        // The local run is open on loopback, so the README's curl commands work as they are; the service says so
        // loudly at start. Pass -Dagentstate.auth=required to try credentials (docs/security.md).
        if (!"required".equals(System.getProperty("agentstate.auth"))) {
            command.addAll(List.of("-Dagent-state.auth.mode=none", "-Dagent-state.auth.allow-anonymous=true"));
        }
        // The seal key stays with the data, so records sealed before a restart are still trusted after it.
        command.add("-Dagent-state.log.seal-key=" + sealKey(data));
        // This stack may create topics: the ingress topic of each tenant listed (default: the open mode's tenant).
        command.addAll(List.of("-Dagent-state.ingress.create-topics=true",
                "-Dagent-state.ingress.tenants=" + System.getProperty("agentstate.ingress.tenants", "default")));
        command.addAll(List.of("-jar", jar.toString()));
        System.out.printf("%nLocal stack in %s (start-up ms %s)%n  Kafka      %s%n  PostgreSQL %s%n  Redis      %s%n"
                + "Over TLS, trusting %s (docs/operations.md, Transport security)%n  Kafka      %s (SSL)%n"
                + "  PostgreSQL user %s%n  Redis      %s%n%n",
                data, stack.startMillis(), stack.kafkaBootstrapServers(), stack.postgresJdbcUrl(), stack.redisUrl(),
                stack.certificate().certificate(), orExternal(stack.kafkaSslBootstrapServers()),
                orExternal(stack.postgresTlsUser()), orExternal(stack.redisTlsUrl()));
        SupervisedProcess service = SupervisedProcess.start("agent-state", "TERM", command, ProcessBuilder.Redirect.INHERIT);
        Thread stop = new Thread(() -> {
            service.close();
            stack.close();
        }, "local-run-stop");
        Runtime.getRuntime().addShutdownHook(stop);
        int exit = service.waitFor();
        return exit;
    }

    private static String orExternal(String endpoint) {
        return endpoint != null ? endpoint : "(external server)";
    }

    /** The data directory's seal key, made on its first run (base64 of 32 random bytes, readable by the owner only). */
    static String sealKey(Path data) throws IOException {
        Path file = data.resolve("seal-key");
        if (!Files.exists(file)) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Path partial = Files.createTempFile(data, "seal-key", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(partial, Base64.getEncoder().encodeToString(key) + "\n");
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
        }
        return Files.readString(file).trim();
    }

    private static void writeEndpoints(Path data, LocalStack stack) throws IOException {
        StringBuilder lines = new StringBuilder("# Endpoints of the running local stack; rewritten at every start.\n");
        for (Map.Entry<String, String> entry : stack.serviceConfig().entrySet()) {
            if (entry.getKey().equals(LocalStack.SIGNING_KEY)) {
                continue; // a secret, not an endpoint: it stays in its own file
            }
            lines.append(entry.getKey()).append('=').append(entry.getValue()).append('\n');
        }
        Files.writeString(data.resolve("endpoints.properties"), lines);
    }
}
