-- Reminders (督办): a supervisor's note on an open work order — usually an
-- overdue one — which the handling unit must acknowledge. Kept for good.
CREATE TABLE reminders (
    id               {{serial_pk}},
    work_order_id    TEXT NOT NULL REFERENCES work_orders (id),
    application_id   TEXT NOT NULL REFERENCES applications (id),
    unit_code        TEXT NOT NULL,
    note             TEXT NOT NULL,
    sent_by          TEXT NOT NULL,
    sent_by_account  TEXT,
    sent_at          BIGINT NOT NULL,
    acknowledged_by  TEXT,
    acknowledged_at  BIGINT,
    reply            TEXT
);
CREATE INDEX reminders_by_order ON reminders (work_order_id, id);
CREATE INDEX reminders_by_unit ON reminders (unit_code, acknowledged_at);
