package io.agentstate.event;

/** Input that can never become a valid event: answered with a 4xx on REST, dead-lettered on Kafka. */
public class InvalidEventException extends RuntimeException {

    public InvalidEventException(String message) {
        super(message);
    }

    public InvalidEventException(String message, Throwable cause) {
        super(message, cause);
    }
}
