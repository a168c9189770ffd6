package io.agentstate.adapters;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.UserMessage;
import io.agentstate.langchain4j.AgentStateChatMemoryStore;
import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A quarkus-langchain4j AI service with its memory in agent-state: the second turn's request to the model (the stub,
 * a real OpenAI-protocol server) carries the first turn, read back from the service, and a new store instance reads
 * the conversation from the session.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
class StoreBackedAssistantTest {

    @TestHTTPResource("/")
    URL service;

    @Inject
    StoreBackedAssistant assistant;

    @Test
    void shouldKeepTheConversationInAgentStateAndSendItToTheModel() {
        String prefix = "lc4j-ai-" + UUID.randomUUID().toString().substring(0, 8) + "-";
        StoreBackedAssistant.Memory.store = AgentStateChatMemoryStore.builder().baseUrl(service).sessionPrefix(prefix)
                .build();
        String conversation = "c-" + UUID.randomUUID();
        String marker = conversation.substring(2, 10);

        assertThat(assistant.chat(conversation, marker + " first")).isEqualTo("echo: " + marker + " first");
        assertThat(assistant.chat(conversation, marker + " second")).isEqualTo("echo: " + marker + " second");

        // the model was sent the first exchange with the second question
        String sent = ModelStubResource.server().getAllServeEvents().stream()
                .map(event -> event.getRequest().getBodyAsString())
                .filter(body -> body.contains(marker + " second")).findFirst().orElseThrow();
        assertThat(sent).contains(marker + " first").contains("echo: " + marker + " first");

        // another process, another store: the same conversation, from the service
        AgentStateChatMemoryStore fresh = AgentStateChatMemoryStore.builder().baseUrl(service).sessionPrefix(prefix)
                .build();
        assertThat(fresh.getMessages(conversation)).containsExactly(UserMessage.from(marker + " first"),
                AiMessage.from("echo: " + marker + " first"), UserMessage.from(marker + " second"),
                AiMessage.from("echo: " + marker + " second"));
        // and the session's timeline holds each state the memory had
        List<String> types = given().get("/sessions/{id}/events", fresh.sessionIdFor(conversation)).then().statusCode(200)
                .extract().jsonPath().getList("entries.event.type", String.class);
        assertThat(types).isNotEmpty().allMatch(AgentStateChatMemoryStore.EVENT_TYPE::equals);
    }
}
