-- Fees outside the red line (外线接入工程企业零投资): each work order's
-- itemised costs, and the documented exceptions an administrator records
-- for an order whose user pays for works outside the building's red line.
-- Amounts are integer fen; instants BIGINT Unix milliseconds.

-- A documented exception to the zero-investment rule for one work order:
-- why, and the document (文号) that allows it. Kept for the audit; never
-- changed.
CREATE TABLE fee_exceptions (
    id                  TEXT PRIMARY KEY,
    work_order_id       TEXT NOT NULL REFERENCES work_orders (id),
    application_id      TEXT NOT NULL,
    unit_code           TEXT NOT NULL,
    reason              TEXT NOT NULL,
    document            TEXT NOT NULL,
    recorded_at         BIGINT NOT NULL,
    recorded_by         TEXT NOT NULL,
    recorded_by_account TEXT
);
CREATE INDEX fee_exceptions_by_order ON fee_exceptions (work_order_id, recorded_at);
CREATE INDEX fee_exceptions_by_time ON fee_exceptions (recorded_at);

-- One cost item of a work order: what, how much (fen), who pays
-- (`utility` | `user`), inside or outside the red line, and the exception
-- that allowed a user-paid item outside it (flagged). An item withdrawn by
-- its unit keeps its row (`withdrawn_at`).
CREATE TABLE order_costs (
    id                  TEXT PRIMARY KEY,
    work_order_id       TEXT NOT NULL REFERENCES work_orders (id),
    application_id      TEXT NOT NULL,
    unit_code           TEXT NOT NULL,
    item                TEXT NOT NULL,
    amount_fen          BIGINT NOT NULL,
    payer               TEXT NOT NULL,
    outside_red_line    INTEGER NOT NULL,
    exception_id        TEXT REFERENCES fee_exceptions (id),
    created_at          BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_by_account  TEXT,
    withdrawn_at        BIGINT,
    withdrawn_by        TEXT
);
CREATE INDEX order_costs_by_order ON order_costs (work_order_id, created_at);
CREATE INDEX order_costs_by_application ON order_costs (application_id, created_at);
CREATE INDEX order_costs_by_time ON order_costs (created_at);
