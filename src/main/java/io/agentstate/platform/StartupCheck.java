package io.agentstate.platform;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.flywaydb.core.Flyway;
import org.jboss.logging.Logger;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.runtime.StartupEvent;
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
    private final String kafkaBootstrap;
    private final String postgresUrl;
    private final String redisHosts;

    StartupCheck(Pool pool, ReactiveRedisDataSource redis, Flyway flyway,
            @ConfigProperty(name = "kafka.bootstrap.servers") String kafkaBootstrap,
            @ConfigProperty(name = "quarkus.datasource.reactive.url") String postgresUrl,
            @ConfigProperty(name = "quarkus.redis.hosts") String redisHosts) {
        this.pool = pool;
        this.redis = redis;
        this.flyway = flyway;
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
        Map<String, Object> config = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
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
        return new IllegalStateException(
                what + " is unreachable at " + address + " (setting " + setting + "): " + reason, cause);
    }
}
