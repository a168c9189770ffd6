package io.agentstate.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.event.Text;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;
import io.agentstate.security.Requires;

/**
 * Serves the JSON Schemas that validate REST and Kafka input alike, each with its {@code $id} set to where this service
 * serves it; {@code cloudevent-rest} is the envelope as {@code POST /sessions/{id}/events} accepts it.
 */
@Path("/schemas")
@Produces(MediaType.APPLICATION_JSON)
@Requires(open = true)
public class SchemaResource {

    private static final String ENVELOPE = "cloudevent";
    private static final String REST_ENVELOPE = "cloudevent-rest";

    private final ObjectMapper json;

    SchemaResource(ObjectMapper json) {
        this.json = json;
    }

    /** The schema names: {@code cloudevent} and {@code cloudevent-rest} for the envelope, then one per event type. */
    @GET
    @Operation(summary = "The names of the served JSON Schemas")
    public List<String> list() {
        List<String> names = new ArrayList<>(List.of(ENVELOPE, REST_ENVELOPE));
        for (EventType type : EventType.values()) {
            type.type().ifPresent(names::add);
        }
        return names;
    }

    @GET
    @Path("/{name}")
    @Produces({ "application/schema+json", MediaType.APPLICATION_JSON })
    @Operation(summary = "One JSON Schema (draft 2020-12)")
    @APIResponse(responseCode = "200", description = "The schema")
    @APIResponse(responseCode = "404", description = "No such schema", content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public ObjectNode schema(@PathParam("name") String name, @Context UriInfo uri) throws IOException {
        if (!list().contains(name)) {
            throw ProblemException.notFound("no schema " + Text.bounded(name, Text.MAX_ID) + "; GET /schemas lists them");
        }
        ObjectNode schema;
        try (InputStream in = EventCodec.schema(name.equals(REST_ENVELOPE) ? ENVELOPE : name)) {
            schema = (ObjectNode) json.readTree(in);
        }
        if (name.equals(REST_ENVELOPE)) {
            restVariant(schema);
        }
        // the repository's files carry a placeholder; the served copy names its own address
        schema.put("$id", uri.getBaseUriBuilder().path("schemas").path(name).build().toString());
        return schema;
    }

    // REST fills specversion (1.0), id (Idempotency-Key), subject (the path) and tenant (the caller) when absent.
    private static void restVariant(ObjectNode schema) {
        schema.put("title", "CloudEvent envelope (REST)");
        schema.put("description", "A structured-mode CloudEvent 1.0 as POST /sessions/{id}/events accepts it: "
                + "specversion defaults to 1.0, id to the Idempotency-Key header, subject to the session of the path, "
                + "and tenant is always the caller's. The data member is validated by the schema of the event's type.");
        ArrayNode required = schema.putArray("required");
        required.add("source").add("type");
    }
}
