-- Working-day calendars imported by administrators (the State Council's
-- schedule for a new year, or a correction), in the overrides format. The
-- newest row is the calendar every server uses; earlier rows are history.
CREATE TABLE calendar_imports (
    id           {{serial_pk}},
    overrides    TEXT NOT NULL,
    imported_at  BIGINT NOT NULL,
    imported_by  TEXT NOT NULL,
    -- Open work orders whose deadline moved.
    orders_moved BIGINT NOT NULL
);
