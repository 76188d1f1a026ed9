-- The one window (一窗受理) of the shared service halls: consultations,
-- queue tickets, ratings (好差评), and the follow-ups a consultation or a
-- bad rating owes the unit concerned. A hall is its code (the scope of a
-- `clerk:<hall>` grant, the key of the hall registry). Days (`day`) are
-- local dates `YYYY-MM-DD` at the city's offset, for the daily figures.

-- A consultation logged at a window: what was asked, about which services,
-- what the window answered, who asked (as far as they said), and the
-- follow-up it passed on to a utility, if any.
CREATE TABLE consultations (
    id                 TEXT PRIMARY KEY,
    hall               TEXT NOT NULL,
    at                 BIGINT NOT NULL,
    day                TEXT NOT NULL,
    clerk              TEXT NOT NULL,
    clerk_account      TEXT,
    topic              TEXT NOT NULL,
    answer             TEXT NOT NULL,
    customer_name      TEXT,
    customer_phone     TEXT,
    customer_uscc      TEXT,
    application_number TEXT,
    account_number     TEXT,
    follow_up_id       TEXT
);
CREATE INDEX consultations_by_hall ON consultations (hall, day, at);
CREATE INDEX consultations_by_phone ON consultations (customer_phone);
CREATE INDEX consultations_by_uscc ON consultations (customer_uscc);

-- The services a consultation was about, one row each (counted per service).
CREATE TABLE consultation_services (
    consultation_id TEXT NOT NULL REFERENCES consultations (id),
    service         TEXT NOT NULL,
    hall            TEXT NOT NULL,
    day             TEXT NOT NULL,
    PRIMARY KEY (consultation_id, service)
);
CREATE INDEX consultation_services_by_day ON consultation_services (day, hall);

-- What a unit owes in writing: the answer to a consultation the window
-- passed on (kind `consultation`), or to a bad rating (kind `rating`).
-- Its clock is kept like a work order's (start, budget in working
-- seconds, suspended time, earliest deadline), so a calendar import
-- recounts it exactly; the sweeper moves `level` at `next_level_at`.
CREATE TABLE follow_ups (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    subject_id          TEXT NOT NULL,
    unit_code           TEXT NOT NULL,
    hall                TEXT,
    application_id      TEXT,
    summary             TEXT NOT NULL,
    status              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_by_account  TEXT,
    started_at          BIGINT NOT NULL,
    budget_seconds      BIGINT NOT NULL,
    suspended_seconds   BIGINT NOT NULL DEFAULT 0,
    due_not_before      BIGINT,
    warn_at             BIGINT NOT NULL,
    due_at              BIGINT NOT NULL,
    level               TEXT NOT NULL,
    next_level_at       BIGINT,
    response            TEXT,
    answered_at         BIGINT,
    answered_by         TEXT,
    answered_by_account TEXT,
    late                INTEGER,
    version             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX follow_ups_next_level ON follow_ups (next_level_at) WHERE next_level_at IS NOT NULL;
CREATE INDEX follow_ups_by_unit ON follow_ups (unit_code, status, due_at);
CREATE INDEX follow_ups_by_subject ON follow_ups (kind, subject_id);
CREATE INDEX follow_ups_by_application ON follow_ups (application_id);

-- A rating (好差评): of an application or one of its work orders (online,
-- by the enterprise), of a consultation or a visit to a window (given at
-- the window, recorded by the clerk). `score` 5 (非常满意) to 1 (非常不满意);
-- 2 or less opens a follow-up for the unit concerned. One rating per
-- subject, unit and rater (`rater_key`: the account or key; a window
-- visit's own id).
CREATE TABLE ratings (
    id             TEXT PRIMARY KEY,
    subject_kind   TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    application_id TEXT,
    hall           TEXT,
    unit_code      TEXT NOT NULL DEFAULT '',
    score          INTEGER NOT NULL,
    comment        TEXT,
    channel        TEXT NOT NULL,
    rater          TEXT NOT NULL,
    rater_account  TEXT,
    rater_key      TEXT NOT NULL,
    at             BIGINT NOT NULL,
    day            TEXT NOT NULL,
    follow_up_id   TEXT,
    UNIQUE (subject_kind, subject_id, unit_code, rater_key)
);
CREATE INDEX ratings_by_application ON ratings (application_id);
CREATE INDEX ratings_by_day ON ratings (day);

-- Queue tickets (取号): numbered per hall and day from 1; `queue_days`
-- holds each hall's last number of the day (one row locked per take, so
-- two takes never share a number).
CREATE TABLE queue_days (
    hall        TEXT NOT NULL,
    day         TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (hall, day)
);

CREATE TABLE queue_tickets (
    id          TEXT PRIMARY KEY,
    hall        TEXT NOT NULL,
    day         TEXT NOT NULL,
    number      INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    taken_at    BIGINT NOT NULL,
    taken_by    TEXT NOT NULL,
    called_at   BIGINT,
    called_by   TEXT,
    counter     INTEGER,
    finished_at BIGINT,
    finished_by TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (hall, day, number)
);
CREATE INDEX queue_tickets_by_status ON queue_tickets (hall, day, status, number);

-- The history of the window's records (consultations, follow-ups,
-- ratings, tickets): appended with each change in its transaction, never
-- changed.
CREATE TABLE counter_events (
    id           {{serial_pk}},
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    hall         TEXT,
    unit_code    TEXT,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX counter_events_by_subject ON counter_events (subject_kind, subject_id, id);
