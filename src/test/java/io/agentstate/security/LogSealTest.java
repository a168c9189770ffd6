package io.agentstate.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Consumer;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import io.agentstate.event.EventCodec;
import io.agentstate.platform.AgentStateConfig;
import io.quarkus.runtime.LaunchMode;

/** The seal vouches for tenant, key, value and every header the ledger reads, and for nothing a forger could change. */
class LogSealTest {

    private static final byte[] VALUE = "{\"id\":\"e1\"}".getBytes(StandardCharsets.UTF_8);
    private final LogSeal seal = new LogSeal("a key of thirty-two bytes or more, for tests".getBytes(StandardCharsets.UTF_8));

    @Test
    void shouldVerifyWhatItSealedWithItsTenant() {
        RecordHeaders headers = headers();
        seal.seal("tenant-a", "s1", VALUE, headers);
        assertThat(seal.verify("s1", VALUE, headers)).isEqualTo(new LogSeal.Verification(LogSeal.Verification.Status.VALID,
                "tenant-a"));
        // headers the ledger does not read may change (tracing, a proxy's own)
        headers.add("x-trace", "t".getBytes(StandardCharsets.UTF_8));
        assertThat(seal.verify("s1", VALUE, headers).valid()).isTrue();
    }

    @Test
    void shouldCallARecordWithoutSealUnsealed() {
        assertThat(seal.verify("s1", VALUE, headers()).status()).isEqualTo(LogSeal.Verification.Status.UNSEALED);
    }

    @Test
    void shouldRefuseEveryChangeToWhatItCovers() {
        assertInvalid("s2", VALUE, h -> {
        });
        assertInvalid("s1", "{\"id\":\"e2\"}".getBytes(StandardCharsets.UTF_8), h -> {
        });
        assertInvalid("s1", VALUE, h -> replace(h, LogSeal.TENANT_HEADER, "tenant-b"));
        assertInvalid("s1", VALUE, h -> replace(h, "ce_tenant", "tenant-b"));
        assertInvalid("s1", VALUE, h -> h.add("CE_Type", "agentstate.session.erased".getBytes(StandardCharsets.UTF_8)));
        assertInvalid("s1", VALUE, h -> h.add(EventCodec.REPLY_HEADER, new byte[] { '1' }));
        assertInvalid("s1", VALUE, h -> replace(h, "content-type", EventCodec.BATCH));
        assertInvalid("s1", VALUE, h -> replace(h, LogSeal.SEAL_HEADER, "bm90IGEgc2VhbA=="));
        assertInvalid("s1", VALUE, h -> replace(h, LogSeal.SEAL_HEADER, "not base64 at all"));
        assertInvalid("s1", VALUE, h -> h.remove(LogSeal.TENANT_HEADER));
    }

    @Test
    void shouldRefuseASealMadeWithAnotherKey() {
        RecordHeaders headers = headers();
        new LogSeal("another key of thirty-two bytes or more......".getBytes(StandardCharsets.UTF_8))
                .seal("tenant-a", "s1", VALUE, headers);
        assertThat(seal.verify("s1", VALUE, headers).status()).isEqualTo(LogSeal.Verification.Status.INVALID);
    }

    @Test
    void shouldRefuseAProductionStartWithCredentialsButNoKey() {
        assertThatThrownBy(() -> LogSeal.key(config(null, AgentStateConfig.Auth.Mode.REQUIRED), LaunchMode.NORMAL))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("agent-state.log.seal-key");
        assertThatThrownBy(() -> LogSeal.key(config("c2hvcnQ=", AgentStateConfig.Auth.Mode.NONE), LaunchMode.TEST))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("at least 32");
        // without credentials nothing claims a tenant: a key of this process will do
        assertThat(LogSeal.key(config(null, AgentStateConfig.Auth.Mode.NONE), LaunchMode.NORMAL)).hasSize(32);
        assertThat(LogSeal.key(config(null, AgentStateConfig.Auth.Mode.REQUIRED), LaunchMode.TEST)).hasSize(32);
    }

    // Only the two settings the key depends on; anything else asked of this config is a test bug.
    private static AgentStateConfig config(String sealKey, AgentStateConfig.Auth.Mode mode) {
        AgentStateConfig.Log log = () -> Optional.ofNullable(sealKey);
        AgentStateConfig.Auth auth = (AgentStateConfig.Auth) Proxy.newProxyInstance(LogSealTest.class.getClassLoader(),
                new Class<?>[] { AgentStateConfig.Auth.class }, (proxy, method, args) -> {
                    if (method.getName().equals("mode")) {
                        return mode;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return (AgentStateConfig) Proxy.newProxyInstance(LogSealTest.class.getClassLoader(),
                new Class<?>[] { AgentStateConfig.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "log" -> log;
                    case "auth" -> auth;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private void assertInvalid(String key, byte[] value, Consumer<RecordHeaders> change) {
        RecordHeaders headers = headers();
        seal.seal("tenant-a", "s1", VALUE, headers);
        change.accept(headers);
        assertThat(seal.verify(key, value, headers).status()).isEqualTo(LogSeal.Verification.Status.INVALID);
    }

    private static RecordHeaders headers() {
        RecordHeaders headers = new RecordHeaders();
        headers.add("content-type", EventCodec.STRUCTURED.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_tenant", "tenant-a".getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    private static void replace(RecordHeaders headers, String name, String value) {
        Header old = headers.lastHeader(name);
        headers.remove(name);
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
        assertThat(old).isNotNull();
    }
}
