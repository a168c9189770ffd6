package io.agentstate.ingest;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.security.Caller;
import io.quarkus.runtime.StartupEvent;

/**
 * Where the service may create topics (the local stack: {@code agent-state.ingress.create-topics=true}), creates the
 * ingress topic of every tenant in {@code agent-state.ingress.tenants} at start, with the event log's partition count
 * so a session keeps its partition number from ingress to log. In production the manifests create them.
 */
@ApplicationScoped
class IngressTopics {

    private static final Logger LOG = Logger.getLogger(IngressTopics.class);
    private static final long TIMEOUT_SECONDS = 30;

    // after platform/StartupCheck (priority 1), which has already named an unreachable broker
    void onStart(@Observes @Priority(10) StartupEvent start, AgentStateConfig config,
            @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
            @ConfigProperty(name = "mp.messaging.incoming.events-in.topic") String log) throws InterruptedException {
        List<String> tenants = config.ingress().tenants().orElse(List.of()).stream().map(String::trim)
                .filter(t -> !t.isEmpty()).toList();
        if (!config.ingress().createTopics() || tenants.isEmpty()) {
            return;
        }
        for (String tenant : tenants) {
            if (!Caller.validTenant(tenant)) {
                throw new IllegalStateException("agent-state.ingress.tenants names an unusable tenant '" + tenant
                        + "': letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit");
            }
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TIMEOUT_SECONDS * 1000)))) {
            int partitions = admin.describeTopics(List.of(log)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .get(log).partitions().size();
            List<NewTopic> topics = tenants.stream()
                    .map(tenant -> new NewTopic(config.ingress().topicPrefix() + tenant, Optional.of(partitions),
                            Optional.empty()))
                    .toList();
            int created = 0;
            for (var result : admin.createTopics(topics).values().entrySet()) {
                try {
                    result.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created++;
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("Could not create ingress topic " + result.getKey() + ": "
                                + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
            LOG.infof("Ingress topics: %d created, %d already there, %d partitions each", created,
                    topics.size() - created, partitions);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not read the partition count of " + log + " to create the ingress "
                    + "topics (agent-state.ingress.create-topics=true): " + e.getMessage(), e);
        }
    }
}
