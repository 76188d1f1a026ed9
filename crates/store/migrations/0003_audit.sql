-- The security audit log: append-only and hash-chained with SM3. Each record's
-- `hash` covers its own fields and the previous record's hash, so an edited,
-- inserted or deleted record breaks the chain (`onestop audit verify`).
-- `audit_head` holds the newest record's seq and hash (appends lock this row,
-- which serialises the chain across processes) and the anchor: the last
-- record removed by retention, from which verification starts.

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, seq);
CREATE INDEX audit_log_by_target ON audit_log (target_id, seq);

CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    anchor_seq  BIGINT NOT NULL,
    anchor_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, anchor_seq, anchor_hash) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
     0, '0000000000000000000000000000000000000000000000000000000000000000');
