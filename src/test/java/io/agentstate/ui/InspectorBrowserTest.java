package io.agentstate.ui;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.Tokens;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;

/**
 * The inspector in Debian's headless Chromium, with credentials required: a multi-agent session with a tool call, a
 * refused write and a summary is built through the API, then every view is opened and what it shows is checked.
 * Screenshots of each view go to {@code target/inspector-screenshots/} (docs/inspector.md shows them). Without
 * {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} the tier fails under CI (where {@code .ci/run} installs
 * them) and is skipped elsewhere with a loud warning.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
@TestProfile(InspectorBrowserTest.Secured.class)
class InspectorBrowserTest {

    private static final Logger LOG = Logger.getLogger(InspectorBrowserTest.class);
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SHOTS = Path.of("target", "inspector-screenshots");
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    /** Credentials on, verified with the test key pair. */
    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("agent-state.auth.mode", "required",
                    "mp.jwt.verify.publickey", Tokens.publicKeyPem(),
                    "mp.jwt.verify.issuer", Tokens.ISSUER);
        }
    }

    private static ChromeDriver browser;

    @TestHTTPResource("/ui/")
    URL ui;

    private final String tenant = "ui-" + UUID.randomUUID();
    private final String token = Tokens.token(tenant, "writer");

    @BeforeAll
    static void start() throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            String message = "BROWSER TIER NOT RUN: " + CHROMIUM + " or " + CHROMEDRIVER + " is missing "
                    + "(apt-get install chromium chromium-driver; .ci/run does under CI)";
            LOG.error(message);
            assertThat(System.getenv("CI")).as(message).isNull();
            Assumptions.abort(message);
        }
        Files.createDirectories(SHOTS);
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                        "--disable-gpu");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void shouldServeThePageOpenlyWithAStrictContentSecurityPolicy() {
        given().redirects().follow(false).get("/ui").then().statusCode(302).header("Location", endsWith("/ui/"));
        given().get("/ui/").then().statusCode(200).contentType(containsString("text/html"))
                .header("Content-Security-Policy", containsString("script-src 'self'"))
                .header("Content-Security-Policy", containsString("default-src 'none'"))
                .header("X-Content-Type-Options", "nosniff");
        given().get("/ui/inspector.js").then().statusCode(200).contentType(containsString("javascript"));
    }

    @Test
    void shouldAskForACredentialAndRefuseAWrongOne() {
        open("#/");
        browser.executeScript("sessionStorage.clear()");
        browser.navigate().refresh();
        waitForText(By.id("notice"), "Sign in");
        signIn(Tokens.wronglySigned(tenant, "writer"));
        waitForText(By.id("notice"), "does not verify");
        signIn(token);
        wait(ExpectedConditions.invisibilityOfElementLocated(By.id("notice")));
        assertThat(browser.findElement(By.id("who")).getText()).contains("kept for this browser session");
    }

    @Test
    void shouldListTheTenantsSessionsNewestFirstAndOnlyThem() {
        String older = story();
        String newer = story();
        String foreign = "foreign-" + UUID.randomUUID();
        post(foreign, foreign + "-1", null, Tokens.token("other-" + UUID.randomUUID(), "writer"),
                message("agent://other", "user", "not yours")).then().log().ifValidationFails().statusCode(201);
        signedIn("#/");
        WebElement table = waitFor(By.cssSelector("[data-test=sessions] tr[data-session]"));
        List<String> ids = sessionIds();
        assertThat(ids).containsSubsequence(newer, older).doesNotContain(foreign);
        WebElement row = browser.findElement(By.cssSelector("tr[data-session='" + newer + "']"));
        assertThat(row.getText()).contains("active").contains("u-traveller");
        assertThat(table).isNotNull();
        shoot("sessions");

        // search by prefix
        open("#/?prefix=" + older);
        wait(driver -> sessionIds().equals(List.of(older)));
        // a link opens the session's page
        browser.findElement(By.linkText(older)).click();
        waitFor(By.cssSelector("[data-test=timeline] tr.entry"));
        assertThat(browser.findElement(By.tagName("h1")).getText()).contains(older);
    }

    @Test
    void shouldShowEveryEntryWithRefusalsAndTheirReasons() {
        String session = story();
        signedIn("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 9);
        List<WebElement> rows = entries();
        assertThat(rows.stream().map(r -> r.getAttribute("data-outcome")).toList())
                .containsExactly("accepted", "accepted", "accepted", "accepted", "accepted", "accepted", "conflict",
                        "rejected", "accepted");
        WebElement conflict = rows.get(6);
        assertThat(conflict.getAttribute("data-event-id")).isEqualTo(session + "-stale");
        assertThat(conflict.findElement(By.cssSelector("[data-test=reason]")).getText()).contains("expected");
        assertThat(rows.get(7).findElement(By.cssSelector("[data-test=reason]")).getText())
                .contains("tool call c-unknown was never requested");
        assertThat(rows.get(2).getText()).contains("agentstate.tool.requested").contains("agent://planner")
                .contains("search");
        shoot("timeline");

        // the filters go to the API: only the tool events, only one agent's
        open("#/s/" + session + "/timeline?type=agentstate.state.patched");
        wait(driver -> entries().size() == 1 && entries().get(0).getText().contains("agent://writer"));
        open("#/s/" + session + "/timeline?type=agentstate.tool.completed");
        wait(driver -> entries().size() == 2 && entries().get(1).getAttribute("data-outcome").equals("rejected"));
        open("#/s/" + session + "/timeline?source=agent://tools");
        wait(driver -> entries().size() == 2 && entries().stream().allMatch(r -> r.getText().contains("agent://tools")));

        // content is text, never markup
        assertThat(browser.executeScript("return window.__xss === undefined")).isEqualTo(true);
        open("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 9);
        assertThat(entries().get(8).getText()).contains("<img src=x onerror=");
    }

    @Test
    void shouldTravelToAnyVersionAndShowWhatChanged() {
        String session = story();
        signedIn("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 9);
        // the tool call's completion, from its version link
        entries().get(3).findElement(By.linkText("v4")).click();
        WebElement diff = waitFor(By.cssSelector("[data-test=diff]"));
        assertThat(diff.findElement(By.cssSelector("[data-test=tool-change]")).getText())
                .contains("c1").contains("requested → completed");
        assertThat(browser.findElements(By.cssSelector("[data-test=added-message]"))).isEmpty();
        shoot("time-travel");

        open("#/s/" + session + "/travel/5");
        waitForText(By.cssSelector("[data-test=scope-change]"), "shared.step");
        assertThat(text("[data-test=scope-change]")).contains("(absent)").contains("\"answer\"");
        assertThat(text("[data-test=scopes]")).contains("\"step\": \"answer\"");

        open("#/s/" + session + "/travel/6");
        waitForText(By.cssSelector("[data-test=summary-change]"), "through v3");

        // stepping back: version 2 added the first message; the whole state then held one message and no tool call
        open("#/s/" + session + "/travel/3");
        waitForText(By.cssSelector("[data-test=tool-change]"), "requested");
        browser.findElement(By.cssSelector("[data-test=previous]")).click();
        wait(driver -> browser.getCurrentUrl().endsWith("/travel/2")
                && text("[data-test=added-message]").contains("plan a trip"));
        assertThat(text("[data-test=state]")).contains("Conversation (1 messages").contains("No tool calls.");
    }

    @Test
    void shouldShowTheToolLedgerGrowthAndAudit() {
        String session = story();
        signedIn("#/s/" + session + "/tools");
        WebElement call = waitFor(By.cssSelector("[data-test=tools] tr[data-call=c1]"));
        assertThat(call.getText()).contains("search").contains("completed").contains("agent://planner")
                .contains("agent://tools").contains("v3 → v4").contains("Lisbon");
        shoot("tools");

        open("#/s/" + session + "/growth");
        WebElement chart = waitFor(By.cssSelector("[data-test=chart-messages]"));
        assertThat(chart.getText()).contains("messages: 2 at v7");
        shoot("growth");

        open("#/s/" + session + "/audit");
        waitForText(By.cssSelector("[data-test=audit]"), "The chain verifies");
        shoot("audit");
    }

    @Test
    void shouldShowANewEntryAsItArrives() {
        String session = story();
        signedIn("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 9);
        waitForText(By.cssSelector("[data-test=live]"), "live");
        post(session, session + "-live", null, token, message("agent://writer", "assistant", "arrived live")).then().log()
                .ifValidationFails().statusCode(201);
        wait(driver -> entries().size() == 10);
        WebElement last = entries().get(9);
        assertThat(last.getAttribute("data-event-id")).isEqualTo(session + "-live");
        assertThat(last.getText()).contains("v8").contains("arrived live");
        // a refused write changes no version, and still shows up as it happens, with its reason
        post(session, session + "-live-stale", "7", token, message("agent://writer", "assistant", "too late")).then()
                .log().ifValidationFails().statusCode(409);
        wait(driver -> entries().size() == 11);
        WebElement refused = entries().get(10);
        assertThat(refused.getAttribute("data-outcome")).isEqualTo("conflict");
        assertThat(refused.findElement(By.cssSelector("[data-test=reason]")).getText())
                .contains("expected version 7 but the session is at 8");
        // no stray text where a page part is absent (a session that is not a fork has no banner)
        assertThat(browser.findElements(By.xpath("//main/p[normalize-space()='null']"))).isEmpty();
    }

    @Test
    void shouldShowWhatTheModelSawAtEachTurn() throws Exception {
        String session = "chat-" + UUID.randomUUID();
        String marker = session.substring(5, 13);
        for (String message : List.of(marker + " first question", marker + " second question")) {
            given().contentType(ContentType.JSON).header("Authorization", "Bearer " + token)
                    .body("{\"message\":\"" + message + "\"}").post("/sessions/{id}/chat", session).then().log()
                    .ifValidationFails().statusCode(200);
        }
        // the model stub's own record of the second turn's request
        String sent = ModelStubResource.server().getAllServeEvents().stream()
                .map(event -> event.getRequest().getBodyAsString())
                .filter(body -> body.contains(marker + " second question")).findFirst().orElseThrow();
        List<String> expected = new java.util.ArrayList<>();
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(sent).get("messages")
                .forEach(m -> expected.add(m.get("role").asText() + ": " + m.get("content").asText()));
        assertThat(expected).hasSize(4);

        signedIn("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 4);
        List<WebElement> links = browser.findElements(By.cssSelector("[data-test=prompt-link]"));
        assertThat(links).hasSize(2);
        links.get(1).click();
        WebElement prompt = waitFor(By.cssSelector("[data-test=prompt]"));
        List<String> shown = prompt.findElements(By.cssSelector("li")).stream()
                .map(li -> li.findElement(By.cssSelector(".meta")).getText() + ": "
                        + li.findElement(By.cssSelector(".content")).getText())
                .toList();
        assertThat(shown).containsExactlyElementsOf(expected);
        assertThat(text("[data-test=tab-prompt]")).contains("rebuilt from the log").contains("the state at v2");
        shoot("prompt");
    }

    @Test
    void shouldForkFromAVersionAndOpenTheFork() {
        String session = story();
        String fork = session + "-what-if";
        signedIn("#/s/" + session + "/travel/4");
        waitForText(By.cssSelector("[data-test=fork-button]"), "Fork from version 4");
        browser.findElement(By.cssSelector("[data-test=fork-id]")).sendKeys(fork);
        browser.findElement(By.cssSelector("[data-test=fork-button]")).click();
        // the fork's own page: where it came from, and its one entry
        wait(driver -> browser.getCurrentUrl().contains("#/s/" + fork + "/timeline"));
        waitForText(By.cssSelector("[data-test=forked-from]"), session + " at version 4");
        wait(driver -> entries().size() == 1);
        assertThat(entries().get(0).getAttribute("data-version")).isEqualTo("5");
        assertThat(entries().get(0).getText()).contains("agentstate.session.forked")
                .contains("forked from " + session + " at version 4");
        assertThat(text("h1")).contains(fork);
        shoot("fork");

        // its state is the source's at 4: the completed call, no patch yet; the source is untouched
        entries().get(0).findElement(By.linkText("v5")).click();
        waitForText(By.cssSelector("[data-test=state]"), "Conversation (1 messages");
        assertThat(text("[data-test=tools]")).contains("c1").contains("completed");
        assertThat(text("[data-test=scopes]")).doesNotContain("step");
        assertThat(browser.findElement(By.cssSelector("[data-test=previous]")).isEnabled()).isFalse();
        given().header("Authorization", "Bearer " + token).get("/sessions/{id}", session).then().statusCode(200)
                .header("ETag", "\"7\"");
        // the banner links back to the source at the version forked
        browser.findElement(By.cssSelector("[data-test=forked-from] a")).click();
        wait(driver -> browser.getCurrentUrl().endsWith("#/s/" + session + "/travel/4"));
    }

    @Test
    void shouldPageATimelineOfTenThousandEventsAndMarkItsSnapshots() {
        String session = "long-" + UUID.randomUUID();
        long built = System.nanoTime();
        for (int batch = 0; batch < 100; batch++) {
            StringBuilder body = new StringBuilder("[");
            for (int i = 0; i < 100; i++) {
                body.append(i == 0 ? "" : ",").append(message("agent://planner", i % 2 == 0 ? "user" : "assistant",
                        "message " + (batch * 100 + i + 1)));
            }
            post(session, session + "-" + batch, null, token, body.append(']').toString()).then().log()
                    .ifValidationFails().statusCode(201);
        }
        LOG.infof("LONG SESSION 10,000 events appended in %d ms", (System.nanoTime() - built) / 1_000_000);

        long opened = System.nanoTime();
        signedIn("#/s/" + session + "/timeline");
        wait(driver -> entries().size() == 100);
        long firstPage = (System.nanoTime() - opened) / 1_000_000;
        assertThat(entries().get(0).getAttribute("data-version")).isEqualTo("1");
        long more = System.nanoTime();
        browser.findElement(By.cssSelector("[data-test=more-entries]")).click();
        wait(driver -> entries().size() == 200);
        long secondPage = (System.nanoTime() - more) / 1_000_000;
        assertThat(entries().get(199).getAttribute("data-version")).isEqualTo("200");
        assertThat(text("p.facts")).contains("version 10000").contains("10000 messages");
        // the tail first, without reading the 9,900 entries before it
        long tail = System.nanoTime();
        open("#/s/" + session + "/timeline?order=desc");
        wait(driver -> entries().size() == 100 && "10000".equals(entries().get(0).getAttribute("data-version")));
        long newestPage = (System.nanoTime() - tail) / 1_000_000;
        assertThat(entries().get(99).getAttribute("data-version")).isEqualTo("9901");

        long traveled = System.nanoTime();
        open("#/s/" + session + "/travel/9999");
        waitForText(By.cssSelector("[data-test=added-message]"), "message 9999");
        long travel = (System.nanoTime() - traveled) / 1_000_000;

        // the growth chart marks the snapshots the API lists (written in the background, so looked for until stored)
        long[] growth = new long[1];
        wait(driver -> {
            List<Long> stored = given().header("Authorization", "Bearer " + token)
                    .get("/sessions/{id}/snapshots", session).then().statusCode(200).extract().jsonPath()
                    .getList("versions", Long.class);
            long start = System.nanoTime();
            open("#/s/" + session + "/growth");
            waitForText(By.cssSelector("[data-test=chart-messages]"), "messages: 10000 at v10000");
            growth[0] = (System.nanoTime() - start) / 1_000_000;
            List<Long> marked = browser.findElements(By.cssSelector("[data-test=chart-messages] line.snapshot")).stream()
                    .map(line -> Long.parseLong(line.getAttribute("data-version"))).toList();
            return !stored.isEmpty() && marked.equals(stored);
        });
        assertThat(text("[data-test=snapshots]")).contains("one every 100 versions");
        shoot("long-growth");
        // the same pages through the API alone, best of five, for the closing figures
        long apiFirst = Long.MAX_VALUE;
        long apiLast = Long.MAX_VALUE;
        String next = given().header("Authorization", "Bearer " + token).get("/sessions/{id}/events?limit=100", session)
                .then().statusCode(200).extract().jsonPath().getString("next");
        assertThat(next).isNotNull();
        for (int i = 0; i < 5; i++) {
            long start = System.nanoTime();
            given().header("Authorization", "Bearer " + token).queryParam("cursor", next)
                    .get("/sessions/{id}/events?limit=100", session).then().statusCode(200);
            apiFirst = Math.min(apiFirst, (System.nanoTime() - start) / 1_000);
            start = System.nanoTime();
            given().header("Authorization", "Bearer " + token).get("/sessions/{id}/events?limit=100&order=desc", session)
                    .then().statusCode(200);
            apiLast = Math.min(apiLast, (System.nanoTime() - start) / 1_000);
        }
        LOG.infof("LONG SESSION 10,000 events in the browser: first timeline page %d ms, next page %d ms, "
                + "newest first %d ms, time travel to v9999 %d ms, growth chart (all 10,000 entries) %d ms; API pages of "
                + "100: second %d us, newest %d us", firstPage, secondPage, newestPage, travel, growth[0], apiFirst,
                apiLast);
    }

    // The session every view is checked on: two agents and a tool, a refused write of each kind, a summary.
    private String story() {
        String session = "trip-" + UUID.randomUUID();
        post(session, session + "-1", null, token, """
                {"source":"agent://planner","type":"agentstate.session.started","data":{"userId":"u-traveller"}}""").then()
                .log().ifValidationFails().statusCode(201);
        post(session, session + "-2", null, token, message("agent://planner", "user", "plan a trip")).then().log()
                .ifValidationFails().statusCode(201);
        post(session, session + "-3", null, token, """
                {"source":"agent://planner","type":"agentstate.tool.requested",
                 "data":{"callId":"c1","tool":"search","arguments":{"q":"flights to Lisbon"}}}""").then().log()
                .ifValidationFails().statusCode(201);
        post(session, session + "-4", null, token, """
                {"source":"agent://tools","type":"agentstate.tool.completed",
                 "data":{"callId":"c1","output":{"best":"Lisbon, 09:40"}}}""").then().log().ifValidationFails().statusCode(201);
        post(session, session + "-5", null, token, """
                {"source":"agent://writer","type":"agentstate.state.patched",
                 "data":{"scope":"shared","patch":{"step":"answer"}}}""").then().log().ifValidationFails().statusCode(201);
        post(session, session + "-6", null, token, """
                {"source":"agent://summarizer","type":"agentstate.summary.recorded",
                 "data":{"throughVersion":3,"summary":"The user wants a trip; a search found Lisbon.","model":"stub"}}""")
                .then().log().ifValidationFails().statusCode(201);
        post(session, session + "-stale", "2", token, message("agent://writer", "assistant", "late answer")).then().log()
                .ifValidationFails().statusCode(409);
        post(session, session + "-bad", null, token, """
                {"source":"agent://tools","type":"agentstate.tool.completed","data":{"callId":"c-unknown","output":1}}""")
                .then().log().ifValidationFails().statusCode(422);
        post(session, session + "-7", null, token, message("agent://writer", "assistant",
                "<img src=x onerror=\\\"window.__xss=1\\\"> Lisbon it is")).then().log().ifValidationFails().statusCode(201);
        return session;
    }

    private static Response post(String session, String id, String ifMatch, String token, String body) {
        var request = given().contentType(ContentType.JSON).header("Authorization", "Bearer " + token)
                .header("Idempotency-Key", id);
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return request.body(body).post("/sessions/{id}/events", session);
    }

    private static String message(String source, String role, String content) {
        return """
                {"source":"%s","type":"agentstate.message.appended","data":{"role":"%s","content":"%s"}}"""
                .formatted(source, role, content);
    }

    private void open(String hash) {
        browser.get(ui.toString() + hash);
        assertThat(browser.getTitle()).as("the page at %s: %s", browser.getCurrentUrl(), browser.getPageSource())
                .isEqualTo("agent-state inspector");
    }

    private void signedIn(String hash) {
        open(hash);
        browser.executeScript("sessionStorage.setItem('agent-state.credential', arguments[0])", token);
        browser.navigate().refresh();
    }

    private void signIn(String credential) {
        WebElement input = browser.findElement(By.id("credential"));
        input.clear();
        input.sendKeys(credential);
        browser.findElement(By.id("signin-button")).click();
    }

    private List<WebElement> entries() {
        return browser.findElements(By.cssSelector("[data-test=timeline] tr.entry"));
    }

    private List<String> sessionIds() {
        return browser.findElements(By.cssSelector("[data-test=sessions] tr[data-session]")).stream()
                .map(row -> row.getAttribute("data-session")).toList();
    }

    private String text(String css) {
        return browser.findElement(By.cssSelector(css)).getText();
    }

    private static <T> T wait(java.util.function.Function<? super org.openqa.selenium.WebDriver, T> condition) {
        return new WebDriverWait(browser, PATIENCE).pollingEvery(Duration.ofMillis(20))
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                .until(condition);
    }

    private static WebElement waitFor(By locator) {
        return wait(ExpectedConditions.visibilityOfElementLocated(locator));
    }

    private static void waitForText(By locator, String text) {
        wait(ExpectedConditions.textToBePresentInElementLocated(locator, text));
    }

    private static void shoot(String name) {
        try {
            Files.write(SHOTS.resolve("inspector-" + name + ".png"),
                    ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThat(((JavascriptExecutor) browser).executeScript("return document.readyState")).isEqualTo("complete");
    }
}
