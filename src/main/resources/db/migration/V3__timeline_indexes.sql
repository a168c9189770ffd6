-- The timeline pages refusals by (after_version, log_partition, log_offset, event_id), after a keyset cursor; this
-- index serves that order directly, so a page costs its own size however many refusals a version collected.
CREATE INDEX rejections_timeline ON rejections (tenant, session_id, after_version, log_partition, log_offset, event_id);
