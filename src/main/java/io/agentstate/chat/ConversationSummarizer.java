package io.agentstate.chat;

import jakarta.enterprise.context.ApplicationScoped;

import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.UserMessage;
import io.quarkiverse.langchain4j.RegisterAiService;

/** Folds older conversation messages into the running summary; stateless (no memory). */
// Application scoped: the extension's default is request scoped, which made every call off the request thread
// juggle request contexts (see docs/chat.md, "Threads and request contexts").
@ApplicationScoped
@RegisterAiService(chatMemoryProviderSupplier = RegisterAiService.NoChatMemoryProviderSupplier.class)
public interface ConversationSummarizer {

    /** Recorded with each summary, so a summary can be traced to the prompt that wrote it. */
    String PROMPT_VERSION = "summary-v1";

    @SystemMessage("""
            You maintain the running summary of a conversation between a user and an assistant.
            Merge the previous summary and the new messages into one summary that keeps every fact, decision,
            preference, open question and commitment a later turn may need. Write plain prose, at most 300 words.
            Output only the summary.
            """)
    @UserMessage("""
            Previous summary:
            {previous}

            New messages:
            {transcript}
            """)
    String summarize(String previous, String transcript);
}
