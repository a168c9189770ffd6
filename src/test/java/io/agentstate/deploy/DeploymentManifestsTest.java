package io.agentstate.deploy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.ConfigMappings;

/**
 * deploy/k8s as an operator would check it before applying it, with what can be checked without an API server: every
 * overlay renders with {@code kubectl kustomize}; every built-in object reads into the Kubernetes model with no field
 * the model does not know; every custom resource matches the schema kept for it in deploy/k8s/schemas; and the rules
 * that hold between objects and the service itself hold (selectors, probes against this running service, settings
 * against its configuration, ACLs against the topics it uses, scaling against the partitions, hardened pods).
 */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class DeploymentManifestsTest {

    private static final Path K8S = Path.of("deploy", "k8s");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();

    /** The built-in kinds we use, read into fabric8's model (7.6, Kubernetes 1.33 API). */
    private static final Map<String, Class<?>> BUILT_IN = Map.of(
            "apps/v1/Deployment", Deployment.class,
            "apps/v1/StatefulSet", StatefulSet.class,
            "v1/Service", Service.class,
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "v1/Namespace", Namespace.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class,
            "autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class);

    /**
     * Settings a Secret or an overlay sets that have no line in application.properties, each for a reason; every other
     * QUARKUS_ or MP_ variable must be the environment form of a key the service's own configuration names.
     */
    private static final Map<String, String> EXTERNAL_SETTINGS = Map.ofEntries(
            Map.entry("quarkus.datasource.password", "a secret: never in the properties file"),
            Map.entry("quarkus.langchain4j.openai.base-url", "the model server of the deployment; OpenAI's by default"),
            Map.entry("mp.jwt.verify.publickey", "MicroProfile JWT: the token issuer's key, per deployment"),
            Map.entry("mp.jwt.verify.publickey.location", "MicroProfile JWT: a JWKS URL instead of the key"),
            Map.entry("mp.jwt.verify.issuer", "MicroProfile JWT: the token issuer, per deployment"),
            // transport security, per deployment: docs/operations.md, the keys TransportTlsIT runs the service with
            Map.entry("quarkus.datasource.reactive.postgresql.ssl-mode", "TLS to PostgreSQL"),
            Map.entry("quarkus.datasource.reactive.hostname-verification-algorithm", "TLS to PostgreSQL"),
            Map.entry("quarkus.datasource.reactive.trust-certificate-pem", "TLS to PostgreSQL"),
            Map.entry("quarkus.datasource.reactive.trust-certificate-pem.certs", "TLS to PostgreSQL"),
            Map.entry("quarkus.redis.tls-configuration-name", "TLS to Redis"),
            Map.entry("quarkus.tls.\"redis\".trust-store.pem.certs", "TLS to Redis"),
            Map.entry("quarkus.tls.\"redis\".hostname-verification-algorithm", "TLS to Redis"));

    /** Variables of the image's start script (run-java.sh in the UBI OpenJDK images), not of the service. */
    // read by the image's start script, and by DJL (the in-process embedding model's tokenizer) for its native library
    private static final Set<String> IMAGE_VARIABLES = Set.of("JAVA_OPTS_APPEND", "DJL_CACHE_DIR");

    private static final Map<String, List<JsonNode>> RENDERED = new LinkedHashMap<>();

    @Inject
    AgentStateConfig config;

    @BeforeAll
    static void render() throws Exception {
        if (!kubectlPresent()) {
            String message = "kubectl is not installed: deploy/k8s cannot be rendered (Debian: apt-get install "
                    + "kubectl, or google-cloud-cli; .ci/run installs it)";
            if (System.getenv("CI") != null) {
                fail(message);
            }
            Assumptions.abort(message);
        }
        RENDERED.put("overlays/dev", kustomize(K8S.resolve("overlays/dev")));
        RENDERED.put("overlays/production", kustomize(K8S.resolve("overlays/production")));
        // the CPU scaler is the fallback an operator swaps in for KEDA: render the production base with it too
        Path withHpa = Files.createDirectories(Path.of("target", "k8s-hpa"));
        Files.writeString(withHpa.resolve("kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - ../../deploy/k8s/base
                components:
                  - ../../deploy/k8s/components/hpa
                """);
        RENDERED.put("base + components/hpa", kustomize(withHpa));
    }

    @Test
    void shouldReadEveryBuiltInObjectIntoTheKubernetesModelWithNoUnknownField() throws Exception {
        int read = 0;
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            for (JsonNode object : overlay.getValue()) {
                Class<?> type = BUILT_IN.get(typeKey(object));
                if (type == null) {
                    continue;
                }
                Object model = JSON.treeToValue(object, type);
                List<String> unknown = new ArrayList<>();
                unknownFields(model, name(object), unknown, new HashSet<>());
                assertThat(unknown).as("fields the Kubernetes model does not know, in %s", overlay.getKey()).isEmpty();
                read++;
            }
        }
        assertThat(read).isGreaterThan(15);
    }

    @Test
    void shouldMatchEveryCustomResourceToItsSchema() throws Exception {
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        Set<String> checked = new TreeSet<>();
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            for (JsonNode object : overlay.getValue()) {
                if (BUILT_IN.containsKey(typeKey(object))) {
                    continue;
                }
                String apiVersion = object.path("apiVersion").asText();
                assertThat(apiVersion).as("%s: a custom resource names its group", name(object)).contains("/");
                String file = object.path("kind").asText().toLowerCase(Locale.ROOT) + "."
                        + apiVersion.replace('/', '.') + ".json";
                Path schemaFile = K8S.resolve("schemas").resolve(file);
                assertThat(schemaFile).as("%s in %s: no Kubernetes model and no schema", name(object), overlay.getKey())
                        .exists();
                JsonSchema schema;
                try (InputStream in = Files.newInputStream(schemaFile)) {
                    schema = factory.getSchema(in);
                }
                Set<ValidationMessage> errors = schema.validate(object);
                assertThat(errors).as("%s in %s against %s", name(object), overlay.getKey(), file).isEmpty();
                checked.add(object.path("kind").asText());
            }
        }
        assertThat(checked).contains("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ScaledObject",
                "TriggerAuthentication", "Cluster", "ServiceMonitor", "PrometheusRule");
    }

    @Test
    void shouldUseStrimziV1ForEveryKafkaResource() {
        everyObject().filter(o -> o.path("apiVersion").asText().startsWith("kafka.strimzi.io/"))
                .forEach(o -> assertThat(o.path("apiVersion").asText()).as(name(o)).isEqualTo("kafka.strimzi.io/v1"));
    }

    @Test
    void shouldSelectThePodsOfTheWorkloadEachSelectorIsFor() {
        int checked = 0;
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            Map<String, JsonNode> workloads = new LinkedHashMap<>();
            workloads(overlay.getValue()).forEach(w -> workloads.put(w.path("metadata").path("name").asText(), w));
            Map<String, JsonNode> services = new LinkedHashMap<>();
            for (JsonNode object : overlay.getValue()) {
                String name = object.path("metadata").path("name").asText();
                JsonNode selector = switch (object.path("kind").asText()) {
                    case "Service" -> object.path("spec").path("selector");
                    case "PodDisruptionBudget" -> object.path("spec").path("selector").path("matchLabels");
                    case "NetworkPolicy" -> object.path("spec").path("podSelector").path("matchLabels");
                    case "Deployment", "StatefulSet" -> object.path("spec").path("selector").path("matchLabels");
                    default -> null;
                };
                if (object.path("kind").asText().equals("Service")) {
                    services.put(name, object);
                }
                if (selector == null) {
                    continue;
                }
                // each of these is named after the workload it is for, and must select exactly its pods
                JsonNode workload = workloads.get(name);
                assertThat(workload).as("%s in %s: a workload of the same name", name(object), overlay.getKey())
                        .isNotNull();
                assertThat(selector.size()).as("%s selects something", name(object)).isPositive();
                assertThat(contains(workload.path("spec").path("template").path("metadata").path("labels"), selector))
                        .as("%s in %s: selector %s matches the pods of %s", name(object), overlay.getKey(), selector,
                                name(workload))
                        .isTrue();
                checked++;
            }
            for (JsonNode object : overlay.getValue()) {
                switch (object.path("kind").asText()) {
                    case "ScaledObject", "HorizontalPodAutoscaler" -> assertThat(workloads).as("%s scales a Deployment "
                            + "of %s", name(object), overlay.getKey())
                            .containsKey(object.path("spec").path("scaleTargetRef").path("name").asText());
                    case "ServiceMonitor" -> {
                        JsonNode service = services.get("agent-state");
                        assertThat(contains(service.path("metadata").path("labels"),
                                object.path("spec").path("selector").path("matchLabels"))).as(name(object)).isTrue();
                        List<String> ports = service.path("spec").path("ports").findValuesAsText("name");
                        object.path("spec").path("endpoints").forEach(e -> assertThat(ports).as(name(object))
                                .contains(e.path("port").asText()));
                    }
                    default -> {
                    }
                }
            }
        }
        assertThat(checked).isGreaterThan(10);
    }

    @Test
    void shouldReadOnlySecretsTheDevOverlayMakesOrItsOperatorsMake() {
        List<JsonNode> dev = RENDERED.get("overlays/dev");
        Set<String> made = new TreeSet<>();
        for (JsonNode object : dev) {
            String name = object.path("metadata").path("name").asText();
            switch (object.path("kind").asText()) {
                case "Secret" -> made.add(name);
                // Strimzi's User Operator writes a KafkaUser's credentials to a Secret of its name
                case "KafkaUser" -> made.add(name);
                // CloudNativePG writes the owner's credentials to <cluster>-app
                case "Cluster" -> made.add(name + "-app");
                default -> {
                }
            }
        }
        List<String> read = new ArrayList<>();
        for (JsonNode workload : workloads(dev)) {
            for (JsonNode container : workload.path("spec").path("template").path("spec").path("containers")) {
                container.path("envFrom").forEach(from -> {
                    if (from.has("secretRef") && !from.path("secretRef").path("optional").asBoolean()) {
                        read.add(from.path("secretRef").path("name").asText());
                    }
                });
                container.path("env").forEach(env -> {
                    JsonNode ref = env.path("valueFrom").path("secretKeyRef");
                    if (!ref.isMissingNode() && !ref.path("optional").asBoolean()) {
                        read.add(ref.path("name").asText());
                    }
                });
            }
        }
        assertThat(read).isNotEmpty();
        assertThat(made).as("Secrets made in the dev overlay").containsAll(read);
    }

    @Test
    void shouldProbeAndScrapePathsThisServiceServes() {
        Set<String> paths = new LinkedHashSet<>();
        for (JsonNode container : serviceContainers()) {
            assertThat(container.path("ports").findValuesAsText("name")).contains("http");
            assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(8080);
            for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                JsonNode get = container.path(probe).path("httpGet");
                assertThat(get.path("port").asText()).as(probe).isEqualTo("http");
                paths.add(get.path("path").asText());
            }
        }
        everyObject().filter(o -> o.path("kind").asText().equals("ServiceMonitor"))
                .forEach(o -> o.path("spec").path("endpoints").forEach(e -> {
                    assertThat(e.path("port").asText()).isEqualTo("http");
                    paths.add(e.path("path").asText());
                }));
        assertThat(paths).contains("/q/health/started", "/q/health/ready", "/q/health/live", "/q/metrics");
        for (String path : paths) {
            given().when().get(path).then().statusCode(200);
        }
    }

    @Test
    void shouldSetOnlyVariablesTheServiceReads() throws IOException {
        Set<String> known = knownSettings();
        Set<String> kafka = new HashSet<>(ProducerConfig.configNames());
        kafka.addAll(ConsumerConfig.configNames());
        Set<String> agentState = ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(
                AgentStateConfig.class, "agent-state")).keySet().stream().map(DeploymentManifestsTest::envForm)
                .collect(Collectors.toSet());
        assertThat(agentState).contains("AGENT_STATE_AUTH_MODE", "AGENT_STATE_LEDGER_STATEMENT_TIMEOUT");

        Map<String, String> variables = new LinkedHashMap<>();
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            for (JsonNode object : overlay.getValue()) {
                String kind = object.path("kind").asText();
                if (kind.equals("ConfigMap") && object.path("metadata").path("name").asText().startsWith("agent-state-config")
                        || kind.equals("Secret") && object.path("metadata").path("name").asText()
                                .startsWith("agent-state-secrets")) {
                    object.path("data").fieldNames().forEachRemaining(n -> variables.put(n, name(object)));
                }
            }
            for (JsonNode container : serviceContainers(overlay.getValue())) {
                container.path("env").forEach(e -> variables.put(e.path("name").asText(), "the Deployment"));
            }
        }
        // production's Secret is made by the operator from this template
        JsonNode template = YAML.readTree(K8S.resolve("base/secret.example.yaml").toFile());
        template.path("stringData").fieldNames().forEachRemaining(n -> variables.put(n, "secret.example.yaml"));

        List<String> unknown = new ArrayList<>();
        variables.forEach((variable, where) -> {
            boolean real;
            if (variable.startsWith("AGENT_STATE_")) {
                real = agentState.contains(variable);
            } else if (variable.startsWith("KAFKA_")) {
                real = kafka.contains(variable.substring("KAFKA_".length()).toLowerCase(Locale.ROOT).replace('_', '.'));
            } else {
                real = IMAGE_VARIABLES.contains(variable) || known.contains(variable);
            }
            if (!real) {
                unknown.add(variable + " (" + where + ")");
            }
        });
        assertThat(variables).containsKeys("KAFKA_BOOTSTRAP_SERVERS", "QUARKUS_DATASOURCE_REACTIVE_URL",
                "QUARKUS_DATASOURCE_PASSWORD", "AGENT_STATE_CRYPTO_MASTER_KEYSET");
        assertThat(unknown).as("variables that set no configuration key of the service").isEmpty();
    }

    @Test
    void shouldHardenEveryPodAndSizeEveryContainer() {
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            for (JsonNode workload : workloads(overlay.getValue())) {
                JsonNode pod = workload.path("spec").path("template").path("spec");
                String what = name(workload) + " in " + overlay.getKey();
                assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).as(what).isTrue();
                assertThat(pod.path("securityContext").path("seccompProfile").path("type").asText()).as(what)
                        .isEqualTo("RuntimeDefault");
                assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).as(what).isFalse();
                for (JsonNode container : pod.path("containers")) {
                    JsonNode security = container.path("securityContext");
                    assertThat(security.path("readOnlyRootFilesystem").asBoolean()).as(what).isTrue();
                    assertThat(security.path("allowPrivilegeEscalation").asBoolean(true)).as(what).isFalse();
                    assertThat(texts(security.path("capabilities").path("drop"))).as(what).contains("ALL");
                    JsonNode resources = container.path("resources");
                    for (String field : List.of("requests/cpu", "requests/memory", "limits/memory")) {
                        assertThat(resources.at("/" + field).isMissingNode()).as("%s: resources %s", what, field)
                                .isFalse();
                    }
                    String image = container.path("image").asText();
                    assertThat(image).as(what).matches(".+(:[\\w][\\w.-]*|@sha256:[0-9a-f]{64})$")
                            .doesNotEndWith(":latest");
                }
            }
            overlay.getValue().stream().filter(o -> o.path("kind").asText().equals("Cluster"))
                    .forEach(o -> assertThat(o.path("spec").path("imageName").asText()).as(name(o))
                            .matches(".+:[\\w][\\w.-]*$").doesNotEndWith(":latest"));
        }
    }

    @Test
    void shouldOutwaitTheLedgersDrainBeforeTheKill() {
        // the ledger's batch in hand is abandoned after twice the statement timeout (SessionLedger)
        long drain = config.ledger().statementTimeout().multipliedBy(2).toSeconds();
        for (JsonNode deployment : serviceDeployments()) {
            JsonNode pod = deployment.path("spec").path("template").path("spec");
            long preStop = pod.path("containers").get(0).path("lifecycle").path("preStop").path("sleep")
                    .path("seconds").asLong();
            assertThat(preStop).as("pre-stop wait").isPositive();
            assertThat(pod.path("terminationGracePeriodSeconds").asLong()).as("grace period")
                    .isGreaterThan(preStop + drain);
        }
    }

    @Test
    void shouldNeverScaleBeyondTheLogsPartitions() throws IOException {
        int partitions = 0;
        for (JsonNode topic : YAML.readValues(YAML.createParser(K8S.resolve("components/strimzi/topics.yaml").toFile()),
                JsonNode.class).readAll()) {
            if (topic.path("spec").path("topicName").asText().equals(logTopic())) {
                partitions = topic.path("spec").path("partitions").asInt();
            }
        }
        assertThat(partitions).as("partitions of %s", logTopic()).isPositive();
        int scalers = 0;
        for (JsonNode object : everyObject().toList()) {
            String kind = object.path("kind").asText();
            if (kind.equals("ScaledObject")) {
                assertThat(object.path("spec").path("maxReplicaCount").asInt()).as(name(object))
                        .isBetween(1, partitions);
                scalers++;
            } else if (kind.equals("HorizontalPodAutoscaler")) {
                assertThat(object.path("spec").path("maxReplicas").asInt()).as(name(object)).isBetween(1, partitions);
                scalers++;
            }
        }
        assertThat(scalers).isGreaterThanOrEqualTo(2);
    }

    @Test
    void shouldScaleOnTheLagOfTheServicesOwnGroupsAtItsOwnKafka() throws IOException {
        Properties properties = applicationProperties();
        Set<String> groups = channelValues(properties, "group.id");
        List<JsonNode> production = RENDERED.get("overlays/production");
        String bootstrap = production.stream().filter(o -> o.path("kind").asText().equals("ConfigMap"))
                .map(o -> o.path("data").path("KAFKA_BOOTSTRAP_SERVERS").asText()).filter(s -> !s.isEmpty()).findFirst()
                .orElseThrow();
        JsonNode scaled = production.stream().filter(o -> o.path("kind").asText().equals("ScaledObject")).findFirst()
                .orElseThrow();
        Set<String> scaledGroups = new HashSet<>();
        for (JsonNode trigger : scaled.path("spec").path("triggers")) {
            assertThat(trigger.path("type").asText()).isEqualTo("kafka");
            assertThat(trigger.path("metadata").path("bootstrapServers").asText()).isEqualTo(bootstrap);
            scaledGroups.add(trigger.path("metadata").path("consumerGroup").asText());
            if (trigger.path("metadata").has("topic")) {
                assertThat(trigger.path("metadata").path("topic").asText()).isEqualTo(logTopic());
            }
        }
        assertThat(scaledGroups).isEqualTo(groups);
    }

    @Test
    void shouldGrantTheServiceExactlyTheTopicsAndGroupsItUses() throws IOException {
        Properties properties = applicationProperties();
        // what the service's channels name: incoming topics are read, outgoing written, groups committed as
        Map<String, Set<String>> expected = new TreeMap<>();
        properties.stringPropertyNames().stream().sorted().forEach(key -> {
            Matcher channel = Pattern.compile("mp\\.messaging\\.(incoming|outgoing)\\.([\\w-]+)\\.topic").matcher(key);
            if (!channel.matches()) {
                return;
            }
            boolean incoming = channel.group(1).equals("incoming");
            String prefix = "mp.messaging." + channel.group(1) + "." + channel.group(2) + ".";
            String topic = properties.getProperty(key);
            String resource = Boolean.parseBoolean(properties.getProperty(prefix + "pattern"))
                    ? "topic prefix " + patternPrefix(topic)
                    : "topic literal " + topic;
            Set<String> operations = expected.computeIfAbsent(resource, r -> new TreeSet<>());
            operations.add(incoming ? "Read" : "Write");
            operations.add("Describe");
            if (incoming) {
                expected.computeIfAbsent("group literal " + properties.getProperty(prefix + "group.id"),
                        g -> new TreeSet<>()).add("Read");
            }
        });
        assertThat(expected).containsKeys("topic literal agent-state.events", "topic prefix agent-state.ingress.");

        List<JsonNode> users = RENDERED.get("overlays/dev").stream()
                .filter(o -> o.path("kind").asText().equals("KafkaUser")).toList();
        JsonNode service = users.stream().filter(u -> u.path("metadata").path("name").asText().equals("agent-state"))
                .findFirst().orElseThrow();
        Map<String, Set<String>> granted = new TreeMap<>();
        Set<String> cluster = new TreeSet<>();
        for (JsonNode acl : service.path("spec").path("authorization").path("acls")) {
            JsonNode resource = acl.path("resource");
            if (resource.path("type").asText().equals("cluster")) {
                cluster.addAll(texts(acl.path("operations")));
                continue;
            }
            granted.computeIfAbsent(resource.path("type").asText() + " " + resource.path("patternType").asText("literal")
                    + " " + resource.path("name").asText(), r -> new TreeSet<>()).addAll(texts(acl.path("operations")));
        }
        assertThat(granted).as("the service's ACLs").isEqualTo(expected);
        // Kafka's producers are idempotent by default and ours say so
        assertThat(cluster).containsExactly("IdempotentWrite");

        // every other principal (the lag scaler) only describes
        users.stream().filter(u -> !u.path("metadata").path("name").asText().equals("agent-state")
                && !u.path("metadata").path("labels").has("agent-state.io/tenant"))
                .forEach(u -> u.path("spec").path("authorization").path("acls").forEach(acl -> assertThat(
                        texts(acl.path("operations"))).as(name(u)).containsOnly("Describe")));

        // a tenant's principal writes its own ingress topic, by literal name, and nothing else
        String ingressPrefix = patternPrefix(properties.getProperty("mp.messaging.incoming.ingress-in.topic"));
        List<JsonNode> tenants = users.stream().filter(u -> u.path("metadata").path("labels").has("agent-state.io/tenant"))
                .toList();
        assertThat(tenants).isNotEmpty();
        for (JsonNode tenant : tenants) {
            String name = tenant.path("metadata").path("labels").path("agent-state.io/tenant").asText();
            for (JsonNode acl : tenant.path("spec").path("authorization").path("acls")) {
                JsonNode resource = acl.path("resource");
                if (resource.path("type").asText().equals("cluster")) {
                    assertThat(texts(acl.path("operations"))).containsExactly("IdempotentWrite");
                    continue;
                }
                assertThat(resource.path("type").asText()).isEqualTo("topic");
                assertThat(resource.path("patternType").asText("literal")).isEqualTo("literal");
                assertThat(resource.path("name").asText()).isEqualTo(ingressPrefix + name);
                assertThat(texts(acl.path("operations"))).isSubsetOf("Write", "Describe").contains("Write");
            }
        }
    }

    @Test
    void shouldLetTheServiceReachTheServersItIsConfiguredFor() {
        for (Map.Entry<String, List<JsonNode>> overlay : RENDERED.entrySet()) {
            JsonNode data = overlay.getValue().stream().filter(o -> o.path("kind").asText().equals("ConfigMap")
                    && o.path("metadata").path("name").asText().startsWith("agent-state-config")).findFirst()
                    .orElseThrow().path("data");
            Set<Integer> ports = new TreeSet<>();
            for (String server : data.path("KAFKA_BOOTSTRAP_SERVERS").asText().split(",")) {
                ports.add(Integer.parseInt(server.substring(server.lastIndexOf(':') + 1).trim()));
            }
            ports.add(URI.create(data.path("QUARKUS_DATASOURCE_REACTIVE_URL").asText()).getPort());
            ports.add(URI.create(data.path("QUARKUS_REDIS_HOSTS").asText()).getPort());
            JsonNode policy = overlay.getValue().stream().filter(o -> o.path("kind").asText().equals("NetworkPolicy"))
                    .findFirst().orElseThrow();
            Set<Integer> allowed = new TreeSet<>();
            policy.path("spec").path("egress").forEach(rule -> rule.path("ports").forEach(p -> allowed.add(p.path("port")
                    .asInt())));
            assertThat(allowed).as("egress of %s", overlay.getKey()).containsAll(ports);
            Set<Integer> inbound = new TreeSet<>();
            policy.path("spec").path("ingress").forEach(rule -> rule.path("ports").forEach(p -> inbound.add(p.path("port")
                    .asInt())));
            assertThat(inbound).as("ingress of %s", overlay.getKey()).contains(8080);
        }
    }

    // --- rendering and reading ---

    private static boolean kubectlPresent() {
        try {
            Process probe = new ProcessBuilder("kubectl", "version", "--client").redirectErrorStream(true).start();
            probe.getInputStream().readAllBytes();
            return probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static List<JsonNode> kustomize(Path directory) throws Exception {
        Path out = Files.createTempFile("kustomize", ".yaml");
        Path err = Files.createTempFile("kustomize", ".err");
        try {
            Process process = new ProcessBuilder("kubectl", "kustomize", directory.toString())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("kubectl kustomize %s finished", directory).isTrue();
            assertThat(process.exitValue()).as("kubectl kustomize %s: %s", directory, Files.readString(err)).isZero();
            List<JsonNode> objects = new ArrayList<>();
            try (Reader reader = Files.newBufferedReader(out, StandardCharsets.UTF_8)) {
                for (JsonNode object : YAML.readValues(YAML.createParser(reader), JsonNode.class).readAll()) {
                    if (object != null && object.isObject() && object.size() > 0) {
                        objects.add(object);
                    }
                }
            }
            assertThat(objects).as("objects rendered from %s", directory).isNotEmpty();
            return objects;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * Collects, below {@code value}, every field that fabric8's model kept aside as "additional" (the model's way of
     * accepting a field it does not know).
     */
    private static void unknownFields(Object value, String path, List<String> unknown, Set<Object> seen)
            throws ReflectiveOperationException {
        if (value == null || !seen.add(System.identityHashCode(value) + ":" + value.getClass())) {
            return;
        }
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (value instanceof Map<?, ?> entries) {
            for (Map.Entry<?, ?> entry : entries.entrySet()) {
                unknownFields(entry.getValue(), path + "." + entry.getKey(), unknown, seen);
            }
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method getter : value.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
                continue;
            }
            Object field = getter.invoke(value);
            if (getter.getName().equals("getAdditionalProperties")) {
                if (field instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    extra.keySet().forEach(key -> unknown.add(path + "." + key));
                }
                continue;
            }
            unknownFields(field, path + "." + decapitalize(getter.getName().substring(3)), unknown, seen);
        }
    }

    private static String decapitalize(String name) {
        return name.isEmpty() ? name : Character.toLowerCase(name.charAt(0)) + name.substring(1);
    }

    private static String typeKey(JsonNode object) {
        return object.path("apiVersion").asText() + "/" + object.path("kind").asText();
    }

    private static String name(JsonNode object) {
        return object.path("kind").asText() + " " + object.path("metadata").path("name").asText();
    }

    private static java.util.stream.Stream<JsonNode> everyObject() {
        return RENDERED.values().stream().flatMap(List::stream);
    }

    private static List<JsonNode> workloads(List<JsonNode> objects) {
        return objects.stream().filter(o -> Set.of("Deployment", "StatefulSet").contains(o.path("kind").asText()))
                .toList();
    }

    private static List<JsonNode> serviceDeployments() {
        return everyObject().filter(o -> o.path("kind").asText().equals("Deployment")
                && o.path("metadata").path("name").asText().equals("agent-state")).toList();
    }

    private static List<JsonNode> serviceContainers() {
        return serviceContainers(everyObject().toList());
    }

    private static List<JsonNode> serviceContainers(List<JsonNode> objects) {
        List<JsonNode> containers = new ArrayList<>();
        objects.stream().filter(o -> o.path("kind").asText().equals("Deployment")
                && o.path("metadata").path("name").asText().equals("agent-state"))
                .forEach(d -> d.path("spec").path("template").path("spec").path("containers").forEach(containers::add));
        assertThat(containers).isNotEmpty();
        return containers;
    }

    private static boolean contains(JsonNode labels, JsonNode selector) {
        if (!(labels instanceof ObjectNode)) {
            return false;
        }
        for (Map.Entry<String, JsonNode> wanted : selector.properties()) {
            if (!wanted.getValue().asText().equals(labels.path(wanted.getKey()).asText(null))) {
                return false;
            }
        }
        return true;
    }

    private static List<String> texts(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }

    // --- the service's own configuration ---

    private static Properties applicationProperties() throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            properties.load(in);
        }
        return properties;
    }

    /** The environment form of every key of application.properties (any profile), and of the external settings. */
    private static Set<String> knownSettings() throws IOException {
        Set<String> known = new HashSet<>();
        for (String key : applicationProperties().stringPropertyNames()) {
            known.add(envForm(key.startsWith("%") ? key.substring(key.indexOf('.') + 1) : key));
        }
        EXTERNAL_SETTINGS.keySet().forEach(key -> known.add(envForm(key)));
        return known;
    }

    /** SmallRye Config's environment form: every character that is not a letter or a digit becomes '_'. */
    private static String envForm(String key) {
        return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    private static Set<String> channelValues(Properties properties, String attribute) {
        return properties.stringPropertyNames().stream()
                .filter(k -> k.matches("mp\\.messaging\\.incoming\\.[\\w-]+\\." + Pattern.quote(attribute)))
                .map(properties::getProperty).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String logTopic() {
        try {
            return applicationProperties().getProperty("mp.messaging.incoming.events-in.topic");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The literal prefix of a subscription pattern such as
     * {@code \Q${agent-state.ingress.topic-prefix:agent-state.ingress.}\E.+}.
     */
    private static String patternPrefix(String pattern) {
        Matcher quoted = Pattern.compile("\\\\Q(.*)\\\\E\\.\\+").matcher(pattern);
        assertThat(quoted.matches()).as("pattern %s is a quoted prefix", pattern).isTrue();
        String prefix = quoted.group(1);
        Matcher expression = Pattern.compile("\\$\\{[^:}]+:([^}]*)}").matcher(prefix);
        return expression.matches() ? expression.group(1) : prefix;
    }
}
