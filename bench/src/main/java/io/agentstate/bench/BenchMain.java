package io.agentstate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.common.utils.AppInfoParser;

import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.redis.client.Command;

/**
 * The benchmark harness ({@code ./mvnw -Pbench}, docs/benchmarks.md): starts a durable local stack (fsync on, 6
 * partitions) in a throwaway directory and the packaged service in its own JVM (-Xmx512m), runs the scenarios and
 * baselines, and writes the results as JSON and as the generated section of the benchmarks page.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        Thread.currentThread().setName("bench-main");
        Results results = run(BenchOptions.fromSystemProperties());
        boolean failed = results.scenarios.stream().anyMatch(s -> "failed".equals(s.status));
        System.exit(failed ? 1 : 0);
    }

    /** Runs the selected scenarios; the results are also written to the options' files. */
    public static Results run(BenchOptions options) throws Exception {
        quietLogs();
        Files.createDirectories(options.workDir());
        Results results = new Results();
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        long begin = System.nanoTime();
        results.run.put("mode", options.mode());
        results.run.put("scenarios", options.scenarios());
        results.run.put("startedAt", started.toString());
        results.run.put("commit", commit(options.root()));
        results.run.put("sizes", options.sizes());
        results.machine.putAll(Machine.describe());
        Bench.log("mode %s, scenarios %s, machine %s", options.mode(), options.scenarios(), results.machine);
        Credentials credentials = Credentials.create(options);
        results.run.put("auth", options.auth());
        results.run.put("kafkaPath", options.kafkaPath());
        results.run.put("kafkaTopic", credentials.topic());
        results.run.put("serviceJar", System.getProperty("agentstate.app.jar", "target/quarkus-app/quarkus-run.jar"));
        Bench.log("credentials %s, Kafka producers write %s (%s), service %s", options.auth(), credentials.topic(),
                options.kafkaPath(), results.run.get("serviceJar"));
        Path dir = Files.createTempDirectory("agent-state-bench");
        try (ModelStub model = ModelStub.start();
                LocalStack stack = LocalStack.start(new LocalStack.Settings(dir, true, true, 0, 0, 0, 6))) {
            results.run.put("stackStartMillis", stack.startMillis());
            // the service runs the configuration it ships; the only settings added are the model stub's endpoint, the
            // harness's credentials, and what the user asks for explicitly with bench.service-properties
            List<String> properties = new ArrayList<>(List.of("-Dquarkus.langchain4j.openai.base-url=" + model.baseUrl(),
                    "-Dquarkus.langchain4j.openai.api-key=bench-stub"));
            int fixed = properties.size();
            // after ServiceProcess's own open-mode settings: the last -D of a key wins
            properties.addAll(credentials.serviceProperties());
            // extra settings for another build of the service (-Dagentstate.app.jar): an older one refuses the
            // agent-state.* settings it does not know unless told smallrye.config.mapping.validate-unknown=false
            List<String> overrides = new ArrayList<>();
            for (String setting : System.getProperty("bench.service-properties", "").split(",")) {
                if (!setting.isBlank() && !setting.trim().startsWith("${")) {
                    overrides.add(setting.trim());
                    properties.add("-D" + setting.trim());
                }
            }
            results.run.put("serviceOverrides", overrides);
            results.run.put("serviceProperties", properties.subList(fixed, properties.size()).stream()
                    .filter(p -> !p.contains("seal-key")).toList());
            ServiceProcess service = ServiceProcess.start(stack, Ports.free(), options.workDir().resolve("service.log"),
                    properties.toArray(String[]::new));
            // the stack's servers stop with this JVM by themselves; the service JVM needs telling
            Thread stopService = new Thread(() -> {
                try {
                    service.crash();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-stop-service");
            Runtime.getRuntime().addShutdownHook(stopService);
            // the event loops of the harness's HTTP and Redis clients, closed with the run
            Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(Bench.EVENT_LOOPS).setWorkerPoolSize(2));
            try (ServiceMonitor monitor = new ServiceMonitor(vertx, service.baseUri(), service.pid(),
                    credentials.apiKey())) {
                Bench bench = new Bench(options, stack, service, results, monitor, credentials, vertx,
                        properties);
                results.run.put("versions", versions(bench));
                execute(bench, model);
            } finally {
                Runtime.getRuntime().removeShutdownHook(stopService);
                service.close();
                close(vertx);
            }
        }
        results.run.put("finishedAt", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        results.run.put("wallSeconds", Math.round((System.nanoTime() - begin) / 1e9));
        results.write(options.resultsFile());
        Bench.log("results written to %s", options.resultsFile());
        if (options.docsFile() != null) {
            Report.update(options.docsFile(), results, options.root());
            Bench.log("tables regenerated in %s", options.docsFile());
        }
        return results;
    }

    private static void execute(Bench bench, ModelStub model) {
        BenchOptions options = bench.options;
        String[] ingestPrefix = new String[1];
        if (options.runs(IngestScenario.ID)) {
            measure(bench, IngestScenario.ID, true, () -> ingestPrefix[0] = new IngestScenario(bench).run());
        }
        if (options.runsAny("baseline-parse", "baseline-raw-loop", "baseline-naive-loop", "baseline-streams")) {
            String prefix = ingestPrefix[0] != null ? ingestPrefix[0] : Bench.prefix("b");
            Baselines baselines = new Baselines(bench, prefix);
            measure(bench, "baseline-records", false, baselines::prepare);
            if (options.runs("baseline-parse")) {
                measure(bench, "baseline-parse", false, baselines::parseOnly);
            }
            if (options.runs("baseline-raw-loop")) {
                measure(bench, "baseline-raw-loop", false, baselines::rawLoop);
            }
            if (options.runs("baseline-naive-loop")) {
                measure(bench, "baseline-naive-loop", false, baselines::naiveLoop);
            }
            if (options.runs("baseline-streams")) {
                measure(bench, "baseline-streams", false, () -> {
                    baselines.streams("at_least_once", false);
                    baselines.streams("exactly_once_v2", false);
                    baselines.streams("at_least_once", true);
                    baselines.streams("exactly_once_v2", true);
                });
            }
        }
        if (options.runs(VisibilityScenario.ID)) {
            measure(bench, VisibilityScenario.ID, true, () -> new VisibilityScenario(bench).run());
        }
        if (options.runs(ConditionalWriteScenario.ID)) {
            measure(bench, ConditionalWriteScenario.ID, true, () -> new ConditionalWriteScenario(bench).run());
        }
        if (options.runs(ReadScenario.ID)) {
            measure(bench, ReadScenario.ID, true, () -> new ReadScenario(bench).run(ingestPrefix[0]));
        }
        if (options.runs(PerStepScenario.ID)) {
            measure(bench, PerStepScenario.ID, true, () -> new PerStepScenario(bench).run());
        }
        if (options.runs(LangGraphPeer.ID)) {
            measure(bench, LangGraphPeer.ID, false, () -> new LangGraphPeer(bench).run());
        }
        if (options.runs(ChatScenario.ID)) {
            measure(bench, ChatScenario.ID, true, () -> new ChatScenario(bench, model).run());
        }
        if (options.runs(RebuildScenario.ID)) {
            measure(bench, RebuildScenario.ID, true, () -> new RebuildScenario(bench).run());
        }
        // after the rebuild: its 10,000-message sessions would otherwise change what the rebuild measures
        if (options.runs(GrowthScenario.ID)) {
            measure(bench, GrowthScenario.ID, true, () -> new GrowthScenario(bench).run());
        }
        if (options.runs(SemanticMemoryScenario.ID)) {
            measure(bench, SemanticMemoryScenario.ID, true, () -> new SemanticMemoryScenario(bench).run());
        }
        if (options.runs("memory")) {
            summariseMemory(bench);
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    /**
     * How long one scenario may take, set-up included (`bench.scenario-deadline`, seconds): 300 in quick mode, 1,800 in
     * full mode. A scenario past it is failed with that reason and interrupted, and the next one runs.
     */
    static Duration deadline(BenchOptions options) {
        String set = System.getProperty("bench.scenario-deadline", "");
        if (!set.isBlank()) {
            return Duration.ofSeconds(Long.parseLong(set.trim()));
        }
        return Duration.ofSeconds("quick".equals(options.mode()) ? 300 : 1_800);
    }

    /** Runs one scenario in a memory window; a failure is recorded and the next scenario still runs. */
    private static void measure(Bench bench, String id, boolean ours, Step step) {
        Bench.log("=== %s", id);
        Map<String, Double> metricsBefore = ours ? bench.serviceMetrics() : Map.of();
        CpuProbe probe = new CpuProbe(bench.service.pid());
        CpuProbe.Snapshot cpuBefore = probe.take();
        bench.monitor.begin();
        long start = System.nanoTime();
        Duration deadline = deadline(bench.options);
        ExecutorService runner = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "bench-scenario-" + id);
            thread.setDaemon(true);
            return thread;
        });
        Future<?> running = runner.submit(() -> {
            step.run();
            return null;
        });
        try {
            running.get(deadline.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            running.cancel(true);
            failed(bench, id, new IllegalStateException("scenario " + id + " passed its deadline of "
                    + deadline.toSeconds() + " s (bench.scenario-deadline) and was interrupted"));
        } catch (ExecutionException e) {
            failed(bench, id, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed(bench, id, e);
        } finally {
            runner.shutdownNow();
        }
        CpuProbe.Snapshot cpuAfter = probe.take();
        Results.Memory memory = bench.monitor.end();
        Results.Scenario scenario = bench.results.find(id);
        if (scenario != null) {
            scenario.seconds = CpuProbe.round((System.nanoTime() - start) / 1e9);
            scenario.details.put("cpu", CpuProbe.between(cpuBefore, cpuAfter));
            if (ours) {
                scenario.memory = memory;
                scenario.details.put("ledger", ledger(metricsBefore, bench.serviceMetrics()));
            }
        }
        Bench.log("=== %s done in %.0f s; service heap max %.0f MiB, RSS max %.0f MiB", id,
                (System.nanoTime() - start) / 1e9, memory.heapMaxMiB(), memory.rssMaxMiB());
    }

    /** How the ledger batched during a scenario: poll batches, records per batch, apply time, lag. */
    private static Map<String, Object> ledger(Map<String, Double> before, Map<String, Double> after) {
        Map<String, Double> grown = Bench.growth(before, after, "agentstate_ledger_");
        Map<String, Object> ledger = new LinkedHashMap<>();
        double batches = grown.getOrDefault("agentstate_ledger_batch_size_count", 0.0);
        ledger.put("batches", batches);
        if (batches > 0) {
            ledger.put("recordsPerBatch", CpuProbe.round(grown.getOrDefault("agentstate_ledger_batch_size_sum", 0.0)
                    / batches));
            ledger.put("applyMsPerBatch", CpuProbe.round(grown.getOrDefault(
                    "agentstate_ledger_batch_apply_seconds_sum", 0.0) / batches * 1000));
        }
        after.forEach((name, value) -> {
            if (name.startsWith("agentstate_ledger_lag_seconds{") && name.contains("quantile")) {
                ledger.put("lagMs " + name.substring(name.indexOf("quantile")), CpuProbe.round(value * 1000));
            }
        });
        return ledger;
    }

    private static void failed(Bench bench, String id, Throwable e) {
        Results.Scenario scenario = bench.results.scenario(id, id);
        scenario.status = "failed";
        scenario.reason = e.toString();
        Bench.log("%s FAILED: %s", id, e);
        e.printStackTrace(System.out);
    }

    private static void summariseMemory(Bench bench) {
        Results.Scenario memory = bench.results.scenario("memory", "Service memory: heap used and RSS per scenario");
        memory.setup.put("service", "-Xmx512m, default GC");
        memory.setup.put("sampling", "every 500 ms during the scenario, and once 1 s after it");
        for (Results.Scenario scenario : bench.results.scenarios) {
            if (scenario.memory != null) {
                memory.add(scenario.id, "heap max", "MiB", scenario.memory.heapMaxMiB());
                memory.add(scenario.id, "RSS max", "MiB", scenario.memory.rssMaxMiB());
                memory.add(scenario.id, "heap after", "MiB", scenario.memory.heapAfterMiB());
                memory.add(scenario.id, "RSS after", "MiB", scenario.memory.rssAfterMiB());
            }
        }
        if (memory.metrics.isEmpty()) {
            memory.notMeasured("no scenario of ours ran");
        }
    }

    // The in-process broker and the clients log every connection and rebalance at INFO; keep warnings only.
    static void quietLogs() {
        for (String name : new String[] { "org.apache.kafka", "kafka", "state.change.logger", "org.apache.zookeeper" }) {
            java.util.logging.Logger.getLogger(name).setLevel(java.util.logging.Level.WARNING);
        }
        java.util.logging.Logger.getLogger("org.apache.kafka.controller").setLevel(java.util.logging.Level.SEVERE);
        java.util.logging.Logger.getLogger("kafka.server.ControllerApis").setLevel(java.util.logging.Level.OFF);
    }

    private static Map<String, Object> versions(Bench bench) {
        Map<String, Object> versions = new LinkedHashMap<>();
        versions.put("kafka", AppInfoParser.getVersion());
        try {
            try (java.sql.Connection db = bench.jdbc();
                    java.sql.Statement statement = db.createStatement();
                    java.sql.ResultSet rows = statement.executeQuery("SHOW server_version")) {
                rows.next();
                versions.put("postgresql", rows.getString(1));
            }
            try (RedisClient redis = bench.redis()) {
                String info = redis.call(Command.INFO, "server").toString(StandardCharsets.UTF_8);
                info.lines().filter(line -> line.startsWith("redis_version:"))
                        .forEach(line -> versions.put("redis", line.substring("redis_version:".length()).trim()));
            }
        } catch (Exception e) {
            Bench.log("versions not readable: %s", e.getMessage());
        }
        versions.put("node", Machine.command(bench.options.root(), "node", "--version"));
        return versions;
    }

    private static void close(Vertx vertx) {
        try {
            Bench.sync(vertx.close(), Duration.ofSeconds(30));
        } catch (IOException | RuntimeException e) {
            Bench.log("the harness's Vert.x instance did not close cleanly: %s", e.getMessage());
        }
    }

    private static String commit(Path root) {
        String head = Machine.command(root, "git", "rev-parse", "--short", "HEAD");
        String status = Machine.command(root, "git", "status", "--porcelain", "--untracked-files=no");
        if (head == null) {
            return "unknown";
        }
        return status != null && !status.isBlank() ? head + " (working tree modified)" : head;
    }

}
