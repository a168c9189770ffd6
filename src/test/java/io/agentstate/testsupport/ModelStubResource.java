package io.agentstate.testsupport;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import java.util.Map;

import com.github.tomakehurst.wiremock.WireMockServer;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real HTTP server speaking the OpenAI chat-completions protocol (streaming included), standing in for the model.
 * It answers {@code echo: <last user message>}; a message containing TIMEOUT-ME is answered too late, FAIL-ME with a
 * 500; a summariser request gets a fixed summary. {@code /v1/embeddings} answers with {@link EmbeddingsStub}'s vectors.
 */
public class ModelStubResource implements QuarkusTestResourceLifecycleManager {

    public static final String SUMMARY = "SUMMARY: the user counted messages.";
    /** What the extraction stub proposes for an exchange that says REMEMBER-ME. */
    public static final String EXTRACTED = "Is allergic to hazelnuts";
    private static WireMockServer server;

    public static WireMockServer server() {
        return server;
    }

    @Override
    public Map<String, String> start() {
        server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1").globalTemplating(true)
                .extensions(new EmbeddingsStub()));
        server.start();
        String completion = """
                {"id":"chatcmpl-stub","object":"chat.completion","created":1700000000,"model":"stub-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}""";
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(10)
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("echo: {{jsonPath request.body '$.messages[-1].content'}}"))));
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(5)
                .withRequestBody(matchingJsonPath("$.stream", com.github.tomakehurst.wiremock.client.WireMock
                        .equalTo("true")))
                .willReturn(aResponse().withHeader("Content-Type", "text/event-stream")
                        .withBody(chunk("echo") + chunk(": ") + chunk("{{jsonPath request.body '$.messages[-1].content'}}")
                                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                                + "\"model\":\"stub-model\",\"choices\":[{\"index\":0,\"delta\":{},"
                                + "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")));
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("running summary of a conversation"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted(SUMMARY))));
        // fact extraction (agent-state.memory.extraction): nothing to propose, unless the exchange says REMEMBER-ME
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(2)
                .withRequestBody(containing("keep the long-term memory of an assistant"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("{\\\"facts\\\":[]}"))));
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("keep the long-term memory of an assistant"))
                .withRequestBody(containing("REMEMBER-ME"))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("{\\\"facts\\\":[{\\\"fact\\\":\\\"" + EXTRACTED
                                + "\\\",\\\"tags\\\":[\\\"health\\\"],\\\"revises\\\":null}]}"))));
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("TIMEOUT-ME"))
                .willReturn(aResponse().withFixedDelay(6000).withHeader("Content-Type", "application/json")
                        .withBody(completion.formatted("too late"))));
        server.stubFor(post(urlPathMatching("/v1/chat/completions")).atPriority(1)
                .withRequestBody(containing("FAIL-ME"))
                .willReturn(aResponse().withStatus(500).withBody("{\"error\":{\"message\":\"boom\"}}")));
        // OpenAI embeddings (agent-state.memory.embedding.provider=openai): computed per request by EmbeddingsStub
        server.stubFor(post(urlPathMatching("/v1/embeddings")).willReturn(aResponse().withTransformers(
                EmbeddingsStub.NAME)));
        return Map.of(
                "agent-state.memory.embedding.base-url", server.baseUrl() + "/v1",
                "agent-state.memory.embedding.api-key", "test-key",
                "quarkus.langchain4j.openai.base-url", server.baseUrl() + "/v1",
                "quarkus.langchain4j.openai.api-key", "test-key",
                "quarkus.langchain4j.openai.timeout", "2s",
                "quarkus.langchain4j.openai.max-retries", "1",
                "agent-state.chat.max-verbatim-messages", "6",
                "agent-state.chat.keep-verbatim-messages", "2");
    }

    private static String chunk(String content) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"stub-model\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}\n\n";
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop();
        }
    }
}
