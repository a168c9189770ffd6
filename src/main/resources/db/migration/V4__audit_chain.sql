-- The audit chain (security/AuditChain): every accepted and refused event of a session is one entry of the session's
-- hash chain, in log order. Each row keeps its place in the chain and the chain hash after it; audit_heads keeps each
-- session's latest place and hash, signed with a key held outside the database (security/AuditSigner).
--
-- Rows written before this migration keep NULL in both columns: they are unchained, and a session's chain starts at its
-- first entry after the migration. GET /sessions/{id}/audit counts them as "unchained" and does not vouch for them.
-- Adding nullable columns without a default rewrites nothing; building the two indexes reads both tables once.
ALTER TABLE events ADD COLUMN chain_seq bigint, ADD COLUMN chain_hash bytea;
ALTER TABLE rejections ADD COLUMN chain_seq bigint, ADD COLUMN chain_hash bytea;

-- Verification reads a session's entries in chain order, a page at a time, from both tables; within one table no two
-- rows of a session share a place (the unchained rows are NULL, which never collide).
CREATE UNIQUE INDEX events_chain ON events (tenant, session_id, chain_seq);
CREATE UNIQUE INDEX rejections_chain ON rejections (tenant, session_id, chain_seq);

-- One row per session with a chain: what the ledger appends to (it never reads older rows) and what a verification ends at.
CREATE TABLE audit_heads (
    tenant     text   NOT NULL,
    session_id text   NOT NULL,
    chain_seq  bigint NOT NULL,
    chain_hash bytea  NOT NULL,
    key_id     text   NOT NULL,
    signature  bytea  NOT NULL,
    PRIMARY KEY (tenant, session_id)
) PARTITION BY HASH (tenant, session_id);

DO $$
BEGIN
    FOR i IN 0..7 LOOP
        EXECUTE format('CREATE TABLE audit_heads_p%s PARTITION OF audit_heads FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
    END LOOP;
END $$;
