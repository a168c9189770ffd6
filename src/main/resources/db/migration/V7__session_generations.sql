-- An erasure deletes everything of a session, and the id may start again at version 1. The generation tells the lives
-- of one id apart: one row per id erased at least once (the count of its erasures), the only row an erasure keeps.
-- A head's generation is this row's (0 when there is none); views and snapshots carry the generation they were made in,
-- so a late write of an earlier life (a paused owner's publish, a snapshot folded before the erasure) is refused.
CREATE TABLE session_generations (
    tenant     text   NOT NULL,
    session_id text   NOT NULL,
    generation bigint NOT NULL,
    PRIMARY KEY (tenant, session_id)
);

ALTER TABLE snapshots ADD COLUMN generation bigint NOT NULL DEFAULT 0;
