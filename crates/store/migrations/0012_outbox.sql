-- Where and how an account wants to be told: an email address beside the
-- mobile number it already has, and one switch per channel.
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN notify_in_app INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN notify_email INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN notify_sms INTEGER NOT NULL DEFAULT 1;

-- The durable outbox: one row per account, event and outward channel
-- (email, sms), written in the same transaction as the change that causes
-- it, so nothing is lost and nothing is queued twice. A delivery worker
-- claims due rows (moving `next_attempt_at` forward as a lease), sends, and
-- records the outcome; a failed attempt waits with backoff, and after the
-- configured number of attempts the row is given up (`status = 'failed'`).
CREATE TABLE deliveries (
    id              {{serial_pk}},
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    event_key       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    link            TEXT,
    -- pending | sent | failed
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    UNIQUE (account_id, event_key, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_status ON deliveries (status, id);
