-- Joint applications (附表2), their work orders, history, idempotency keys and counters.
-- Portable SQL for SQLite and PostgreSQL; `{{serial_pk}}` is the one dialect token.
-- Instants are Unix milliseconds (BIGINT); documents are JSON text.

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL,
    uscc           TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    district_code  TEXT NOT NULL,
    channel        TEXT NOT NULL,
    mode           TEXT NOT NULL,
    hall_id        TEXT,
    project_code   TEXT,
    contact_phone  TEXT NOT NULL,
    submitted_at   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    form           TEXT NOT NULL,
    version        BIGINT NOT NULL
);
CREATE INDEX applications_by_submission ON applications (submitted_at, id);
CREATE INDEX applications_by_uscc ON applications (uscc, submitted_at, id);
CREATE INDEX applications_by_status ON applications (status, submitted_at, id);
CREATE INDEX applications_by_project ON applications (project_code);

CREATE TABLE work_orders (
    id               TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL REFERENCES applications (id),
    seq              INTEGER NOT NULL,
    service          TEXT NOT NULL,
    carrier          TEXT,
    unit_code        TEXT NOT NULL,
    stage            TEXT NOT NULL,
    status           TEXT NOT NULL,
    level            TEXT NOT NULL,
    -- The current stage's clock: when it started, its working-time budget
    -- (seconds), working time spent in closed suspensions, and the due instant.
    stage_started_at BIGINT NOT NULL,
    budget_seconds   BIGINT NOT NULL,
    suspended_seconds BIGINT NOT NULL,
    due_at           BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL,
    UNIQUE (application_id, seq)
);
CREATE INDEX work_orders_by_unit ON work_orders (unit_code, status, due_at);
CREATE INDEX work_orders_open_due ON work_orders (status, due_at);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE history_events (
    id             {{serial_pk}},
    application_id TEXT NOT NULL REFERENCES applications (id),
    work_order_id  TEXT,
    at             BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    data           TEXT NOT NULL
);
CREATE INDEX history_events_by_application ON history_events (application_id, id);

-- Idempotency-Key: the first response to a key is kept and replayed.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    location     TEXT,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
