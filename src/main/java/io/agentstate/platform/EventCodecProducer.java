package io.agentstate.platform;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.agentstate.event.EventCodec;

/** Builds the one {@link EventCodec} that REST and Kafka input share, with the configured limits. */
public class EventCodecProducer {

    @Produces
    @Singleton
    EventCodec codec(AgentStateConfig config) {
        AgentStateConfig.Ingest ingest = config.ingest();
        return new EventCodec(new EventCodec.Limits(ingest.maxEventBytes(), ingest.maxBatchEvents(), ingest.maxDepth(),
                ingest.maxArrayElements()));
    }
}
