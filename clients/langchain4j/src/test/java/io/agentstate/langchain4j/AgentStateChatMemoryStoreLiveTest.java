package io.agentstate.langchain4j;

import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;

/**
 * The contract against the service at {@code AGENT_STATE_URL} (with {@code AGENT_STATE_API_KEY} or
 * {@code AGENT_STATE_TOKEN} when it needs credentials): {@code AGENT_STATE_URL=http://localhost:8080 ../../mvnw -f
 * pom.xml test}. Without the variable it fails, saying so: it has nothing to test against.
 */
class AgentStateChatMemoryStoreLiveTest extends AgentStateChatMemoryStoreContract {

    private static String url;

    @BeforeAll
    static void service() {
        url = System.getenv("AGENT_STATE_URL");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("AGENT_STATE_URL is not set: start the service (./mvnw -Prun) and run "
                    + "AGENT_STATE_URL=http://localhost:8080 ../../mvnw -f pom.xml test");
        }
    }

    @Override
    protected AgentStateChatMemoryStore store() {
        return AgentStateChatMemoryStore.builder().baseUrl(url).apiKey(System.getenv("AGENT_STATE_API_KEY"))
                .token(System.getenv("AGENT_STATE_TOKEN")).sessionPrefix("lc4j-" + UUID.randomUUID().toString()
                        .substring(0, 8) + "-")
                .build();
    }
}
