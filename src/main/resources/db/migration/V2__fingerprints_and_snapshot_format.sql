-- What each decided record meant (EventBatch.fingerprint: types, sources, data; not ids, times or expected versions),
-- so an Idempotency-Key reused with another body is refused (422) instead of being answered as a duplicate. Rows decided
-- before this migration have none and are compared by session only.
ALTER TABLE decisions ADD COLUMN fingerprint text;

-- The fold that wrote each snapshot (ViewCodec.SNAPSHOT_FORMAT): a later fold ignores snapshots of another format.
ALTER TABLE snapshots ADD COLUMN format integer NOT NULL DEFAULT 1;
