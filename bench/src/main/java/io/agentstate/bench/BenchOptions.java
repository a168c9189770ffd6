package io.agentstate.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What one benchmark run does: mode, scenarios, counts, credentials and where it writes. Read from system properties
 * ({@code bench.mode=full|quick}, {@code bench.scenarios=all|ours|peers|<id>,<id>...}, {@code bench.runs=N} to
 * override the runs per scenario, {@code bench.write-rate=N} for the conditional writes' arrivals per second,
 * {@code bench.auth=required|none}, {@code bench.kafka-path=ingress|log|sealed},
 * {@code bench.out=<dir>} to write the results and the generated tables there instead of bench/results and docs,
 * {@code bench.root}).
 *
 * @param mode {@code full} or {@code quick}
 * @param scenarios the scenario and baseline ids to run
 * @param root the project directory
 * @param resultsFile the machine-readable results
 * @param docsFile the Markdown file whose generated section is rewritten, or null for none
 * @param workDir logs and scratch files
 * @param sizes counts, durations and runs
 * @param auth {@code required}: the service runs with {@code agent-state.auth.mode=required} and every request carries
 *        an API key, as in production; {@code none}: open mode, no credentials
 * @param kafkaPath where the Kafka producers of the scenarios write: {@code ingress} (the tenant's ingress topic, relayed
 *        into the log by the service: the production path for direct producers), {@code log} (straight to
 *        {@code agent-state.events}, unsealed: accepted only with auth {@code none}) or {@code sealed} (straight to the
 *        log, each record sealed with the service's log seal key, as a trusted producer would)
 */
public record BenchOptions(String mode, Set<String> scenarios, Path root, Path resultsFile, Path docsFile, Path workDir,
        Sizes sizes, String auth, String kafkaPath) {

    /** Credentials required, as in production. */
    public static final String AUTH_REQUIRED = "required";
    public static final String AUTH_NONE = "none";
    public static final List<String> KAFKA_PATHS = List.of("ingress", "log", "sealed");

    public BenchOptions {
        if (!AUTH_REQUIRED.equals(auth) && !AUTH_NONE.equals(auth)) {
            throw new IllegalArgumentException("bench.auth must be required or none, not " + auth);
        }
        if (!KAFKA_PATHS.contains(kafkaPath)) {
            throw new IllegalArgumentException("bench.kafka-path must be one of " + KAFKA_PATHS + ", not " + kafkaPath);
        }
        if (AUTH_REQUIRED.equals(auth) && "log".equals(kafkaPath)) {
            throw new IllegalArgumentException("bench.kafka-path=log with bench.auth=required: the ledger dead-letters "
                    + "unsealed records on the log when credentials are required; use ingress or sealed");
        }
    }

    /** Whether the service runs with credentials required. */
    public boolean authRequired() {
        return AUTH_REQUIRED.equals(auth);
    }

    /**
     * Our own scenarios. The rebuild runs late (it flushes Redis and adds a million events), growth right after it (its
     * 10,000-message sessions would change what the rebuild measures), and memory summarises the others at the end.
     */
    public static final List<String> OURS = List.of("ingest", "visibility", "conditional-writes", "reads", "per-step",
            "rebuild", "growth", "chat", "semantic-memory", "memory");

    /** Baselines and peers, measured on the same servers and records. */
    public static final List<String> PEERS = List.of("baseline-parse", "baseline-raw-loop", "baseline-naive-loop",
            "baseline-streams", "peer-langgraph");

    /**
     * Counts, durations and runs of every scenario.
     *
     * @param ingestSessions sessions of one ingest run
     * @param ingestEventsPerSession events per session of one ingest run
     * @param ingestWarmupEvents events ingested before the measured runs (not reported)
     * @param eventBytes size of a produced record value, bytes
     * @param runs measured runs of each scenario
     * @param streamsRuns measured runs of each Kafka Streams guarantee
     * @param visibilityRate produced events per second
     * @param visibilitySessions sessions the fixed-rate events spread over
     * @param visibilitySeconds measured seconds per run
     * @param visibilitySampleEvery one produced event in this many is watched
     * @param writers sessions the conditional writes spread over in the uncontended variant (one per writer, as before
     *        the load became open loop)
     * @param sharedSessions sessions the conditional writes share in the contended variant
     * @param writeSeconds measured seconds per conditional-write run
     * @param writeRate conditional writes (GET then POST) started per second, open loop, in both variants
     * @param writeMaxInFlight conditional writes in flight at most; an arrival beyond it is counted, not sent
     * @param readers concurrent readers
     * @param readSessions warm sessions read
     * @param readSeconds seconds per read run
     * @param stepConcurrency concurrency levels of the per-step comparison
     * @param stepSeconds seconds per level and run
     * @param stepsPerSession steps (events, checkpoints) per session or thread
     * @param rebuildEvents events in PostgreSQL to rebuild into an empty Redis
     * @param rebuildConcurrency concurrent readers that trigger the rebuild
     * @param growthMessages messages of the prepared sessions of the growth scenario, one shape each
     * @param growthScopeBytes sizes in bytes of the prepared state scopes of the growth scenario, one shape each
     * @param growthAppends measured REST appends per prepared session and run
     * @param growthSessions prepared sessions per shape and run
     */
    public record Sizes(int ingestSessions, int ingestEventsPerSession, int ingestWarmupEvents, int eventBytes, int runs,
            int streamsRuns, int visibilityRate, int visibilitySessions, int visibilitySeconds, int visibilitySampleEvery,
            int writers, int sharedSessions, int writeSeconds, int writeRate, int writeMaxInFlight, int readers,
            int readSessions, int readSeconds, List<Integer> stepConcurrency, int stepSeconds, int stepsPerSession,
            long rebuildEvents, int rebuildConcurrency, List<Integer> growthMessages, List<Integer> growthScopeBytes,
            int growthAppends, int growthSessions) {

        static Sizes full() {
            return new Sizes(10_000, 20, 20_000, 1024, 3, 2, 2000, 1000, 15, 40, 32, 8, 8, 500, 128, 64, 1000, 8,
                    List.of(1, 8, 32), 6, 20, 1_000_000, 32, List.of(10, 1_000, 10_000), List.of(1024, 1024 * 1024),
                    100, 2);
        }

        static Sizes quick() {
            return new Sizes(500, 4, 0, 1024, 1, 1, 500, 100, 3, 10, 32, 8, 2, 200, 128, 64, 100, 2, List.of(1, 8, 32),
                    1, 20, 10_000, 16, List.of(10, 200), List.of(1024, 64 * 1024), 20, 1);
        }

        /** The same sizes with other runs per scenario (Kafka Streams included) and conditional-write rate. */
        Sizes with(int runs, int writeRate) {
            return new Sizes(ingestSessions, ingestEventsPerSession, ingestWarmupEvents, eventBytes, runs,
                    Math.min(runs, streamsRuns), visibilityRate, visibilitySessions, visibilitySeconds,
                    visibilitySampleEvery, writers, sharedSessions, writeSeconds, writeRate, writeMaxInFlight, readers,
                    readSessions, readSeconds, stepConcurrency, stepSeconds, stepsPerSession, rebuildEvents,
                    rebuildConcurrency, growthMessages, growthScopeBytes, growthAppends, growthSessions);
        }

        /** Events of one ingest run. */
        public int ingestEvents() {
            return ingestSessions * ingestEventsPerSession;
        }
    }

    /** The options of {@code ./mvnw -Pbench}, from system properties. */
    public static BenchOptions fromSystemProperties() {
        Path root = Path.of(System.getProperty("bench.root", ".")).toAbsolutePath().normalize();
        String mode = System.getProperty("bench.mode", "full");
        String out = property("bench.out");
        Path outDir = out.isEmpty() ? null : root.resolve(out);
        BenchOptions options = of(mode, System.getProperty("bench.scenarios", "all"), root,
                outDir == null ? root.resolve("bench/results/latest.json") : outDir.resolve("latest.json"),
                outDir == null ? root.resolve("docs/benchmarks.md") : outDir.resolve("benchmarks.md"),
                root.resolve("target/bench"));
        String auth = property("bench.auth");
        String path = property("bench.kafka-path");
        options = options.withAuth(auth.isEmpty() ? AUTH_REQUIRED : auth, path.isEmpty() ? null : path);
        String runs = property("bench.runs");
        if (!runs.isEmpty()) {
            options = options.withRuns(Integer.parseInt(runs));
        }
        String rate = property("bench.write-rate");
        return rate.isEmpty() ? options : options.withWriteRate(Integer.parseInt(rate));
    }

    // Maven passes an unset profile property as empty (or, in some versions, as its own ${...} placeholder).
    private static String property(String name) {
        String value = System.getProperty(name, "").trim();
        return value.startsWith("${") ? "" : value;
    }

    /**
     * The same options with other credentials; a null Kafka path means the default for them: {@code ingress} with
     * credentials required, {@code log} (as before the ingress topics) without.
     */
    public BenchOptions withAuth(String auth, String kafkaPath) {
        String path = kafkaPath != null ? kafkaPath : AUTH_REQUIRED.equals(auth) ? "ingress" : "log";
        return new BenchOptions(mode, scenarios, root, resultsFile, docsFile, workDir, sizes, auth, path);
    }

    /** The same options with a different number of measured runs per scenario (Kafka Streams included). */
    public BenchOptions withRuns(int runs) {
        return new BenchOptions(mode, scenarios, root, resultsFile, docsFile, workDir,
                sizes.with(runs, sizes.writeRate()), auth, kafkaPath);
    }

    /** The same options with another rate of conditional writes (arrivals per second, open loop). */
    public BenchOptions withWriteRate(int rate) {
        if (rate < 1) {
            throw new IllegalArgumentException("bench.write-rate must be at least 1, not " + rate);
        }
        return new BenchOptions(mode, scenarios, root, resultsFile, docsFile, workDir,
                sizes.with(sizes.runs(), rate), auth, kafkaPath);
    }

    /**
     * Options from explicit values.
     *
     * @param mode {@code full} or {@code quick}
     * @param scenarios {@code all}, {@code ours}, or a comma-separated list of ids; credentials are required and the
     *        producers write to the ingress topic (see {@link #withAuth})
     */
    public static BenchOptions of(String mode, String scenarios, Path root, Path resultsFile, Path docsFile,
            Path workDir) {
        Sizes sizes = switch (mode) {
            case "full" -> Sizes.full();
            case "quick" -> Sizes.quick();
            default -> throw new IllegalArgumentException("bench.mode must be full or quick, not " + mode);
        };
        Set<String> selected = new LinkedHashSet<>();
        for (String item : scenarios.split(",")) {
            String id = item.trim();
            if (id.isEmpty()) {
                continue;
            }
            switch (id) {
                case "all" -> {
                    selected.addAll(OURS);
                    selected.addAll(PEERS);
                }
                case "ours" -> selected.addAll(OURS);
                case "peers" -> selected.addAll(PEERS);
                default -> {
                    if (!OURS.contains(id) && !PEERS.contains(id)) {
                        throw new IllegalArgumentException("unknown scenario " + id + "; known: " + OURS + " " + PEERS);
                    }
                    selected.add(id);
                }
            }
        }
        return new BenchOptions(mode, selected, root, resultsFile, docsFile, workDir, sizes, AUTH_REQUIRED, "ingress");
    }

    public boolean runs(String scenario) {
        return scenarios.contains(scenario);
    }

    /** Whether any of these scenarios runs. */
    public boolean runsAny(String... ids) {
        return Arrays.stream(ids).anyMatch(scenarios::contains);
    }
}
