-- The timeline filtered by type (?type=, in either order) reads its page from this index instead of walking every
-- version of the session: the LangChain4j store's newest memory, a fork's origin, the tool events of a long session.
-- It costs one more index entry per archived event. IF NOT EXISTS: on a large table, build it beforehand without
-- blocking writes (CREATE INDEX CONCURRENTLY on each partition, then CREATE INDEX ON ONLY the parent and ALTER INDEX
-- ... ATTACH PARTITION), and this finds it done.
CREATE INDEX IF NOT EXISTS events_by_type ON events (tenant, session_id, type, version);
