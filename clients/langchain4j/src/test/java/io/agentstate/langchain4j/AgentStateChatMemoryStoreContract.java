package io.agentstate.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;

/**
 * The {@code ChatMemoryStore} contract, run against a live agent-state service: a subclass says where it is. The
 * service's test suite runs it on its own test instance; {@code AgentStateChatMemoryStoreLiveTest} runs it against
 * {@code AGENT_STATE_URL}.
 */
public abstract class AgentStateChatMemoryStoreContract {

    /** A store on a fresh session prefix of the service under test. */
    protected abstract AgentStateChatMemoryStore store();

    private static List<ChatMessage> conversation() {
        return List.of(
                SystemMessage.from("You plan trips."),
                UserMessage.from("ada", "Flights to Lisbon? 😀 «quoted» \\ \"escaped\""),
                AiMessage.from(ToolExecutionRequest.builder().id("call-1").name("search")
                        .arguments("{\"q\":\"LIS\",\"max\":3}").build()),
                ToolExecutionResultMessage.from("call-1", "search", "[{\"flight\":\"TP1\"}]"),
                AiMessage.from("TP1 leaves at 09:40."));
    }

    @Test
    void shouldAnswerAnEmptyListForAMemoryNeverWritten() {
        assertThat(store().getMessages("never-" + UUID.randomUUID())).isEmpty();
    }

    @Test
    void shouldReturnEveryKindOfMessageAsItWasStored() {
        AgentStateChatMemoryStore store = store();
        String id = "trip-" + UUID.randomUUID();
        store.updateMessages(id, conversation());
        assertThat(store.getMessages(id)).isEqualTo(conversation());
    }

    @Test
    void shouldReplaceTheMessagesOnEachUpdate() {
        AgentStateChatMemoryStore store = store();
        String id = "replace-" + UUID.randomUUID();
        store.updateMessages(id, conversation());
        List<ChatMessage> shorter = List.of(UserMessage.from("only this"));
        store.updateMessages(id, shorter);
        assertThat(store.getMessages(id)).isEqualTo(shorter);
        store.updateMessages(id, List.of());
        assertThat(store.getMessages(id)).isEmpty();
    }

    @Test
    void shouldKeepMemoriesApartWhateverTheirIdsLookLike() {
        AgentStateChatMemoryStore store = store();
        Object[] ids = { 42, UUID.randomUUID(), "with spaces and / slashes " + UUID.randomUUID(), "x".repeat(300) };
        for (Object id : ids) {
            store.updateMessages(id, List.of(UserMessage.from("I am " + id)));
        }
        for (Object id : ids) {
            assertThat(store.getMessages(id)).containsExactly(UserMessage.from("I am " + id));
            assertThat(store.sessionIdFor(id)).matches("[A-Za-z0-9._:@-]{1,128}");
        }
    }

    @Test
    void shouldGiveNoIdAnotherIdsSession() {
        AgentStateChatMemoryStore store = store();
        String hashed = "needs / hashing " + UUID.randomUUID();
        String lookalike = store.sessionIdFor(hashed).substring(store.sessionIdFor("x").indexOf("n.x"));
        store.updateMessages(hashed, List.of(UserMessage.from("mine")));
        assertThat(store.sessionIdFor(lookalike)).isNotEqualTo(store.sessionIdFor(hashed));
        assertThat(store.getMessages(lookalike)).isEmpty();
    }

    @Test
    void shouldForgetADeletedMemoryAndStartItAgain() {
        AgentStateChatMemoryStore store = store();
        String id = "delete-" + UUID.randomUUID();
        store.updateMessages(id, conversation());
        store.deleteMessages(id);
        assertThat(store.getMessages(id)).isEmpty();
        store.deleteMessages(id);
        store.deleteMessages("never-" + UUID.randomUUID());
        store.updateMessages(id, List.of(UserMessage.from("again")));
        assertThat(store.getMessages(id)).containsExactly(UserMessage.from("again"));
    }

    @Test
    void shouldBackAMessageWindowThatAnotherProcessReadsBack() {
        String id = "window-" + UUID.randomUUID();
        AgentStateChatMemoryStore store = store();
        MessageWindowChatMemory memory = MessageWindowChatMemory.builder().id(id).maxMessages(4).chatMemoryStore(store)
                .build();
        List<ChatMessage> all = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ChatMessage message = i % 2 == 0 ? UserMessage.from("question " + i) : AiMessage.from("answer " + i);
            all.add(message);
            memory.add(message);
        }
        // the window keeps the last four; a new memory on the same id (a restarted process) sees the same
        MessageWindowChatMemory restarted = MessageWindowChatMemory.builder().id(id).maxMessages(4)
                .chatMemoryStore(store).build();
        assertThat(restarted.messages()).isEqualTo(all.subList(2, 6));
    }

    @Test
    void shouldRefuseAMemoryLargerThanOneEventWithTheServicesAnswer() {
        AgentStateChatMemoryStore store = store();
        String id = "large-" + UUID.randomUUID();
        store.updateMessages(id, List.of(UserMessage.from("small")));
        List<ChatMessage> large = List.of(UserMessage.from("y".repeat(300_000)));
        assertThatThrownBy(() -> store.updateMessages(id, large))
                .isInstanceOf(AgentStateChatMemoryStore.AgentStateException.class)
                .hasMessageContaining("413")
                .satisfies(e -> assertThat(((AgentStateChatMemoryStore.AgentStateException) e).status()).isEqualTo(413));
        // nothing was lost: the memory is as it was
        assertThat(store.getMessages(id)).containsExactly(UserMessage.from("small"));
    }
}
