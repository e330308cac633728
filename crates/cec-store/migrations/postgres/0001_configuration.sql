-- Configuration model: tenants, one table for every tenant-scoped resource kind (typed key
-- columns + a JSON body), references between resources as rows so the database refuses to
-- delete an object that something still points at, API keys, audit log, settings.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE resources (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    natural_key  TEXT NOT NULL,
    alt_key      TEXT,
    version      BIGINT NOT NULL,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL,
    body         TEXT NOT NULL,
    secrets      TEXT,
    UNIQUE (tenant_id, kind, natural_key)
);
CREATE UNIQUE INDEX resources_alt_key ON resources (tenant_id, kind, alt_key) WHERE alt_key IS NOT NULL;
CREATE INDEX resources_list ON resources (tenant_id, kind, id);

CREATE TABLE resource_refs (
    from_id  TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    field    TEXT NOT NULL,
    to_id    TEXT NOT NULL REFERENCES resources(id),
    PRIMARY KEY (from_id, field, to_id)
);
CREATE INDEX resource_refs_to ON resource_refs (to_id);

CREATE TABLE api_keys (
    access_key    TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    description   TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    revoked_ms    BIGINT
);

CREATE TABLE audit_log (
    seq          BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT,
    time_ms      BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    natural_key  TEXT NOT NULL,
    before_body  TEXT,
    after_body   TEXT
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);

CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
