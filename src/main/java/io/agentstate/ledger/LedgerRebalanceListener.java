package io.agentstate.ledger;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.agentstate.platform.LogSafe;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;

/**
 * On partition assignment, seeks to the offsets stored in PostgreSQL with the last applied batch, and drops the views of
 * the sessions that batch touched, in case the previous owner stopped between its commit and its Redis update.
 */
@ApplicationScoped
@Identifier("ledger-rebalance-listener")
public class LedgerRebalanceListener implements KafkaConsumerRebalanceListener {

    private static final Logger LOG = Logger.getLogger(LedgerRebalanceListener.class);

    private final LedgerRepository repository;
    private final SessionViewStore views;
    private final PartitionCheck partitionCheck;
    private final String group;
    private final String topic;

    LedgerRebalanceListener(LedgerRepository repository, SessionViewStore views, PartitionCheck partitionCheck,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.group.id") String group,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.topic") String topic) {
        this.topic = topic;
        this.repository = repository;
        this.views = views;
        this.partitionCheck = partitionCheck;
        this.group = group;
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        // every member refreshes the count on every rebalance (adding partitions triggers one), even with nothing new
        partitionCheck.partitions(topic, consumer.partitionsFor(topic).size());
        if (partitions.isEmpty()) {
            return;
        }
        List<Integer> numbers = partitions.stream().map(TopicPartition::partition).toList();
        // Runs on the Kafka polling thread, never on an event loop: waiting here is allowed and keeps the seek exact.
        List<LedgerRepository.PartitionOffset> offsets = patiently(repository.offsets(group, topic, numbers));
        List<SessionKey> touched = new ArrayList<>();
        List<TopicPartition> fresh = new ArrayList<>(partitions);
        for (LedgerRepository.PartitionOffset offset : offsets) {
            TopicPartition partition = new TopicPartition(topic, offset.partition());
            consumer.seek(partition, offset.nextOffset());
            fresh.remove(partition);
            touched.addAll(offset.lastSessions());
        }
        // No stored offset: nothing of the partition was ever applied. Kafka's committed offset is no guide (a poll batch
        // is acknowledged once it is decoded, before it commits), so the partition is read from its start.
        if (!fresh.isEmpty()) {
            consumer.seekToBeginning(fresh);
        }
        patiently(views.invalidate(touched));
        LOG.infof("Ledger assigned partitions %s; resumed %d of them from PostgreSQL offsets", numbers, offsets.size());
    }

    private static <T> T patiently(Uni<T> step) {
        return step.onFailure().invoke(failure -> LOG.warnf("Partition assignment waits for storage: %s",
                LogSafe.failure(failure)))
                // An outage of any length is waited out here: past max.poll.interval.ms the group moves these partitions
                // on and this member joins again when storage is back; failing would fail the channel instead.
                .onFailure().retry().withBackOff(Duration.ofMillis(200), Duration.ofSeconds(5)).indefinitely()
                .await().indefinitely();
    }
}
