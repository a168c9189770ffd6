package io.agentstate.security;

import java.time.Instant;
import java.util.Set;

/** One API key as stored: never the key itself, only its SHA-256, bound to one tenant and its roles. */
public record ApiKey(String id, String tenant, Set<Role> roles, String sha256, String label, Instant createdAt,
        Instant expiresAt, Instant revokedAt, Source source) {

    /** Where a key is managed: through the admin API (PostgreSQL) or in the operator's key file. */
    public enum Source {
        API,
        FILE
    }

    public boolean usableAt(Instant now) {
        return revokedAt == null && (expiresAt == null || expiresAt.isAfter(now));
    }
}
