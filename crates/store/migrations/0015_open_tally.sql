-- Open work orders counted by the board's dimensions, kept current by the
-- database itself, so that the board reads a few hundred rows instead of
-- counting every open order.
--
-- Every insert or update of a work order that changes whether it is open
-- (status open or returned) or any of its counted dimensions appends a
-- delta row (−1 for the old dimensions, +1 for the new) in the same
-- statement: append-only, so concurrent transactions never wait on one
-- another. A fold (the sweeper, every second) deletes the deltas it reads
-- and adds them into `open_tally`. The count of a group is its tally plus
-- its deltas not yet folded.
CREATE TABLE open_tally (
    district_code TEXT NOT NULL,
    service       TEXT NOT NULL,
    unit_code     TEXT NOT NULL,
    stage         TEXT NOT NULL,
    level         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (district_code, service, unit_code, stage, level)
);

CREATE TABLE open_tally_deltas (
    id            {{serial_pk}},
    district_code TEXT NOT NULL,
    service       TEXT NOT NULL,
    unit_code     TEXT NOT NULL,
    stage         TEXT NOT NULL,
    level         TEXT NOT NULL,
    delta         INTEGER NOT NULL
);

INSERT INTO open_tally (district_code, service, unit_code, stage, level, n)
SELECT district_code, service, unit_code, stage, level, COUNT(*)
FROM work_orders WHERE status IN ('open', 'returned')
GROUP BY district_code, service, unit_code, stage, level;

{{sqlite}}
CREATE TRIGGER work_orders_tally_insert AFTER INSERT ON work_orders
WHEN NEW.status IN ('open', 'returned')
BEGIN
    INSERT INTO open_tally_deltas (district_code, service, unit_code, stage, level, delta)
    VALUES (NEW.district_code, NEW.service, NEW.unit_code, NEW.stage, NEW.level, 1);
END;

CREATE TRIGGER work_orders_tally_update AFTER UPDATE ON work_orders
WHEN (OLD.status IN ('open', 'returned')) <> (NEW.status IN ('open', 'returned'))
  OR OLD.stage IS NOT NEW.stage OR OLD.level IS NOT NEW.level
  OR OLD.district_code IS NOT NEW.district_code OR OLD.service IS NOT NEW.service
  OR OLD.unit_code IS NOT NEW.unit_code
BEGIN
    INSERT INTO open_tally_deltas (district_code, service, unit_code, stage, level, delta)
    SELECT OLD.district_code, OLD.service, OLD.unit_code, OLD.stage, OLD.level, -1
    WHERE OLD.status IN ('open', 'returned');
    INSERT INTO open_tally_deltas (district_code, service, unit_code, stage, level, delta)
    SELECT NEW.district_code, NEW.service, NEW.unit_code, NEW.stage, NEW.level, 1
    WHERE NEW.status IN ('open', 'returned');
END;
{{/sqlite}}

{{postgres}}
CREATE FUNCTION work_orders_tally() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IN ('open', 'returned') THEN
        INSERT INTO open_tally_deltas (district_code, service, unit_code, stage, level, delta)
        VALUES (OLD.district_code, OLD.service, OLD.unit_code, OLD.stage, OLD.level, -1);
    END IF;
    IF NEW.status IN ('open', 'returned') THEN
        INSERT INTO open_tally_deltas (district_code, service, unit_code, stage, level, delta)
        VALUES (NEW.district_code, NEW.service, NEW.unit_code, NEW.stage, NEW.level, 1);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER work_orders_tally_insert AFTER INSERT ON work_orders
FOR EACH ROW WHEN (NEW.status IN ('open', 'returned'))
EXECUTE FUNCTION work_orders_tally();

CREATE TRIGGER work_orders_tally_update AFTER UPDATE ON work_orders
FOR EACH ROW WHEN ((OLD.status IN ('open', 'returned')) IS DISTINCT FROM (NEW.status IN ('open', 'returned'))
  OR OLD.stage IS DISTINCT FROM NEW.stage OR OLD.level IS DISTINCT FROM NEW.level
  OR OLD.district_code IS DISTINCT FROM NEW.district_code
  OR OLD.service IS DISTINCT FROM NEW.service OR OLD.unit_code IS DISTINCT FROM NEW.unit_code)
EXECUTE FUNCTION work_orders_tally();
{{/postgres}}
