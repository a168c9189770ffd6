package io.agentstate.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.jboss.logging.Logger;

/**
 * A TCP proxy on a free loopback port in front of one server of the local stack, for fault-injection system tests: the
 * service is pointed at the proxy and the test cuts, refuses, black-holes, slows or half-opens the connections to the
 * real server while both keep running.
 *
 * <pre>
 * try (FaultProxy proxy = FaultProxy.start("postgres", stack.postgresJdbcUrl())) {
 *     ServiceProcess service = ServiceProcess.start(stack, Map.of("quarkus.datasource.jdbc.url",
 *             proxy.rewrite(stack.postgresJdbcUrl())), ...);
 *     proxy.cut();      // every connection reset, new ones refused
 *     proxy.restore();  // forwarding again
 * }
 * </pre>
 *
 * Blocking sockets with two platform threads per connection: the proxy only ever carries a service's few pooled
 * connections, and its threads blocking on I/O or on the pause gate are the point of it.
 */
public final class FaultProxy implements AutoCloseable {

    /** What the proxy does with traffic; one mode at a time, switched by the controls. */
    public enum Mode {
        /** Bytes flow both ways (after the configured latency). */
        FORWARD,
        /** New connections are accepted and reset at once; existing ones were closed when the mode was entered. */
        REFUSE,
        /** Connections stay open but no byte moves either way, new ones included: a black hole. */
        PAUSE,
        /** New connections are accepted and never answered (no upstream connection); existing ones keep flowing. */
        HALF_OPEN
    }

    private static final Logger LOG = Logger.getLogger(FaultProxy.class);
    private static final int BUFFER = 64 * 1024;

    private final String name;
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final Object gate = new Object();
    private volatile Mode mode = Mode.FORWARD;
    private volatile long latencyNanos;
    private volatile boolean closed;

    private FaultProxy(String name, InetSocketAddress target, ServerSocket server) {
        this.name = name;
        this.target = target;
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "fault-proxy-" + name + "-accept");
        this.acceptor.setDaemon(true);
    }

    /** Starts a proxy on a free loopback port that forwards to {@code host:port}. */
    public static FaultProxy start(String name, String host, int port) {
        try {
            ServerSocket server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
            FaultProxy proxy = new FaultProxy(name, new InetSocketAddress(host, port), server);
            proxy.acceptor.start();
            return proxy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a proxy in front of the server a URL names ({@code redis://127.0.0.1:6379}, a JDBC URL, ...). */
    public static FaultProxy start(String name, String url) {
        HostPort address = HostPort.of(url);
        return start(name, address.host(), address.port());
    }

    /** The proxy's own port on the loopback interface. */
    public int port() {
        return server.getLocalPort();
    }

    /** Connections accepted so far, whatever became of them. */
    public int acceptedConnections() {
        return accepted.get();
    }

    /** Client connections currently open through the proxy (half-open ones included). */
    public int openConnections() {
        clients.removeIf(Socket::isClosed);
        return clients.size();
    }

    public Mode mode() {
        return mode;
    }

    /**
     * The same URL with the target's {@code host:port} replaced by the proxy's, so a client configured with it connects
     * through the proxy.
     */
    public String rewrite(String url) {
        HostPort address = HostPort.of(url);
        String original = address.host() + ":" + address.port();
        if (address.port() != target.getPort()) {
            throw new IllegalArgumentException(url + " does not name this proxy's target " + target);
        }
        return url.replace(original, InetAddress.getLoopbackAddress().getHostAddress() + ":" + port());
    }

    /** Closes every current connection and resets new ones until {@link #restore()}: the server is unreachable. */
    public void cut() {
        switchTo(Mode.REFUSE);
        closeConnections();
    }

    /** Resets new connections until {@link #restore()}; connections already open keep working. */
    public void refuse() {
        switchTo(Mode.REFUSE);
    }

    /** Stops every byte both ways, keeping connections open, until {@link #resume()} or {@link #restore()}. */
    public void pause() {
        switchTo(Mode.PAUSE);
    }

    /** Lets bytes flow again after {@link #pause()}. */
    public void resume() {
        restore();
    }

    /** Accepts new connections and never answers them; connections already open keep working. */
    public void halfOpen() {
        switchTo(Mode.HALF_OPEN);
    }

    /** Forwards normally again, whatever the fault was; the latency setting is kept. */
    public void restore() {
        switchTo(Mode.FORWARD);
    }

    /** Delays every chunk of bytes, both ways, by this much ({@link Duration#ZERO} to stop). */
    public void latency(Duration delay) {
        latencyNanos = delay.toNanos();
    }

    private void switchTo(Mode next) {
        synchronized (gate) {
            mode = next;
            gate.notifyAll();
        }
        LOG.infof("Fault proxy %s (:%d -> %s): %s", name, port(), target, next);
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warnf("Fault proxy %s stopped accepting: %s", name, e.getMessage());
                }
                return;
            }
            accepted.incrementAndGet();
            handle(client);
        }
    }

    private void handle(Socket client) {
        Mode now = mode;
        if (now == Mode.REFUSE) {
            reset(client);
            return;
        }
        sockets.add(client);
        clients.add(client);
        if (now == Mode.HALF_OPEN) {
            // held open, never read, never answered: closed by cut() or close()
            return;
        }
        Thread connector = new Thread(() -> connect(client), "fault-proxy-" + name + "-connect");
        connector.setDaemon(true);
        connector.start();
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        sockets.add(upstream);
        try {
            upstream.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            upstream.connect(target, 10_000);
        } catch (IOException e) {
            reset(client);
            closeQuietly(upstream);
            return;
        }
        if (client.isClosed() || mode == Mode.REFUSE) {
            // cut while this connection was being set up
            reset(client);
            reset(upstream);
            return;
        }
        pump(client, upstream, "up");
        pump(upstream, client, "down");
    }

    private void pump(Socket from, Socket to, String direction) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[BUFFER];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    awaitForwarding();
                    long delay = latencyNanos;
                    if (delay > 0) {
                        Thread.sleep(delay / 1_000_000, (int) (delay % 1_000_000));
                    }
                    awaitForwarding();
                    out.write(buffer, 0, read);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // one side closed or was reset; the other side follows
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
            }
        }, "fault-proxy-" + name + "-" + direction);
        thread.setDaemon(true);
        thread.start();
    }

    // Blocks a pump while the proxy is paused; a cut or close ends the connection through its sockets instead.
    private void awaitForwarding() throws InterruptedException, SocketException {
        synchronized (gate) {
            while (mode == Mode.PAUSE && !closed) {
                gate.wait();
            }
        }
        if (closed) {
            throw new SocketException("proxy closed");
        }
    }

    private void closeConnections() {
        for (Socket socket : sockets) {
            reset(socket);
        }
        sockets.removeIf(Socket::isClosed);
        clients.removeIf(Socket::isClosed);
    }

    // SO_LINGER 0 makes close send RST rather than FIN: the peer sees "connection reset", as after a crash.
    private static void reset(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (IOException e) {
            // already closed
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }

    @Override
    public void close() {
        closed = true;
        synchronized (gate) {
            gate.notifyAll();
        }
        try {
            server.close();
        } catch (IOException e) {
            // nothing left to release
        }
        closeConnections();
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "fault proxy " + name + " (:" + port() + " -> " + target.getPort() + ", " + mode + ")";
    }

    /** Host and port out of a URL of any scheme the stack uses. */
    public record HostPort(String host, int port) {
        public static HostPort of(String url) {
            String rest = url.substring(url.indexOf("//") + 2);
            int at = rest.lastIndexOf('@');
            if (at >= 0) {
                rest = rest.substring(at + 1);
            }
            int end = 0;
            while (end < rest.length() && "/?,".indexOf(rest.charAt(end)) < 0) {
                end++;
            }
            String authority = rest.substring(0, end);
            int colon = authority.lastIndexOf(':');
            return new HostPort(authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)));
        }
    }
}
