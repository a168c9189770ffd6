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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

import io.agentstate.testsupport.localstack.LocalStack;

/** The packaged service in its own JVM, for system tests that crash, restart and scale it. */
public final class ServiceProcess implements AutoCloseable {

    private static final String SEAL_KEY = "c3lzdGVtLXRlc3Qgc2VhbCBrZXksIG5vdCBhIHNlY3JldCEhISE=";

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private volatile boolean paused;

    private ServiceProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts the packaged service against a stack and waits until it reports ready. */
    public static ServiceProcess start(LocalStack stack, int port, Path log, String... extraProperties)
            throws IOException, InterruptedException {
        return start(stack, Map.of(), port, log, extraProperties);
    }

    /**
     * Starts the packaged service against a stack, with some of the stack's endpoints replaced (a fault proxy's address
     * for {@code quarkus.datasource.reactive.url}, {@code quarkus.datasource.jdbc.url} or {@code quarkus.redis.hosts}).
     */
    public static ServiceProcess start(LocalStack stack, Map<String, String> endpoints, int port, Path log,
            String... extraProperties) throws IOException, InterruptedException {
        String jar = System.getProperty("agentstate.app.jar", "target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(Path.of(jar))) {
            throw new IllegalStateException("No packaged service at " + jar + "; system tests run after package");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dquarkus.http.port=" + port));
        Map<String, String> config = new LinkedHashMap<>(stack.serviceConfig());
        config.putAll(endpoints);
        config.forEach((key, value) -> command.add("-D" + key + "=" + value));
        // The packaged service runs the prod profile, where credentials are required; a system test that needs them
        // passes -Dagent-state.auth.mode=required among its extra properties (the last -D of a key wins).
        command.addAll(List.of("-Dagent-state.auth.mode=none", "-Dagent-state.auth.allow-anonymous=true"));
        // One seal key for every process of a test, so each replica trusts the records the others wrote (a test key,
        // not a secret).
        command.add("-Dagent-state.log.seal-key=" + SEAL_KEY);
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

    /** Where the service's console output goes. */
    public Path log() {
        return log;
    }

    /** Whether the JVM is still running (a paused one is). */
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Freezes the JVM with SIGSTOP, as a long GC pause or a frozen node would: its sockets stay open, its consumer sends
     * no heartbeat, and it carries on from the same instruction after {@link #resume()}.
     */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
        paused = true;
        // the signal is delivered asynchronously: return once the kernel reports every thread stopped
        Awaitility.await("service stopped").atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(10)).until(this::isStopped);
    }

    /** Lets a paused JVM run again with SIGCONT. */
    public void resume() throws IOException, InterruptedException {
        signal("CONT");
        paused = false;
        Awaitility.await("service running").atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(10)).until(() -> !isStopped());
    }

    /** Whether the kernel reports the process as stopped (state {@code T} in {@code /proc/<pid>/stat}). */
    public boolean isStopped() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
        // the state follows the parenthesised command name, which may itself contain spaces
        return stat.substring(stat.lastIndexOf(')') + 2).startsWith("T");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).redirectErrorStream(true)
                .start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed: "
                    + new String(kill.getInputStream().readAllBytes()));
        }
    }

    /** A GET against the service with a bounded wait; the caller decides what a failure means. */
    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(baseUri() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A JSON POST against the service with a bounded wait and the given headers (name, value, name, value, ...). */
    public HttpResponse<String> post(String path, String json, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUri() + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The status code of a health endpoint ({@code live} or {@code ready}), or -1 when it does not answer in 10 s. */
    public int health(String check) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(baseUri() + "/q/health/" + check))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        }
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
        // SIGKILL ends a stopped process too, so no SIGCONT is needed first
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (paused) {
            // a stopped JVM would hold SIGTERM until continued
            try {
                resume();
            } catch (IOException e) {
                crash();
                return;
            }
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            crash();
        }
    }
}
