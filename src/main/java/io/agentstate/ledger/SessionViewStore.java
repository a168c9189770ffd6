package io.agentstate.ledger;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.agentstate.platform.RedisKeys;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Command;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.Request;
import io.vertx.mutiny.redis.client.Response;

/**
 * Session views in Redis: written in place by the ledger after each committed batch, read by the query side, installed
 * whole after a rebuild from PostgreSQL. Every write is a version-checked script, so a view is never partial, never
 * older than it claims, and a repeated write is harmless.
 */
@ApplicationScoped
public class SessionViewStore {

    private static final Logger LOG = Logger.getLogger(SessionViewStore.class);

    private static final String APPLY = script("redis/view-apply.lua");
    private static final String READ = script("redis/view-read.lua");

    private final Redis redis;
    private final AgentStateConfig config;
    private volatile String applySha;
    private volatile String readSha;

    private final boolean cluster;
    private final List<Consumer<Announcement>> localListeners = new CopyOnWriteArrayList<>();

    SessionViewStore(Redis redis, AgentStateConfig config,
            @ConfigProperty(name = "quarkus.redis.client-type", defaultValue = "standalone") String clientType) {
        this.redis = redis;
        this.config = config;
        this.cluster = clientType.equalsIgnoreCase("cluster");
    }

    /**
     * Hears the decisions this instance's ledger takes as soon as their views are written, without the round trip
     * through Redis that carries them to the other instances (a writer waiting here is answered a hop sooner).
     */
    public void hearLocally(Consumer<Announcement> listener) {
        localListeners.add(listener);
    }

    /** The prefix of a change notice that announces a refusal at a version, not a new version. */
    public static final String REFUSED = "r";

    /**
     * One pipeline after a committed batch: the view changes, the decisions writers wait for, the change notices.
     */
    public Uni<Void> publish(BatchDecider.Result result) {
        List<Request> requests = new ArrayList<>();
        String ttl = Long.toString(config.ledger().viewTtl().toMillis());
        List<Request> announcements = new ArrayList<>();
        List<Announcement> local = new ArrayList<>();
        return shas().chain(() -> {
            result.erased().forEach((session, erasure) -> {
                // The session starts again at version 0 of its next generation: the floor rises to it and the view of
                // the erased life goes, so no late write of that life (a paused former owner's) can bring it back.
                requests.add(script(applySha, "erase", session, erasure.generation(), 0, 0, ttl, List.of()));
                // streams following the erased life end ("0" is no version)
                announcements.add(Request.cmd(Command.PUBLISH)
                        .arg(RedisKeys.changes(session.tenant(), session.sessionId())).arg("0"));
            });
            for (BatchDecider.ViewUpdate view : result.views()) {
                requests.add(script(applySha, "apply", view.session(), view.generation(), view.fromVersion(),
                        view.toVersion(), ttl, view.ops()));
                announcements.add(Request.cmd(Command.PUBLISH)
                        .arg(RedisKeys.changes(view.session().tenant(), view.session().sessionId()))
                        .arg(Long.toString(view.toVersion())));
            }
            // a refused write changes no version: its streams are told the version it was refused at ("r<version>")
            Map<SessionKey, Long> refusedAt = new LinkedHashMap<>();
            result.rejections().forEach(row -> refusedAt.merge(new SessionKey(row.tenant(), row.sessionId()),
                    row.afterVersion(), Math::max));
            refusedAt.forEach((session, version) -> announcements.add(Request.cmd(Command.PUBLISH)
                    .arg(RedisKeys.changes(session.tenant(), session.sessionId())).arg(REFUSED + version)));
            for (BatchDecider.Reply reply : result.answers()) {
                Decision decision = reply.decision();
                String json = announcementJson(reply);
                if (reply.sameRequest() && decision.outcome() != Decision.Outcome.DUPLICATE) {
                    // the kept copy is the original request's answer: neither a repeat of it nor another request under
                    // its key may replace it
                    announcements.add(Request.cmd(Command.SET)
                            .arg(RedisKeys.decision(decision.tenant(), decision.sessionId(), decision.eventIds().get(0)))
                            .arg(json).arg("PX").arg(Long.toString(config.ledger().decisionTtl().toMillis())));
                }
                announcements.add(Request.cmd(Command.PUBLISH).arg(RedisKeys.DECISIONS_CHANNEL).arg(json));
                local.add(new Announcement(decision, reply.fingerprint(), reply.sameRequest()));
            }
            if (!cluster) {
                // Two pipelines: announcements go out only once every view script succeeded (a NOSCRIPT reload
                // included), so a writer told of its decision reads its own write.
                return batch(requests).invoke(() -> announceLocally(local)).chain(() -> batch(announcements));
            }
            // Redis Cluster refuses a pipeline across slots: each session's script goes to its own slot, and the
            // announcements follow only once every view is updated, so a writer reads its own write.
            return each(requests).invoke(() -> announceLocally(local)).chain(() -> each(announcements));
        });
    }

    // A listener's failure is its own: it must never fail the batch's publish, which would be retried for ever.
    private void announceLocally(List<Announcement> announcements) {
        for (Announcement announcement : announcements) {
            for (Consumer<Announcement> listener : localListeners) {
                try {
                    listener.accept(announcement);
                } catch (RuntimeException e) {
                    LOG.warnf("A local decision listener failed; the writer falls back to its look-up: %s",
                            LogSafe.failure(e));
                }
            }
        }
    }

    /**
     * A cached view as Redis holds it, not decoded: the meta hash, the message members in version order, the tool-call
     * halves and the scopes, each value the JSON the ledger wrote ({@link ViewCodec}).
     */
    public record RawView(Map<String, String> meta, List<String> messages, Map<String, String> tools,
            Map<String, String> scopes) {

        /** The state this view holds. */
        public SessionState decode() {
            return ViewCodec.decode(meta, messages, tools, scopes);
        }

        /** The tool calls of this view by call id, in request order. */
        public Map<String, SessionState.ToolCall> toolCalls() {
            return ViewCodec.toolCalls(tools);
        }
    }

    /** The cached view of a session, refreshing its time to live; empty when it is not cached. */
    public Uni<Optional<SessionState>> read(SessionKey session) {
        return readRaw(session).map(view -> view.map(RawView::decode));
    }

    /** The same read, undecoded: a reader that only serves the view as JSON need not build the state. */
    public Uni<Optional<RawView>> readRaw(SessionKey session) {
        return shas().chain(() -> {
            Request request = Request.cmd(Command.EVALSHA).arg(readSha).arg(5);
            for (String key : RedisKeys.view(session.tenant(), session.sessionId())) {
                request.arg(key);
            }
            request.arg(RedisKeys.floor(session.tenant(), session.sessionId()));
            request.arg(Long.toString(config.ledger().viewTtl().toMillis()));
            return send(request).map(response -> {
                if (response == null) {
                    return Optional.<RawView> empty();
                }
                return Optional.of(new RawView(map(response.get(0)), list(response.get(1)), map(response.get(2)),
                        map(response.get(3))));
            });
        });
    }

    /**
     * Installs a rebuilt view of the session's life {@code generation} unless a newer one is already cached or committed;
     * true when installed.
     */
    public Uni<Boolean> install(SessionState state, long generation) {
        String ttl = Long.toString(config.ledger().viewTtl().toMillis());
        return shas().chain(() -> send(script(applySha, "install", new SessionKey(state.tenant(), state.sessionId()),
                generation, 0, state.version(), ttl, ViewCodec.install(state))))
                .map(response -> response != null && response.toLong() == 1L);
    }

    /**
     * Installs a view rebuilt from PostgreSQL, then drops it again unless {@code stillCurrent} says the state it holds
     * is still the session's (the reader checks the head once more after the install). True when the rebuilt view is
     * in Redis and current; false when Redis refused it (the ledger is past it) or it was dropped.
     */
    public Uni<Boolean> installRebuilt(SessionState state, long generation, Supplier<Uni<Boolean>> stillCurrent) {
        return install(state, generation)
                .chain(installed -> !installed ? Uni.createFrom().item(false)
                        : stillCurrent.get().chain(current -> current ? Uni.createFrom().item(true)
                                : invalidate(List.of(new SessionKey(state.tenant(), state.sessionId())))
                                        .replaceWith(false)));
    }

    /** Drops views so the next read rebuilds them from PostgreSQL. */
    public Uni<Void> invalidate(Collection<SessionKey> sessions) {
        if (sessions.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Request> requests = new ArrayList<>();
        for (SessionKey session : sessions) {
            requests.add(delete(session));
        }
        return cluster ? each(requests) : batch(requests);
    }

    /**
     * A decision as announced to the writer of one record: {@code fingerprint} is that record's
     * ({@link io.agentstate.event.EventBatch#fingerprint()}; null from a service that predates it) and
     * {@code sameRequest} false when the record reused the key of another request (another body or session).
     */
    public record Announcement(Decision decision, String fingerprint, boolean sameRequest) {
    }

    // The decision's own fields at the top level, so a reader that knows only Decision still reads it.
    private static String announcementJson(BatchDecider.Reply reply) {
        ObjectNode json = ViewCodec.json().valueToTree(reply.decision());
        json.put("fingerprint", reply.fingerprint());
        json.put("sameRequest", reply.sameRequest());
        return json.toString();
    }

    /** A decision as the ledger announces it on the decision channel. */
    public static Announcement announcement(String json) {
        try {
            JsonNode tree = ViewCodec.json().readTree(json);
            if (tree == null || !tree.isObject() || !tree.path("eventIds").isArray() || tree.path("eventIds").isEmpty()) {
                throw new IllegalArgumentException("a decision announcement is an object with event ids");
            }
            return new Announcement(ViewCodec.json().treeToValue(tree, Decision.class),
                    tree.path("fingerprint").isTextual() ? tree.path("fingerprint").asText() : null,
                    tree.path("sameRequest").asBoolean(true));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("unreadable decision announcement: " + e.getOriginalMessage(), e);
        }
    }

    /** A decision kept for waiting writers, if it has not expired. */
    public Uni<Optional<Decision>> decision(SessionKey session, String eventId) {
        return announced(session, eventId).map(kept -> kept.map(Announcement::decision));
    }

    /** A decision kept for waiting writers with the fingerprint of the request it was taken for. */
    public Uni<Optional<Announcement>> announced(SessionKey session, String eventId) {
        return redis.send(Request.cmd(Command.GET).arg(RedisKeys.decision(session.tenant(), session.sessionId(), eventId)))
                .map(response -> response == null ? Optional.<Announcement> empty()
                        : Optional.of(announcement(response.toString())));
    }

    private static Request delete(SessionKey session) {
        Request del = Request.cmd(Command.DEL);
        for (String key : RedisKeys.view(session.tenant(), session.sessionId())) {
            del.arg(key);
        }
        return del;
    }

    private static Request script(String sha, String mode, SessionKey session, long generation, long from, long to,
            String ttl, List<ViewCodec.Op> ops) {
        Request request = Request.cmd(Command.EVALSHA).arg(sha).arg(5);
        for (String key : RedisKeys.view(session.tenant(), session.sessionId())) {
            request.arg(key);
        }
        request.arg(RedisKeys.floor(session.tenant(), session.sessionId()));
        request.arg(mode).arg(Long.toString(generation)).arg(Long.toString(from)).arg(Long.toString(to)).arg(ttl);
        for (ViewCodec.Op op : ops) {
            request.arg(String.valueOf(op.code())).arg(op.field());
            if (op.value() != null) {
                request.arg(op.value());
            }
        }
        return request;
    }

    private Uni<Void> each(List<Request> requests) {
        Uni<Void> chain = Uni.createFrom().voidItem();
        for (int from = 0; from < requests.size(); from += CHUNK) {
            List<Request> chunk = requests.subList(from, Math.min(requests.size(), from + CHUNK));
            chain = chain.chain(() -> {
                List<Uni<Response>> sends = new ArrayList<>();
                chunk.forEach(request -> sends.add(send(request)));
                return Uni.join().all(sends).andFailFast().replaceWithVoid();
            });
        }
        return chain;
    }

    // A poll batch can touch thousands of sessions; the client refuses more waiting commands than its queue holds, so
    // a pipeline goes out in ordered chunks (a refused pipeline would be retried, and refused, for ever).
    private static final int CHUNK = 512;

    private Uni<Void> batch(List<Request> requests) {
        if (requests.size() <= CHUNK) {
            return pipeline(requests);
        }
        Uni<Void> chain = Uni.createFrom().voidItem();
        for (int from = 0; from < requests.size(); from += CHUNK) {
            List<Request> chunk = requests.subList(from, Math.min(requests.size(), from + CHUNK));
            chain = chain.chain(() -> pipeline(chunk));
        }
        return chain;
    }

    private Uni<Void> pipeline(List<Request> requests) {
        if (requests.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return redis.batch(requests)
                .onFailure(SessionViewStore::isNoScript).recoverWithUni(e -> reloadScripts()
                        .chain(() -> redis.batch(requests)))
                .replaceWithVoid();
    }

    private Uni<Response> send(Request request) {
        return redis.send(request)
                .onFailure(SessionViewStore::isNoScript).recoverWithUni(e -> reloadScripts().chain(() -> redis.send(request)));
    }

    private Uni<Void> shas() {
        if (applySha != null && readSha != null) {
            return Uni.createFrom().voidItem();
        }
        return reloadScripts();
    }

    // Redis forgets scripts when it restarts; the next write reloads them (the scripts are idempotent, so a retried
    // pipeline is harmless).
    private Uni<Void> reloadScripts() {
        return redis.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(APPLY))
                .invoke(sha -> applySha = sha.toString())
                .chain(() -> redis.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(READ)))
                .invoke(sha -> readSha = sha.toString())
                .replaceWithVoid();
    }

    private static boolean isNoScript(Throwable failure) {
        return failure.getMessage() != null && failure.getMessage().startsWith("NOSCRIPT");
    }

    private static Map<String, String> map(Response response) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i + 1 < response.size(); i += 2) {
            map.put(response.get(i).toString(), response.get(i + 1).toString());
        }
        return map;
    }

    private static List<String> list(Response response) {
        List<String> list = new ArrayList<>(response.size());
        for (int i = 0; i < response.size(); i++) {
            list.add(response.get(i).toString());
        }
        return list;
    }

    private static String script(String resource) {
        try (InputStream in = SessionViewStore.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("Missing " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
