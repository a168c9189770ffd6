package io.agentstate.event;

/** An event or batch over the size limits: a 413 on REST, a dead letter on Kafka. */
public class EventTooLargeException extends InvalidEventException {

    public EventTooLargeException(String message) {
        super(message);
    }
}
