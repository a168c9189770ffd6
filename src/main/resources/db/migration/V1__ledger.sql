-- The ledger's durable state. Large tables are hash-partitioned by (tenant, session) so the same schema spreads over
-- more partitions, or over Citus shards, without change. Payloads are the CloudEvents exactly as logged (UTF-8 JSON).

-- The event archive: one row per accepted event; (tenant, session, version) is the fencing key (I1, I7).
CREATE TABLE events (
    tenant       text        NOT NULL,
    session_id   text        NOT NULL,
    version      bigint      NOT NULL,
    event_id     text        NOT NULL,
    type         text        NOT NULL,
    source       text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    log_partition integer    NOT NULL,
    log_offset   bigint      NOT NULL,
    payload      bytea       NOT NULL,
    PRIMARY KEY (tenant, session_id, version)
) PARTITION BY HASH (tenant, session_id);

-- Every decision by event id, per tenant: the idempotency index (I2). Accepted ones carry their version.
CREATE TABLE decisions (
    tenant          text    NOT NULL,
    event_id        text    NOT NULL,
    session_id      text    NOT NULL,
    outcome         text    NOT NULL,
    version         bigint,
    last_version    bigint,
    current_version bigint  NOT NULL,
    reason          text,
    PRIMARY KEY (tenant, event_id)
) PARTITION BY HASH (tenant, event_id);

-- Rejected and conflicting events, kept for the timeline (I3): nothing is dropped silently.
CREATE TABLE rejections (
    tenant        text        NOT NULL,
    session_id    text        NOT NULL,
    event_id      text        NOT NULL,
    after_version bigint      NOT NULL,
    outcome       text        NOT NULL,
    reason        text        NOT NULL,
    type          text        NOT NULL,
    source        text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    log_partition integer     NOT NULL,
    log_offset    bigint      NOT NULL,
    payload       bytea       NOT NULL,
    PRIMARY KEY (tenant, session_id, event_id)
) PARTITION BY HASH (tenant, session_id);
CREATE INDEX rejections_by_version ON rejections (tenant, session_id, after_version);

-- What decisions need without reading the session: version, status, counters.
CREATE TABLE session_heads (
    tenant          text        NOT NULL,
    session_id      text        NOT NULL,
    version         bigint      NOT NULL,
    status          text        NOT NULL,
    user_id         text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    message_count   bigint      NOT NULL,
    summary_through bigint      NOT NULL,
    bytes           bigint      NOT NULL,
    PRIMARY KEY (tenant, session_id)
) PARTITION BY HASH (tenant, session_id);

-- The tool ledger's statuses, so a second completion is rejected without loading the session.
CREATE TABLE tool_calls (
    tenant            text   NOT NULL,
    session_id        text   NOT NULL,
    call_id           text   NOT NULL,
    status            text   NOT NULL,
    requested_version bigint NOT NULL,
    completed_version bigint,
    PRIMARY KEY (tenant, session_id, call_id)
) PARTITION BY HASH (tenant, session_id);

-- Current value of each state scope, so a merge patch costs the scope, not the session.
CREATE TABLE session_scopes (
    tenant     text   NOT NULL,
    session_id text   NOT NULL,
    scope      text   NOT NULL,
    document   text   NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (tenant, session_id, scope)
) PARTITION BY HASH (tenant, session_id);

-- Whole-state documents every N versions: the starting point of rebuilds and point-in-time reads.
CREATE TABLE snapshots (
    tenant     text   NOT NULL,
    session_id text   NOT NULL,
    version    bigint NOT NULL,
    state      bytea  NOT NULL,
    PRIMARY KEY (tenant, session_id, version)
) PARTITION BY HASH (tenant, session_id);

-- Long-term facts per user, across sessions.
CREATE TABLE memories (
    tenant      text        NOT NULL,
    user_id     text        NOT NULL,
    event_id    text        NOT NULL,
    session_id  text        NOT NULL,
    version     bigint      NOT NULL,
    fact        text        NOT NULL,
    tags        text[]      NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, user_id, event_id)
);

-- The next Kafka offset to apply per partition, written in each batch's transaction so a restart resumes exactly.
CREATE TABLE ledger_offsets (
    consumer_group text    NOT NULL,
    topic          text    NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint  NOT NULL,
    last_sessions  text[]  NOT NULL,
    PRIMARY KEY (consumer_group, topic, partition)
);

DO $$
BEGIN
    FOR i IN 0..7 LOOP
        EXECUTE format('CREATE TABLE events_p%s PARTITION OF events FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE decisions_p%s PARTITION OF decisions FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE rejections_p%s PARTITION OF rejections FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE session_heads_p%s PARTITION OF session_heads FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE tool_calls_p%s PARTITION OF tool_calls FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE session_scopes_p%s PARTITION OF session_scopes FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE format('CREATE TABLE snapshots_p%s PARTITION OF snapshots FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
    END LOOP;
END $$;
