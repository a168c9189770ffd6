package io.agentstate.testsupport;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

import io.agentstate.testsupport.localstack.LocalStack;

/** The packaged service in its own JVM, for system tests that crash, restart and scale it. */
public final class ServiceProcess implements AutoCloseable {

    private final Process process;
    private final int port;
    private final Path log;

    private ServiceProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts the packaged service against a stack and waits until it reports ready. */
    public static ServiceProcess start(LocalStack stack, int port, Path log, String... extraProperties)
            throws IOException, InterruptedException {
        String jar = System.getProperty("agentstate.app.jar", "target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(Path.of(jar))) {
            throw new IllegalStateException("No packaged service at " + jar + "; system tests run after package");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dquarkus.http.port=" + port));
        command.addAll(stack.serviceSystemProperties());
        command.addAll(List.of(extraProperties));
        command.addAll(List.of("-jar", jar));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        ServiceProcess service = new ServiceProcess(process, port, log);
        service.awaitReady(Duration.ofSeconds(90));
        return service;
    }

    public String baseUri() {
        return "http://127.0.0.1:" + port;
    }

    /** The operating-system process id of the service JVM (the benchmarks read its RSS and CPU time from /proc). */
    public long pid() {
        return process.pid();
    }

    private void awaitReady(Duration timeout) {
        HttpClient client = HttpClient.newHttpClient();
        try {
            Awaitility.await("service ready").atMost(timeout).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(200)).until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("service exited during start-up; see " + log);
                        }
                        return answersReady(client);
                    });
        } catch (ConditionTimeoutException e) {
            throw new IllegalStateException("service not ready within " + timeout + "; see " + log, e);
        }
    }

    private boolean answersReady(HttpClient client) throws InterruptedException {
        try {
            return client.send(HttpRequest.newBuilder(URI.create(baseUri() + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    /** Kills the JVM at once, as {@code kill -9} would: no shutdown hook, no flush, no offset commit. */
    public void crash() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            crash();
        }
    }
}
