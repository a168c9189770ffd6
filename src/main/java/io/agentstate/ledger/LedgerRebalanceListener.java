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

import io.agentstate.event.Text;
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
    // Below the consumer's max.poll.interval.ms (5 min): a PostgreSQL or Redis outage during a rebalance is waited out
    // here, and only an outage longer than this makes the member leave the group and join again.
    private static final Duration PATIENCE = Duration.ofMinutes(4);

    private final LedgerRepository repository;
    private final SessionViewStore views;
    private final PartitionCheck partitionCheck;
    private final String group;

    LedgerRebalanceListener(LedgerRepository repository, SessionViewStore views, PartitionCheck partitionCheck,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.group.id") String group) {
        this.repository = repository;
        this.views = views;
        this.partitionCheck = partitionCheck;
        this.group = group;
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return;
        }
        String topic = partitions.iterator().next().topic();
        List<Integer> numbers = partitions.stream().map(TopicPartition::partition).toList();
        partitionCheck.partitions(topic, consumer.partitionsFor(topic).size());
        // Runs on the Kafka polling thread, never on an event loop: waiting here is allowed and keeps the seek exact.
        List<LedgerRepository.PartitionOffset> offsets = patiently(repository.offsets(group, topic, numbers));
        List<SessionKey> touched = new ArrayList<>();
        for (LedgerRepository.PartitionOffset offset : offsets) {
            consumer.seek(new TopicPartition(topic, offset.partition()), offset.nextOffset());
            touched.addAll(offset.lastSessions());
        }
        patiently(views.invalidate(touched));
        LOG.infof("Ledger assigned partitions %s; resumed %d of them from PostgreSQL offsets", numbers, offsets.size());
    }

    private static <T> T patiently(Uni<T> step) {
        return step.onFailure().invoke(failure -> LOG.warnf("Partition assignment waits for storage: %s",
                Text.bounded(String.valueOf(failure.getMessage()), 256)))
                .onFailure().retry().withBackOff(Duration.ofMillis(200), Duration.ofSeconds(5)).expireIn(PATIENCE.toMillis())
                .await().atMost(PATIENCE.plusSeconds(30));
    }
}
