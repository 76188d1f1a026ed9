-- Window payments (缴费) of utilities' bills, taken by clerks at shared
-- halls and sent to each utility's billing system, and the daily
-- reconciliation of them against the utilities' lists.

-- One payment taken at a window. Its id is also the reference sent to the
-- utility as the payment's idempotency key, so that the utility records it
-- once however often it is sent. Money in integer fen.
CREATE TABLE payments (
    id                  TEXT PRIMARY KEY,
    -- The clerk's hall (the scope of their `clerk:<hall>` grant).
    hall_code           TEXT NOT NULL,
    clerk_id            TEXT NOT NULL REFERENCES accounts (id),
    clerk_name          TEXT NOT NULL,
    unit_code           TEXT NOT NULL,
    account_no          TEXT NOT NULL,
    -- As the utility named the account at the lookup (for the receipt).
    account_name        TEXT NOT NULL,
    -- The bills paid, as confirmed: [{"id", "period", "amount_fen"}].
    bills               TEXT NOT NULL,
    amount_fen          BIGINT NOT NULL,
    -- cash | card | mobile
    method              TEXT NOT NULL,
    -- Cash handed over (for the change), when the clerk typed it.
    received_fen        BIGINT,
    -- The confirm form's one-time key: the same form sent twice is one payment.
    form_key            TEXT,
    -- pending | paid | failed
    status              TEXT NOT NULL,
    receipt_no          TEXT,
    utility_payment_id  TEXT,
    -- The amount the utility's receipt names.
    receipt_fen         BIGINT,
    -- The utility's time of payment (from its receipt).
    paid_at             BIGINT,
    failure_code        TEXT,
    failure_message     TEXT,
    created_at          BIGINT NOT NULL,
    settled_at          BIGINT,
    UNIQUE (clerk_id, form_key)
);
CREATE INDEX payments_by_hall ON payments (hall_code, created_at);
CREATE INDEX payments_by_day ON payments (created_at);
CREATE INDEX payments_paid_by_unit ON payments (unit_code, paid_at);
CREATE INDEX payments_taken_by_unit ON payments (unit_code, created_at);

-- The durable job that sends a payment to its utility, written in the same
-- transaction as the payment. A worker claims due rows (moving
-- `next_attempt_at` forward as a lease), sends with the payment's id as the
-- idempotency key, and records the outcome with the payment's; a failed
-- attempt waits with backoff and is tried again until the utility answers
-- definitively.
CREATE TABLE payment_jobs (
    payment_id      TEXT PRIMARY KEY REFERENCES payments (id),
    unit_code       TEXT NOT NULL,
    -- pending | done
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT
);
CREATE INDEX payment_jobs_due ON payment_jobs (next_attempt_at) WHERE status = 'pending';

-- One reconciliation of a utility's day: the platform's payments against
-- the utility's list of them. `run_kind` is `manual` (an administrator's)
-- or `daily` (the server's own, once per unit and day).
CREATE TABLE reconciliation_runs (
    id              TEXT PRIMARY KEY,
    unit_code       TEXT NOT NULL,
    -- YYYY-MM-DD in the city's time.
    day             TEXT NOT NULL,
    run_kind        TEXT NOT NULL,
    run_by          TEXT NOT NULL,
    run_at          BIGINT NOT NULL,
    -- balanced | differences
    status          TEXT NOT NULL,
    our_count       BIGINT NOT NULL,
    our_fen         BIGINT NOT NULL,
    their_count     BIGINT NOT NULL,
    their_fen       BIGINT NOT NULL,
    matched         BIGINT NOT NULL,
    differences     BIGINT NOT NULL
);
CREATE INDEX reconciliation_runs_by_day ON reconciliation_runs (day, unit_code, run_at);
CREATE UNIQUE INDEX reconciliation_runs_daily ON reconciliation_runs (unit_code, day)
    WHERE run_kind = 'daily';

-- The differences a run found (append-only, with their run).
CREATE TABLE reconciliation_differences (
    run_id              TEXT NOT NULL REFERENCES reconciliation_runs (id),
    seq                 INTEGER NOT NULL,
    -- missing_at_utility | amount_mismatch | unknown_here | status_mismatch
    kind                TEXT NOT NULL,
    reference           TEXT NOT NULL,
    payment_id          TEXT,
    account_no          TEXT NOT NULL,
    our_fen             BIGINT,
    their_fen           BIGINT,
    our_status          TEXT,
    utility_payment_id  TEXT,
    PRIMARY KEY (run_id, seq)
);
