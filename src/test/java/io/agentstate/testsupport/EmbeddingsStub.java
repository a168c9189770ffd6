package io.agentstate.testsupport;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;

/**
 * The model stub's OpenAI {@code /v1/embeddings} answer: a deterministic {@value #DIMENSIONS}-dimension vector per
 * input, each word of three letters or more adding one to the dimension its hash picks, so texts that share words are
 * close and texts that share none are orthogonal. Real protocol, toy model.
 */
public final class EmbeddingsStub implements ResponseDefinitionTransformerV2 {

    public static final String NAME = "embeddings";
    public static final int DIMENSIONS = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public boolean applyGlobally() {
        return false;
    }

    @Override
    public ResponseDefinition transform(ServeEvent event) {
        try {
            JsonNode request = JSON.readTree(event.getRequest().getBodyAsString());
            List<String> inputs = new ArrayList<>();
            JsonNode input = request.path("input");
            if (input.isArray()) {
                input.forEach(text -> inputs.add(text.asText()));
            } else {
                inputs.add(input.asText());
            }
            ObjectNode answer = JSON.createObjectNode().put("object", "list")
                    .put("model", request.path("model").asText());
            ArrayNode data = answer.putArray("data");
            int tokens = 0;
            for (int i = 0; i < inputs.size(); i++) {
                ArrayNode vector = data.addObject().put("object", "embedding").put("index", i).putArray("embedding");
                float[] values = vector(inputs.get(i));
                for (float value : values) {
                    vector.add(value);
                }
                tokens += inputs.get(i).split("\\s+").length;
            }
            answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
            return ResponseDefinitionBuilder.like(event.getResponseDefinition()).but()
                    .withHeader("Content-Type", "application/json").withBody(answer.toString()).build();
        } catch (Exception e) {
            return ResponseDefinitionBuilder.like(event.getResponseDefinition()).but().withStatus(400)
                    .withBody("{\"error\":{\"message\":\"" + e.getClass().getSimpleName() + "\"}}").build();
        }
    }

    /** The stub's vector of a text (not normalised: the service normalises what it receives). */
    public static float[] vector(String text) {
        float[] values = new float[DIMENSIONS];
        values[0] = 0.01f;
        for (String word : text.toLowerCase(Locale.ROOT).split("[^\\p{L}]+")) {
            if (word.length() >= 3) {
                values[1 + Math.floorMod(word.hashCode(), DIMENSIONS - 1)] += 1;
            }
        }
        return values;
    }
}
