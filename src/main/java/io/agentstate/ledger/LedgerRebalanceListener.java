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

import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;

/**
 * On partition assignment, seeks to the offsets stored in PostgreSQL with the last applied batch, and drops the views of
 * the sessions that batch touched, in case the previous owner stopped between its commit and its Redis update.
 */
@ApplicationScoped
@Identifier("ledger-rebalance-listener")
public class LedgerRebalanceListener implements KafkaConsumerRebalanceListener {

    private static final Logger LOG = Logger.getLogger(LedgerRebalanceListener.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final LedgerRepository repository;
    private final SessionViewStore views;
    private final String group;

    LedgerRebalanceListener(LedgerRepository repository, SessionViewStore views,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.group.id") String group) {
        this.repository = repository;
        this.views = views;
        this.group = group;
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        String topic = partitions.iterator().next().topic();
        List<Integer> numbers = partitions.stream().map(TopicPartition::partition).toList();
        // Runs on the Kafka polling thread, never on an event loop: waiting here is allowed and keeps the seek exact.
        List<LedgerRepository.PartitionOffset> offsets = repository.offsets(group, topic, numbers).await()
                .atMost(TIMEOUT);
        List<SessionKey> touched = new ArrayList<>();
        for (LedgerRepository.PartitionOffset offset : offsets) {
            consumer.seek(new TopicPartition(topic, offset.partition()), offset.nextOffset());
            touched.addAll(offset.lastSessions());
        }
        views.invalidate(touched).await().atMost(TIMEOUT);
        LOG.infof("Ledger assigned partitions %s; resumed %d of them from PostgreSQL offsets", numbers, offsets.size());
    }
}
