-- Accounts, their roles, login sessions and integration API keys.
-- Secrets are never stored: passwords as Argon2id PHC strings, session tokens
-- and API keys as SM3 digests of high-entropy random values.

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    -- Login name, lower-cased (applicants register with their mobile number).
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    phone                TEXT,
    -- Applicants: the enterprise they act for.
    uscc                 TEXT,
    enterprise_name      TEXT,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    disabled             INTEGER NOT NULL,
    failed_logins        INTEGER NOT NULL,
    locked_until         BIGINT,
    password_changed_at  BIGINT NOT NULL,
    last_login_at        BIGINT,
    created_at           BIGINT NOT NULL,
    created_by           TEXT NOT NULL,
    updated_at           BIGINT NOT NULL,
    version              BIGINT NOT NULL
);
CREATE INDEX accounts_by_uscc ON accounts (uscc);

-- One row per role an account holds; `scope` is the USCC (applicant), hall
-- (clerk), unit (operator, approver, supervisor) or '' (administrator).
CREATE TABLE account_roles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    PRIMARY KEY (account_id, role, scope)
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    -- The key's first characters, shown in lists so that people can tell keys apart.
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   BIGINT,
    revoked_by   TEXT,
    last_used_at BIGINT
);

-- Who submitted an application (account id, or '' for anonymous and API submissions).
ALTER TABLE applications ADD COLUMN submitted_by TEXT;
