-- Early warning and overdue for approval items, as for work orders: the
-- level of a pending item's clock, its warning instant and its next change
-- (NULL once decided, not applicable, or overdue).
ALTER TABLE approval_items ADD COLUMN level TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE approval_items ADD COLUMN warn_at BIGINT;
ALTER TABLE approval_items ADD COLUMN next_level_at BIGINT;
CREATE INDEX approval_items_next_level ON approval_items (next_level_at)
    WHERE next_level_at IS NOT NULL;
