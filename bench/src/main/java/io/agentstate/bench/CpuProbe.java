package io.agentstate.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Where the CPU goes: CPU time per process of the stack (service JVM, PostgreSQL, Redis, this JVM with the in-process
 * Kafka broker and the load generators), per thread group inside the service (from {@code /proc/<pid>/task}) and per
 * thread group inside this JVM (from {@link ThreadMXBean}), plus the machine's total from {@code /proc/stat}.
 */
final class CpuProbe {

    /** Linux reports process times in clock ticks of 1/100 s on every common configuration. */
    private static final double TICK_SECONDS = 0.01;

    /** CPU seconds consumed so far, by component. */
    record Snapshot(long nanoTime, double machineBusy, double machineTotal, Map<String, Double> processes,
            Map<String, Double> serviceThreads, Map<String, Double> benchThreads) {
    }

    private final long servicePid;
    private final long benchPid = ProcessHandle.current().pid();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    CpuProbe(long servicePid) {
        this.servicePid = servicePid;
    }

    Snapshot take() {
        double[] machine = machine();
        Map<String, Double> processes = new TreeMap<>();
        Map<String, Double> serviceThreads = new TreeMap<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                String component = component(pid, comm(entry));
                if (component != null) {
                    // cutime/cstime hold the time of exited children: PostgreSQL backends that closed count, while
                    // the children this JVM started (node, npm, top) are not the broker's or the harness's
                    processes.merge(component, seconds(entry.resolve("stat"), component.equals("PostgreSQL")),
                            Double::sum);
                }
            }
        } catch (IOException e) {
            // /proc is not readable: report nothing per process
        }
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(servicePid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                serviceThreads.merge(group(comm(task)), seconds(task.resolve("stat"), false), Double::sum);
            }
        } catch (IOException e) {
            // the service is gone
        }
        return new Snapshot(System.nanoTime(), machine[0], machine[1], processes, serviceThreads, benchThreads());
    }

    private String component(long pid, String comm) {
        if (pid == servicePid) {
            return "agent-state service (JVM)";
        }
        if (pid == benchPid) {
            return "bench JVM (Kafka broker + load generator)";
        }
        if (comm.equals("postgres")) {
            return "PostgreSQL";
        }
        if (comm.startsWith("redis-server")) {
            return "Redis";
        }
        if (comm.equals("node")) {
            return "Node.js (LangGraph peer)";
        }
        return null;
    }

    private Map<String, Double> benchThreads() {
        Map<String, Double> groups = new TreeMap<>();
        long[] ids = threads.getAllThreadIds();
        ThreadInfo[] infos = threads.getThreadInfo(ids);
        for (int i = 0; i < ids.length; i++) {
            long nanos = threads.getThreadCpuTime(ids[i]);
            if (infos[i] == null || nanos < 0) {
                continue;
            }
            groups.merge(benchGroup(infos[i].getThreadName()), nanos / 1e9, Double::sum);
        }
        return groups;
    }

    private static String benchGroup(String thread) {
        if (thread.startsWith("kafka-producer-network-thread")) {
            return "load: Kafka producer I/O";
        }
        if (thread.startsWith("HttpClient-")) {
            return "load: java.net.http client threads";
        }
        if (thread.startsWith("vert.x-") || thread.startsWith("vertx-")) {
            return "load: Vert.x event loops (HTTP and Redis clients)";
        }
        if (thread.startsWith("bench-")) {
            return "load: harness threads (producers, HTTP clients, pollers)";
        }
        if (thread.contains("StreamThread") || thread.startsWith("kafka-coordinator-heartbeat")
                || thread.startsWith("consumer_background")) {
            return "baseline clients";
        }
        return "Kafka broker (in-process)";
    }

    /** Thread names without their numbers: {@code executor-thread-3} and {@code executor-thread-7} are one group. */
    private static String group(String comm) {
        return comm.replaceAll("[-#_ ]*[0-9]+$", "");
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static double seconds(Path stat, boolean withChildren) {
        try {
            String text = Files.readString(stat);
            // the command name may hold spaces and parentheses: fields start after the last ')'
            String[] fields = text.substring(text.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            if (withChildren) {
                ticks += Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
            }
            return ticks * TICK_SECONDS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static double[] machine() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
            String[] cpu = lines.get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i <= 8 && i < cpu.length; i++) {
                total += Long.parseLong(cpu[i]);
            }
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);
            return new double[] { (total - idle) * TICK_SECONDS, total * TICK_SECONDS };
        } catch (IOException e) {
            return new double[] { 0, 0 };
        }
    }

    /**
     * CPU used between two snapshots, as average cores busy per component: {@code {"machine": ..., "processes": {...},
     * "serviceThreads": {...}, "benchThreads": {...}}}.
     */
    static Map<String, Object> between(Snapshot before, Snapshot after) {
        double wall = (after.nanoTime() - before.nanoTime()) / 1e9;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("wallSeconds", round(wall));
        result.put("machineCoresBusy", round((after.machineBusy() - before.machineBusy()) / wall));
        result.put("machineCores", round((after.machineTotal() - before.machineTotal()) / wall));
        Map<String, Double> processes = cores(before.processes(), after.processes(), wall, 0.005);
        Map<String, Double> service = cores(before.serviceThreads(), after.serviceThreads(), wall, 0);
        Map<String, Double> bench = cores(before.benchThreads(), after.benchThreads(), wall, 0);
        // what the thread views do not show: JVM-internal threads (GC, JIT in this JVM) and threads that ended
        otherwise(service, processes.getOrDefault("agent-state service (JVM)", 0.0), "threads that ended");
        otherwise(bench, processes.getOrDefault("bench JVM (Kafka broker + load generator)", 0.0),
                "GC, JIT and threads that ended");
        result.put("processCores", processes);
        result.put("serviceThreadCores", service);
        result.put("benchThreadCores", bench);
        return result;
    }

    private static void otherwise(Map<String, Double> threads, double process, String label) {
        double listed = threads.values().stream().mapToDouble(Double::doubleValue).sum();
        threads.values().removeIf(value -> value < 0.01);
        if (process - listed >= 0.01) {
            threads.put(label, round(process - listed));
        }
    }

    private static Map<String, Double> cores(Map<String, Double> before, Map<String, Double> after, double wall,
            double floor) {
        Map<String, Double> cores = new LinkedHashMap<>();
        after.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), (e.getValue() - before.getOrDefault(e.getKey(), 0.0)) / wall))
                .filter(e -> e.getValue() >= floor)
                .sorted(Map.Entry.<String, Double> comparingByValue().reversed())
                .forEach(e -> cores.put(e.getKey(), round(e.getValue())));
        return cores;
    }

    static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }
}
