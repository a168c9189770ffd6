-- API keys managed through the admin API. Only the SHA-256 of a key is kept: the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id         text        PRIMARY KEY,
    tenant     text        NOT NULL,
    roles      text[]      NOT NULL,
    sha256     text        NOT NULL UNIQUE,
    label      text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant);

-- Administrative actions per tenant (keys created and revoked, sessions erased, users forgotten): who and what, no content.
CREATE TABLE admin_actions (
    id     bigserial   PRIMARY KEY,
    tenant text        NOT NULL,
    at     timestamptz NOT NULL,
    actor  text        NOT NULL,
    action text        NOT NULL,
    target text        NOT NULL
);
CREATE INDEX admin_actions_by_tenant ON admin_actions (tenant, id DESC);
