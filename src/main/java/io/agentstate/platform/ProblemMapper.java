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
        LOG.errorf(e, "Unexpected failure on %s", uri.getPath());
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
