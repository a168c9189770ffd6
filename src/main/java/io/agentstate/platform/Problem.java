package io.agentstate.platform;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonInclude;

/** An RFC 9457 problem document ({@code application/problem+json}), with extension members when useful. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String instance,
        @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, Object> extensions) {

    public static final String MEDIA_TYPE = "application/problem+json";
    private static final String BASE = "https://agent-state.dev/problems/";

    public static Problem of(int status, String slug, String title, String detail) {
        return new Problem(BASE + slug, title, status, detail, null, new LinkedHashMap<>());
    }

    /** This problem with an extension member. */
    public Problem with(String name, Object value) {
        Map<String, Object> more = new LinkedHashMap<>(extensions);
        more.put(name, value);
        return new Problem(type, title, status, detail, instance, more);
    }

    /** This problem about a request path. */
    public Problem at(String path) {
        return new Problem(type, title, status, detail, path, extensions);
    }

    @JsonAnyGetter
    Map<String, Object> members() {
        return extensions;
    }
}
