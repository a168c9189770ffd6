package io.agentstate.security;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** What a caller may do within its tenant; each role includes the ones below it. */
public enum Role {
    /** Reads sessions, timelines, tool calls, streams, memories and audits. */
    READER,
    /** Also appends events, runs chat turns and erases sessions. */
    WRITER,
    /** Also forgets users, manages API keys and reads the tenant's administrative log. */
    ADMIN;

    /** The name used in tokens, key files and answers: {@code reader}, {@code writer}, {@code admin}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role with this wire name, if any. */
    public static Optional<Role> fromWire(String name) {
        for (Role role : values()) {
            if (role.wireName().equals(name)) {
                return Optional.of(role);
            }
        }
        return Optional.empty();
    }

    /** Every role the given ones grant, the included ones too; names that are not roles are ignored. */
    public static Set<Role> granted(Iterable<String> names) {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String name : names) {
            fromWire(name).ifPresent(role -> roles.addAll(EnumSet.range(READER, role)));
        }
        return roles;
    }
}
