package io.agentstate.ledger;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

/**
 * Writes whole-state snapshots off the hot path: after a batch commits, sessions that crossed a multiple of the snapshot
 * interval are folded from the archive and stored. A lost snapshot costs only a longer replay, never correctness.
 */
@ApplicationScoped
public class Snapshotter {

    private static final Logger LOG = Logger.getLogger(Snapshotter.class);

    private final ArchiveRepository archive;

    Snapshotter(ArchiveRepository archive) {
        this.archive = archive;
    }

    /** Starts snapshots of these heads' versions in the background. */
    public void snapshot(List<SessionHead> due) {
        for (SessionHead head : due) {
            SessionKey session = new SessionKey(head.tenant(), head.sessionId());
            archive.stateAt(session, head.version())
                    .chain(archive::saveSnapshot)
                    .subscribe().with(ok -> {
                    }, failure -> LOG.warnf("Snapshot at version %d skipped: %s", head.version(), failure.getMessage()));
        }
    }
}
