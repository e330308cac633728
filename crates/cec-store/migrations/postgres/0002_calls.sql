-- Call records and the event log, written in batches by the call path.
-- A call record is one row per call: upserted while the call runs (state 'active') and
-- replaced by the final record (state 'ended'), which a stale 'active' one never overwrites.
-- The columns are those the list filters and orders by; the whole record is the JSON body.
CREATE TABLE cdrs (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    state       TEXT NOT NULL,
    arrived_ms  BIGINT  NOT NULL,
    caller      TEXT NOT NULL,
    called      TEXT NOT NULL,
    queue       TEXT,
    agent       TEXT,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Newest first by arrival (scanned backwards), then id: the list order and its cursor.
CREATE INDEX cdrs_arrival ON cdrs (tenant_id, arrived_ms, id);

-- One row per state change; seq is assigned by the writer and increases across tenants.
CREATE TABLE events (
    seq        BIGINT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    time_ms    BIGINT  NOT NULL,
    call_id    TEXT,
    agent      TEXT,
    data       TEXT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, seq);
