package io.agentstate.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.Ports;
import io.agentstate.testsupport.ServiceProcess;
import io.agentstate.testsupport.localstack.LocalStack;

/**
 * The JavaScript tier: {@code clients/js}'s own suite (the official {@code @langchain/langgraph-checkpoint-validation}
 * in full, the saver's and the OpenAI Agents session's contract tests, the Agents SDK's runner on its scripted model)
 * run by Vitest against the packaged service on a real stack. Without Node 20+ and npm the tier fails under CI (where
 * {@code .ci/run} installs them) and is skipped elsewhere with a loud warning, so a machine with only a JDK still runs
 * the rest of the suite.
 */
class JsAdaptersIT {

    private static final Logger LOG = Logger.getLogger(JsAdaptersIT.class);
    private static final Path CLIENT = Path.of("clients", "js");

    private static LocalStack stack;
    private static ServiceProcess service;

    @BeforeAll
    static void start() throws Exception {
        String missing = missingNode();
        if (missing != null) {
            String message = "JS adapter tier NOT RUN: " + missing
                    + " (install Node 20+ and npm; .ci/run does under CI)";
            LOG.error(message);
            assertThat(System.getenv("CI")).as(message).isNull();
            Assumptions.abort(message);
        }
        Path logs = Files.createDirectories(Path.of("target", "system-logs"));
        stack = LocalStack.start(LocalStack.Settings.throwaway());
        service = ServiceProcess.start(stack, Ports.free(), logs.resolve("js-adapters-service.log"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (service != null) {
            service.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void shouldPassTheClientSuitesAgainstTheService() throws Exception {
        Path log = Files.createDirectories(Path.of("target", "system-logs")).resolve("js-adapters.log");
        Files.deleteIfExists(log);
        assertThat(run(log, 10, "npm", "ci", "--no-audit", "--no-fund")).as("npm ci in clients/js, see " + log)
                .isZero();
        int exit = run(log, 20, "npx", "vitest", "run", "--reporter=verbose");
        String output = Files.readString(log);
        assertThat(exit).as("Vitest in clients/js against " + service.baseUri() + ", see " + log).isZero();
        // Vitest exits 0 with no test files too; the suite must really have run, the validation suite included.
        assertThat(output).contains("@agent-state/langgraph").containsPattern("Tests\\s+\\S*\\d{3,}\\S* passed");
    }

    private static int run(Path log, int minutes, String... command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(CLIENT.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("AGENT_STATE_URL", service.baseUri());
        builder.environment().put("NO_COLOR", "1");
        Process process = builder.start();
        if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in " + minutes + " min, see " + log);
        }
        return process.exitValue();
    }

    // Why the tier cannot run here, or null when Node 20+ and npm are present.
    private static String missingNode() throws InterruptedException {
        try {
            Process node = new ProcessBuilder(List.of("node", "--version")).redirectErrorStream(true).start();
            String version = new String(node.getInputStream().readAllBytes()).trim();
            node.waitFor();
            int major = Integer.parseInt(version.replaceFirst("^v(\\d+)\\..*$", "$1"));
            if (major < 20) {
                return "node " + version + " is older than 20";
            }
            Process npm = new ProcessBuilder(List.of("npm", "--version")).redirectErrorStream(true).start();
            npm.getInputStream().readAllBytes();
            return npm.waitFor() == 0 ? null : "npm does not run";
        } catch (IOException | NumberFormatException e) {
            return "node or npm not found (" + e.getMessage() + ")";
        }
    }
}
