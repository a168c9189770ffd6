package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server process of the local stack, started under a tiny shell watchdog that stops it when this JVM disappears, so no
 * server outlives its owner even after {@code kill -9}.
 */
final class SupervisedProcess implements AutoCloseable {

    /*
     * $1 is the owner's pid, $2 the stop signal, the rest is the server command. The server gets the stop signal when the
     * watchdog is terminated or when the owner is gone. The signal is per server: a background child of sh starts with
     * SIGINT ignored, which a JVM respects, so a JVM is stopped with TERM; PostgreSQL with INT (fast shutdown).
     */
    private static final String WATCHDOG = """
            owner=$1; signal=$2; shift 2
            "$@" &
            child=$!
            trap 'kill -$signal $child 2>/dev/null' INT TERM
            while kill -0 "$owner" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
            kill -$signal "$child" 2>/dev/null
            wait "$child"
            """;

    private final String name;
    private final Process process;

    private SupervisedProcess(String name, Process process) {
        this.name = name;
        this.process = process;
    }

    static SupervisedProcess start(String name, String stopSignal, List<String> command, Path log) throws IOException {
        return start(name, stopSignal, command, ProcessBuilder.Redirect.appendTo(log.toFile()));
    }

    static SupervisedProcess start(String name, String stopSignal, List<String> command, ProcessBuilder.Redirect output)
            throws IOException {
        List<String> full = new ArrayList<>(List.of("/bin/sh", "-c", WATCHDOG, "watchdog",
                Long.toString(ProcessHandle.current().pid()), stopSignal));
        full.addAll(command);
        Process process = new ProcessBuilder(full)
                .redirectErrorStream(true)
                .redirectOutput(output)
                .start();
        return new SupervisedProcess(name, process);
    }

    /** Waits for the process to end and returns its exit code. */
    int waitFor() throws InterruptedException {
        return process.waitFor();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String name() {
        return name;
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
