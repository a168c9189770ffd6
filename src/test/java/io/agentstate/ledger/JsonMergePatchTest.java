package io.agentstate.ledger;

import static io.agentstate.testsupport.Events.json;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.JsonNode;

/** JSON Merge Patch against the examples of RFC 7386, appendix A. */
class JsonMergePatchTest {

    @ParameterizedTest(name = "{0} + {1} = {2}")
    @CsvSource(delimiterString = "|", textBlock = """
            {"a":"b"}             | {"a":"c"}                   | {"a":"c"}
            {"a":"b"}             | {"b":"c"}                   | {"a":"b","b":"c"}
            {"a":"b"}             | {"a":null}                  | {}
            {"a":"b","b":"c"}     | {"a":null}                  | {"b":"c"}
            {"a":["b"]}           | {"a":"c"}                   | {"a":"c"}
            {"a":"c"}             | {"a":["b"]}                 | {"a":["b"]}
            {"a":{"b":"c"}}       | {"a":{"b":"d","c":null}}    | {"a":{"b":"d"}}
            {"a":[{"b":"c"}]}     | {"a":[1]}                   | {"a":[1]}
            ["a","b"]             | ["c","d"]                   | ["c","d"]
            {"a":"b"}             | ["c"]                       | ["c"]
            {"a":"foo"}           | null                        | null
            {"a":"foo"}           | "bar"                       | "bar"
            {"e":null}            | {"a":1}                     | {"e":null,"a":1}
            [1,2]                 | {"a":"b","c":null}          | {"a":"b"}
            {}                    | {"a":{"bb":{"ccc":null}}}   | {"a":{"bb":{}}}
            """)
    void shouldMatchRfc7386AppendixA(String target, String patch, String expected) {
        assertThat(JsonMergePatch.apply(json(target), json(patch))).isEqualTo(json(expected));
    }

    @Test
    void shouldTreatMissingTargetAsEmptyObject() {
        assertThat(JsonMergePatch.apply(null, json("{\"a\":{\"b\":1},\"c\":null}"))).isEqualTo(json("{\"a\":{\"b\":1}}"));
    }

    @Test
    void shouldLeaveTargetAndPatchUnchanged() {
        JsonNode target = json("{\"a\":{\"b\":1,\"c\":2},\"d\":[1]}");
        JsonNode patch = json("{\"a\":{\"b\":null,\"e\":3},\"d\":null}");

        JsonNode result = JsonMergePatch.apply(target, patch);

        assertThat(result).isEqualTo(json("{\"a\":{\"c\":2,\"e\":3}}"));
        assertThat(target).isEqualTo(json("{\"a\":{\"b\":1,\"c\":2},\"d\":[1]}"));
        assertThat(patch).isEqualTo(json("{\"a\":{\"b\":null,\"e\":3},\"d\":null}"));
    }
}
