package io.agentstate.security;

import java.lang.reflect.Method;
import java.util.Set;

import jakarta.json.JsonString;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.CurrentIdentityAssociation;
import io.quarkus.security.identity.SecurityIdentity;
import io.smallrye.mutiny.Uni;

/**
 * Authenticates every request to our routes before anything else runs, resolves its {@link Caller} and checks the role
 * the route {@link Requires}. API keys are checked here; JWTs by quarkus-smallrye-jwt ({@code mp.jwt.verify.*}),
 * asked for lazily so that an API key sent as a bearer token never reaches the JWT parser.
 */
public class CallerFilter {

    private static final String API_KEY_HEADER = "X-API-Key";
    private static final String BEARER = "Bearer ";

    private final CurrentCaller current;
    private final ApiKeys keys;
    private final CurrentIdentityAssociation identities;
    private final AgentStateConfig config;

    CallerFilter(CurrentCaller current, ApiKeys keys, CurrentIdentityAssociation identities, AgentStateConfig config) {
        this.current = current;
        this.keys = keys;
        this.identities = identities;
        this.config = config;
    }

    @ServerRequestFilter(priority = Priorities.AUTHENTICATION)
    Uni<Response> authenticate(ContainerRequestContext request, ResourceInfo resource) {
        Requires rule = rule(resource);
        if (rule.open()) {
            return Uni.createFrom().nullItem();
        }
        if (config.auth().mode() == AgentStateConfig.Auth.Mode.NONE) {
            current.set(Caller.anonymous(config.tenant()));
            return Uni.createFrom().nullItem();
        }
        String path = request.getUriInfo().getRequestUri().getRawPath();
        return caller(request)
                .map(caller -> authorize(caller, rule.value(), path))
                .onFailure(NotAuthenticatedException.class).recoverWithItem(failure -> challenge(
                        (NotAuthenticatedException) failure, path));
    }

    private Uni<Caller> caller(ContainerRequestContext request) {
        String apiKey = request.getHeaderString(API_KEY_HEADER);
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        String bearer = authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? authorization.substring(BEARER.length()).trim()
                : null;
        if (apiKey != null) {
            return keys.authenticate(apiKey.trim());
        }
        if (bearer != null && bearer.startsWith(ApiKeys.PREFIX)) {
            return keys.authenticate(bearer);
        }
        if (bearer == null) {
            return Uni.createFrom().failure(new NotAuthenticatedException(
                    "send a JWT or an API key as 'Authorization: Bearer ...', or an API key as 'X-API-Key'", false));
        }
        return identities.getDeferredIdentity()
                .onFailure(AuthenticationFailedException.class).transform(failure -> new NotAuthenticatedException(
                        "the bearer token does not verify (signature, issuer, audience or expiry)", true))
                .map(this::fromToken);
    }

    private Caller fromToken(SecurityIdentity identity) {
        if (identity.isAnonymous() || !(identity.getPrincipal() instanceof JsonWebToken token)) {
            throw new NotAuthenticatedException("the bearer token does not verify", true);
        }
        Object claim = token.getClaim(config.auth().tenantClaim());
        String tenant = claim instanceof JsonString text ? text.getString() : claim instanceof String text ? text : null;
        if (!Caller.validTenant(tenant)) {
            throw new NotAuthenticatedException("the token names no valid tenant in its '" + config.auth().tenantClaim()
                    + "' claim", true);
        }
        Set<String> groups = token.getGroups() != null ? token.getGroups() : Set.of();
        return new Caller(tenant, "jwt:" + token.getName(), Role.granted(groups));
    }

    private Response authorize(Caller caller, Role needed, String path) {
        if (!caller.has(needed)) {
            Problem problem = Problem.of(403, "forbidden", "Role missing",
                    "this route needs the " + needed.wireName() + " role").complete(path);
            return Response.status(403).type(Problem.MEDIA_TYPE).entity(problem).build();
        }
        current.set(caller);
        return null;
    }

    private static Response challenge(NotAuthenticatedException failure, String path) {
        Problem problem = Problem.of(401, "unauthenticated", "Authentication required", failure.getMessage())
                .complete(path);
        String challenge = "Bearer realm=\"agent-state\""
                + (failure.credentialsPresented() ? ", error=\"invalid_token\"" : "");
        return Response.status(401).type(Problem.MEDIA_TYPE).header(HttpHeaders.WWW_AUTHENTICATE, challenge)
                .entity(problem).build();
    }

    private static Requires rule(ResourceInfo resource) {
        Method method = resource.getResourceMethod();
        if (method != null && method.isAnnotationPresent(Requires.class)) {
            return method.getAnnotation(Requires.class);
        }
        Class<?> type = resource.getResourceClass();
        if (type != null && type.isAnnotationPresent(Requires.class)) {
            return type.getAnnotation(Requires.class);
        }
        return DefaultRule.READER;
    }

    @Requires
    private static final class DefaultRule {
        static final Requires READER = DefaultRule.class.getAnnotation(Requires.class);
    }
}
