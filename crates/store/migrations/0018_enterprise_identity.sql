-- Enterprise identity (企业认证). An account that registers claims an
-- enterprise (USCC); until the claim is verified it holds the role
-- `claimant:<USCC>` (it may submit for that enterprise and sees only what it
-- submitted itself); once verified, `applicant:<USCC>`. Claims are verified
-- at a hall window, by the enterprise's own administrator (its owner), by a
-- one-time SMS code to the contact phone of the enterprise's latest
-- application filed through a verified channel, or by the provincial
-- portal's legal-person login.

-- Applications filed through a verified channel: a hall window, an account
-- verified for the enterprise, an integration key (staff see the others
-- marked 未认证).
ALTER TABLE applications ADD COLUMN identity_verified INTEGER NOT NULL DEFAULT 0;
UPDATE applications SET identity_verified = 1
 WHERE (submitted_by IS NULL AND channel NOT IN ('web', 'h5'))
    OR submitted_by IN (SELECT id FROM accounts WHERE created_by <> 'self');
CREATE INDEX applications_by_submitter ON applications (submitted_by);

CREATE TABLE enterprise_claims (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    uscc            TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    -- pending | verified | rejected | revoked
    status          TEXT NOT NULL,
    -- The enterprise's administrator: approves and revokes colleagues' claims.
    owner           INTEGER NOT NULL,
    -- How it was decided: window | owner | sms | oidc | admin
    via             TEXT,
    decided_by      TEXT,
    decided_at      BIGINT,
    note            TEXT,
    -- The one-time SMS code in flight (its SM3 digest), where it went, until
    -- when it holds; how many codes this claim was sent and how many wrong
    -- codes were typed for it in all.
    code_hash       TEXT,
    code_sent_to    TEXT,
    code_sent_at    BIGINT,
    code_expires_at BIGINT,
    codes_sent      INTEGER NOT NULL,
    code_attempts   INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    UNIQUE (account_id, uscc)
);
CREATE INDEX enterprise_claims_by_uscc ON enterprise_claims (uscc, status);
CREATE INDEX enterprise_claims_by_code_sent ON enterprise_claims (uscc, code_sent_at);

-- Accounts that registered themselves before claims existed were never
-- verified: their enterprise role becomes a pending claim. Accounts an
-- administrator created keep theirs, as verified by the administrator.
INSERT INTO enterprise_claims (id, account_id, uscc, enterprise_name, status, owner, via,
    decided_by, decided_at, note, codes_sent, code_attempts, created_at, updated_at, version)
SELECT r.account_id || ':' || r.scope, r.account_id, r.scope,
       COALESCE(a.enterprise_name, ''),
       CASE WHEN a.created_by = 'self' THEN 'pending' ELSE 'verified' END,
       0,
       CASE WHEN a.created_by = 'self' THEN NULL ELSE 'admin' END,
       CASE WHEN a.created_by = 'self' THEN NULL ELSE a.created_by END,
       CASE WHEN a.created_by = 'self' THEN NULL ELSE a.created_at END,
       NULL, 0, 0, a.created_at, a.created_at, 1
  FROM account_roles r JOIN accounts a ON a.id = r.account_id
 WHERE r.role = 'applicant';
INSERT INTO account_roles (account_id, role, scope)
SELECT r.account_id, 'claimant', r.scope
  FROM account_roles r JOIN accounts a ON a.id = r.account_id
 WHERE r.role = 'applicant' AND a.created_by = 'self';
DELETE FROM account_roles
 WHERE role = 'applicant'
   AND account_id IN (SELECT id FROM accounts WHERE created_by = 'self');

-- A legal-person login in flight (OpenID Connect): the state's digest, the
-- claim it verifies, and the nonce and PKCE verifier it needs to finish.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    claim_id   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
