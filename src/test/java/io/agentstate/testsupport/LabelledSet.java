package io.agentstate.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The labelled set of semantic memory ({@code src/test/resources/memory/labelled-set.json}): users with facts, and
 * queries that name the fact each should find. One instance is one run: its user ids and fact ids carry a suffix of
 * their own, so runs never meet. The tests assert on its scores, the benchmark reports them.
 */
public final class LabelledSet {

    public static final String RESOURCE = "memory/labelled-set.json";

    /** A query, asked against its own user's facts, and the key of the fact it should find. */
    public record Query(String userId, String text, String expect) {
    }

    private final JsonNode set;
    private final String run;
    private final Map<String, String> keyOfFact = new HashMap<>();

    private LabelledSet(JsonNode set, String run) {
        this.set = set;
        this.run = run;
        for (JsonNode user : set.get("users")) {
            for (JsonNode fact : user.get("facts")) {
                keyOfFact.put(factId(fact), fact.get("key").asText());
            }
        }
    }

    /** The set from the class path, for one run. */
    public static LabelledSet load(String run) {
        try (InputStream in = LabelledSet.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path");
            }
            return new LabelledSet(new ObjectMapper().readTree(in), run);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** This run's user ids. */
    public List<String> users() {
        List<String> users = new ArrayList<>();
        set.get("users").forEach(user -> users.add(user.get("userId").asText() + "-" + run));
        return users;
    }

    /** A user's facts as one atomic batch of {@code agentstate.memory.recorded} events (ids: key-run). */
    public ArrayNode batch(String userId, String source) {
        ArrayNode batch = JsonNodeFactory.instance.arrayNode();
        for (JsonNode user : set.get("users")) {
            if (!(user.get("userId").asText() + "-" + run).equals(userId)) {
                continue;
            }
            for (JsonNode fact : user.get("facts")) {
                ObjectNode event = batch.addObject().put("id", factId(fact)).put("source", source)
                        .put("type", "agentstate.memory.recorded");
                event.putObject("data").put("userId", userId).put("fact", fact.get("fact").asText())
                        .set("tags", fact.get("tags"));
            }
        }
        return batch;
    }

    /** Every query, with this run's user ids. */
    public List<Query> queries() {
        List<Query> queries = new ArrayList<>();
        set.get("queries").forEach(q -> queries.add(new Query(q.get("userId").asText() + "-" + run,
                q.get("query").asText(), q.get("expect").asText())));
        return queries;
    }

    /** A new tally of rankings. */
    public Score score() {
        return new Score();
    }

    private String factId(JsonNode fact) {
        return fact.get("key").asText() + "-" + run;
    }

    /** recall@1, recall@5 and MRR over the queries ranked so far (a fact beyond the fifth counts as not found). */
    public final class Score {
        private int queries;
        private int first;
        private int found;
        private double reciprocal;
        private final List<String> missed = new ArrayList<>();

        /** Adds one query's answer: the memory ids the search returned, best first. */
        public void rank(Query query, List<String> memoryIds) {
            List<String> keys = memoryIds.stream().limit(5).map(id -> keyOfFact.getOrDefault(id, id)).toList();
            int rank = keys.indexOf(query.expect());
            queries++;
            if (rank >= 0) {
                found++;
                first += rank == 0 ? 1 : 0;
                reciprocal += 1.0 / (rank + 1);
            } else {
                missed.add(query.text() + " -> " + keys);
            }
        }

        public int queries() {
            return queries;
        }

        public double recallAt1() {
            return (double) first / queries;
        }

        public double recallAt5() {
            return (double) found / queries;
        }

        public double mrr() {
            return reciprocal / queries;
        }

        /** The queries whose fact was not in the top 5, with what came instead. */
        public List<String> missed() {
            return List.copyOf(missed);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d queries, recall@1 %.3f, recall@5 %.3f, MRR %.3f; missed %s", queries,
                    recallAt1(), recallAt5(), mrr(), missed);
        }
    }
}
