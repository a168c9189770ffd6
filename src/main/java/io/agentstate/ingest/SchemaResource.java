package io.agentstate.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.agentstate.event.EventCodec;
import io.agentstate.event.EventType;
import io.agentstate.platform.ProblemException;

/** Serves the JSON Schemas that validate REST and Kafka input alike. */
@Path("/schemas")
@Produces(MediaType.APPLICATION_JSON)
public class SchemaResource {

    /** The schema names: {@code cloudevent} for the envelope, then one per event type. */
    @GET
    @Operation(summary = "The names of the served JSON Schemas")
    public List<String> list() {
        List<String> names = new ArrayList<>(List.of("cloudevent"));
        for (EventType type : EventType.values()) {
            type.type().ifPresent(names::add);
        }
        return names;
    }

    @GET
    @Path("/{name}")
    @Produces({ "application/schema+json", MediaType.APPLICATION_JSON })
    @Operation(summary = "One JSON Schema (draft 2020-12)")
    public byte[] schema(@PathParam("name") String name) throws IOException {
        if (!list().contains(name)) {
            throw ProblemException.notFound("no schema " + name + "; GET /schemas lists them");
        }
        try (InputStream in = EventCodec.schema(name)) {
            return in.readAllBytes();
        }
    }
}
