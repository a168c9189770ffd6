package io.agentstate.chat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.agentstate.ledger.SessionState;
import io.agentstate.ledger.ToolCallStatus;

/**
 * Builds the prompt window from a session state, purely: the system prompt and the latest summary, then the verbatim
 * messages after it. A tool message enters only when the call it answers has completed, so the model never sees a tool
 * request without its result.
 */
public final class PromptWindow {

    private PromptWindow() {
    }

    /** The messages that precede a new user message. */
    public static List<ChatMessage> of(SessionState state, String systemPrompt) {
        return of(state, systemPrompt, List.of());
    }

    /** The same, with the user's long-term facts recalled for this turn after the system prompt. */
    public static List<ChatMessage> of(SessionState state, String systemPrompt, List<String> facts) {
        List<ChatMessage> window = new ArrayList<>();
        String system = systemPrompt;
        if (!facts.isEmpty()) {
            StringBuilder known = new StringBuilder("\n\nWhat you know about the user from earlier conversations:");
            facts.forEach(fact -> known.append("\n- ").append(fact));
            system += known;
        }
        if (state.summary() != null) {
            system += "\n\nSummary of the conversation so far:\n" + state.summary().text();
        }
        window.add(SystemMessage.from(system));
        for (SessionState.Message message : state.messages()) {
            switch (message.role()) {
                case "user" -> window.add(message.name() != null ? UserMessage.from(message.name(), message.content())
                        : UserMessage.from(message.content()));
                case "assistant" -> window.add(AiMessage.from(message.content()));
                case "system" -> window.add(SystemMessage.from(message.content()));
                case "tool" -> {
                    SessionState.ToolCall call = message.toolCallId() == null ? null
                            : state.toolCalls().get(message.toolCallId());
                    if (call != null && call.status() != ToolCallStatus.REQUESTED) {
                        window.add(UserMessage.from("[result of tool " + call.tool() + ", call " + call.callId() + "]\n"
                                + message.content()));
                    }
                }
                default -> {
                    // roles are validated on input; nothing else can be stored
                }
            }
        }
        return window;
    }

    /** Names a system prompt text: {@code sha256:} and the first 16 hex digits of its UTF-8 bytes' SHA-256. */
    public static String promptVersion(String systemPrompt) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(systemPrompt.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Rough token count (4 characters a token), for the summarisation budget. */
    public static int estimateTokens(List<SessionState.Message> messages) {
        long chars = 0;
        for (SessionState.Message message : messages) {
            chars += message.content().length();
        }
        return (int) Math.min(Integer.MAX_VALUE, chars / 4);
    }
}
