package io.agentstate.platform;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Every setting of agent-state itself, under the prefix {@code agent-state}. */
@ConfigMapping(prefix = "agent-state")
public interface AgentStateConfig {

    /** The tenant that owns sessions written without credentials. Default {@code default}. */
    @WithDefault("default")
    String tenant();

    /** Who may call the API, and as which tenant. */
    Auth auth();

    /** Encryption at rest: the master keyset that wraps every data key. */
    Crypto crypto();

    /** The audit chain: the key that signs chain heads, its predecessors, and how verification pages. */
    Audit audit();

    /** Ingest (REST append) limits and waits. */
    Ingest ingest();

    /** The event log: how the ledger tells the service's own records from anyone else's. */
    Log log();

    /** Per-tenant ingress topics, where agents produce directly and the relay stamps the tenant. */
    Ingress ingress();

    /** The ledger: batching, views, snapshots, retries. */
    Ledger ledger();

    /** Reads: paging. */
    Query query();

    Stream stream();

    /** Conversations: prompt, window budget, summarisation. */
    Chat chat();

    /** Long-term memory: embeddings, vector search, near-duplicates, recall in chat, extraction. */
    Memory memory();

    interface Auth {

        /** {@code none}: every caller is {@link AgentStateConfig#tenant()} with every role; {@code required}: credentials. */
        enum Mode {
            NONE,
            REQUIRED
        }

        /** {@code required} (default) or {@code none}; {@code none} is refused in {@code prod} unless allowAnonymous. */
        @WithDefault("required")
        Mode mode();

        /** Lets the {@code prod} profile start with mode {@code none} (the local run command). Default false. */
        @WithDefault("false")
        boolean allowAnonymous();

        /** The JWT claim that names the caller's tenant. Default {@code tenant}. */
        @WithDefault("tenant")
        String tenantClaim();

        /**
         * A JSON file of API keys (id, tenant, roles, SHA-256 of the key, optional expiresAt), such as a mounted
         * Kubernetes Secret; re-read when it changes. No default: keys then come only from the admin API.
         */
        Optional<Path> apiKeysFile();

        /** How often API keys are re-read from the file and from PostgreSQL (other replicas' changes). Default 10 s. */
        @WithDefault("10s")
        Duration apiKeysRefresh();
    }

    interface Crypto {

        /**
         * The master keyset as Tink JSON (an AES-256-GCM keyset; several keys for rotation, the primary wraps new data
         * keys), typically from the environment ({@code AGENT_STATE_CRYPTO_MASTER_KEYSET}) or a Kubernetes Secret.
         * No default: {@code prod} refuses to start without this or {@link #masterKeysetFile()}.
         */
        Optional<String> masterKeyset();

        /** The same keyset read from a file (a mounted Secret; the local run command writes one into its data directory). */
        Optional<Path> masterKeysetFile();

        /**
         * How long an unwrapped data key is kept in memory; a key destroyed by another replica (a user forgotten) stops
         * being usable here after at most this. Default 60 s.
         */
        @WithDefault("60s")
        Duration keyCacheTtl();
    }

    interface Audit {
        /**
         * The key that signs every session's chain head (HMAC-SHA256): base64 of at least 32 random bytes, e.g.
         * {@code openssl rand -base64 32}. A secret kept outside the database (a Kubernetes Secret; the local stack
         * keeps one in its data directory). No default: the service does not start without it, in any profile.
         */
        Optional<String> signingKey();

        /**
         * Keys that signed heads before the current one, base64, comma-separated: a head they signed still verifies
         * (each signature names its key by id). Keep a retired key here until every session it signed has been written
         * again or erased. Default none.
         */
        Optional<List<String>> previousSigningKeys();

        /** Chain entries read per round trip by {@code GET /sessions/{id}/audit}, payloads included. Default 200. */
        @WithDefault("200")
        int pageSize();
    }

    interface Log {

        /**
         * The HMAC-SHA256 key (base64, at least 32 bytes) that seals every record the service writes to the log; give it
         * only to producers you trust as much as the service. No default: {@code prod} with auth mode {@code required}
         * refuses to start without one; elsewhere each process makes its own, which replicas do not share.
         */
        Optional<String> sealKey();
    }

    interface Ingress {

        /** Prefix of the ingress topics; the tenant is the rest of the name. Default {@code agent-state.ingress.}. */
        @WithDefault("agent-state.ingress.")
        String topicPrefix();

        /**
         * Whether the service creates the ingress topics of {@link #tenants()} at start, with the event log's partition
         * count (the local stack; production creates them from its manifests). Default false.
         */
        @WithDefault("false")
        boolean createTopics();

        /** Tenants whose ingress topics are created at start when {@link #createTopics()}; comma list. Default none. */
        Optional<List<String>> tenants();
    }

    interface Chat {
        /** The system prompt at the head of every conversation turn. */
        @WithDefault("You are a helpful assistant. Answer concisely and use the conversation so far.")
        String systemPrompt();

        /** Verbatim messages kept in the prompt before the older ones are summarised. Default 40. */
        @WithDefault("40")
        int maxVerbatimMessages();

        /** Estimated tokens (characters / 4) of verbatim messages before the older ones are summarised. Default 6000. */
        @WithDefault("6000")
        int maxVerbatimTokens();

        /** Newest messages left verbatim when a summary is recorded. Default 10. */
        @WithDefault("10")
        int keepVerbatimMessages();

        /**
         * How long a turn that keeps losing the race for its session version (another replica, an agent writing) is
         * rebuilt on the new state and retried, from its first attempt. Default 60 s.
         */
        @WithDefault("60s")
        Duration turnDeadline();
    }

    interface Memory {
        /** The embedding model: its provider and, for {@code openai}, the endpoint. */
        Embedding embedding();

        /**
         * Where vectors are searched: {@code pgvector} (the extension, an HNSW index for searches across a tenant),
         * {@code exact} (cosine over every fact of the user or tenant, in the service) or {@code auto} (pgvector when
         * the database has it, else exact, with a warning at start). Default auto.
         */
        @WithDefault("auto")
        String vectorStore();

        /** Cosine similarity at or above which a new fact of a user is a near-duplicate of an existing one. */
        @WithDefault("0.92")
        double duplicateThreshold();

        /** Facts recalled into the system part of each chat turn's prompt; 0 turns recall off. Default 5. */
        @WithDefault("5")
        int chatFacts();

        /** Least similarity for a fact to be recalled into a chat prompt. Default 0.2. */
        @WithDefault("0.2")
        double chatMinScore();

        /**
         * After a chat turn, ask the model for new or revised facts about the user and record them as events caused by
         * the turn. Default: on when a model is configured (an API key or a base URL), off otherwise.
         */
        Optional<Boolean> extraction();

        /**
         * How often the projector looks for facts without a vector (a write through the memory API also wakes it).
         * Default 1 s.
         */
        @WithDefault("1s")
        Duration projectorInterval();

        /** Facts embedded per projector round. Default 32. */
        @WithDefault("32")
        int projectorBatch();
    }

    interface Embedding {
        /**
         * {@code in-process}: all-MiniLM-L6-v2 (quantised, 384 dimensions) inside the service; {@code openai}: an
         * OpenAI-compatible {@code /embeddings} endpoint. Default in-process.
         */
        @WithDefault("in-process")
        String provider();

        /** The endpoint's base URL for {@code openai}, up to {@code /v1}. Default https://api.openai.com/v1. */
        @WithDefault("https://api.openai.com/v1")
        String baseUrl();

        /** The API key for {@code openai}; default none. */
        Optional<String> apiKey();

        /** The embedding model for {@code openai}. Default text-embedding-3-small. */
        @WithDefault("text-embedding-3-small")
        String modelName();

        /** How long an {@code openai} embedding call may take. Default 30 s. */
        @WithDefault("30s")
        Duration timeout();
    }

    interface Ingest {
        /** How long a REST append waits for the ledger's decision before answering 202. Default 5 s. */
        @WithDefault("5s")
        Duration decisionWait();

        /** Largest serialised event accepted, in bytes (REST body per event, Kafka record). Default 262144. */
        @WithDefault("262144")
        int maxEventBytes();

        /** Most events in one atomic batch. Default 100. */
        @WithDefault("100")
        int maxBatchEvents();

        /** Deepest JSON nesting accepted in an event. Default 32. */
        @WithDefault("32")
        int maxDepth();

        /** Most elements in one JSON array of an event. Default 10000. */
        @WithDefault("10000")
        int maxArrayElements();
    }

    interface Ledger {
        /** A whole-state snapshot is written when a session's version crosses a multiple of this. Default 100. */
        @WithDefault("100")
        int snapshotEvery();

        /**
         * Whole-state snapshots kept per session, newest first; older ones are deleted when a new one is stored, so a
         * session's snapshots cost a few copies of its state, not one per interval. Default 2.
         */
        @WithDefault("2")
        int snapshotsKept();

        /** Time to live of a session view in Redis, refreshed on access. Default 24 h. */
        @WithDefault("24h")
        Duration viewTtl();

        /** Time to live of a decision kept in Redis for waiting writers. Default 10 min. */
        @WithDefault("10m")
        Duration decisionTtl();

        /** First back-off after an infrastructure failure (PostgreSQL, Redis). Default 100 ms. */
        @WithDefault("100ms")
        Duration retryInitialBackoff();

        /** Longest back-off between retries of an infrastructure failure. Default 5 s. */
        @WithDefault("5s")
        Duration retryMaxBackoff();

        /**
         * Longest wait for a row lock in a batch transaction (PostgreSQL {@code lock_timeout}); a paused former owner
         * holding a partition's offsets row costs the new owner this, then a retry. Default 5 s.
         */
        @WithDefault("5s")
        Duration lockTimeout();

        /** Longest statement in a batch transaction (PostgreSQL {@code statement_timeout}). Default 30 s. */
        @WithDefault("30s")
        Duration statementTimeout();

        /**
         * How long PostgreSQL keeps a batch transaction whose client went quiet ({@code
         * idle_in_transaction_session_timeout}): a paused or frozen owner loses its locks after this. Default 10 s.
         */
        @WithDefault("10s")
        Duration idleInTransactionTimeout();

        /**
         * Largest dead-letter record, key, headers and value together, in bytes; must stay under the producer's
         * {@code max.request.size} and the broker's {@code message.max.bytes}. A larger original value is cut, its
         * size and SHA-256 kept in headers. Default 1,000,000.
         */
        @WithDefault("1000000")
        int deadLetterMaxBytes();
    }

    interface Stream {
        /** How often an idle {@code GET /sessions/{id}/stream} gets a {@code : keepalive} comment. Default 15 s. */
        @WithDefault("15s")
        Duration heartbeat();
    }

    interface Query {
        /** Timeline page size when none is asked for. Default 100. */
        @WithDefault("100")
        int defaultPageSize();

        /** Largest timeline page. Default 1000. */
        @WithDefault("1000")
        int maxPageSize();
    }
}
