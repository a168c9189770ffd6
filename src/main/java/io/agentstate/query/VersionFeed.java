package io.agentstate.query;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.ledger.SessionViewStore;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.RedisKeys;
import io.agentstate.platform.RedisSubscription;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;

/**
 * Fans the ledger's per-session version announcements out to every stream of this instance: one Redis pattern
 * subscription for all sessions, a map from session channel to its followers, and per follower only two counters (the
 * last version sent, the highest version known), because versions are dense (I1): a follower that falls behind is sent
 * the versions in between at its own pace, so no client holds a queue and none can slow another.
 */
@ApplicationScoped
public class VersionFeed {

    private static final Logger LOG = Logger.getLogger(VersionFeed.class);

    /** What a follower is sent: a version, or a heartbeat. */
    public sealed interface Signal permits Version, Refused, Heartbeat {
    }

    /** A version of the session, in order, each once. */
    public record Version(long version) implements Signal {
    }

    /**
     * One or more writes were refused while the session was at {@code sessionVersion} (the newest such version since
     * the last one sent): refusals change no version, so they are coalesced, never queued.
     */
    public record Refused(long sessionVersion) implements Signal {
    }

    /** Nothing happened; keeps proxies and half-open connections honest. */
    public record Heartbeat() implements Signal {
    }

    private static final Heartbeat HEARTBEAT = new Heartbeat();

    /** The announcement of an erasure ({@link io.agentstate.ledger.SessionViewStore#publish}): no version is 0. */
    static final long ERASED = 0;

    /** A stream whose client takes nothing (not even a heartbeat) for this long is dropped. */
    static final Duration STALL_LIMIT = Duration.ofSeconds(30);

    private final SessionReader reader;
    private final Vertx vertx;
    private final Duration heartbeat;
    private final int stallBeats;
    private final RedisSubscription subscription;
    private final Map<String, Set<Follower>> followers = new ConcurrentHashMap<>();
    private final AtomicInteger count = new AtomicInteger();
    private volatile long timer = -1;

    VersionFeed(SessionReader reader, Redis redis, Vertx vertx, AgentStateConfig config) {
        Duration heartbeat = config.stream().heartbeat();
        this.reader = reader;
        this.vertx = vertx;
        this.heartbeat = heartbeat;
        this.stallBeats = (int) Math.max(2, STALL_LIMIT.toMillis() / Math.max(1, heartbeat.toMillis()));
        this.subscription = RedisSubscription.patterns("versions", redis, vertx, List.of(RedisKeys.CHANGES_PATTERN),
                this::onAnnouncement, this::catchUp);
    }

    void start(@Observes StartupEvent event) {
        subscription.start();
        timer = vertx.setPeriodic(heartbeat.toMillis(), id -> beat());
    }

    void stop(@Observes ShutdownEvent event) {
        subscription.stop();
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** Open streams on this instance. */
    public int followers() {
        return count.get();
    }

    /** Whether the announcement channel is subscribed right now. */
    public boolean listening() {
        return subscription.subscribed();
    }

    /**
     * The versions of a session: those after {@code lastEventId} when given (a resuming client), else the current one
     * first, then every later one as it is applied. Fails with 404 before anything is sent when the session is unknown.
     */
    public Multi<Signal> follow(SessionKey session, Long lastEventId) {
        return Multi.createFrom().<Signal> publisher(downstream -> {
            Follower follower = new Follower(session, downstream);
            add(follower);
            downstream.onSubscribe(follower);
            // registered before the current version is read, so nothing announced meanwhile is missed
            // a resuming client below a fork's first version resumes from there: the versions before it are the
            // source's, and this session never had them
            reader.current(session)
                    .chain(state -> lastEventId == null || lastEventId >= state.version()
                            ? Uni.createFrom().item(new long[] { state.version(), lastEventId == null ? -1 : lastEventId })
                            : reader.firstVersion(session).map(first -> new long[] { state.version(),
                                    Math.max(lastEventId, first - 1) }))
                    .subscribe().with(start -> follower.begin(start[0], lastEventId == null ? null : start[1]),
                            follower::fail);
        });
    }

    private void add(Follower follower) {
        // inside compute, so a concurrent remove() cannot drop the set between finding it and adding to it
        followers.compute(follower.channel, (k, set) -> {
            Set<Follower> current = set != null ? set : ConcurrentHashMap.newKeySet();
            current.add(follower);
            return current;
        });
        count.incrementAndGet();
    }

    private void remove(Follower follower) {
        followers.computeIfPresent(follower.channel, (k, set) -> {
            set.remove(follower);
            return set.isEmpty() ? null : set;
        });
        count.decrementAndGet();
    }

    private void onAnnouncement(String channel, String payload) {
        Set<Follower> set = followers.get(channel);
        if (set == null) {
            return;
        }
        boolean refusal = payload.startsWith(SessionViewStore.REFUSED);
        long version;
        try {
            version = Long.parseLong(refusal ? payload.substring(SessionViewStore.REFUSED.length()) : payload);
        } catch (NumberFormatException e) {
            LOG.debugf("Unreadable version announcement ignored: %s", e.getMessage());
            return;
        }
        if (refusal) {
            set.forEach(follower -> follower.refused(version));
        } else {
            set.forEach(follower -> follower.announce(version));
        }
    }

    // After a (re)subscription anything announced while the channel was down is lost: read each followed session's
    // version once and hand it to its followers, who fill the gap from their own counters.
    private void catchUp() {
        for (Set<Follower> set : followers.values()) {
            // what each follower knew before the read: announcements keep coming while it is under way
            Map<Follower, Long> knownBefore = new HashMap<>();
            set.forEach(follower -> knownBefore.put(follower, follower.known.get()));
            set.stream().findAny().ifPresent(any -> reader.current(any.session)
                    .map(SessionState::version)
                    .subscribe().with(version -> set.forEach(follower -> follower.observe(version,
                            knownBefore.getOrDefault(follower, 0L))), failure -> {
                                if (failure instanceof ProblemException problem && problem.problem().status() == 404) {
                                    // erased while the channel was down
                                    set.forEach(follower -> follower.announce(ERASED));
                                } else {
                                    LOG.debugf("Stream catch-up skipped a session: %s", failure.getMessage());
                                }
                            }));
        }
    }

    private void beat() {
        for (Set<Follower> set : followers.values()) {
            set.forEach(Follower::beat);
        }
    }

    /** One stream: a subscription that emits on demand from its counters. */
    private final class Follower implements Flow.Subscription {
        private final SessionKey session;
        private final String channel;
        private final Flow.Subscriber<? super Signal> downstream;
        private final AtomicLong requested = new AtomicLong();
        private final AtomicInteger wip = new AtomicInteger();
        private final AtomicLong known = new AtomicLong();
        // refusals announced (a count, so repeats at one version are each noticed) and the newest version one met;
        // refusalsSent only touched inside drain()
        private final AtomicLong refusals = new AtomicLong();
        private final AtomicLong refusedAt = new AtomicLong(-1);
        private long refusalsSent;
        private final AtomicBoolean done = new AtomicBoolean();
        private volatile boolean started;
        private volatile boolean heartbeatDue;
        // only touched by the heartbeat timer
        private int stalledBeats;
        private volatile boolean ending;
        private volatile Throwable failure;
        // only touched inside drain() (sent also by begin(), before it sets started)
        private long sent;
        private boolean ended;

        Follower(SessionKey session, Flow.Subscriber<? super Signal> downstream) {
            this.session = session;
            this.channel = RedisKeys.changes(session.tenant(), session.sessionId());
            this.downstream = downstream;
        }

        void begin(long current, Long lastEventId) {
            // a Last-Event-ID beyond the current version comes from an older life of the session: start afresh
            long after = lastEventId == null || lastEventId > current ? current - 1 : lastEventId;
            known.accumulateAndGet(current, Math::max);
            sent = after;
            // nothing to send yet (resumed at the current version): a comment at once still opens the stream
            heartbeatDue = after >= current;
            started = true;
            drain();
        }

        void fail(Throwable failure) {
            end(failure);
        }

        void announce(long version) {
            if (version == ERASED) {
                // the life this stream follows is gone; the client's reconnect answers 404, or starts the next life
                finish();
                return;
            }
            known.accumulateAndGet(version, Math::max);
            drain();
        }

        void refused(long version) {
            refusedAt.accumulateAndGet(version, Math::max);
            refusals.incrementAndGet();
            drain();
        }

        // A version read from the session itself (after a resubscription): below what this stream knew before the read,
        // the session was erased meanwhile and this is its next life, which the stream does not follow. (A next life
        // already past that version is not told apart: versions carry no generation yet.)
        void observe(long current, long knownBefore) {
            announce(current < knownBefore ? ERASED : current);
        }

        void beat() {
            if (!started || done.get()) {
                return;
            }
            if (heartbeatDue) {
                // the previous heartbeat is still unsent: the client took nothing for a whole interval; past the stall
                // limit drop it (it resumes with Last-Event-ID) rather than keep its connection around
                if (++stalledBeats >= stallBeats) {
                    LOG.debugf("Dropping a stream that took nothing for %s", STALL_LIMIT);
                    finish();
                }
                return;
            }
            stalledBeats = 0;
            heartbeatDue = true;
            drain();
        }

        private void finish() {
            end(null);
        }

        // the end is signalled from drain(), so it never overlaps an onNext on another thread
        private void end(Throwable cause) {
            if (done.compareAndSet(false, true)) {
                remove(this);
                failure = cause;
                ending = true;
                drain();
            }
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                fail(new IllegalArgumentException("request must be positive, not " + n));
                return;
            }
            requested.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            drain();
        }

        @Override
        public void cancel() {
            // the client went away: routine, so nothing is logged above DEBUG
            if (done.compareAndSet(false, true)) {
                remove(this);
            }
        }

        private void drain() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            int missed = 1;
            do {
                if (ending) {
                    if (!ended) {
                        ended = true;
                        if (failure != null) {
                            downstream.onError(failure);
                        } else {
                            downstream.onComplete();
                        }
                    }
                }
                while (started && !done.get() && requested.get() > 0) {
                    Signal next;
                    long refused = refusals.get();
                    if (sent < known.get()) {
                        // any write proves the client is reading and keeps proxies awake: no heartbeat needed
                        heartbeatDue = false;
                        sent++;
                        next = new Version(sent);
                    } else if (refused > refusalsSent) {
                        // after the versions it may follow, so a client reading the timeline from there finds it; the
                        // refusals since the last notice are one notice
                        heartbeatDue = false;
                        refusalsSent = refused;
                        next = new Refused(refusedAt.get());
                    } else if (heartbeatDue) {
                        heartbeatDue = false;
                        next = HEARTBEAT;
                    } else {
                        break;
                    }
                    requested.decrementAndGet();
                    downstream.onNext(next);
                }
                missed = wip.addAndGet(-missed);
            } while (missed != 0);
        }
    }
}
