-- Early warning and overdue: the level of each open work order's clock moves
-- from normal to warning (when the configured share of its working time is
-- used) to overdue (at its deadline). `warn_at` is the warning instant of
-- the current stage; `next_level_at` the instant of the next change, NULL
-- when none is coming (overdue, closed, or the clock stopped while waiting
-- for the applicant). The sweeper moves what is due by this index.
ALTER TABLE work_orders ADD COLUMN warn_at BIGINT;
ALTER TABLE work_orders ADD COLUMN next_level_at BIGINT;
CREATE INDEX work_orders_next_level ON work_orders (next_level_at)
    WHERE next_level_at IS NOT NULL;
