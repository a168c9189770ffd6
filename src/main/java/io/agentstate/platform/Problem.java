package io.agentstate.platform;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * An RFC 9457 problem document ({@code application/problem+json}): type, title, status, detail and instance, each once,
 * then any extension members at the top level.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({ "type", "title", "status", "detail", "instance" })
public record Problem(String type, String title, int status, String detail, String instance,
        @JsonIgnore Map<String, Object> extensions) {

    public static final String MEDIA_TYPE = "application/problem+json";
    private static final String BASE = "https://agent-state.dev/problems/";
    private static final Set<String> MEMBERS = Set.of("type", "title", "status", "detail", "instance");

    public static Problem of(int status, String slug, String title, String detail) {
        return new Problem(BASE + slug, title, status, detail, null, new LinkedHashMap<>());
    }

    /** This problem with an extension member; the five standard members cannot be replaced this way. */
    public Problem with(String name, Object value) {
        if (MEMBERS.contains(name)) {
            throw new IllegalArgumentException("'" + name + "' is a standard member of a problem, not an extension");
        }
        Map<String, Object> more = new LinkedHashMap<>(extensions);
        more.put(name, value);
        return new Problem(type, title, status, detail, instance, more);
    }

    /** This problem about a request path. */
    public Problem at(String path) {
        return new Problem(type, title, status, detail, path, extensions);
    }

    /** This problem with every standard member present: the path as instance, the title as detail when none. */
    public Problem complete(String path) {
        return new Problem(type, title, status, detail != null ? detail : title, instance != null ? instance : path,
                extensions);
    }

    // Extensions are written as top-level members (RFC 9457 section 3.2), never as a nested "extensions" object.
    @JsonAnyGetter
    Map<String, Object> members() {
        return extensions;
    }
}
