package io.agentstate.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection, blocking, for one thread. The read scenarios use it instead of
 * {@code java.net.http.HttpClient} because the load generator shares the service's two cores: a request here costs a
 * write and a read on a socket, not a hop through the client's selector and executor threads.
 */
final class HttpConnection implements AutoCloseable {

    /** A response: status, the ETag without quotes (or null), and the body. */
    record Response(int status, String etag, byte[] body) {

        /** The session version an ETag such as {@code "12"} carries, or -1. */
        long version() {
            return etag == null ? -1 : Long.parseLong(etag);
        }
    }

    private final String host;
    private final int port;
    private final String credentials;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    HttpConnection(String host, int port, String apiKey) {
        this.host = host;
        this.port = port;
        this.credentials = apiKey == null ? "" : Credentials.API_KEY_HEADER + ": " + apiKey + "\r\n";
    }

    /** A connection to the service at {@code http://host:port} that sends this API key (none when null). */
    static HttpConnection to(String baseUri, String apiKey) {
        String authority = baseUri.substring(baseUri.indexOf("//") + 2);
        int colon = authority.lastIndexOf(':');
        return new HttpConnection(authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)),
                apiKey);
    }

    Response get(String path) throws IOException {
        byte[] head = ("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n" + credentials + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try {
            return exchange(head);
        } catch (IOException stale) {
            // the server may have closed an idle keep-alive connection; a GET is safe to repeat once
            close();
            return exchange(head);
        }
    }

    private Response exchange(byte[] head) throws IOException {
        if (socket == null) {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(30_000);
            in = new BufferedInputStream(socket.getInputStream(), 65536);
            out = socket.getOutputStream();
        }
        out.write(head);
        out.flush();
        String status = line();
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean closing = false;
        String etag = null;
        for (String header = line(); !header.isEmpty(); header = line()) {
            int colon = header.indexOf(':');
            String name = header.substring(0, colon).trim().toLowerCase();
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase().contains("chunked");
                case "connection" -> closing = value.equalsIgnoreCase("close");
                case "etag" -> etag = value.replace("W/", "").replace("\"", "");
                default -> {
                    // not needed
                }
            }
        }
        byte[] body;
        if (chunked) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            for (int size = chunkSize(); size > 0; size = chunkSize()) {
                buffer.write(in.readNBytes(size));
                line();
            }
            for (String trailer = line(); !trailer.isEmpty(); trailer = line()) {
                // trailers are not used
            }
            body = buffer.toByteArray();
        } else {
            body = length > 0 ? in.readNBytes((int) length) : new byte[0];
        }
        if (closing) {
            close();
        }
        return new Response(code, etag, body);
    }

    private int chunkSize() throws IOException {
        String size = line();
        int semicolon = size.indexOf(';');
        return Integer.parseInt(semicolon < 0 ? size.trim() : size.substring(0, semicolon).trim(), 16);
    }

    private String line() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed by the server");
            }
            if (b == '\n') {
                int end = line.length();
                if (end > 0 && line.charAt(end - 1) == '\r') {
                    line.setLength(end - 1);
                }
                return line.toString();
            }
            line.append((char) b);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
            socket = null;
        }
    }
}
