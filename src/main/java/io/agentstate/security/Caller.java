package io.agentstate.security;

import java.util.EnumSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The verified principal of one request: its tenant, its roles, and who it is for the administrative log. The tenant
 * always comes from here, never from a body or a record.
 */
public record Caller(String tenant, String subject, Set<Role> roles) {

    // Tenants name Kafka ingress topics and Redis keys: a conservative alphabet keeps them valid everywhere.
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public Caller {
        roles = roles.isEmpty() ? EnumSet.noneOf(Role.class) : EnumSet.copyOf(roles);
    }

    /** The caller of mode {@code none}: the configured tenant with every role. */
    public static Caller anonymous(String tenant) {
        return new Caller(tenant, "anonymous", EnumSet.allOf(Role.class));
    }

    public boolean has(Role role) {
        return roles.contains(role);
    }

    /** Whether a tenant name can be used (topic names, keys); a token or key naming another is refused. */
    public static boolean validTenant(String tenant) {
        return tenant != null && TENANT.matcher(tenant).matches();
    }
}
