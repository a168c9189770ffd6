package io.agentstate.bench;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.testsupport.LabelledSet;
import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;

/**
 * Semantic memory (issue 15), on both storage paths in one run: the service as shipped (pgvector, which the local
 * stack builds) and a second replica beside it on the same servers with {@code agent-state.memory.vector-store=exact}
 * (the exact cosine scan in the service). Measures the labelled set's recall@1, recall@5 and MRR; search latency at
 * growing numbers of facts per user (closed loop, one client; the query's embedding is part of each search); the
 * projector's embedding rate; and the ledger's ingest rate with the projector idle and while it embeds a backlog.
 */
final class SemanticMemoryScenario {

    static final String ID = "semantic-memory";
    private static final String BATCH = "application/cloudevents-batch+json";

    private static final String[] ACTIONS = { "Plays tennis", "Goes swimming", "Visits the library",
            "Bakes sourdough bread", "Practises the piano", "Walks the dog", "Calls her mother",
            "Reads science fiction", "Cycles to work", "Meets a mentor", "Studies Japanese", "Cooks Thai curry",
            "Waters the garden", "Writes in a journal", "Repairs old radios", "Watches football", "Paints watercolours",
            "Runs a five kilometre loop", "Volunteers at a shelter", "Plays chess online" };
    private static final String[] TIMES = { "on Monday mornings", "on Tuesday evenings", "every Wednesday",
            "on Thursday nights", "on Friday afternoons", "on Saturday mornings", "on Sunday evenings",
            "twice a month", "once a week", "after lunch" };
    private static final String[] COMPANY = { "with a close friend", "alone", "with her brother", "with colleagues",
            "with the neighbours", "with a local club", "with his partner", "with two cousins", "with the children",
            "with an old classmate" };
    private static final String[] PLACES = { "in Berlin", "in Oslo", "in Lyon", "in Porto", "in Kyoto", "in Austin",
            "in Leeds", "in Turin", "in Gdansk", "in Quebec" };

    private final Bench bench;
    private final Results.Scenario result;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final boolean quick;

    SemanticMemoryScenario(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Semantic memory: recall on the labelled set, search latency by "
                + "facts per user on both storage paths, ingest with the projector on");
        this.quick = "quick".equals(bench.options.mode());
    }

    void run() throws Exception {
        List<Integer> sizes = quick ? List.of(100, 300) : List.of(100, 1_000, 10_000);
        int searches = quick ? 30 : 300;
        String run = Bench.prefix("m");
        result.setup.put("model", "in-process all-MiniLM-L6-v2 (quantised), 384 dimensions, the shipped default");
        result.setup.put("paths", "pgvector (the shipped service; the local stack builds pgvector 0.8.0) and exact "
                + "(a second replica on the same servers with agent-state.memory.vector-store=exact)");
        result.setup.put("labelledSet", "src/test/resources/" + LabelledSet.RESOURCE + ": each query against its own "
                + "user's facts, limit 5");
        result.setup.put("factsPerUser", sizes);
        result.setup.put("searchesPerSize", searches);
        result.setup.put("search", "GET /users/{u}/memories?query=...&limit=5, closed loop, one client; the latency "
                + "includes embedding the query in the service");
        result.setup.put("tenantSearch", "GET /memories?query=...&limit=5 over every fact of the tenant (HNSW on "
                + "pgvector, a scan on exact)");
        result.setup.put("latencyFacts", "synthetic activity facts (20 × 10 × 10 × 10 combinations), recorded with "
                + "distinct: true so that none is hidden as a near-duplicate and each size searches all of them");
        result.setup.put("ingest", "the ingest scenario's burst (" + bench.sizes().ingestEvents() + " 1 KB "
                + "messages), once with the projector idle and once right after recording the latency facts, "
                + "while it embeds them");

        LabelledSet set = LabelledSet.load(run);
        recordLabelledSet(set);
        awaitIndexed(bench.baseUri(), set.users(), Duration.ofMinutes(5));
        quality("labelled set, pgvector", bench.baseUri(), set);

        IngestScenario ingest = new IngestScenario(bench, result);
        BenchOptions.Sizes ingestSizes = bench.sizes();
        IngestScenario.Run idle = ingest.once(Bench.prefix("mi"), ingestSizes.ingestSessions(),
                ingestSizes.ingestEventsPerSession(), false);
        result.add("ingest, projector idle", "events/s", "events/s", idle.eventsPerSecond());

        Map<Integer, String> users = new LinkedHashMap<>();
        long recordStart = System.nanoTime();
        for (int size : sizes) {
            String user = run + "-n" + size;
            users.put(size, user);
            recordFacts(user, size);
        }
        long recorded = System.nanoTime();
        int total = sizes.stream().mapToInt(Integer::intValue).sum();
        IngestScenario.Run busy = ingest.once(Bench.prefix("mb"), ingestSizes.ingestSessions(),
                ingestSizes.ingestEventsPerSession(), false);
        long backlogAfter = unindexed(bench.baseUri(), null);
        result.add("ingest, projector embedding", "events/s", "events/s", busy.eventsPerSecond());
        result.add("ingest, projector embedding", "facts still to embed when the burst ended", "facts", backlogAfter);
        result.add("ingest, projector embedding", "× idle", "ratio", busy.eventsPerSecond() / idle.eventsPerSecond());
        Bench.log("semantic-memory: ingest %.0f events/s idle, %.0f events/s while embedding (%d facts left after)",
                idle.eventsPerSecond(), busy.eventsPerSecond(), backlogAfter);

        awaitIndexed(bench.baseUri(), new ArrayList<>(users.values()), Duration.ofMinutes(quick ? 5 : 20));
        double embedSeconds = (System.nanoTime() - recordStart) / 1e9;
        // from the first fact sent until the last is embedded: recording and the ingest burst overlap it
        result.add("projector", "facts embedded/s", "facts/s", total / embedSeconds);
        result.details.put("recordSeconds", CpuProbe.round((recorded - recordStart) / 1e9));
        result.details.put("embedSeconds", CpuProbe.round(embedSeconds));
        Bench.log("semantic-memory: %d facts recorded and embedded in %.1f s", total, embedSeconds);

        List<String> queries = set.queries().stream().map(LabelledSet.Query::text).toList();
        latency("pgvector", bench.baseUri(), users, queries, searches);

        List<String> properties = new ArrayList<>(bench.serviceProperties);
        properties.add("-Dagent-state.memory.vector-store=exact");
        ServiceProcess exact = ServiceProcess.start(bench.stack, Ports.free(),
                bench.options.workDir().resolve("service-exact.log"), properties.toArray(String[]::new));
        try {
            quality("labelled set, exact", exact.baseUri(), set);
            latency("exact", exact.baseUri(), users, queries, searches);
        } finally {
            exact.close();
        }
    }

    // --- the labelled set ---

    private void recordLabelledSet(LabelledSet set) throws Exception {
        for (String userId : set.users()) {
            ArrayNode batch = set.batch(userId, "agent://bench");
            post("/sessions/" + userId + "-facts/events", batch, id(batch));
        }
    }

    private void quality(String variant, String base, LabelledSet set) throws Exception {
        LabelledSet.Score score = set.score();
        for (LabelledSet.Query query : set.queries()) {
            List<String> ranked = new ArrayList<>();
            search(base, "/users/" + query.userId() + "/memories", query.text(), 5).body
                    .forEach(m -> ranked.add(m.get("memoryId").asText()));
            score.rank(query, ranked);
        }
        result.add(variant, "queries", "count", score.queries());
        result.add(variant, "recall@1", "ratio", score.recallAt1());
        result.add(variant, "recall@5", "ratio", score.recallAt5());
        result.add(variant, "MRR", "ratio", score.mrr());
        result.details.put("missed, " + variant, score.missed());
        Bench.log("semantic-memory %s: %s", variant, score);
    }

    // --- latency ---

    private void latency(String path, String base, Map<Integer, String> users, List<String> queries, int searches)
            throws Exception {
        int total = 0;
        for (Map.Entry<Integer, String> user : users.entrySet()) {
            total += user.getKey();
            measureSearches("search, " + user.getKey() + " facts/user, " + path, base,
                    "/users/" + user.getValue() + "/memories", queries, searches);
        }
        measureSearches("tenant-wide search, " + total + "+ facts, " + path, base, "/memories", queries, searches);
    }

    private void measureSearches(String variant, String base, String route, List<String> queries, int searches)
            throws Exception {
        // warm the route (the first search of a path embeds through a cold model and plans the query)
        for (int i = 0; i < 5; i++) {
            search(base, route, queries.get(i % queries.size()), 5);
        }
        Samples latency = new Samples();
        long start = System.nanoTime();
        for (int i = 0; i < searches; i++) {
            long begin = System.nanoTime();
            Answer answer = search(base, route, queries.get(i % queries.size()), 5);
            latency.add(System.nanoTime() - begin);
            if (answer.body.size() == 0) {
                throw new IllegalStateException(variant + ": a search found nothing");
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        result.add(variant, "searches/s", "searches/s", searches / seconds);
        result.add(variant, "latency p50", "ms", latency.percentileMillis(50));
        result.add(variant, "latency p99", "ms", latency.percentileMillis(99));
        Bench.log("semantic-memory %s: p50 %.1f ms, p99 %.1f ms, %.0f searches/s", variant,
                latency.percentileMillis(50), latency.percentileMillis(99), searches / seconds);
    }

    // --- facts for the latency sets ---

    static String syntheticFact(int i) {
        return ACTIONS[i % ACTIONS.length] + " " + TIMES[(i / ACTIONS.length) % TIMES.length] + " "
                + COMPANY[(i / (ACTIONS.length * TIMES.length)) % COMPANY.length] + " "
                + PLACES[(i / (ACTIONS.length * TIMES.length * COMPANY.length)) % PLACES.length];
    }

    private void recordFacts(String user, int count) throws Exception {
        for (int from = 0; from < count; from += 100) {
            ArrayNode batch = JsonNodeFactory.instance.arrayNode();
            for (int i = from; i < Math.min(count, from + 100); i++) {
                ObjectNode event = batch.addObject().put("id", user + "-f" + i).put("source", "agent://bench")
                        .put("type", "agentstate.memory.recorded");
                event.putObject("data").put("userId", user).put("fact", syntheticFact(i)).put("distinct", true);
            }
            // a session per thousand facts: the provenance of each fact
            post("/sessions/" + user + "-" + (from / 1_000) + "/events", batch, id(batch));
        }
    }

    // --- HTTP ---

    private record Answer(JsonNode body, long unindexed) {
    }

    private HttpRequest.Builder request(String base, String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(java.net.URI.create(base + path))
                .timeout(Duration.ofSeconds(60));
        if (bench.credentials.apiKey() != null) {
            request.header(Credentials.API_KEY_HEADER, bench.credentials.apiKey());
        }
        return request;
    }

    private static String id(ArrayNode batch) {
        return batch.get(0).get("id").asText() + "-batch";
    }

    private void post(String path, ArrayNode batch, String key) throws Exception {
        HttpResponse<String> response = http.send(request(bench.baseUri(), path).header("Content-Type", BATCH)
                .header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(batch.toString(), StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 202) {
            // not decided within the wait budget: poll the decision, so the facts exist before anything counts them
            java.net.URI pointer = java.net.URI.create(response.headers().firstValue("Location")
                    .orElseThrow(() -> new IOException("POST " + path + " answered 202 without a Location")));
            String location = pointer.isAbsolute() ? pointer.getRawPath() : pointer.toString();
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (true) {
                HttpResponse<String> decision = http.send(request(bench.baseUri(), location).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (decision.statusCode() == 200) {
                    break;
                }
                if (decision.statusCode() != 404 || System.nanoTime() > deadline) {
                    throw new IOException("the decision on " + location + " answered " + decision.statusCode());
                }
                Thread.sleep(50);
            }
        } else if (response.statusCode() != 201 && response.statusCode() != 200) {
            throw new IOException("POST " + path + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    private Answer search(String base, String route, String query, int limit) throws Exception {
        HttpResponse<String> response = http.send(request(base, route + "?limit=" + limit + "&query="
                + URLEncoder.encode(query, StandardCharsets.UTF_8)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + route + " answered " + response.statusCode() + ": " + response.body());
        }
        long unindexed = Long.parseLong(response.headers().firstValue("Memory-Unindexed").orElse("0"));
        return new Answer(Results.JSON.readTree(response.body()), unindexed);
    }

    /** Facts not embedded yet: one user's, or (null) the tenant's. */
    private long unindexed(String base, String user) throws Exception {
        return search(base, user == null ? "/memories" : "/users/" + user + "/memories", "backlog", 1).unindexed;
    }

    private void awaitIndexed(String base, List<String> users, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (String user : users) {
            long left;
            while ((left = unindexed(base, user)) > 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(left + " facts of " + user + " still not embedded after "
                            + timeout.toSeconds() + " s");
                }
                Thread.sleep(500);
            }
        }
    }
}
