package io.agentstate.bench;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;

/**
 * How the harness reaches the service with security on, as production would: an API key of its own (a random
 * {@code ask_} key whose SHA-256 it writes to an API key file for tenant {@link Bench#TENANT} with the admin role) sent on
 * every request as {@code X-API-Key}, and the topic its Kafka producers write to. With credentials required the ledger
 * trusts only sealed records on the log, so direct producers write to the tenant's ingress topic (relayed by the
 * service), or, on the {@code sealed} path, seal each record with the service's log seal key as a trusted producer
 * would ({@code security/LogSeal}, docs/operations.md "Who may write the log").
 */
final class Credentials {

    static final String API_KEY_HEADER = "X-API-Key";
    static final String INGRESS_TOPIC = "agent-state.ingress." + Bench.TENANT;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final String auth;
    private final String kafkaPath;
    private final String apiKey;
    private final Path apiKeysFile;
    private final String sealKey;
    private final Object seal;
    private final Method sealMethod;

    private Credentials(String auth, String kafkaPath, String apiKey, Path apiKeysFile, String sealKey) {
        this.auth = auth;
        this.kafkaPath = kafkaPath;
        this.apiKey = apiKey;
        this.apiKeysFile = apiKeysFile;
        this.sealKey = sealKey;
        if ("sealed".equals(kafkaPath)) {
            try {
                // LogSeal's key constructor is package-private (the service builds it from its configuration); the
                // harness uses the service's own code rather than a copy of the HMAC encoding
                Class<?> type = Class.forName("io.agentstate.security.LogSeal");
                Constructor<?> constructor = type.getDeclaredConstructor(byte[].class);
                constructor.setAccessible(true);
                this.seal = constructor.newInstance((Object) Base64.getDecoder().decode(sealKey));
                this.sealMethod = type.getMethod("seal", String.class, String.class, byte[].class, Headers.class);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot build the log seal of the service's classes", e);
            }
        } else {
            this.seal = null;
            this.sealMethod = null;
        }
    }

    /**
     * The credentials of one harness run: with auth {@code required} a fresh API key, its file written into the work
     * directory; a fresh seal key in every case (passed to the service, which then seals with it too).
     */
    static Credentials create(BenchOptions options) throws IOException {
        byte[] seal = new byte[32];
        RANDOM.nextBytes(seal);
        String sealKey = Base64.getEncoder().encodeToString(seal);
        if (!options.authRequired()) {
            return new Credentials(options.auth(), options.kafkaPath(), null, null, sealKey);
        }
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        String key = "ask_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Path file = options.workDir().resolve("api-keys.json");
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, "{\"keys\":[{\"id\":\"bench\",\"tenant\":\"" + Bench.TENANT + "\",\"roles\":[\"admin\"],"
                + "\"label\":\"benchmark harness\",\"sha256\":\"" + sha256(key) + "\"}]}\n");
        return new Credentials(options.auth(), options.kafkaPath(), key, file, sealKey);
    }

    /** The service properties that go with these credentials (after ServiceProcess's own: the last -D of a key wins). */
    List<String> serviceProperties() {
        List<String> properties = new ArrayList<>();
        properties.add("-Dagent-state.auth.mode=" + auth);
        if (apiKeysFile != null) {
            properties.add("-Dagent-state.auth.api-keys-file=" + apiKeysFile.toAbsolutePath());
        }
        properties.add("-Dagent-state.log.seal-key=" + sealKey);
        // the local stack may create topics; the relay needs the tenant's ingress topic to exist
        properties.add("-Dagent-state.ingress.create-topics=true");
        properties.add("-Dagent-state.ingress.tenants=" + Bench.TENANT);
        return properties;
    }

    /** The API key the harness sends, or null in open mode. */
    String apiKey() {
        return apiKey;
    }

    /** Where the scenarios' Kafka producers write. */
    String topic() {
        return "ingress".equals(kafkaPath) ? INGRESS_TOPIC : Records.EVENTS_TOPIC;
    }

    /** A record of one session for the configured path: on the ingress topic, or on the log (sealed if so asked). */
    ProducerRecord<String, byte[]> record(String session, byte[] value) {
        ProducerRecord<String, byte[]> record = Records.record(topic(), session, value);
        if (seal != null) {
            try {
                sealMethod.invoke(seal, Bench.TENANT, session, value, record.headers());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("sealing failed", e);
            }
        }
        return record;
    }

    static String sha256(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
