package io.agentstate.ledger;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.header.Header;

import io.agentstate.event.Event;
import io.agentstate.event.EventData;
import io.agentstate.event.InvalidEventException;
import io.agentstate.security.DataKeys;
import io.smallrye.mutiny.Uni;

/**
 * The ledger's side of encryption at rest: opens the log records the service encrypted before the ledger reads them,
 * and seals every archived payload (events and refusals alike) with its session's data key before it is stored, so the
 * archive never holds plaintext whichever way an event arrived.
 */
@ApplicationScoped
class ArchiveSeal {

    private final DataKeys keys;

    ArchiveSeal(DataKeys keys) {
        this.keys = keys;
    }

    /** Loads the keys of the encrypted records of a poll batch (they exist: their writer made them). */
    Uni<Void> prepareLog(ConsumerRecords<String, byte[]> records) {
        Map<String, Set<String>> owners = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            Header header = record.headers().lastHeader(DataKeys.LOG_HEADER);
            if (header != null && header.value() != null && record.key() != null) {
                owners.computeIfAbsent(new String(header.value(), StandardCharsets.UTF_8), t -> new LinkedHashSet<>())
                        .add(DataKeys.sessionOwner(record.key()));
            }
        }
        return prepare(owners, false);
    }

    /** The record's value as its writer produced it: decrypted when the service encrypted it, else as it is. */
    byte[] value(ConsumerRecord<String, byte[]> record) {
        Header header = record.headers().lastHeader(DataKeys.LOG_HEADER);
        if (header == null) {
            return record.value();
        }
        if (header.value() == null || record.key() == null || record.value() == null) {
            throw new InvalidEventException("an encrypted record needs its tenant header, a key and a value");
        }
        String tenant = new String(header.value(), StandardCharsets.UTF_8);
        try {
            Optional<byte[]> opened = keys.open(tenant, DataKeys.sessionOwner(record.key()), DataKeys.LOG_ROW,
                    record.value());
            return opened.orElseThrow(() -> new InvalidEventException(
                    "encrypted record whose data key is destroyed (its user was forgotten): nothing to apply"));
        } catch (IllegalStateException e) {
            throw new InvalidEventException("encrypted record that does not decrypt: not written by this service");
        }
    }

    /** Makes the keys the batch's sessions and users need, then the entries with their payloads sealed. */
    Uni<List<LogEntry>> seal(List<LogEntry> entries) {
        Map<String, Set<String>> owners = new HashMap<>();
        for (LogEntry entry : entries) {
            Set<String> mine = owners.computeIfAbsent(entry.batch().tenant(), t -> new LinkedHashSet<>());
            mine.add(DataKeys.sessionOwner(entry.batch().sessionId()));
            for (Event event : entry.batch().events()) {
                if (event.payload() instanceof EventData.UserFact fact) {
                    mine.add(DataKeys.userOwner(fact.userId()));
                }
            }
        }
        return prepare(owners, true)
                .map(ready -> {
                    List<LogEntry> sealed = new ArrayList<>(entries.size());
                    for (LogEntry entry : entries) {
                        List<byte[]> payloads = new ArrayList<>(entry.payloads().size());
                        for (int i = 0; i < entry.payloads().size(); i++) {
                            Event event = entry.batch().events().get(i);
                            String tenant = entry.batch().tenant();
                            // a fact belongs to its user: forgetting them must shred it in every session that holds it
                            payloads.add(event.payload() instanceof EventData.UserFact fact
                                    ? keys.sealOwned(tenant, DataKeys.userOwner(fact.userId()),
                                            eventRow(event.id()), entry.payloads().get(i))
                                    : keys.seal(tenant, DataKeys.sessionOwner(entry.batch().sessionId()),
                                            eventRow(event.id()), entry.payloads().get(i)));
                        }
                        sealed.add(new LogEntry(entry.partition(), entry.offset(), entry.batch(), payloads,
                                entry.replyRequested(), entry.sizes()));
                    }
                    return sealed;
                });
    }

    /** The row name an archived event (or refusal) is sealed under: its event id, unique in its tenant. */
    static String eventRow(String eventId) {
        return "event:" + eventId;
    }

    private Uni<Void> prepare(Map<String, Set<String>> owners, boolean create) {
        Uni<Void> all = Uni.createFrom().voidItem();
        for (Map.Entry<String, Set<String>> tenant : owners.entrySet()) {
            all = all.chain(() -> create ? keys.prepare(tenant.getKey(), tenant.getValue())
                    : keys.prepareExisting(tenant.getKey(), tenant.getValue()));
        }
        return all;
    }
}
