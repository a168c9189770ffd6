package io.agentstate.chat;

import io.agentstate.platform.Problem;

/** One server-sent event of a streamed turn: token, restart (the turn lost a race), done or error. */
public record ChatEvent(String type, String text, Long version, String turnId, Integer status, String detail) {

    static ChatEvent token(String text) {
        return new ChatEvent("token", text, null, null, null, null);
    }

    static ChatEvent restart(String turnId) {
        return new ChatEvent("restart", null, null, turnId, null, "the session moved on; answering again");
    }

    static ChatEvent done(ChatReply reply) {
        return new ChatEvent("done", null, reply.version(), reply.turnId(), null, null);
    }

    static ChatEvent error(Problem problem) {
        return new ChatEvent("error", null, null, null, problem.status(), problem.detail());
    }
}
