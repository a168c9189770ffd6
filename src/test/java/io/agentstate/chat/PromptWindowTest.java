package io.agentstate.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.agentstate.ledger.SessionState;
import io.agentstate.testsupport.Events;

class PromptWindowTest {

    @Test
    void shouldStartWithTheSystemPromptAndTheSummaryThenTheVerbatimMessages() {
        Events s = Events.session("pw1");
        SessionState state = SessionState.empty("default", "pw1");
        state = state.apply(s.message("user", "first"), 1, 10);
        state = state.apply(s.message("assistant", "answer one"), 2, 10);
        state = state.apply(s.summary(2, "they greeted"), 3, 10);
        state = state.apply(s.message("user", "second"), 4, 10);

        List<ChatMessage> window = PromptWindow.of(state, "Be brief.");

        assertThat(window).hasSize(2);
        assertThat(((SystemMessage) window.get(0)).text())
                .isEqualTo("Be brief.\n\nSummary of the conversation so far:\nthey greeted");
        assertThat(((UserMessage) window.get(1)).singleText()).isEqualTo("second");
    }

    @Test
    void shouldLeaveOutAToolResultWhoseCallIsStillOpenAndKeepACompletedOne() {
        Events s = Events.session("pw2");
        SessionState state = SessionState.empty("default", "pw2");
        state = state.apply(s.toolRequested("c1", "search"), 1, 10);
        state = state.apply(s.toolMessage("c1", "partial"), 2, 10);
        state = state.apply(s.toolCompleted("c1", "{\"hits\":1}"), 3, 10);
        state = state.apply(s.toolRequested("c2", "fetch"), 4, 10);
        state = state.apply(s.toolMessage("c2", "early"), 5, 10);
        state = state.apply(s.message("assistant", "done"), 6, 10);

        List<ChatMessage> window = PromptWindow.of(state, "P");

        assertThat(window).hasSize(3);
        assertThat(((UserMessage) window.get(1)).singleText()).isEqualTo("[result of tool search, call c1]\npartial");
        assertThat(((AiMessage) window.get(2)).text()).isEqualTo("done");
    }

    @Test
    void shouldKeepSummaryIdsWithinTheEventIdLimit() {
        assertThat(SummaryScheduler.summaryId("short", 7)).isEqualTo("summary:short:7");
        String longId = SummaryScheduler.summaryId("s".repeat(128), 7);
        assertThat(longId).hasSizeLessThanOrEqualTo(128).startsWith("summary:").endsWith(":7");
        assertThat(SummaryScheduler.summaryId("s".repeat(128), 7)).isEqualTo(longId);
    }
}
