package io.agentstate.security;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.resteasy.reactive.RestResponse;

import io.agentstate.event.Text;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.platform.QueryParams;
import io.smallrye.mutiny.Uni;

/** The tenant's administration: API keys ({@code /admin/keys}) and the administrative log ({@code /admin/audit}). */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
@Requires(Role.ADMIN)
public class AdminResource {

    /** A key to make: its roles (reader, writer, admin), an optional label and expiry. */
    public record CreateKeyRequest(List<String> roles, String label, String expiresAt) {
    }

    /** A key as listed: never its secret. */
    public record KeyResponse(String id, String tenant, List<String> roles, String label, Instant createdAt,
            Instant expiresAt, Instant revokedAt, String source) {

        static KeyResponse from(ApiKey key) {
            return new KeyResponse(key.id(), key.tenant(), key.roles().stream().map(Role::wireName).toList(),
                    key.label(), key.source() == ApiKey.Source.FILE ? null : key.createdAt(), key.expiresAt(),
                    key.revokedAt(), key.source().name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** A key just made: the only answer that ever carries the key itself. */
    public record CreatedKeyResponse(String id, String key, String tenant, List<String> roles, String label,
            Instant createdAt, Instant expiresAt) {
    }

    /** A page of the administrative log, newest first; {@code next} is the {@code before} of the next page. */
    public record AuditResponse(List<AdminLog.Action> actions, Long next) {
    }

    private final ApiKeys keys;
    private final AdminLog log;
    private final CurrentCaller caller;

    AdminResource(ApiKeys keys, AdminLog log, CurrentCaller caller) {
        this.keys = keys;
        this.log = log;
        this.caller = caller;
    }

    @POST
    @Path("/keys")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Make an API key for this tenant; the answer shows the key once, only its SHA-256 is kept")
    @APIResponse(responseCode = "201", description = "The key", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = CreatedKeyResponse.class)))
    @APIResponse(responseCode = "400", description = "No or unknown roles, or a malformed expiresAt", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RestResponse<CreatedKeyResponse>> create(CreateKeyRequest request) {
        Caller admin = caller.get();
        if (request == null || request.roles() == null || request.roles().isEmpty()) {
            throw ProblemException.badRequest("give the key's roles, e.g. {\"roles\": [\"writer\"]}");
        }
        List<String> unknown = new ArrayList<>(request.roles());
        unknown.removeIf(name -> Role.fromWire(name).isPresent());
        if (!unknown.isEmpty()) {
            throw ProblemException.badRequest("unknown roles " + unknown + "; roles are reader, writer and admin");
        }
        if (request.label() != null && request.label().length() > 200) {
            throw ProblemException.badRequest("label longer than 200 characters");
        }
        Instant expiresAt = expiry(request.expiresAt());
        Set<Role> roles = Role.granted(request.roles());
        return keys.create(admin, roles, request.label(), expiresAt)
                .call(created -> log.record(admin, "key.created", created.key().id()))
                .map(created -> RestResponse.status(RestResponse.Status.CREATED, new CreatedKeyResponse(
                        created.key().id(), created.secret(), created.key().tenant(),
                        created.key().roles().stream().map(Role::wireName).toList(), created.key().label(),
                        created.key().createdAt(), created.key().expiresAt())));
    }

    @GET
    @Path("/keys")
    @Operation(summary = "This tenant's API keys, revoked ones too, without their secrets")
    public Uni<List<KeyResponse>> list() {
        return keys.list(caller.tenant())
                .map(list -> list.stream().map(KeyResponse::from).toList());
    }

    @DELETE
    @Path("/keys/{keyId}")
    @Operation(summary = "Revoke a key: refused at once by this replica, by the others within the refresh interval")
    @APIResponse(responseCode = "200", description = "The key, revoked")
    @APIResponse(responseCode = "404", description = "This tenant has no such key", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "409", description = "The key lives in the operator's key file", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<KeyResponse> revoke(@PathParam("keyId") String keyId) {
        Caller admin = caller.get();
        if (keys.inFile(admin.tenant(), keyId)) {
            throw new ProblemException(Problem.of(409, "key-in-file", "Key managed in the key file",
                    "remove key " + keyId + " from agent-state.auth.api-keys-file to revoke it"));
        }
        return keys.revoke(admin, keyId)
                .map(revoked -> revoked
                        .orElseThrow(() -> ProblemException.notFound("no API key " + Text.bounded(keyId, Text.MAX_ID))))
                .call(revoked -> log.record(admin, "key.revoked", keyId))
                .map(KeyResponse::from);
    }

    @GET
    @Path("/audit")
    @Operation(summary = "This tenant's administrative actions, newest first: keys made and revoked, sessions erased, "
            + "users forgotten")
    public Uni<AuditResponse> audit(@QueryParam("before") String before, @QueryParam("limit") String limit) {
        int size = QueryParams.integer("limit", limit, 100, 1, 1000);
        Long from = before == null ? null : QueryParams.atLeast("before", before, null, 1);
        return log.list(caller.tenant(), from, size)
                .map(actions -> new AuditResponse(actions,
                        actions.size() == size ? actions.get(actions.size() - 1).id() : null));
    }

    private static Instant expiry(String value) {
        if (value == null) {
            return null;
        }
        try {
            Instant at = Instant.parse(value);
            if (!at.isAfter(Instant.now())) {
                throw ProblemException.badRequest("expiresAt must be in the future");
            }
            return at;
        } catch (DateTimeParseException e) {
            throw ProblemException.badRequest("expiresAt must be an RFC 3339 time such as 2027-01-01T00:00:00Z");
        }
    }
}
