package io.agentstate.security;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;

/** Refuses an unauthenticated production start, and says loudly when authentication is off. */
@ApplicationScoped
class AuthModeCheck {

    private static final Logger LOG = Logger.getLogger(AuthModeCheck.class);

    void check(@Observes StartupEvent start, AgentStateConfig config) {
        if (config.auth().mode() != AgentStateConfig.Auth.Mode.NONE) {
            return;
        }
        if (LaunchMode.current() == LaunchMode.NORMAL && !config.auth().allowAnonymous()) {
            throw new IllegalStateException("agent-state.auth.mode=none in production: every caller would read and "
                    + "write every session of tenant '" + config.tenant() + "'. Set agent-state.auth.mode=required (and "
                    + "mp.jwt.verify.* or an API key file), or agent-state.auth.allow-anonymous=true to accept this.");
        }
        LOG.warnf("AUTHENTICATION IS OFF (agent-state.auth.mode=none): every caller acts as tenant '%s' with every "
                + "role. Never expose this service beyond loopback.", config.tenant());
    }
}
