package io.agentstate.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Keeps the benchmark harness from rotting: runs it in quick mode (tiny counts, our own scenarios, no peers) against the
 * packaged service and checks that every scenario produced a result. No figure is asserted: tests never judge speed.
 */
class BenchSmokeIT {

    @Test
    void shouldProduceAResultForEveryScenarioInQuickMode() throws Exception {
        Path out = Files.createDirectories(Path.of("target", "bench-smoke"));
        BenchOptions options = BenchOptions.of("quick", "ours", Path.of("").toAbsolutePath(), out.resolve("latest.json"),
                out.resolve("benchmarks.md"), out);

        BenchMain.run(options);

        JsonNode results = new ObjectMapper().readTree(out.resolve("latest.json").toFile());
        for (String id : BenchOptions.OURS) {
            JsonNode scenario = find(results, id);
            assertThat(scenario).as("scenario %s", id).isNotNull();
            // every scenario of ours must produce figures: "not measured" would hide a broken one
            assertThat(scenario.path("status").asText()).as("status of %s: %s", id, scenario.path("reason").asText())
                    .isEqualTo("measured");
            assertThat(scenario.path("metrics")).as("metrics of %s", id).isNotEmpty();
            scenario.path("metrics").forEach(metric -> assertThat(metric.path("runs")).as("runs of %s %s", id,
                    metric.path("variant").asText()).isNotEmpty());
        }
        assertThat(Files.readString(out.resolve("benchmarks.md"))).contains(Report.BEGIN, Report.END, "Ingest");
    }

    private static JsonNode find(JsonNode results, String id) {
        for (JsonNode scenario : results.path("scenarios")) {
            if (scenario.path("id").asText().equals(id)) {
                return scenario;
            }
        }
        return null;
    }
}
