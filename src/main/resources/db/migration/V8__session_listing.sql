-- GET /sessions?userId= lists one user's sessions, and forgetting a user finds them, without scanning the tenant.
-- user_id is set once per session, so head updates stay HOT; listing by id walks the primary key.
-- IF NOT EXISTS: on a large table, build it beforehand without blocking writes (CREATE INDEX CONCURRENTLY on each
-- partition, then CREATE INDEX ON ONLY the parent and ALTER INDEX ... ATTACH PARTITION), and this finds it done.
CREATE INDEX IF NOT EXISTS session_heads_by_user ON session_heads (tenant, user_id);
