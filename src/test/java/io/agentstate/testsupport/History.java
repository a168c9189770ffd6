package io.agentstate.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The history checker of the system tests: what writers sent, per session and in the order they sent it, checked
 * against what the service recorded (I1, I2, I8).
 *
 * <p>
 * A write is <em>acknowledged</em> when the writer was told it is on the log (a Kafka producer's ack, a REST 201 or 202)
 * and <em>indeterminate</em> when it got an error or no answer: the service may or may not have published it. So the
 * check is: every session's timeline is versions 1..n, all accepted, no event id twice, its ids are the writer's ids in
 * the writer's order with only indeterminate ones left out, and every acknowledged write is there.
 */
public final class History {

    /** One write of one session. */
    public record Write(String eventId, boolean acknowledged) {
    }

    /** What the service recorded for one session, as the check read it. */
    public record Recorded(List<String> eventIds) {
        public int version() {
            return eventIds.size();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, List<Write>> writes = new LinkedHashMap<>();

    /** Records one write; each session's writes must be recorded in the order they were produced. */
    public synchronized void record(String sessionId, String eventId, boolean acknowledged) {
        writes.computeIfAbsent(sessionId, s -> new ArrayList<>()).add(new Write(eventId, acknowledged));
    }

    public synchronized Set<String> sessions() {
        return Set.copyOf(writes.keySet());
    }

    public synchronized List<Write> writes(String sessionId) {
        return List.copyOf(writes.getOrDefault(sessionId, List.of()));
    }

    /** Acknowledged writes over all sessions. */
    public synchronized long acknowledged() {
        return writes.values().stream().flatMap(Collection::stream).filter(Write::acknowledged).count();
    }

    /** Writes that got no acknowledgement over all sessions. */
    public synchronized long indeterminate() {
        return writes.values().stream().flatMap(Collection::stream).filter(w -> !w.acknowledged()).count();
    }

    /** The last acknowledged write of a session: once it is applied, every acknowledged write before it is too (I1). */
    public synchronized String lastAcknowledged(String sessionId) {
        List<Write> session = writes.getOrDefault(sessionId, List.of());
        for (int i = session.size() - 1; i >= 0; i--) {
            if (session.get(i).acknowledged()) {
                return session.get(i).eventId();
            }
        }
        return null;
    }

    /** Whether the service has applied every session's last acknowledged write (its decision is "accepted"). */
    public boolean allAcknowledgedApplied(ServiceProcess service) throws InterruptedException {
        try {
            return allApplied(service);
        } catch (IOException e) {
            // the service is still recovering; the caller polls again
            return false;
        }
    }

    /** Whether the service has decided one event and accepted it; false while it cannot say. */
    public static boolean applied(ServiceProcess service, String session, String eventId) throws InterruptedException {
        try {
            HttpResponse<String> decision = service.get("/sessions/" + session + "/events/" + eventId);
            // the decision endpoint spells outcomes in capitals, the timeline in lower case
            return decision.statusCode() == 200
                    && "accepted".equalsIgnoreCase(JSON.readTree(decision.body()).path("outcome").asText());
        } catch (IOException e) {
            return false;
        }
    }

    private boolean allApplied(ServiceProcess service) throws IOException, InterruptedException {
        for (String session : sessions()) {
            String last = lastAcknowledged(session);
            if (last == null) {
                continue;
            }
            if (!applied(service, session, last)) {
                return false;
            }
        }
        return true;
    }

    /** Checks every session's timeline against its writes and returns what was recorded, per session. */
    public Map<String, Recorded> check(ServiceProcess service) throws IOException, InterruptedException {
        Map<String, Recorded> recorded = new LinkedHashMap<>();
        for (String session : sessions()) {
            recorded.put(session, check(service, session));
        }
        return recorded;
    }

    private Recorded check(ServiceProcess service, String session) throws IOException, InterruptedException {
        List<JsonNode> entries = timeline(service, session);
        List<String> ids = new ArrayList<>();
        long expectedVersion = 1;
        for (JsonNode entry : entries) {
            assertThat(entry.path("outcome").asText()).as("outcome of %s in session %s", entry.path("event")
                    .path("id"), session).isEqualTo("accepted");
            assertThat(entry.path("version").asLong()).as("version in session %s", session).isEqualTo(expectedVersion++);
            ids.add(entry.path("event").path("id").asText());
        }
        assertThat(ids).as("event ids of session %s", session).doesNotHaveDuplicates();
        List<Write> sent = writes(session);
        // walk the writes in production order: each recorded id must be the next write, skipping only indeterminate ones
        int next = 0;
        for (String id : ids) {
            while (next < sent.size() && !sent.get(next).eventId().equals(id)) {
                assertThat(sent.get(next).acknowledged())
                        .as("session %s: acknowledged write %s missing before %s", session, sent.get(next).eventId(), id)
                        .isFalse();
                next++;
            }
            assertThat(next).as("session %s: %s recorded but never written, or out of order", session, id)
                    .isLessThan(sent.size());
            next++;
        }
        for (; next < sent.size(); next++) {
            assertThat(sent.get(next).acknowledged())
                    .as("session %s: acknowledged write %s missing at the end", session, sent.get(next).eventId())
                    .isFalse();
        }
        return new Recorded(ids);
    }

    /** Asserts that every session's current view is at the version its timeline reached. */
    public void checkViews(ServiceProcess service, Map<String, Recorded> recorded)
            throws IOException, InterruptedException {
        for (Map.Entry<String, Recorded> session : recorded.entrySet()) {
            HttpResponse<String> view = service.get("/sessions/" + session.getKey());
            assertThat(view.statusCode()).as("GET session %s", session.getKey()).isEqualTo(200);
            assertThat(JSON.readTree(view.body()).path("version").asLong()).as("view version of %s", session.getKey())
                    .isEqualTo(session.getValue().version());
        }
    }

    /** Asserts that none of this history's sessions has a dead letter (valid input is never dead-lettered, I8). */
    public void checkNoDeadLetters(String bootstrapServers) {
        Set<String> sessions = new HashSet<>(sessions());
        List<DeadLetterLog.DeadLetter> ours = DeadLetterLog.read(bootstrapServers).stream()
                .filter(letter -> sessions.contains(letter.key())).toList();
        assertThat(ours).as("dead letters of valid sessions").isEmpty();
    }

    /** Every timeline entry of a session, following the pages. */
    public static List<JsonNode> timeline(ServiceProcess service, String session) throws IOException, InterruptedException {
        List<JsonNode> entries = new ArrayList<>();
        String query = "limit=500";
        while (true) {
            HttpResponse<String> response = service.get("/sessions/" + session + "/events?" + query);
            assertThat(response.statusCode()).as("timeline of %s: %s", session, response.body()).isEqualTo(200);
            JsonNode page = JSON.readTree(response.body());
            page.path("entries").forEach(entries::add);
            JsonNode next = page.path("next");
            if (next.isMissingNode() || next.isNull()) {
                return entries;
            }
            query = "limit=500&cursor=" + java.net.URLEncoder.encode(next.asText(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
