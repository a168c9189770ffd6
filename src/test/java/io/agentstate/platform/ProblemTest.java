package io.agentstate.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class ProblemTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void shouldWriteEachMemberOnceWithExtensionsAtTheTopLevel() throws Exception {
        Problem problem = Problem.of(409, "version-conflict", "Version conflict", "expected 3, at 4")
                .with("currentVersion", 4)
                .with("eventIds", List.of("e1"))
                .at("/sessions/s1/events");
        String text = json.writeValueAsString(problem);
        JsonNode body = json.readTree(text);
        assertThat(body.fieldNames()).toIterable()
                .containsExactly("type", "title", "status", "detail", "instance", "currentVersion", "eventIds");
        assertThat(body.get("currentVersion").asInt()).isEqualTo(4);
        assertThat(text).doesNotContain("extensions");
    }

    @Test
    void shouldCompleteAProblemWithoutInstanceOrDetail() {
        Problem completed = Problem.of(409, "turn-refused", "Turn refused", null).complete("/sessions/s1/chat");
        assertThat(completed.instance()).isEqualTo("/sessions/s1/chat");
        assertThat(completed.detail()).isEqualTo("Turn refused");
        assertThat(Problem.of(400, "x", "X", "d").at("/a").complete("/b").instance()).isEqualTo("/a");
    }

    @Test
    void shouldRefuseAnExtensionNamedLikeAStandardMember() {
        assertThatThrownBy(() -> Problem.of(400, "x", "X", "d").with("status", 500))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
