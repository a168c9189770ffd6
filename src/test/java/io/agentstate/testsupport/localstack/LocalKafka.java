package io.agentstate.testsupport.localstack;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;

/**
 * A single-node KRaft Kafka broker (broker and controller in one) inside this JVM. A formatted log directory is reused,
 * so the log survives restarts; the event topics are created with the requested partition count. Clients reach it on a
 * plaintext listener and on an SSL one with the stack's certificate (server-side TLS only).
 */
final class LocalKafka implements AutoCloseable {

    static final String EVENTS_TOPIC = "agent-state.events";
    static final String DEAD_LETTER_TOPIC = "agent-state.events.dlq";
    private static final int NODE_ID = 1;
    private static final String CONTROLLER = "CONTROLLER";

    private static final String SSL = "SSL";

    private final KafkaRaftServer server;
    private final String bootstrapServers;
    private final String sslBootstrapServers;

    private LocalKafka(KafkaRaftServer server, String bootstrapServers, String sslBootstrapServers) {
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.sslBootstrapServers = sslBootstrapServers;
    }

    static LocalKafka start(Path dir, int port, int sslPort, int controllerPort, int partitions,
            ServerCertificate certificate) throws Exception {
        Path logDir = dir.toAbsolutePath();
        Files.createDirectories(logDir);
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(NODE_ID));
        // A static quorum lets the ports change between restarts of the same directory.
        p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        p.put("controller.listener.names", CONTROLLER);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + "," + SSL + "://127.0.0.1:" + sslPort + "," + CONTROLLER
                + "://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port + "," + SSL + "://127.0.0.1:" + sslPort);
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + SSL + ":SSL," + CONTROLLER + ":PLAINTEXT");
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", certificate.keyStore().toString());
        p.put("ssl.keystore.password", certificate.password());
        p.put("ssl.key.password", certificate.password());
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", Integer.toString(partitions));
        p.put("auto.create.topics.enable", "true");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "6");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "6");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(8 * 1024 * 1024));
        p.put("message.max.bytes", Integer.toString(2 * 1024 * 1024));
        KafkaConfig config = new KafkaConfig(p, false);

        if (!Files.exists(logDir.resolve("meta.properties"))) {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(NODE_ID)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName(CONTROLLER)
                    .setMetadataLogDirectory(logDir.toString())
                    .addDirectory(logDir.toString())
                    .run();
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        String bootstrap = "127.0.0.1:" + port;
        try {
            // startup() returns once the broker is unfenced and its listeners accept connections.
            server.startup();
            createTopics(bootstrap, partitions);
        } catch (Exception | Error e) {
            server.shutdown();
            server.awaitShutdown();
            throw e;
        }
        return new LocalKafka(server, bootstrap, "127.0.0.1:" + sslPort);
    }

    private static void createTopics(String bootstrap, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000"))) {
            for (String topic : List.of(EVENTS_TOPIC, DEAD_LETTER_TOPIC)) {
                try {
                    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30,
                            TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        }
    }

    String bootstrapServers() {
        return bootstrapServers;
    }

    /** The SSL listener: clients set {@code security.protocol=SSL} and trust the stack's certificate. */
    String sslBootstrapServers() {
        return sslBootstrapServers;
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }
}
