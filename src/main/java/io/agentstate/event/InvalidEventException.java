package io.agentstate.event;

/**
 * Input that can never become a valid event: answered with a 4xx on REST, dead-lettered on Kafka. The message is
 * bounded and free of control characters whatever input it quotes, since it reaches response bodies, logs and headers.
 */
public class InvalidEventException extends RuntimeException {

    /** Longest reason, in characters. */
    public static final int MAX_REASON = 1024;

    public InvalidEventException(String message) {
        super(Text.bounded(message, MAX_REASON));
    }

    public InvalidEventException(String message, Throwable cause) {
        super(Text.bounded(message, MAX_REASON), cause);
    }
}
