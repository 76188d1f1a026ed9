-- Corrections (补正): an application returned for correction is corrected
-- and resubmitted; the form as it stood before each correction is kept
-- here, never changed, and `applications.form` holds the current revision.
ALTER TABLE applications ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

CREATE TABLE application_revisions (
    application_id TEXT NOT NULL REFERENCES applications (id),
    -- The revision this form was (1 = as first filed).
    revision       INTEGER NOT NULL,
    form           TEXT NOT NULL,
    -- When it was replaced, by whom, through which work order's resubmission.
    replaced_at    BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    work_order_id  TEXT NOT NULL,
    PRIMARY KEY (application_id, revision)
);

-- A window looks applications up by the contact phone too.
CREATE INDEX applications_by_contact_phone ON applications (contact_phone);

-- The application form saved half-filled by a signed-in account (草稿):
-- one per account, the fields as typed, removed once the form is submitted.
CREATE TABLE form_drafts (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    saved_at   BIGINT NOT NULL,
    fields     TEXT NOT NULL
);
