-- Shared service halls (共享营业厅): the registry. A hall is kept as the
-- validated JSON the API serves (`detail`), with the columns lists filter on.
-- Seeded from the configuration on start-up (a seed never overwrites an
-- edit); administrators edit it, each change a new `version` with its entry
-- in `hall_changes` (append-only), in the same transaction.
CREATE TABLE halls (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    district_code TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- 0 = withdrawn from the directory (kept: clerks' roles and old
    -- applications name it).
    active        INTEGER NOT NULL DEFAULT 1,
    version       INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX halls_by_district ON halls (district_code, code);

CREATE TABLE hall_changes (
    code       TEXT NOT NULL REFERENCES halls (code),
    version    INTEGER NOT NULL,
    at         BIGINT NOT NULL,
    -- Who changed it: an account id, or `system:seed`.
    actor      TEXT NOT NULL,
    -- `seeded`, `created`, `updated`, `withdrawn`, `restored`.
    kind       TEXT NOT NULL,
    -- The hall's JSON after the change.
    detail     TEXT NOT NULL,
    PRIMARY KEY (code, version)
);
