package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The LangGraph.js peer: installs {@code bench/peers/langgraph} with npm when needed and runs its script, which persists
 * one {@code PostgresSaver} checkpoint per agent step (the thread's growing message list) at each concurrency level
 * against the same PostgreSQL, in a schema of its own, and prints its figures as JSON.
 */
final class LangGraphPeer {

    static final String ID = "peer-langgraph";

    private final Bench bench;
    private final Results.Scenario result;
    private final Path dir;

    LangGraphPeer(Bench bench) {
        this.bench = bench;
        this.result = bench.results.scenario(ID, "Peer: LangGraph.js PostgresSaver, one checkpoint per step");
        this.dir = bench.options.root().resolve("bench/peers/langgraph");
    }

    void run() throws Exception {
        BenchOptions.Sizes sizes = bench.sizes();
        result.setup.put("concurrency", sizes.stepConcurrency());
        result.setup.put("secondsPerLevel", sizes.stepSeconds());
        result.setup.put("stepsPerThread", sizes.stepsPerSession());
        result.setup.put("messageBytes", sizes.eventBytes());
        result.setup.put("what", "PostgresSaver.put per step with channel_values.messages = the thread's whole message "
                + "list (HumanMessage/AIMessage alternating), pg.Pool of max concurrency + 2, schema langgraph; a step "
                + "ends when put() resolves (committed)");
        String install = install();
        if (install != null) {
            result.notMeasured(install);
            Bench.log("LangGraph peer not measured: %s", install);
            return;
        }
        String url = bench.stack.postgresJdbcUrl().replace("jdbc:postgresql://", "postgresql://"
                + bench.stack.postgresUser() + ":" + bench.stack.postgresPassword() + "@");
        for (int r = 1; r <= sizes.runs(); r++) {
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("url", url);
            config.put("schema", "langgraph");
            config.put("concurrency", sizes.stepConcurrency());
            config.put("seconds", sizes.stepSeconds());
            config.put("stepsPerThread", sizes.stepsPerSession());
            config.put("messageBytes", sizes.eventBytes());
            config.put("warmupSeconds", 1);
            config.put("run", "r" + r + "-" + Bench.prefix("lg"));
            CpuProbe probe = new CpuProbe(bench.service.pid());
            CpuProbe.Snapshot before = probe.take();
            Process node;
            try {
                ProcessBuilder builder = new ProcessBuilder("node", "checkpoint-bench.mjs").directory(dir.toFile())
                        .redirectError(ProcessBuilder.Redirect.appendTo(bench.options.workDir()
                                .resolve("langgraph.log").toFile()));
                builder.environment().put("BENCH_CONFIG", Results.JSON.writeValueAsString(config));
                node = builder.start();
            } catch (IOException e) {
                result.notMeasured("node is not available: " + e.getMessage());
                return;
            }
            node.getOutputStream().close();
            String output;
            try {
                output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } finally {
                if (!node.waitFor(10, TimeUnit.MINUTES)) {
                    node.destroyForcibly();
                }
            }
            if (node.exitValue() != 0 || output.isBlank()) {
                result.notMeasured("the LangGraph script failed with exit code " + node.exitValue() + "; see "
                        + bench.options.workDir().resolve("langgraph.log"));
                Bench.log("LangGraph peer failed: exit %d", node.exitValue());
                return;
            }
            Map<String, Object> cpu = CpuProbe.between(before, probe.take());
            JsonNode report = Results.JSON.readTree(output.lines().reduce((a, b) -> b).orElse("{}"));
            result.details.put("versions", report.get("versions"));
            result.details.put("node", report.path("node").asText());
            long steps = 0;
            for (JsonNode level : report.get("levels")) {
                String variant = "LangGraph PostgresSaver c=" + level.get("concurrency").asInt();
                result.add(variant, "steps/s", "steps/s", level.get("stepsPerSecond").asDouble());
                result.add(variant, "p50", "ms", level.get("p50Ms").asDouble());
                result.add(variant, "p99", "ms", level.get("p99Ms").asDouble());
                result.add(variant, "bytes stored per step", "bytes", level.get("bytesPerStep").asDouble());
                result.add(variant, "Node.js CPU per step", "ms", level.path("nodeCpuMsPerStep").asDouble());
                steps += level.get("steps").asLong();
                Bench.log("LangGraph c=%d: %.0f steps/s, p50 %.1f ms, p99 %.1f ms, %.0f bytes/step",
                        level.get("concurrency").asInt(), level.get("stepsPerSecond").asDouble(),
                        level.get("p50Ms").asDouble(), level.get("p99Ms").asDouble(),
                        level.get("bytesPerStep").asDouble());
            }
            @SuppressWarnings("unchecked")
            Map<String, Double> processes = (Map<String, Double>) cpu.get("processCores");
            double wall = (Double) cpu.get("wallSeconds");
            result.add("LangGraph PostgresSaver", "PostgreSQL CPU per step", "ms",
                    processes.getOrDefault("PostgreSQL", 0.0) * wall * 1000 / steps);
            result.details.put("run" + r + "Cpu", cpu);
        }
    }

    /** Installs the peer's packages when they are missing; the reason when that fails, else null. */
    private String install() {
        if (!Files.exists(dir.resolve("package.json"))) {
            return "no " + dir.resolve("package.json");
        }
        if (Files.isDirectory(dir.resolve("node_modules/@langchain/langgraph-checkpoint-postgres"))) {
            return null;
        }
        List<String> command = Files.exists(dir.resolve("package-lock.json"))
                ? List.of("npm", "ci", "--no-audit", "--no-fund")
                : List.of("npm", "install", "--no-audit", "--no-fund");
        try {
            Bench.log("LangGraph peer: %s in %s", String.join(" ", command), dir);
            Process npm = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String output = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!npm.waitFor(10, TimeUnit.MINUTES) || npm.exitValue() != 0) {
                return String.join(" ", command) + " failed: " + tail(output);
            }
            return null;
        } catch (IOException e) {
            return "npm is not available: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted during npm install";
        }
    }

    private static String tail(String output) {
        List<String> lines = output.lines().filter(line -> !line.isBlank()).toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    }
}
