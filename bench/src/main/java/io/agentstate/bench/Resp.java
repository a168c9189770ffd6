package io.agentstate.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal Redis client speaking RESP2 over one socket: enough to pipeline commands and read the replies, for the
 * hand-written baselines and for checking views. Replies are {@code String} (simple), {@code Long}, {@code byte[]}
 * (bulk, null when absent), {@code List<Object>} or {@link RedisError}.
 */
final class Resp implements AutoCloseable {

    /** An error reply. */
    record RedisError(String message) {
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private int pending;

    private Resp(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream(), 65536);
        this.out = new BufferedOutputStream(socket.getOutputStream(), 65536);
    }

    /** Connects to {@code redis://host:port}. */
    static Resp connect(String url) throws IOException {
        URI uri = URI.create(url);
        Socket socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5000);
        socket.setSoTimeout(120_000);
        return new Resp(socket);
    }

    /** Queues a command; nothing is sent until {@link #sync()}. */
    Resp command(Object... args) throws IOException {
        out.write('*');
        out.write(Integer.toString(args.length).getBytes(StandardCharsets.US_ASCII));
        out.write('\r');
        out.write('\n');
        for (Object arg : args) {
            byte[] bytes = arg instanceof byte[] raw ? raw : arg.toString().getBytes(StandardCharsets.UTF_8);
            out.write('$');
            out.write(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
            out.write('\r');
            out.write('\n');
            out.write(bytes);
            out.write('\r');
            out.write('\n');
        }
        pending++;
        return this;
    }

    /** Sends every queued command and reads their replies, in order. */
    List<Object> sync() throws IOException {
        out.flush();
        List<Object> replies = new ArrayList<>(pending);
        for (int i = 0; i < pending; i++) {
            replies.add(reply());
        }
        pending = 0;
        return replies;
    }

    /** Sends one command and returns its reply. */
    Object call(Object... args) throws IOException {
        command(args);
        Object reply = sync().get(0);
        if (reply instanceof RedisError error) {
            throw new IOException("Redis: " + error.message());
        }
        return reply;
    }

    private Object reply() throws IOException {
        int type = in.read();
        String line = line();
        return switch (type) {
            case '+' -> line;
            case '-' -> new RedisError(line);
            case ':' -> Long.parseLong(line);
            case '$' -> {
                int length = Integer.parseInt(line);
                if (length < 0) {
                    yield null;
                }
                byte[] bytes = in.readNBytes(length);
                line();
                yield bytes;
            }
            case '*' -> {
                int count = Integer.parseInt(line);
                List<Object> items = new ArrayList<>(Math.max(count, 0));
                for (int i = 0; i < count; i++) {
                    items.add(reply());
                }
                yield items;
            }
            case -1 -> throw new EOFException("Redis closed the connection");
            default -> throw new IOException("unexpected RESP type " + (char) type);
        };
    }

    private String line() throws IOException {
        StringBuilder line = new StringBuilder(16);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("Redis closed the connection");
            }
            if (b == '\r') {
                in.read();
                return line.toString();
            }
            line.append((char) b);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
