-- Failed logins per account and client address (the lockout of
-- `onestop_domain::lockout`): an address that keeps failing waits longer and
-- longer before it may try that account again, without touching anyone
-- else's attempts. `accounts.failed_logins` and `accounts.locked_until` are
-- no longer used.
CREATE TABLE login_failures (
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    address         TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL,
    PRIMARY KEY (account_id, address)
);
