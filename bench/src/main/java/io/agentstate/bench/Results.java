package io.agentstate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Everything one benchmark run measured, as written to {@code latest.json}: per scenario its set-up, one value per run
 * of each metric (with median, min and max), and free-form details (CPU, sizes, checks).
 */
public final class Results {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    /** One figure of a scenario, one value per measured run. */
    public static final class Metric {
        public final String variant;
        public final String name;
        public final String unit;
        public final List<Double> runs = new ArrayList<>();
        public Double median;
        public Double min;
        public Double max;

        Metric(String variant, String name, String unit) {
            this.variant = variant;
            this.name = name;
            this.unit = unit;
        }

        synchronized void add(double value) {
            runs.add(value);
            List<Double> sorted = new ArrayList<>(runs);
            Collections.sort(sorted);
            int n = sorted.size();
            median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
            min = sorted.get(0);
            max = sorted.get(n - 1);
        }
    }

    /** The service's memory while a scenario ran and right after it. */
    public record Memory(double heapMaxMiB, double rssMaxMiB, double heapAfterMiB, double rssAfterMiB, int samples) {
    }

    /** One scenario or baseline. */
    public static final class Scenario {
        public final String id;
        public final String title;
        public String status = "measured";
        public String reason;
        public final Map<String, Object> setup = new LinkedHashMap<>();
        public final List<Metric> metrics = new ArrayList<>();
        public final Map<String, Object> details = new LinkedHashMap<>();
        public Memory memory;
        public Double seconds;

        Scenario(String id, String title) {
            this.id = id;
            this.title = title;
        }

        /** Adds one run's value of a metric. */
        public void add(String variant, String name, String unit, double value) {
            metric(variant, name, unit).add(value);
        }

        public synchronized Metric metric(String variant, String name, String unit) {
            for (Metric metric : metrics) {
                if (metric.variant.equals(variant) && metric.name.equals(name)) {
                    return metric;
                }
            }
            Metric metric = new Metric(variant, name, unit);
            metrics.add(metric);
            return metric;
        }

        /** The metric, or null when it was not measured. */
        public Metric find(String variant, String name) {
            for (Metric metric : metrics) {
                if (metric.variant.equals(variant) && metric.name.equals(name)) {
                    return metric;
                }
            }
            return null;
        }

        public void notMeasured(String why) {
            status = "not measured";
            reason = why;
        }

        public boolean measured() {
            return "measured".equals(status) && !metrics.isEmpty();
        }
    }

    public final Map<String, Object> run = new LinkedHashMap<>();
    public final Map<String, Object> machine = new LinkedHashMap<>();
    public final List<Scenario> scenarios = new ArrayList<>();

    /** The scenario with this id, created on first use. */
    public synchronized Scenario scenario(String id, String title) {
        Scenario found = find(id);
        if (found != null) {
            return found;
        }
        Scenario scenario = new Scenario(id, title);
        scenarios.add(scenario);
        return scenario;
    }

    public synchronized Scenario find(String id) {
        for (Scenario scenario : scenarios) {
            if (scenario.id.equals(id)) {
                return scenario;
            }
        }
        return null;
    }

    /** The median of a metric, or null when it was not measured. */
    public Double median(String scenario, String variant, String name) {
        Scenario found = find(scenario);
        Metric metric = found == null ? null : found.find(variant, name);
        return metric == null ? null : metric.median;
    }

    /** Reads a results file back (to regenerate the Markdown without measuring again). */
    @SuppressWarnings("unchecked")
    static Results read(Path file) throws IOException {
        com.fasterxml.jackson.databind.JsonNode root = JSON.readTree(file.toFile());
        Results results = new Results();
        results.run.putAll(JSON.convertValue(root.path("run"), Map.class));
        results.machine.putAll(JSON.convertValue(root.path("machine"), Map.class));
        for (com.fasterxml.jackson.databind.JsonNode node : root.path("scenarios")) {
            Scenario scenario = results.scenario(node.path("id").asText(), node.path("title").asText());
            scenario.status = node.path("status").asText("measured");
            scenario.reason = node.hasNonNull("reason") ? node.get("reason").asText() : null;
            scenario.seconds = node.hasNonNull("seconds") ? node.get("seconds").asDouble() : null;
            scenario.setup.putAll(JSON.convertValue(node.path("setup"), Map.class));
            scenario.details.putAll(JSON.convertValue(node.path("details"), Map.class));
            for (com.fasterxml.jackson.databind.JsonNode metric : node.path("metrics")) {
                Metric read = scenario.metric(metric.path("variant").asText(), metric.path("name").asText(),
                        metric.path("unit").asText());
                metric.path("runs").forEach(value -> read.add(value.asDouble()));
            }
            if (node.hasNonNull("memory")) {
                scenario.memory = JSON.convertValue(node.get("memory"), Memory.class);
            }
        }
        return results;
    }

    void write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        JSON.writeValue(file.toFile(), this);
    }
}
