-- The audit chain becomes keyed (HMAC-SM3 under a key kept outside the
-- database). Records written before keep their plain SM3 hashes: the chain is
-- keyed from `keyed_from` on (the next record; 1 on a fresh database), and the
-- first keyed record's MAC covers the last plain hash.
--
-- The anchor gains the anchor record's time, when it was pruned and under
-- which retention; `seal` is a MAC over the anchor and `keyed_from`, written
-- by the first keyed append and by every prune, so neither can be moved
-- without the key.
ALTER TABLE audit_head ADD COLUMN anchor_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN pruned_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_head ADD COLUMN seal TEXT NOT NULL DEFAULT '';
UPDATE audit_head SET keyed_from = seq + 1;

-- Signed checkpoints (seq, hash, time, boundary): written every minute by each
-- server when the log has grown, also to a file and the log outside the
-- database. Several servers may record the same seq.
CREATE TABLE audit_checkpoints (
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    keyed_from BIGINT NOT NULL,
    mac        TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_by_seq ON audit_checkpoints (seq);
