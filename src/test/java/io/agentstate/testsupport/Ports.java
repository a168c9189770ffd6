package io.agentstate.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for the servers and services a test starts. A port from {@code new ServerSocket(0)} is an
 * ephemeral one: the kernel may give it to the next probe again (two listeners of one process then collide) or to an
 * outgoing connection before the server binds it. Ports here come from below the kernel's ephemeral range, are probed
 * by binding them, and are never handed out twice in one JVM.
 */
public final class Ports {

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
    private static final int LOWEST = 10_000;
    private static final int LINUX_DEFAULT_LOW = 32_768;

    private Ports() {
    }

    /** A loopback port nothing listens on now and that this JVM has not handed out before. */
    public static int free() {
        int below = ephemeralLow();
        for (int attempt = 0; attempt < 10_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
            if (!HANDED_OUT.contains(port) && bindable(port) && HANDED_OUT.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port between " + LOWEST + " and " + below);
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /** The lower bound of Linux's ephemeral range, or Linux's default bound where the kernel does not say. */
    private static int ephemeralLow() {
        try {
            // readString sees a procfs file as one byte long on JDK 17; reading lines reads it whole
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
            int low = Integer.parseInt(range.split("\\s+")[0]);
            return low > LOWEST + 1_000 ? low : LINUX_DEFAULT_LOW;
        } catch (IOException | RuntimeException unknown) {
            return LINUX_DEFAULT_LOW;
        }
    }
}
