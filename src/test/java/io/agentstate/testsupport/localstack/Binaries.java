package io.agentstate.testsupport.localstack;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Unpacks server binaries shipped inside Maven artifacts into a per-user cache, once, so every later start is instant.
 */
final class Binaries {

    private Binaries() {
    }

    static Path cacheRoot() {
        String configured = System.getProperty("agentstate.cache");
        if (configured != null) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "agent-state");
    }

    /** Unpacks the PostgreSQL distribution from zonky's binaries jar; returns its root (with bin/, lib/, share/). */
    static Path postgres() {
        URL archive = resource("postgres-linux-x86_64.txz");
        Path target = cacheRoot().resolve("postgres-" + Integer.toHexString(archive.toString().hashCode()));
        if (Files.isExecutable(target.resolve("bin/postgres"))) {
            return target;
        }
        return unpackAtomically(target, staging -> untarXz(archive, staging));
    }

    /** A redis-server from the PATH when the machine has one, else the Linux binary shipped in embedded-redis. */
    static Path redisServer() {
        String path = System.getenv("PATH");
        if (path != null && !Boolean.getBoolean("agentstate.redis.bundled")) {
            for (String dir : path.split(":")) {
                Path candidate = Path.of(dir, "redis-server");
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        String name = "redis-server-6.2.6-v5-linux-amd64";
        URL binary = resource(name);
        Path target = cacheRoot().resolve("redis-" + Integer.toHexString(binary.toString().hashCode()));
        Path server = target.resolve("redis-server");
        if (Files.isExecutable(server)) {
            return server;
        }
        unpackAtomically(target, staging -> {
            try (InputStream in = binary.openStream()) {
                Path file = staging.resolve("redis-server");
                Files.copy(in, file);
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        });
        return server;
    }

    private static URL resource(String name) {
        URL url = Binaries.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IllegalStateException(
                    "The local stack needs " + name + " on the test classpath; is the dependency declared?");
        }
        return url;
    }

    private interface Unpacker {
        void unpack(Path staging) throws IOException;
    }

    // Unpack into a private directory and rename it into place, so concurrent or interrupted runs never see half a tree.
    private static Path unpackAtomically(Path target, Unpacker unpacker) {
        try {
            Files.createDirectories(target.getParent());
            Path staging = Files.createTempDirectory(target.getParent(), target.getFileName() + ".tmp");
            try {
                unpacker.unpack(staging);
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                deleteTree(staging);
            } catch (IOException e) {
                deleteTree(staging);
                if (!Files.isDirectory(target)) {
                    throw e;
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot unpack local-stack binaries into " + target, e);
        }
    }

    private static void untarXz(URL archive, Path into) throws IOException {
        try (InputStream raw = new BufferedInputStream(archive.openStream());
                TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(raw))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path out = into.resolve(entry.getName()).normalize();
                if (!out.startsWith(into)) {
                    throw new IOException("Archive entry escapes the target: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else if (entry.isSymbolicLink()) {
                    Files.createDirectories(out.getParent());
                    Files.createSymbolicLink(out, Path.of(entry.getLinkName()));
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(tar, out);
                    boolean executable = (entry.getMode() & 0100) != 0;
                    Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
        }
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
