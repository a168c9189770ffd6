package io.agentstate.bench;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Scenario 6, chat overhead: {@code POST /sessions/{id}/chat} turns, one at a time, against a model stub that answers
 * at once; overhead is a turn's latency minus the time the stub spent answering the model calls of that turn. Measured
 * only when the packaged service has the chat endpoint (its OpenAPI document lists it).
 */
final class ChatScenario {

    static final String ID = "chat";
    private static final int TURNS_PER_SESSION = 10;

    private final Bench bench;
    private final ModelStub model;
    private final Results.Scenario result;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    ChatScenario(Bench bench, ModelStub model) {
        this.bench = bench;
        this.model = model;
        this.result = bench.results.scenario(ID, "Chat overhead: a turn's latency minus the model's");
    }

    void run() throws Exception {
        if (!endpointExists()) {
            result.notMeasured("not yet measured: the packaged service has no POST /sessions/{id}/chat (the chat "
                    + "endpoint lands in issue 4)");
            Bench.log("chat: not measured, no chat endpoint in the packaged service");
            return;
        }
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("model", "OpenAI-compatible stub on loopback answering at once (" + model.baseUrl() + ")");
        result.setup.put("concurrency", 1);
        result.setup.put("load", "closed loop, one client: the next turn when the previous one answered");
        result.setup.put("turnsPerSession", TURNS_PER_SESSION);
        result.setup.put("secondsPerRun", sizes.writeSeconds());
        result.setup.put("overhead", "turn latency (client) - time inside the stub for the turn's model calls");
        turns(Bench.prefix("cw"), 1);
        for (int r = 1; r <= sizes.runs(); r++) {
            Samples latency = new Samples();
            Samples overhead = new Samples();
            long[] counts = turns(Bench.prefix("c"), sizes.writeSeconds(), latency, overhead);
            Samples all = Samples.merge(java.util.List.of(latency));
            Samples over = Samples.merge(java.util.List.of(overhead));
            result.add("turn, c=1", "turns/s", "turns/s", counts[0] / (double) sizes.writeSeconds());
            result.add("turn, c=1", "latency p50", "ms", all.percentileMillis(50));
            result.add("turn, c=1", "latency p99", "ms", all.percentileMillis(99));
            result.add("turn, c=1", "overhead p50", "ms", over.percentileMillis(50));
            result.add("turn, c=1", "overhead p99", "ms", over.percentileMillis(99));
            result.add("turn, c=1", "model calls per turn", "calls", counts[1] / (double) Math.max(1, counts[0]));
            result.add("turn, c=1", "failed turns", "count", counts[2]);
            Bench.log("chat run %d: %d turns, latency p50 %.1f ms p99 %.1f ms, overhead p50 %.1f ms p99 %.1f ms", r,
                    counts[0], all.percentileMillis(50), all.percentileMillis(99), over.percentileMillis(50),
                    over.percentileMillis(99));
        }
    }

    private long[] turns(String prefix, int seconds) throws Exception {
        return turns(prefix, seconds, new Samples(), new Samples());
    }

    /** Sequential turns for some seconds; returns {turns, model calls, failures}. */
    private long[] turns(String prefix, int seconds, Samples latency, Samples overhead) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        long turns = 0;
        long calls = 0;
        long failures = 0;
        for (int s = 0; System.nanoTime() < end; s++) {
            String session = prefix + "-s" + s;
            for (int t = 1; t <= TURNS_PER_SESSION && System.nanoTime() < end; t++) {
                long callsBefore = model.calls();
                long modelBefore = model.nanos();
                long begin = System.nanoTime();
                HttpResponse<String> response = http.send(bench.request("/sessions/" + session + "/chat")
                        .header("Content-Type", "application/json")
                        .header("Idempotency-Key", session + "-turn" + t)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"message\":\"Turn " + t + ": "
                                + Records.content(t, 200) + "\"}", StandardCharsets.UTF_8))
                        .build(), HttpResponse.BodyHandlers.ofString());
                long took = System.nanoTime() - begin;
                if (response.statusCode() / 100 != 2) {
                    failures++;
                    if (failures == 1) {
                        Bench.log("chat turn failed: %d %s", response.statusCode(), response.body());
                    }
                    continue;
                }
                turns++;
                calls += model.calls() - callsBefore;
                latency.add(took);
                overhead.add(took - (model.nanos() - modelBefore));
            }
        }
        return new long[] { turns, calls, failures };
    }

    private boolean endpointExists() {
        try {
            HttpResponse<String> response = http.send(bench.request("/q/openapi?format=json").build(), HttpResponse.BodyHandlers.ofString());
            JsonNode paths = Results.JSON.readTree(response.body()).path("paths");
            for (java.util.Iterator<String> names = paths.fieldNames(); names.hasNext();) {
                String path = names.next();
                if (path.matches("/sessions/\\{[^}]+}/chat") && paths.get(path).has("post")) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            Bench.log("chat: OpenAPI document not readable: %s", e.getMessage());
            return false;
        }
    }
}
