package io.agentstate.ledger;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;

/**
 * Writes whole-state snapshots off the hot path: after a batch commits, sessions that crossed a multiple of the snapshot
 * interval are folded from the archive and stored. A lost snapshot costs only a longer replay, never correctness.
 */
@ApplicationScoped
public class Snapshotter {

    private static final Logger LOG = Logger.getLogger(Snapshotter.class);

    private static final int MAX_RUNNING = 4;

    private final ArchiveRepository archive;
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();

    private final int kept;

    Snapshotter(ArchiveRepository archive, AgentStateConfig config) {
        this.archive = archive;
        this.kept = config.ledger().snapshotsKept();
    }

    /** Starts snapshots of these heads' versions in the background. */
    public void snapshot(List<SessionHead> due) {
        for (SessionHead head : due) {
            // Bounded so a catch-up burst cannot take the ledger's connections; a skipped one is taken next interval.
            if (running.incrementAndGet() > MAX_RUNNING) {
                running.decrementAndGet();
                continue;
            }
            SessionKey session = new SessionKey(head.tenant(), head.sessionId());
            archive.stateAt(session, head.version())
                    .chain(state -> archive.saveSnapshot(state, head.generation(), kept))
                    .eventually(() -> {
                        running.decrementAndGet();
                    })
                    .subscribe().with(ok -> {
                    }, failure -> LOG.warnf("Snapshot at version %d skipped: %s", head.version(), LogSafe.failure(failure)));
        }
    }
}
