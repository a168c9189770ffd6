package io.agentstate.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Runs the curl examples of the README and docs/ against the service, in the order a reader pastes them, so that every
 * example stays true to a fresh run. A fenced {@code bash} or {@code sh} block whose commands are all {@code curl} runs;
 * any other block runs only when marked {@code <!-- run -->} just before it. Every request must answer 2xx unless the
 * block is marked {@code <!-- expect: 409 -->} (the last request's status) or {@code <!-- expect: 201 409 -->} (one
 * status per request).
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class DocsExamplesTest {

    private static final Logger LOG = Logger.getLogger(DocsExamplesTest.class);

    private static final Path CURL = Path.of("/usr/bin/curl");
    // The session ids the examples use; each run gets its own, so the examples can run again on the shared stack.
    private static final Pattern SESSION_IDS = Pattern.compile("\\b(demo|sess-42a7)\\b");
    private static final Pattern FENCE = Pattern.compile("^```(bash|sh|shell)\\s*$");
    private static final Pattern EXPECT = Pattern.compile("^<!--\\s*expect:\\s*([0-9 ]+?)\\s*-->$");
    private static final Pattern RUN = Pattern.compile("^<!--\\s*run\\s*-->$");
    private static final Pattern STATUS = Pattern.compile("^@@status=(\\d{3})$", Pattern.MULTILINE);

    // A curl that reports each request's status on its own line and stops the block on a transport failure.
    private static final String PRELUDE = """
            set -eu
            curl() {
              local out rc=0
              out=$(%s -sS -w '\\n@@status=%%{http_code}' "$@") || rc=$?
              printf '%%s\\n' "$out"
              if [ "$rc" -ne 0 ]; then echo "curl exited with $rc" >&2; exit 90; fi
            }
            """.formatted(CURL);

    @TestHTTPResource("/")
    URL service;

    record Block(String file, int line, String script, boolean curlOnly, boolean marked, List<Integer> expected,
            int requests) {
    }

    @ParameterizedTest
    @CsvSource({ "README.md, 1", "docs/events.md, 5", "docs/operations.md, 0" })
    void shouldAnswerEveryCurlExampleAsDocumented(String file, int atLeast) throws Exception {
        assertThat(Files.isExecutable(CURL))
                .as("the docs' examples are curl commands; %s is missing (install it: apt-get install curl)", CURL)
                .isTrue();
        String run = UUID.randomUUID().toString().substring(0, 8);
        int ran = 0;
        for (Block block : blocks(file)) {
            if (!block.curlOnly() && !block.marked()) {
                LOG.infof("%s:%d not run (not only curl, and not marked <!-- run -->)", file, block.line());
                continue;
            }
            runBlock(block, run);
            ran++;
        }
        assertThat(ran).as("runnable example blocks in %s", file).isGreaterThanOrEqualTo(atLeast);
    }

    private void runBlock(Block block, String run) throws IOException, InterruptedException {
        String script = block.script()
                .replace("localhost:8080", "localhost:" + service.getPort())
                .replace("127.0.0.1:8080", "127.0.0.1:" + service.getPort());
        script = SESSION_IDS.matcher(script).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + "-" + run));
        Path out = Files.createTempFile("docs-example", ".out");
        Path err = Files.createTempFile("docs-example", ".err");
        try {
            Process process = new ProcessBuilder("bash", "-c", PRELUDE + script)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            String where = block.file() + ":" + block.line();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(where + " did not finish within 120 s");
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            String report = where + "\n--- script\n" + script + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
            assertThat(process.exitValue()).as("exit code of %s", report).isZero();
            List<Integer> statuses = new ArrayList<>();
            Matcher status = STATUS.matcher(stdout);
            while (status.find()) {
                statuses.add(Integer.parseInt(status.group(1)));
            }
            assertThat(statuses).as("one status per request of %s", report).hasSize(block.requests());
            List<Integer> expected = block.expected();
            for (int i = 0; i < statuses.size(); i++) {
                Integer wanted = expected.size() == statuses.size() ? expected.get(i)
                        : expected.size() == 1 && i == statuses.size() - 1 ? expected.get(0) : null;
                if (wanted != null) {
                    assertThat(statuses.get(i)).as("status of request %d of %s", i + 1, report).isEqualTo(wanted);
                } else {
                    assertThat(statuses.get(i)).as("status of request %d of %s", i + 1, report).isBetween(200, 299);
                }
            }
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The shell blocks of a markdown file, each with the marker comment just before its fence. */
    static List<Block> blocks(String file) throws IOException {
        List<String> lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
        List<Block> blocks = new ArrayList<>();
        String marker = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (FENCE.matcher(line).matches()) {
                int start = i + 1;
                StringBuilder script = new StringBuilder();
                int j = start;
                while (j < lines.size() && !lines.get(j).strip().equals("```")) {
                    script.append(lines.get(j)).append('\n');
                    j++;
                }
                blocks.add(block(file, start, script.toString(), marker));
                marker = null;
                i = j;
            } else if (line.startsWith("```")) {
                // another language's block: skip it whole, so its content is never read as a marker or a fence
                int j = i + 1;
                while (j < lines.size() && !lines.get(j).strip().equals("```")) {
                    j++;
                }
                marker = null;
                i = j;
            } else if (line.startsWith("<!--")) {
                marker = line;
            } else if (!line.isEmpty()) {
                marker = null;
            }
        }
        return blocks;
    }

    private static Block block(String file, int line, String script, String marker) {
        List<String> commands = commands(script);
        boolean curlOnly = !commands.isEmpty() && commands.stream().allMatch(c -> c.equals("curl") || c.startsWith("curl "));
        long requests = commands.stream().filter(c -> c.equals("curl") || c.startsWith("curl ")).count();
        List<Integer> expected = new ArrayList<>();
        boolean run = false;
        if (marker != null) {
            Matcher expect = EXPECT.matcher(marker);
            if (expect.matches()) {
                for (String status : expect.group(1).trim().split("\\s+")) {
                    expected.add(Integer.parseInt(status));
                }
            }
            run = RUN.matcher(marker).matches();
        }
        return new Block(file, line, script, curlOnly, run, expected, (int) requests);
    }

    // The first line of each command: a line outside a quoted string that does not continue the previous one.
    private static List<String> commands(String script) {
        List<String> commands = new ArrayList<>();
        boolean quoted = false;
        boolean continued = false;
        for (String raw : script.split("\n")) {
            String line = raw.strip();
            boolean starts = !quoted && !continued && !line.isEmpty() && !line.startsWith("#");
            if (starts) {
                commands.add(line);
            }
            for (char c : raw.toCharArray()) {
                if (c == '\'') {
                    quoted = !quoted;
                }
            }
            continued = !quoted && (line.endsWith("\\") || line.endsWith("|") || line.endsWith("&&"));
        }
        return commands;
    }
}
