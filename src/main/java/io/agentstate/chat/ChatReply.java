package io.agentstate.chat;

/**
 * The answer of a whole turn: the reply as recorded and the version of the assistant message.
 *
 * @param sessionId the session of the path
 * @param turnId the Idempotency-Key, or a generated id
 * @param reply the model's answer, exactly as recorded
 * @param version the version of the recorded assistant message (the user message is at version - 1)
 * @param repeated true when the reply was read back from the log without calling the model
 */
public record ChatReply(String sessionId, String turnId, String reply, long version, boolean repeated) {
}
