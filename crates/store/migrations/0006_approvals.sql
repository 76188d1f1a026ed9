-- Parallel approval (附表4): one case per application covering its external
-- works at or above the threshold, one item per approval department.
CREATE TABLE approval_cases (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE REFERENCES applications (id),
    status         TEXT NOT NULL,
    place          TEXT NOT NULL,
    from_date      TEXT NOT NULL,
    to_date        TEXT NOT NULL,
    -- The signed notification-commitment (附表3), JSON, or NULL.
    commitment     TEXT,
    raised_by_unit TEXT NOT NULL,
    raised_by      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    due_at         BIGINT NOT NULL,
    version        BIGINT NOT NULL
);

CREATE TABLE approval_case_orders (
    case_id       TEXT NOT NULL REFERENCES approval_cases (id),
    work_order_id TEXT NOT NULL REFERENCES work_orders (id),
    PRIMARY KEY (case_id, work_order_id)
);

CREATE TABLE approval_items (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES approval_cases (id),
    department_code TEXT NOT NULL,
    required        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    automatic       INTEGER NOT NULL,
    opinion         TEXT,
    decided_by      TEXT,
    decided_at      BIGINT,
    due_at          BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    UNIQUE (case_id, department_code)
);
CREATE INDEX approval_items_by_department ON approval_items (department_code, status);
