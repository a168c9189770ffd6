package io.agentstate.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a start-up failure may say about the address it tried: never the credentials in it. */
class StartupCheckTest {

    @Test
    void shouldMaskCredentialsInTheAddressesItNames() {
        assertThat(StartupCheck.redacted("redis://default:s3cret@redis.prod:6379/0"))
                .isEqualTo("redis://***@redis.prod:6379/0");
        assertThat(StartupCheck.redacted("rediss://:s3cret@a:6380,rediss://:other@b:6380"))
                .isEqualTo("rediss://***@a:6380,rediss://***@b:6380");
        assertThat(StartupCheck.redacted("postgresql://agent:pw@db:5432/agentstate?sslmode=require&password=pw"))
                .isEqualTo("postgresql://***@db:5432/agentstate?sslmode=require&password=***");
        assertThat(StartupCheck.redacted("redis://:p@ss@host:6379")).isEqualTo("redis://***@host:6379");
        assertThat(StartupCheck.redacted("redis://localhost:6379")).isEqualTo("redis://localhost:6379");
        assertThat(StartupCheck.redacted("127.0.0.1:9092")).isEqualTo("127.0.0.1:9092");
    }
}
