package io.agentstate.platform;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Answers a request whose declared body is over {@code quarkus.http.limits.max-body-size} with a 413 problem document.
 * Quarkus enforces the same limit in a route of order -2 that answers with an empty body; this route runs just before
 * it, so clients get the documented problem instead. A chunked body without Content-Length still meets Quarkus's own
 * check while it is read, and that answer stays empty.
 */
@ApplicationScoped
public class BodyLimit {

    private final long maxBytes;
    private final ObjectMapper json;

    BodyLimit(@ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K") MemorySize maxBodySize,
            ObjectMapper json) {
        this.maxBytes = maxBodySize.asLongValue();
        this.json = json;
    }

    void install(@Observes Router router) {
        router.route().order(-3).handler(this::check);
    }

    private void check(RoutingContext context) {
        long declared = declaredLength(context.request().getHeader(HttpHeaders.CONTENT_LENGTH));
        if (declared <= maxBytes) {
            context.next();
            return;
        }
        Problem problem = Problem.of(413, "too-large", "Body too large", "the request body of " + declared
                + " bytes exceeds the limit of " + maxBytes + " bytes; send fewer or smaller events per request")
                .at(context.normalizedPath());
        byte[] body;
        try {
            body = json.writeValueAsBytes(problem);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        // The body is never used, so the connection cannot carry another request. Closing it while the client is still
        // sending would reset it, and the client could lose the answer: the rest of the body is read and dropped, then
        // the connection closes (at the latest after a few seconds, whatever the client still sends).
        HttpConnection connection = context.request().connection();
        long timer = context.vertx().setTimer(5000, id -> connection.close());
        context.request().handler(ignored -> {
        });
        context.request().endHandler(ignored -> {
            context.vertx().cancelTimer(timer);
            connection.close();
        });
        context.request().resume();
        context.response()
                .setStatusCode(413)
                .putHeader(HttpHeaders.CONTENT_TYPE, Problem.MEDIA_TYPE)
                .putHeader(HttpHeaders.CONNECTION, "close")
                .end(Buffer.buffer(body));
    }

    private static long declaredLength(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
