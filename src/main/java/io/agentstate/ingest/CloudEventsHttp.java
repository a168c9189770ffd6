package io.agentstate.ingest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.agentstate.event.Text;
import io.agentstate.platform.Problem;
import io.agentstate.platform.ProblemException;

/**
 * The CloudEvents HTTP protocol binding's binary mode: the attributes in {@code ce-*} headers, the body the event's
 * {@code data}. A binary-mode request is turned into the structured event it stands for, so every mode is decoded and
 * checked by one codec; structured mode ({@code application/cloudevents+json}) and the JSON batch format
 * ({@code application/cloudevents-batch+json}) are bodies the codec reads as they come.
 */
final class CloudEventsHttp {

    static final String PREFIX = "ce-";
    // CloudEvents attribute names: lower-case letters and digits (the spec's limit of 20 is a recommendation)
    private static final Pattern ATTRIBUTE = Pattern.compile("[a-z0-9]{1,64}");
    private static final Pattern VERSION = Pattern.compile("[0-9]{1,18}");
    private static final Pattern CHARSET = Pattern.compile("(?i);\\s*charset\\s*=\\s*\"?([^;\"\\s]+)");
    // More headers than any event has attributes: a request with thousands of ce-* headers is refused, not folded.
    private static final int MAX_ATTRIBUTES = 64;

    private CloudEventsHttp() {
    }

    /**
     * True when the request is in binary mode: it carries {@code ce-specversion} and is not a structured or batch
     * CloudEvents body (whose content type wins, as the binding says).
     */
    static boolean binary(Map<String, List<String>> headers, String contentType) {
        if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/cloudevents")) {
            return false;
        }
        return headers.keySet().stream().anyMatch(name -> name.equalsIgnoreCase(PREFIX + "specversion"));
    }

    /**
     * The structured event a binary-mode request stands for. Header names are case-insensitive (attributes are
     * lower-case); values are percent-decoded as the binding requires; a JSON body (the only data this service stores)
     * becomes {@code data}, an empty one no data.
     */
    static byte[] structured(Map<String, List<String>> headers, String contentType, byte[] body, ObjectMapper json) {
        if (contentType != null) {
            Matcher charset = CHARSET.matcher(contentType);
            if (charset.find() && !charset.group(1).equalsIgnoreCase("utf-8")) {
                throw new ProblemException(Problem.of(415, "http-415", "Unsupported Media Type",
                        "a binary-mode event's data must be JSON in UTF-8, not " + Text.bounded(charset.group(1), 64)));
            }
        }
        ObjectNode event = json.createObjectNode();
        Map<String, String> attributes = new TreeMap<>();
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            if (!name.startsWith(PREFIX) || name.length() == PREFIX.length()) {
                continue;
            }
            String attribute = name.substring(PREFIX.length());
            if (!ATTRIBUTE.matcher(attribute).matches()) {
                throw ProblemException.badRequest("header " + Text.bounded(name, Text.MAX_ID) + " names no CloudEvents "
                        + "attribute: attribute names are lower-case letters and digits");
            }
            if (header.getValue().size() != 1) {
                throw ProblemException.badRequest("header " + Text.bounded(name, Text.MAX_ID) + " is given "
                        + header.getValue().size() + " times; a CloudEvents attribute has one value");
            }
            if (attribute.equals("data") || attribute.equals("data_base64")) {
                throw ProblemException.badRequest("in binary mode the body is the event's data; header " + name
                        + " is not allowed");
            }
            attributes.put(attribute, decode(name, header.getValue().get(0)));
        }
        if (attributes.size() > MAX_ATTRIBUTES) {
            throw ProblemException.badRequest("a binary-mode event has at most " + MAX_ATTRIBUTES + " ce-* headers, not "
                    + attributes.size());
        }
        attributes.forEach((attribute, value) -> {
            if (attribute.equals("expectedversion") && VERSION.matcher(value).matches()) {
                // a number in the structured form; header values are text
                event.put(attribute, Long.parseLong(value));
            } else {
                event.put(attribute, value);
            }
        });
        if (contentType != null) {
            event.put("datacontenttype", contentType);
        }
        if (body.length > 0) {
            try {
                // the codec's own mapper: the same number precision and the same refusal of trailing content as a
                // structured event's data
                event.set("data", json.readTree(body));
            } catch (JsonProcessingException e) {
                throw ProblemException.badRequest("the body of a binary-mode event is its data and must be JSON: "
                        + Text.bounded(e.getOriginalMessage(), Text.MAX_ID));
            } catch (IOException e) {
                throw ProblemException.badRequest("unreadable body");
            }
        }
        JsonNode data = event.get("data");
        if (data != null && data.isNull()) {
            event.remove("data");
        }
        try {
            return json.writeValueAsBytes(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // Percent-decoding of a header value (RFC 3986 %XX, UTF-8); '+' is a plus, not a space.
    static String decode(String header, String value) {
        if (value.indexOf('%') < 0) {
            return value;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%') {
                if (i + 2 >= value.length() || Character.digit(value.charAt(i + 1), 16) < 0
                        || Character.digit(value.charAt(i + 2), 16) < 0) {
                    throw ProblemException.badRequest("header " + Text.bounded(header, Text.MAX_ID)
                            + " has a malformed percent-encoding");
                }
                bytes.write(Character.digit(value.charAt(i + 1), 16) * 16 + Character.digit(value.charAt(i + 2), 16));
                i += 2;
            } else {
                int end = i + Character.charCount(value.codePointAt(i));
                byte[] raw = value.substring(i, end).getBytes(StandardCharsets.UTF_8);
                bytes.write(raw, 0, raw.length);
                i = end - 1;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw ProblemException.badRequest("header " + Text.bounded(header, Text.MAX_ID)
                    + " does not percent-decode to UTF-8");
        }
    }
}
