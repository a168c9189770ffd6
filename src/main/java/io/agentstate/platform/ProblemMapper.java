package io.agentstate.platform;

import jakarta.validation.ConstraintViolationException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.apache.kafka.common.errors.RecordTooLargeException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

import io.agentstate.event.EventTooLargeException;
import io.agentstate.event.InvalidEventException;

/**
 * The one place where failures become {@code application/problem+json}; bodies never carry class names or traces, and
 * every problem leaves with type, title, status, detail and instance.
 */
public class ProblemMapper {

    private static final Logger LOG = Logger.getLogger(ProblemMapper.class);

    @ServerExceptionMapper
    public RestResponse<Problem> problem(ProblemException e, UriInfo uri) {
        return respond(e.problem().at(uri.getPath()));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> tooLarge(EventTooLargeException e, UriInfo uri) {
        return respond(Problem.of(413, "too-large", "Too large", e.getMessage()).at(uri.getPath()));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> invalidEvent(InvalidEventException e, UriInfo uri) {
        return respond(Problem.of(400, "invalid-event", "Invalid event", e.getMessage()).at(uri.getPath()));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> constraint(ConstraintViolationException e, UriInfo uri) {
        StringBuilder detail = new StringBuilder();
        e.getConstraintViolations().forEach(v -> detail.append(detail.isEmpty() ? "" : "; ")
                .append(lastNode(v.getPropertyPath().toString())).append(": ").append(v.getMessage()));
        return respond(Problem.of(400, "invalid-request", "Invalid request", detail.toString()).at(uri.getPath()));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> web(WebApplicationException e, UriInfo uri) {
        // RESTEasy answers a query or path parameter it could not convert with a NotFoundException carrying the cause;
        // resources take their parameters as text, so this only guards a parameter added without that care
        if (e instanceof NotFoundException && e.getCause() != null) {
            return respond(Problem.of(400, "invalid-parameter", "Invalid parameter",
                    "a path or query parameter does not have the expected form").at(uri.getPath()));
        }
        Response.StatusType status = e.getResponse().getStatusInfo();
        return respond(Problem.of(status.getStatusCode(), "http-" + status.getStatusCode(), status.getReasonPhrase(),
                status.getStatusCode() == 415 ? "unsupported content type; send application/json"
                        : status.getReasonPhrase())
                .at(uri.getPath()));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> unexpected(Throwable e, UriInfo uri) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof RecordTooLargeException) {
                return respond(Problem.of(413, "too-large", "Too large",
                        "the encoded events exceed what the log accepts in one record; send a smaller batch")
                        .at(uri.getPath()));
            }
        }
        if (unavailable(e)) {
            // PostgreSQL, Redis or Kafka out of reach: nothing the caller did, and a retry with the same
            // Idempotency-Key is safe; the ledger itself waits the outage out
            LOG.warnf("Storage unavailable on %s: %s", LogSafe.path(uri.getPath()), e.getClass().getSimpleName());
            RestResponse<Problem> response = RestResponse.ResponseBuilder.<Problem> create(503)
                    .entity(Problem.of(503, "unavailable", "Service unavailable", "a storage service (PostgreSQL, "
                            + "Redis or Kafka) is unreachable; retry with the same Idempotency-Key")
                            .at(uri.getPath()))
                    .type(Problem.MEDIA_TYPE).header("Retry-After", "5").build();
            return response;
        }
        LOG.errorf("Unexpected failure on %s: %s", LogSafe.path(uri.getPath()), LogSafe.failure(e));
        // the stack trace (which may quote ids or content) only at DEBUG
        LOG.debug("Unexpected failure", e);
        return respond(Problem.of(500, "internal", "Internal error", "the request failed; see the service log")
                .at(uri.getPath()));
    }

    /**
     * Completes problem documents built outside this class (the append and chat answers): the request path as instance,
     * and a detail when there is none.
     */
    @ServerResponseFilter
    public void complete(ContainerRequestContext request, ContainerResponseContext response) {
        if (response.getEntity() instanceof Problem problem && (problem.instance() == null || problem.detail() == null)) {
            response.setEntity(problem.complete(request.getUriInfo().getPath()));
        }
    }

    // Connection-level failures only: a refused, reset, closed or timed-out connection to a storage service. A SQL or
    // Redis error reply is a bug or a bad request and stays a 500.
    private static boolean unavailable(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            String name = cause.getClass().getName();
            if (cause instanceof java.net.ConnectException || cause instanceof java.nio.channels.ClosedChannelException
                    || cause instanceof java.util.concurrent.TimeoutException
                    || cause instanceof io.smallrye.mutiny.TimeoutException
                    || cause instanceof org.apache.kafka.common.errors.TimeoutException
                    || name.equals("io.vertx.sqlclient.ClosedConnectionException")
                    || name.equals("io.vertx.core.impl.NoStackTraceTimeoutException")
                    || name.equals("io.netty.channel.ConnectTimeoutException")
                    || name.endsWith("AbstractConnectException")
                    || String.valueOf(cause.getMessage()).startsWith("Connection refused")
                    || String.valueOf(cause.getMessage()).contains("Connection reset")
                    || String.valueOf(cause.getMessage()).contains("Connection is closed")) {
                return true;
            }
        }
        return false;
    }

    /** A response carrying a problem document. */
    public static <T> RestResponse<T> respond(Problem problem) {
        @SuppressWarnings("unchecked")
        RestResponse<T> response = (RestResponse<T>) RestResponse.ResponseBuilder.create(problem.status())
                .entity(problem).type(Problem.MEDIA_TYPE).build();
        return response;
    }

    private static String lastNode(String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }
}
