package io.agentstate.ledger;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import io.agentstate.event.EventBatch;
import io.agentstate.event.InvalidEventException;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.security.LogSeal;

/**
 * Decides whose a record on the log is, before it is decoded: a record sealed by the service (REST, chat, the ingress
 * relay) belongs to the tenant in its seal; with credentials required any other record is poison, and without them it
 * belongs to the configured tenant as before, but may not use the parts of the log's contract reserved to the service
 * (the reply header, {@code agentstate.session.erased}).
 */
@ApplicationScoped
class RecordTrust {

    private final LogSeal seal;
    private final AgentStateConfig config;

    RecordTrust(LogSeal seal, AgentStateConfig config) {
        this.seal = seal;
        this.config = config;
    }

    /**
     * The trust given to one record.
     *
     * @param refusal why the record is poison before it is even read, or null
     * @param tenant the tenant its events belong to (events naming none get it)
     * @param sealed whether the service wrote it, so the reserved parts of the contract are honoured
     */
    record Verdict(String refusal, String tenant, boolean sealed) {

        /** Whether a waiting writer's reply header on this record is honoured. */
        boolean reply() {
            return sealed;
        }

        /** Checks the decoded batch against this trust; throws {@link InvalidEventException} for poison. */
        EventBatch admit(EventBatch batch) {
            if (sealed && !batch.tenant().equals(tenant)) {
                throw new InvalidEventException("the event names another tenant than the one that wrote it");
            }
            if (!sealed) {
                for (var event : batch.events()) {
                    if (event.kind().serviceOnly()) {
                        throw new InvalidEventException("reserved type " + event.type()
                                + ": only the service writes it; use " + event.kind().serviceEndpoint());
                    }
                }
            }
            return batch;
        }
    }

    Verdict judge(ConsumerRecord<String, byte[]> record) {
        LogSeal.Verification verification = seal.verify(record.key(), record.value(), record.headers());
        if (verification.valid()) {
            return new Verdict(null, verification.tenant(), true);
        }
        if (config.auth().mode() == AgentStateConfig.Auth.Mode.REQUIRED) {
            String seen = verification.status() == LogSeal.Verification.Status.INVALID ? " (its seal does not verify)"
                    : "";
            return new Verdict("record not written by a trusted path" + seen + "; produce to "
                    + config.ingress().topicPrefix() + "<tenant>", null, false);
        }
        // Mode none is one tenant on loopback: a direct producer still writes there, as before the seal.
        return new Verdict(null, config.tenant(), false);
    }
}
