package io.agentstate.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.agentstate.platform.AgentStateConfig;
import io.agentstate.platform.LogSafe;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Where the vectors of facts are kept and searched, in PostgreSQL, one interface over two paths. With the pgvector
 * extension: a {@code vector} column beside the portable one, an exact scan within one user's facts and an HNSW index
 * for searches across a tenant. Without it: an exact cosine scan in the service over the portable column (float32,
 * little-endian, in {@code embedding}), within one user or one tenant. Both score by cosine similarity; every vector is
 * normalised, so that is a dot product. Only vectors of the current model are compared.
 */
@ApplicationScoped
public class MemoryVectors {

    /** The storage path in use. */
    public enum Path {
        PGVECTOR,
        EXACT
    }

    /** One fact found: its current revision's event id, the fact's id and the cosine similarity. */
    public record Scored(String eventId, String memoryId, double score) {
    }

    private static final Logger LOG = Logger.getLogger(MemoryVectors.class);
    private static final String CURRENT = "superseded_by IS NULL AND duplicate_of IS NULL AND embedding_model = $3";

    private final Pool pool;
    private final String setting;
    private final Set<Integer> indexed = ConcurrentHashMap.newKeySet();
    // Concurrent first callers share one choice; a look-up that failed (the database unreachable) is tried again.
    private final Uni<Path> choice;
    private volatile Path path;
    private volatile boolean choiceFailed;

    MemoryVectors(Pool pool, AgentStateConfig config) {
        this.pool = pool;
        this.setting = config.memory().vectorStore();
        if (!List.of("auto", "pgvector", "exact").contains(setting)) {
            throw new IllegalArgumentException("agent-state.memory.vector-store is " + setting
                    + "; use auto, pgvector or exact");
        }
        // memoized while it runs and after it chose; only a failed choice is made again by the next caller
        this.choice = Uni.createFrom().deferred(this::choose).onFailure().invoke(failure -> choiceFailed = true)
                .memoize().until(() -> {
                    if (!choiceFailed) {
                        return false;
                    }
                    choiceFailed = false;
                    return true;
                });
    }

    /** The path in use, choosing it on first call: pgvector when set or available, else exact. */
    public Uni<Path> path() {
        Path known = path;
        return known != null ? Uni.createFrom().item(known) : choice;
    }

    private Uni<Path> choose() {
        if (setting.equals("exact")) {
            return Uni.createFrom().item(chosen(Path.EXACT, "agent-state.memory.vector-store=exact"));
        }
        return pool.query("SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed, "
                + "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available").execute()
                .chain(rows -> {
                    Row row = rows.iterator().next();
                    if (row.getString("installed") == null && !row.getBoolean("available")) {
                        return unavailable("the database has no pgvector extension");
                    }
                    // replicas starting together race on the catalogue ("duplicate key" from IF NOT EXISTS): the
                    // second try finds what the first one created
                    return setUpPgvector().onFailure().recoverWithUni(first -> retrySetUp(first))
                            .map(done -> chosen(Path.PGVECTOR, "pgvector"))
                            // the database cannot have it (no right to create the extension, its files missing):
                            // exact search; any other failure (unreachable, a lock timeout) is not a choice, and the
                            // next caller tries again
                            .onFailure(MemoryVectors::cannotHavePgvector)
                            .recoverWithUni(failure -> unavailable("pgvector could not be set up: "
                                    + LogSafe.failure(failure)));
                });
    }

    private Uni<Void> setUpPgvector() {
        return pool.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'").execute()
                .chain(found -> found.size() > 0 ? Uni.createFrom().voidItem()
                        : pool.query("CREATE EXTENSION IF NOT EXISTS vector").execute().replaceWithVoid())
                .chain(() -> pool.query("SELECT 1 FROM information_schema.columns WHERE table_name = "
                        + "'memories' AND column_name = 'embedding_vector'").execute())
                .chain(found -> found.size() > 0 ? Uni.createFrom().voidItem()
                        : pool.query("ALTER TABLE memories ADD COLUMN IF NOT EXISTS embedding_vector vector")
                                .execute().replaceWithVoid())
                // kept in the row (MAIN), not in TOAST: a user's exact scan reads every vector, and fetching each from
                // the TOAST table made it four times slower (docs/benchmarks.md); set whenever it is not yet
                .chain(() -> pool.query("SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND "
                        + "attname = 'embedding_vector' AND attstorage <> 'm'").execute())
                .chain(found -> found.size() == 0 ? Uni.createFrom().voidItem()
                        : pool.query("ALTER TABLE memories ALTER COLUMN embedding_vector SET STORAGE MAIN").execute()
                                .replaceWithVoid())
                .chain(() -> requeueEmbeddedWithoutPgvector());
    }

    // Facts embedded while the service searched without pgvector have no vector in its column: the projector embeds
    // them again (until then Memory-Unindexed counts them). A failure here does not undo the choice: it is logged.
    private Uni<Void> requeueEmbeddedWithoutPgvector() {
        return pool.query("UPDATE memories SET embedding = NULL, embedding_model = NULL, embedding_dims = NULL "
                + "WHERE embedding IS NOT NULL AND embedding_vector IS NULL").execute()
                .invoke(rows -> {
                    if (rows.rowCount() > 0) {
                        LOG.infof("pgvector: %d facts embedded without it are queued to be embedded again",
                                rows.rowCount());
                    }
                })
                .replaceWithVoid()
                .onFailure().recoverWithUni(failure -> {
                    LOG.warnf("pgvector: facts embedded without it could not be queued again: %s",
                            LogSafe.failure(failure));
                    return Uni.createFrom().voidItem();
                });
    }

    // SQLSTATEs that say this database cannot have pgvector: no privilege, feature or file missing, no such extension
    private static boolean cannotHavePgvector(Throwable failure) {
        return failure instanceof io.vertx.pgclient.PgException pg
                && List.of("42501", "0A000", "58P01", "42704").contains(pg.getSqlState());
    }

    private Uni<Void> retrySetUp(Throwable first) {
        LOG.debugf("pgvector set-up failed once, trying again: %s", LogSafe.failure(first));
        return setUpPgvector();
    }

    private Uni<Path> unavailable(String why) {
        if (setting.equals("pgvector")) {
            return Uni.createFrom().failure(new IllegalStateException("agent-state.memory.vector-store=pgvector, but "
                    + why));
        }
        LOG.warnf("Semantic memory searches by exact cosine in the service: %s. Searches grow with the facts "
                + "searched; install pgvector (CREATE EXTENSION vector) for an HNSW index.", why);
        return Uni.createFrom().item(chosen(Path.EXACT, why));
    }

    private Path chosen(Path chosen, String why) {
        LOG.infof("Semantic memory vector store: %s (%s)", chosen, why);
        path = chosen;
        return chosen;
    }

    /** Stores the vector of one revision, with its model; the first vector of a fact may name its near-duplicate. */
    public Uni<Void> store(String tenant, String userId, String eventId, String model, float[] vector,
            String duplicateOf) {
        return path().chain(p -> ensureIndex(p, vector.length).chain(() -> {
            String pg = p == Path.PGVECTOR ? ", embedding_vector = $7::text::vector" : "";
            List<Object> values = new ArrayList<>(Arrays.asList(tenant, userId, eventId,
                    io.vertx.core.buffer.Buffer.buffer(bytes(vector)), model, vector.length));
            if (p == Path.PGVECTOR) {
                values.add(literal(vector));
            }
            values.add(duplicateOf);
            int dup = values.size();
            return pool.preparedQuery("UPDATE memories SET embedding = $4, embedding_model = $5, embedding_dims = $6"
                    + pg + ", duplicate_of = COALESCE(duplicate_of, $" + dup + ") WHERE tenant = $1 AND user_id = $2 "
                    + "AND event_id = $3").execute(Tuple.from(values)).replaceWithVoid();
        }));
    }

    /**
     * The facts nearest to a query vector, best first: within one user's current facts (exact on either path), or,
     * with {@code userId} null, across the tenant (HNSW with pgvector, exact without).
     */
    public Uni<List<Scored>> nearest(String tenant, String userId, String model, float[] query, String tag, int limit,
            String excludeMemoryId) {
        return path().chain(p -> p == Path.PGVECTOR
                ? nearestPgvector(tenant, userId, model, query, tag, limit, excludeMemoryId)
                : nearestExact(tenant, userId, model, query, tag, limit, excludeMemoryId));
    }

    /** Drops the vectors of a tenant's facts, so the projector embeds them all again (a memory rebuild). */
    public Uni<Integer> reset(String tenant) {
        return path().chain(p -> pool.preparedQuery("UPDATE memories SET embedding = NULL, embedding_model = NULL, "
                + "embedding_dims = NULL" + (p == Path.PGVECTOR ? ", embedding_vector = NULL" : "")
                + " WHERE tenant = $1").execute(Tuple.of(tenant)).map(rows -> rows.rowCount()));
    }

    private Uni<List<Scored>> nearestPgvector(String tenant, String userId, String model, float[] query, String tag,
            int limit, String exclude) {
        String vector = literal(query);
        int dims = query.length;
        Tuple args = Tuple.from(Arrays.asList(tenant, userId, model, vector, tag, limit, exclude));
        String filter = "tenant = $1 AND " + CURRENT + " AND embedding_vector IS NOT NULL "
                + "AND ($5::text IS NULL OR $5 = ANY(tags)) "
                + "AND ($7::text IS NULL OR memory_id <> $7)";
        if (userId != null) {
            // within one user: an exact scan of their rows (the index is not used for this expression)
            return pool.preparedQuery("SELECT event_id, memory_id, 1 - (embedding_vector <=> $4::text::vector) AS score "
                    + "FROM memories WHERE user_id = $2 AND " + filter + " ORDER BY embedding_vector <=> $4::text::vector "
                    + "LIMIT $6").execute(args).map(MemoryVectors::scored);
        }
        // across a tenant: the HNSW index of this dimension, scanned on until enough rows pass the filter
        String cast = "::vector(" + dims + ")";
        return pool.withTransaction(connection -> connection.query("SET LOCAL hnsw.iterative_scan = relaxed_order")
                .execute()
                .chain(() -> connection.query("SET LOCAL hnsw.ef_search = " + Math.max(40, limit * 2)).execute())
                .chain(() -> connection.preparedQuery("SELECT event_id, memory_id, 1 - (embedding_vector" + cast
                        + " <=> $4::text" + cast + ") AS score FROM memories WHERE ($2::text IS NULL) AND "
                        + "embedding_dims = " + dims + " AND " + filter + " ORDER BY embedding_vector" + cast
                        + " <=> $4::text" + cast + " LIMIT $6").execute(args))
                .map(MemoryVectors::scored));
    }

    private Uni<List<Scored>> nearestExact(String tenant, String userId, String model, float[] query, String tag,
            int limit, String exclude) {
        return pool.preparedQuery("SELECT event_id, memory_id, embedding FROM memories WHERE tenant = $1 AND "
                + "($2::text IS NULL OR user_id = $2) AND " + CURRENT + " AND ($4::text IS NULL OR $4 = ANY(tags)) "
                + "AND ($5::text IS NULL OR memory_id <> $5)")
                .execute(Tuple.from(Arrays.asList(tenant, userId, model, tag, exclude)))
                .map(rows -> {
                    PriorityQueue<Scored> best = new PriorityQueue<>(Comparator.comparingDouble(Scored::score));
                    for (Row row : rows) {
                        double score = dot(query, row.getBuffer("embedding").getBytes());
                        if (best.size() < limit) {
                            best.add(new Scored(row.getString("event_id"), row.getString("memory_id"), score));
                        } else if (score > best.peek().score()) {
                            best.poll();
                            best.add(new Scored(row.getString("event_id"), row.getString("memory_id"), score));
                        }
                    }
                    List<Scored> ranked = new ArrayList<>(best);
                    ranked.sort(Comparator.comparingDouble(Scored::score).reversed());
                    return ranked;
                });
    }

    // One partial HNSW index per dimension in use (a vector column may hold several models' dimensions).
    private Uni<Void> ensureIndex(Path p, int dims) {
        if (p != Path.PGVECTOR || indexed.contains(dims)) {
            return Uni.createFrom().voidItem();
        }
        return pool.query("CREATE INDEX IF NOT EXISTS memories_hnsw_" + dims + " ON memories USING hnsw "
                + "((embedding_vector::vector(" + dims + ")) vector_cosine_ops) WHERE embedding_dims = " + dims
                + " AND superseded_by IS NULL").execute()
                .invoke(() -> indexed.add(dims))
                .onFailure().invoke(failure -> LOG.warnf("HNSW index for %d dimensions not created: %s", dims,
                        LogSafe.failure(failure)))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    private static List<Scored> scored(RowSet<Row> rows) {
        List<Scored> found = new ArrayList<>();
        for (Row row : rows) {
            found.add(new Scored(row.getString("event_id"), row.getString("memory_id"), row.getDouble("score")));
        }
        return found;
    }

    static byte[] bytes(float[] vector) {
        ByteBuffer buffer = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
            buffer.putFloat(v);
        }
        return buffer.array();
    }

    static double dot(float[] query, byte[] stored) {
        ByteBuffer buffer = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.min(query.length, stored.length / 4);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += query[i] * buffer.getFloat(i * 4);
        }
        return sum;
    }

    private static String literal(float[] vector) {
        StringBuilder text = new StringBuilder(vector.length * 12).append('[');
        for (int i = 0; i < vector.length; i++) {
            if (i > 0) {
                text.append(',');
            }
            text.append(vector[i]);
        }
        return text.append(']').toString();
    }
}
