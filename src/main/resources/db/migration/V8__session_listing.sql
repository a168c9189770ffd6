-- GET /sessions?userId= lists one user's sessions, and forgetting a user finds them, without scanning the tenant.
-- user_id is set once per session, so head updates stay HOT; listing by id walks the primary key.
CREATE INDEX session_heads_by_user ON session_heads (tenant, user_id);
