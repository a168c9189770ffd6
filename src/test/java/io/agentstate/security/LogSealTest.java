package io.agentstate.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import io.agentstate.event.EventCodec;

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
