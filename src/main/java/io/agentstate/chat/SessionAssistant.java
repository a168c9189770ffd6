package io.agentstate.chat;

import jakarta.enterprise.context.ApplicationScoped;

import dev.langchain4j.service.MemoryId;
import dev.langchain4j.service.Result;
import dev.langchain4j.service.UserMessage;
import io.quarkiverse.langchain4j.RegisterAiService;
import io.smallrye.mutiny.Multi;

/** The conversation AI service; its memory is the session's prompt window (see {@link SessionMemoryProvider}). */
// Application scoped: the extension's default is request scoped, which made every call off the request thread
// juggle request contexts (see docs/chat.md, "Threads and request contexts").
@ApplicationScoped
@RegisterAiService
public interface SessionAssistant {

    /** One reply to the user's message, with token usage. */
    Result<String> reply(@MemoryId Turn turn, @UserMessage String message);

    /** The same reply, streamed token by token. */
    Multi<String> replyStreaming(@MemoryId Turn turn, @UserMessage String message);
}
