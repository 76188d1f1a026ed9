-- The one joint survey appointment (联合踏勘) of an application, proposed by
-- the first utility and shown to all the others.
CREATE TABLE surveys (
    application_id TEXT PRIMARY KEY REFERENCES applications (id),
    at             BIGINT NOT NULL,
    unit_code      TEXT NOT NULL,
    proposed_by    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL
);
