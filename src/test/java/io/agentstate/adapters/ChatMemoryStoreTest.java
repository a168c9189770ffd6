package io.agentstate.adapters;

import java.net.URL;
import java.util.UUID;

import io.agentstate.langchain4j.AgentStateChatMemoryStore;
import io.agentstate.langchain4j.AgentStateChatMemoryStoreContract;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** The LangChain4j store's contract (clients/langchain4j) against this service on the local stack. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class ChatMemoryStoreTest extends AgentStateChatMemoryStoreContract {

    @TestHTTPResource("/")
    URL service;

    @Override
    protected AgentStateChatMemoryStore store() {
        return AgentStateChatMemoryStore.builder().baseUrl(service)
                .sessionPrefix("lc4j-" + UUID.randomUUID().toString().substring(0, 8) + "-").build();
    }
}
