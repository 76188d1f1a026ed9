-- Actions on work orders: the start of a running suspension (waiting for the
-- applicant's correction; NULL when the clock runs).
ALTER TABLE work_orders ADD COLUMN suspended_at BIGINT;
