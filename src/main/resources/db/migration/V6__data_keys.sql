-- Envelope encryption: one data key per owner (a session, or a user for long-term memory), stored only wrapped by the
-- master keyset, which lives outside the database. Deleting a row is crypto-shredding: what it encrypted is unreadable.
CREATE TABLE data_keys (
    tenant     text        NOT NULL,
    owner      text        NOT NULL,
    wrapped    bytea       NOT NULL,
    master_key integer     NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, owner)
);

-- Scope documents and facts are stored sealed from now on; the plaintext columns stay only for rows written before.
ALTER TABLE session_scopes ADD COLUMN sealed bytea;
ALTER TABLE session_scopes ALTER COLUMN document DROP NOT NULL;
ALTER TABLE memories ADD COLUMN sealed bytea;
ALTER TABLE memories ALTER COLUMN fact DROP NOT NULL;
