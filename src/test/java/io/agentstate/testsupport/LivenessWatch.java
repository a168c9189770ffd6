package io.agentstate.testsupport;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Polls a service's {@code /q/health/live} once a second in the background and keeps every answer that was not UP, so
 * a test can assert that liveness stayed UP through a fault (an outage must never make Kubernetes restart the pod).
 */
public final class LivenessWatch implements AutoCloseable {

    /** A poll that did not answer 200: the status, or -1 for no answer within the health timeout. */
    public record Failure(Instant at, int status) {
    }

    private final ScheduledExecutorService poller;
    private final List<Failure> failures = new CopyOnWriteArrayList<>();
    private final AtomicInteger polls = new AtomicInteger();

    private LivenessWatch(ServiceProcess service, String name) {
        poller = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "liveness-watch-" + name);
            thread.setDaemon(true);
            return thread;
        });
        poller.scheduleWithFixedDelay(() -> poll(service), 0, 1, TimeUnit.SECONDS);
    }

    /** Starts watching a service. */
    public static LivenessWatch of(ServiceProcess service, String name) {
        return new LivenessWatch(service, name);
    }

    private void poll(ServiceProcess service) {
        try {
            int status = service.health("live");
            if (status != 200) {
                failures.add(new Failure(Instant.now(), status));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        polls.incrementAndGet();
    }

    /** Answers that were not UP so far. */
    public List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Whether every poll so far answered UP. */
    public boolean alwaysUp() {
        return failures.isEmpty();
    }

    public int polls() {
        return polls.get();
    }

    @Override
    public void close() throws InterruptedException {
        poller.shutdownNow();
        poller.awaitTermination(15, TimeUnit.SECONDS);
    }
}
