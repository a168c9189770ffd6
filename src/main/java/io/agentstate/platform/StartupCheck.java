package io.agentstate.platform;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.flywaydb.core.Flyway;
import org.jboss.logging.Logger;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import io.vertx.mutiny.sqlclient.Pool;

/**
 * Fails start-up fast when an endpoint is wrong or unreachable, naming the setting and the address it tried, then
 * migrates the schema.
 */
@Singleton
public class StartupCheck {

    private static final Logger LOG = Logger.getLogger(StartupCheck.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private final Pool pool;
    private final ReactiveRedisDataSource redis;
    private final Flyway flyway;
    private final Map<String, Object> kafkaConfig;
    private final String kafkaBootstrap;
    private final String postgresUrl;
    private final String redisHosts;

    StartupCheck(Pool pool, ReactiveRedisDataSource redis, Flyway flyway,
            @Identifier("default-kafka-broker") Map<String, Object> kafkaConfig,
            @ConfigProperty(name = "kafka.bootstrap.servers") String kafkaBootstrap,
            @ConfigProperty(name = "quarkus.datasource.reactive.url") String postgresUrl,
            @ConfigProperty(name = "quarkus.redis.hosts") String redisHosts) {
        this.pool = pool;
        this.redis = redis;
        this.flyway = flyway;
        this.kafkaConfig = kafkaConfig;
        this.kafkaBootstrap = kafkaBootstrap;
        this.postgresUrl = postgresUrl;
        this.redisHosts = redisHosts;
    }

    void onStart(@Observes @Priority(1) StartupEvent event) {
        checkPostgres();
        checkRedis();
        checkKafka();
        flyway.migrate();
        LOG.info("PostgreSQL, Redis and Kafka reachable; schema migrated");
    }

    private void checkPostgres() {
        try {
            pool.query("SELECT 1").execute().await().atMost(TIMEOUT);
        } catch (RuntimeException e) {
            throw unreachable("PostgreSQL", "quarkus.datasource.reactive.url", postgresUrl, e);
        }
    }

    private void checkRedis() {
        try {
            redis.execute("PING").await().atMost(TIMEOUT);
        } catch (RuntimeException e) {
            throw unreachable("Redis", "quarkus.redis.hosts", redisHosts, e);
        }
    }

    private void checkKafka() {
        // Every kafka.* setting, as the channels get them: with only the bootstrap servers, a broker that wants TLS or
        // SASL would fail this check while the channels themselves could connect.
        Map<String, Object> config = new HashMap<>(kafkaConfig);
        // Quarkus adds the application name as group.id for consumers; an admin client would only log it as unknown.
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        try (Admin admin = Admin.create(config)) {
            admin.describeCluster().nodes().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw unreachable("Kafka", "kafka.bootstrap.servers", kafkaBootstrap, e);
        }
    }

    private static IllegalStateException unreachable(String what, String setting, String address, Exception cause) {
        String reason = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        return new IllegalStateException("%s is unreachable at %s (setting %s): %s".formatted(what, redacted(address),
                setting, redacted(reason)), cause);
    }

    private static final java.util.regex.Pattern USER_INFO = java.util.regex.Pattern.compile("//[^/\\s]*@");
    private static final java.util.regex.Pattern SECRET_PARAM = java.util.regex.Pattern
            .compile("(?i)((?:password|pass|pwd|secret|token)=)[^&;\\s]*");

    /** An address as it may be logged: credentials in the authority or in query parameters are masked. */
    static String redacted(String address) {
        if (address == null) {
            return null;
        }
        return SECRET_PARAM.matcher(USER_INFO.matcher(address).replaceAll("//***@")).replaceAll("$1***");
    }
}
