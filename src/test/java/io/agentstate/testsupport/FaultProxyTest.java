package io.agentstate.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fault proxy against a tiny echo server: each control does to a real TCP connection what it says. */
class FaultProxyTest {

    private ServerSocket echo;
    private FaultProxy proxy;

    @BeforeEach
    void startEchoServerAndProxy() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::echoLoop, "echo-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        proxy = FaultProxy.start("echo", "127.0.0.1", echo.getLocalPort());
    }

    @AfterEach
    void stop() throws IOException {
        proxy.close();
        echo.close();
    }

    @Test
    void shouldForwardBothWays() throws IOException {
        try (Socket socket = connect()) {
            assertThat(roundTrip(socket, "hello")).isEqualTo("hello");
            assertThat(roundTrip(socket, "again")).isEqualTo("again");
        }
    }

    @Test
    void shouldResetOpenConnectionsAndRefuseNewOnesWhenCutUntilRestored() throws IOException {
        try (Socket before = connect()) {
            assertThat(roundTrip(before, "a")).isEqualTo("a");
            proxy.cut();
            assertThatThrownBy(() -> roundTrip(before, "b")).isInstanceOf(IOException.class);
        }
        try (Socket during = connect()) {
            assertThatThrownBy(() -> roundTrip(during, "c")).isInstanceOf(IOException.class);
        }
        proxy.restore();
        try (Socket after = connect()) {
            assertThat(roundTrip(after, "d")).isEqualTo("d");
        }
    }

    @Test
    void shouldKeepOpenConnectionsButRefuseNewOnes() throws IOException {
        try (Socket before = connect()) {
            assertThat(roundTrip(before, "a")).isEqualTo("a");
            proxy.refuse();
            try (Socket during = connect()) {
                assertThatThrownBy(() -> roundTrip(during, "b")).isInstanceOf(IOException.class);
            }
            assertThat(roundTrip(before, "c")).isEqualTo("c");
        }
    }

    @Test
    void shouldHoldBytesWhilePausedAndDeliverThemOnResume() throws IOException {
        try (Socket socket = connect()) {
            assertThat(roundTrip(socket, "a")).isEqualTo("a");
            proxy.pause();
            socket.getOutputStream().write("held".getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout(500);
            assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            assertThat(socket.isClosed()).isFalse();
            proxy.resume();
            socket.setSoTimeout(5_000);
            assertThat(new String(socket.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("held");
        }
    }

    @Test
    void shouldAcceptButNeverAnswerWhenHalfOpen() throws IOException {
        proxy.halfOpen();
        try (Socket socket = connect()) {
            socket.getOutputStream().write("anyone?".getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout(500);
            assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 1);
        }
        proxy.restore();
        try (Socket socket = connect()) {
            assertThat(roundTrip(socket, "yes")).isEqualTo("yes");
        }
    }

    @Test
    void shouldDelayEveryChunkByTheLatency() throws IOException {
        proxy.latency(Duration.ofMillis(300));
        try (Socket socket = connect()) {
            socket.getOutputStream().write("slow".getBytes(StandardCharsets.US_ASCII));
            // one chunk each way: nothing can arrive before 2 x 300 ms, and it does arrive
            socket.setSoTimeout(200);
            assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            socket.setSoTimeout(5_000);
            assertThat(new String(socket.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("slow");
        }
    }

    @Test
    void shouldCloseEveryConnectionOnClose() throws IOException {
        try (Socket socket = connect()) {
            assertThat(roundTrip(socket, "a")).isEqualTo("a");
            proxy.close();
            socket.setSoTimeout(5_000);
            assertThatThrownBy(() -> roundTrip(socket, "b")).isInstanceOf(IOException.class);
        }
    }

    @Test
    void shouldRewriteAUrlOfTheTargetOntoTheProxy() {
        int target = echo.getLocalPort();
        assertThat(proxy.rewrite("jdbc:postgresql://127.0.0.1:" + target + "/agentstate"))
                .isEqualTo("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/agentstate");
        assertThat(proxy.rewrite("redis://127.0.0.1:" + target)).isEqualTo("redis://127.0.0.1:" + proxy.port());
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        socket.setSoTimeout(5_000);
        return socket;
    }

    // A closed or reset connection shows as an IOException or as end of stream; both count as "no answer".
    private static String roundTrip(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] reply = socket.getInputStream().readNBytes(text.length());
        if (reply.length < text.length()) {
            throw new IOException("connection closed after " + reply.length + " bytes");
        }
        return new String(reply, StandardCharsets.US_ASCII);
    }

    private void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket socket = echo.accept();
                Thread worker = new Thread(() -> echoOne(socket), "echo");
                worker.setDaemon(true);
                worker.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void echoOne(Socket socket) {
        try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
            byte[] buffer = new byte[1024];
            int read;
            while ((read = in.read(buffer)) >= 0) {
                out.write(buffer, 0, read);
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        }
    }
}
