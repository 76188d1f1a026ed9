-- Pre-registration (一口登记早服务): at land transfer a project's expected
-- needs are registered; the utilities concerned visit jointly and plan
-- their networks ahead (管网预布局). A later application with the same
-- project code is linked to it. `day` is the local date (`YYYY-MM-DD`) of
-- the registration, for the board's figures.

-- One project's registration. `form` is the normalised registration
-- (JSON); the columns beside it are what lists filter by. `status` is
-- `open` until an application is linked to it (`applied`); the project
-- code is unique among open registrations.
CREATE TABLE pre_registrations (
    id                 TEXT PRIMARY KEY,
    project_code       TEXT NOT NULL,
    status             TEXT NOT NULL,
    land_parcel        TEXT NOT NULL,
    enterprise_uscc    TEXT,
    district_code      TEXT NOT NULL,
    expected_date      TEXT NOT NULL,
    form               TEXT NOT NULL,
    registered_at      BIGINT NOT NULL,
    day                TEXT NOT NULL,
    registered_by      TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX pre_registrations_open_code ON pre_registrations (project_code)
    WHERE status = 'open';
CREATE INDEX pre_registrations_by_code ON pre_registrations (project_code, registered_at);
CREATE INDEX pre_registrations_by_day ON pre_registrations (day);

-- The utility units a registration concerns (their inbox).
CREATE TABLE pre_registration_units (
    pre_registration_id TEXT NOT NULL REFERENCES pre_registrations (id),
    unit_code           TEXT NOT NULL,
    PRIMARY KEY (pre_registration_id, unit_code)
);
CREATE INDEX pre_registration_units_by_unit ON pre_registration_units (unit_code);

-- A joint visit (联合上门对接) a unit recorded. Append-only.
CREATE TABLE pre_registration_visits (
    id                  TEXT PRIMARY KEY,
    pre_registration_id TEXT NOT NULL REFERENCES pre_registrations (id),
    unit_code           TEXT NOT NULL,
    visit_date          TEXT NOT NULL,
    notes               TEXT NOT NULL,
    recorded_at         BIGINT NOT NULL,
    recorded_by         TEXT NOT NULL
);
CREATE INDEX pre_registration_visits_by_registration
    ON pre_registration_visits (pre_registration_id, recorded_at);

-- A network plan (管网预布局) a unit recorded; its latest counts. What it
-- covers (`covers_survey`, `covers_design`, 0 or 1) lets the unit's later
-- work order skip those stages. Append-only.
CREATE TABLE pre_registration_plans (
    id                  TEXT PRIMARY KEY,
    pre_registration_id TEXT NOT NULL REFERENCES pre_registrations (id),
    unit_code           TEXT NOT NULL,
    planned_date        TEXT NOT NULL,
    notes               TEXT NOT NULL,
    covers_survey       INTEGER NOT NULL,
    covers_design       INTEGER NOT NULL,
    recorded_at         BIGINT NOT NULL,
    recorded_by         TEXT NOT NULL
);
CREATE INDEX pre_registration_plans_by_registration
    ON pre_registration_plans (pre_registration_id, unit_code, recorded_at);

-- The pre-registration an application was linked to on submission.
ALTER TABLE applications ADD COLUMN pre_registration_id TEXT;
CREATE INDEX applications_by_pre_registration ON applications (pre_registration_id);
