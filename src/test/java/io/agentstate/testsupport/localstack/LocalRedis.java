package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real Redis server on loopback, from the machine's redis-server or the binary inside embedded-redis. It keeps no
 * persistence on purpose: Redis is a cache (I6), everything it holds is rebuilt from PostgreSQL. Beside its plaintext
 * port it serves TLS on a second one with the stack's certificate (server-side TLS only, no client certificates).
 */
final class LocalRedis implements AutoCloseable {

    private final int port;
    private final int tlsPort;
    private final SupervisedProcess process;

    private LocalRedis(int port, int tlsPort, SupervisedProcess process) {
        this.port = port;
        this.tlsPort = tlsPort;
        this.process = process;
    }

    static LocalRedis start(Path dir, int port, int tlsPort, ServerCertificate certificate) throws IOException {
        Files.createDirectories(dir);
        Path log = dir.resolve("redis.log");
        List<String> command = List.of(Binaries.redisServer().toString(),
                "--port", Integer.toString(port),
                "--bind", "127.0.0.1",
                "--protected-mode", "no",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", dir.toString(),
                "--loglevel", "warning",
                "--tls-port", Integer.toString(tlsPort),
                "--tls-cert-file", certificate.certificate().toString(),
                "--tls-key-file", certificate.privateKey().toString(),
                "--tls-auth-clients", "no");
        LocalRedis redis = new LocalRedis(port, tlsPort, SupervisedProcess.start("redis", "TERM", command, log));
        redis.awaitReady(log);
        return redis;
    }

    int port() {
        return port;
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    int tlsPort() {
        return tlsPort;
    }

    String tlsUrl() {
        return "rediss://127.0.0.1:" + tlsPort;
    }

    private void awaitReady(Path log) {
        try {
            Awaitility.await("Redis ready").atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(20)).until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("Redis exited during start-up; see " + log);
                        }
                        return answersPing();
                    });
        } catch (ConditionTimeoutException e) {
            close();
            throw new IllegalStateException("Redis did not answer PING on 127.0.0.1:" + port + " within 30 s; see " + log);
        }
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] reply = in.readNBytes(7);
            return new String(reply, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        process.close();
    }
}
