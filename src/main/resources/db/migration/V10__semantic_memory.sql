-- Semantic memory (issue 15). A fact keeps its id (memory_id, the id of the event that recorded it) across revisions:
-- each revision is a row of its own, the current one has superseded_by NULL, the older ones name the revision that
-- replaced them. A fact forgotten loses every row. Vectors are a projection written after the ledger committed: the
-- embedding (float32, little-endian) in clear for search, with the model that made it; a model change re-embeds.
ALTER TABLE memories ADD COLUMN memory_id text;
UPDATE memories SET memory_id = event_id;
ALTER TABLE memories ALTER COLUMN memory_id SET NOT NULL;
ALTER TABLE memories ADD COLUMN superseded_by text;
ALTER TABLE memories ADD COLUMN duplicate_of text;
ALTER TABLE memories ADD COLUMN source text;
ALTER TABLE memories ADD COLUMN embedding bytea;
-- Out of the row, uncompressed (float32 does not compress): the row keeps room for pgvector's copy of the vector, which
-- a search reads for every fact of a user.
ALTER TABLE memories ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE memories ADD COLUMN embedding_model text;
ALTER TABLE memories ADD COLUMN embedding_dims integer;
-- A distinct fact is never marked as a near-duplicate of another (a key-value store's items must each be found).
ALTER TABLE memories ADD COLUMN distinct_fact boolean NOT NULL DEFAULT false;

CREATE INDEX memories_current ON memories (tenant, user_id, recorded_at DESC) WHERE superseded_by IS NULL;
CREATE INDEX memories_by_fact ON memories (tenant, user_id, memory_id);
-- The projector's queue: current revisions without a vector (or with another model's, found by the model filter).
CREATE INDEX memories_to_embed ON memories (recorded_at) WHERE superseded_by IS NULL AND embedding IS NULL;
