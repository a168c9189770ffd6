package io.agentstate.query;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import io.agentstate.ledger.ArchiveRepository;
import io.agentstate.ledger.SessionKey;
import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.Problem;
import io.agentstate.security.AuditSigner;
import io.agentstate.security.CurrentCaller;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * {@code GET /sessions/{id}/audit}: re-verifies a session's audit chain, entry by entry from PostgreSQL, and its signed
 * head. A broken chain is a 200 with {@code valid: false}: the answer is the verdict, not an error.
 */
@Path("/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {

    private static final String JSON = MediaType.APPLICATION_JSON;
    private static final String PROBLEM = Problem.MEDIA_TYPE;

    private final ArchiveRepository archive;
    private final AuditSigner signer;
    private final AgentStateConfig config;
    private final MeterRegistry meters;
    private final CurrentCaller caller;

    AuditResource(ArchiveRepository archive, AuditSigner signer, AgentStateConfig config, MeterRegistry meters,
            CurrentCaller caller) {
        this.caller = caller;
        this.archive = archive;
        this.signer = signer;
        this.config = config;
        this.meters = meters;
    }

    @GET
    @Path("/{sessionId}/audit")
    @Operation(summary = "Verify the session's audit chain and its latest signed head", description = "Recomputes the "
            + "hash chain over every accepted and refused entry (stored payload and metadata) in log order, and checks "
            + "the head's signature. Reads the whole chain in pages; costs the session's size.")
    @APIResponse(responseCode = "200", description = "The verdict, valid or not", content = @Content(mediaType = JSON, schema = @Schema(implementation = AuditResponse.class)))
    @APIResponse(responseCode = "404", description = "No such session", content = @Content(mediaType = PROBLEM, schema = @Schema(implementation = Problem.class)))
    public Uni<AuditResponse> audit(@PathParam("sessionId") String sessionId) {
        SessionKey session = key(sessionId);
        return archive.audit(session, signer, config.audit().pageSize())
                .map(verdict -> verdict.orElseThrow(() -> SessionReader.notFound(session)))
                .invoke(verdict -> meters.counter("agentstate.query.audits", "result",
                        verdict.valid() ? "valid" : "invalid").increment())
                .map(verdict -> AuditResponse.from(sessionId, verdict));
    }

    // The one place this endpoint learns its tenant: the caller's, as every other read does.
    private SessionKey key(String sessionId) {
        return new SessionKey(caller.tenant(), sessionId);
    }
}
