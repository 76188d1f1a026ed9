-- The supervisor's board (issue 5).
--
-- Work orders carry their application's district (it never changes after
-- submission), so that the board filters open orders by district without
-- reading the applications.
ALTER TABLE work_orders ADD COLUMN district_code TEXT NOT NULL DEFAULT '';
UPDATE work_orders SET district_code =
    (SELECT a.district_code FROM applications a WHERE a.id = work_orders.application_id);

-- Open orders are counted by a pass over the table in the background (every
-- 10 s, see the server's board module), not through an index of their own:
-- an index on the board's dimensions would change with every action and
-- cost the write path about a fifth of its throughput.

-- Overdue orders, the longest overdue first: only overdue rows are in it,
-- and an order enters or leaves it only when it goes overdue or moves on.
CREATE INDEX work_orders_overdue ON work_orders (due_at) WHERE level = 'overdue';

-- One row per finished stage of a work order (append-only): when it began
-- and ended, the deadline in force at the end, the working time it took on
-- the official calendar (suspensions excluded) and whether it was late.
-- Written in the same transaction as the action that ended the stage.
-- Clustered by the end instant: the board reads one period at a time.
CREATE TABLE stage_times (
    ended_at        BIGINT NOT NULL,
    work_order_id   TEXT NOT NULL,
    stage           TEXT NOT NULL,
    unit_code       TEXT NOT NULL,
    service         TEXT NOT NULL,
    district_code   TEXT NOT NULL,
    -- The action that ended the stage (accept, record_survey, reject, …).
    action          TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    working_seconds BIGINT NOT NULL,
    -- 1 when the stage's clock passed its deadline before it ended.
    late            INTEGER NOT NULL,
    PRIMARY KEY (ended_at, work_order_id, stage)
){{without_rowid}};
