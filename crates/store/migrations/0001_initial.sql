-- SafeCare store schema, version 1.
--
-- This one file runs unchanged on SQLite and PostgreSQL: only types and
-- syntax both understand (TEXT, BIGINT, ON CONFLICT, row values).
-- Every table keeps the full JSON document in `doc`; the other columns are
-- copies of the fields that queries filter or sort on. Times are BIGINT
-- microseconds since the Unix epoch (UTC) so they compare as integers on
-- both backends.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    time_us     BIGINT NOT NULL,
    module      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    domain      TEXT NOT NULL,
    severity    BIGINT NOT NULL,
    asset       TEXT,
    zone        TEXT,
    doc         TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (time_us, id);
CREATE INDEX events_by_module ON events (module, time_us);
CREATE INDEX events_by_kind ON events (kind, time_us);
-- Events without an asset or zone are never looked up by it: partial
-- indexes skip them, which makes their insert cheaper.
CREATE INDEX events_by_asset ON events (asset, time_us) WHERE asset IS NOT NULL;
CREATE INDEX events_by_zone ON events (zone, time_us) WHERE zone IS NOT NULL;

CREATE TABLE alerts (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    severity      BIGINT NOT NULL,
    domain        TEXT NOT NULL,
    asset         TEXT,
    zone          TEXT,
    first_seen_us BIGINT NOT NULL,
    last_seen_us  BIGINT NOT NULL,
    created_us    BIGINT NOT NULL,
    updated_us    BIGINT NOT NULL,
    doc           TEXT NOT NULL
);
CREATE INDEX alerts_by_created ON alerts (created_us, id);
CREATE INDEX alerts_by_status ON alerts (status, created_us);

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    owner       TEXT,
    severity    BIGINT NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX incidents_by_created ON incidents (created_us, id);
CREATE INDEX incidents_by_state ON incidents (state, created_us);

CREATE TABLE audit_records (
    id          TEXT PRIMARY KEY,
    time_us     BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX audit_records_by_target ON audit_records (target_id, time_us, id);

CREATE TABLE dead_letters (
    id          TEXT PRIMARY KEY,
    time_us     BIGINT NOT NULL,
    module      TEXT NOT NULL,
    topic       TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX dead_letters_by_time ON dead_letters (time_us, id);
