package io.agentstate.memory;

import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.agentstate.testsupport.EmbeddingsStub;
import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Embeddings from an OpenAI-compatible endpoint ({@code agent-state.memory.embedding.provider=openai}): the model stub's
 * {@code /v1/embeddings} over real HTTP, its vectors stored with the model's name and dimension and searched.
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
@TestProfile(OpenAiEmbeddingsMemoryTest.OpenAiEmbeddings.class)
class OpenAiEmbeddingsMemoryTest {

    /** The OpenAI provider with the stub's model. */
    public static class OpenAiEmbeddings implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("agent-state.memory.embedding.provider", "openai",
                    "agent-state.memory.embedding.model-name", "stub-embed");
        }
    }

    @Inject
    Pool pool;

    @Test
    void shouldEmbedThroughTheEndpointAndSearchWithItsVectors() {
        String user = "oai-" + UUID.randomUUID();
        StringBuilder batch = new StringBuilder("[");
        String[] facts = { "Prefers a dark theme in every editor", "Is allergic to hazelnuts and almonds",
                "Lives in Oslo near the harbour" };
        for (int i = 0; i < facts.length; i++) {
            batch.append(i == 0 ? "" : ",").append(SemanticMemoryContract.fact(user + "-" + i, user, facts[i]));
        }
        given().contentType("application/cloudevents-batch+json").body(batch.append(']').toString())
                .post("/sessions/{id}/events", "s-" + user).then().statusCode(201);
        SemanticMemoryContract.awaitIndexed(user);

        given().queryParam("query", "which nuts? hazelnuts or almonds").get("/users/{u}/memories", user).then()
                .statusCode(200).body("[0].memoryId", equalTo(user + "-1")).body("$", hasSize(3));
        given().queryParam("query", "harbour in Oslo").queryParam("limit", 1).get("/users/{u}/memories", user)
                .then().statusCode(200).body("memoryId", equalTo(java.util.List.of(user + "-2")));
        Row row = pool.preparedQuery("SELECT embedding_model, embedding_dims, count(*) AS n FROM memories "
                + "WHERE user_id = $1 GROUP BY 1, 2").execute(Tuple.of(user)).await().indefinitely().iterator().next();
        assertThat(row.getString("embedding_model")).isEqualTo("openai:stub-embed");
        assertThat(row.getInteger("embedding_dims")).isEqualTo(EmbeddingsStub.DIMENSIONS);
        assertThat(row.getLong("n")).isEqualTo(3);
        // the facts and the queries went to the endpoint, with the configured model and key
        ModelStubResource.server().verify(postRequestedFor(urlPathEqualTo("/v1/embeddings"))
                .withRequestBody(matchingJsonPath("$.model", com.github.tomakehurst.wiremock.client.WireMock
                        .equalTo("stub-embed")))
                .withRequestBody(com.github.tomakehurst.wiremock.client.WireMock.containing("hazelnuts"))
                .withHeader("Authorization", com.github.tomakehurst.wiremock.client.WireMock.equalTo("Bearer test-key")));
    }
}
