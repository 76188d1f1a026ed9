-- A rejected case goes back to its utility, which revises and resubmits it:
-- each resubmission is a new round, and the rejected items are decided again.
ALTER TABLE approval_cases ADD COLUMN round INTEGER NOT NULL DEFAULT 1;
ALTER TABLE approval_items ADD COLUMN round INTEGER NOT NULL DEFAULT 1;

-- Every decision on every item in every round (the consolidated opinion
-- sheet, 附表4, keeps them all). Rows are never updated or deleted.
CREATE TABLE approval_decisions (
    item_id         TEXT NOT NULL REFERENCES approval_items (id),
    round           INTEGER NOT NULL,
    case_id         TEXT NOT NULL REFERENCES approval_cases (id),
    department_code TEXT NOT NULL,
    status          TEXT NOT NULL,
    automatic       INTEGER NOT NULL,
    opinion         TEXT NOT NULL,
    decided_by      TEXT NOT NULL,
    decided_at      BIGINT NOT NULL,
    PRIMARY KEY (item_id, round)
);
CREATE INDEX approval_decisions_by_case ON approval_decisions (case_id, decided_at);

-- Revisions a utility made when resubmitting, in order.
CREATE TABLE approval_revisions (
    case_id     TEXT NOT NULL REFERENCES approval_cases (id),
    round       INTEGER NOT NULL,
    note        TEXT NOT NULL,
    revised_by  TEXT NOT NULL,
    revised_at  BIGINT NOT NULL,
    PRIMARY KEY (case_id, round)
);

-- Decisions made before rounds existed are the first round's.
INSERT INTO approval_decisions (item_id, round, case_id, department_code, status, automatic,
                                opinion, decided_by, decided_at)
SELECT id, 1, case_id, department_code, status, automatic, COALESCE(opinion, ''),
       COALESCE(decided_by, ''), decided_at
FROM approval_items
WHERE decided_at IS NOT NULL AND status IN ('approved', 'rejected');
