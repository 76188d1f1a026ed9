-- Official documents issued as PDFs (so that a printed copy can be checked
-- at /verify/{number}), materials uploaded once and shared by the parties
-- of an application, and electronic licences (电子证照) referenced instead
-- of uploaded.

-- One issued document: a kind of document of one subject (an application
-- or an approval case) with one content. The same content printed again
-- keeps its number; changed content is the next revision.
CREATE TABLE documents (
    number         TEXT PRIMARY KEY,
    -- form | receipt | completion | commitment | sheet
    kind           TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id),
    revision       BIGINT NOT NULL,
    -- SHA-256 (hex) of the document's content as rendered.
    content_hash   TEXT NOT NULL,
    issued_at      BIGINT NOT NULL,
    UNIQUE (subject_id, kind, revision),
    UNIQUE (subject_id, kind, content_hash)
);

-- Stored contents, by their SHA-256: written once, never overwritten.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    stored_at  BIGINT NOT NULL
);

-- An enterprise's electronic licence, entered once and reused.
CREATE TABLE licences (
    id         TEXT PRIMARY KEY,
    uscc       TEXT NOT NULL,
    -- business_licence | property_certificate | land_use | planning_permit | other
    kind       TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    number     TEXT NOT NULL,
    holder     TEXT NOT NULL,
    -- A | B | C | D (the national electronic-licence trust levels)
    level      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (uscc, issuer, number)
);

-- A material of an application: an uploaded file (sha256) or a licence.
CREATE TABLE materials (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    work_order_id  TEXT REFERENCES work_orders (id),
    case_id        TEXT,
    sha256         TEXT REFERENCES blobs (sha256),
    licence_id     TEXT REFERENCES licences (id),
    -- site_plan | business_licence | property_certificate | design | approval_document | other
    kind           TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    size           BIGINT NOT NULL,
    uploaded_by    TEXT,
    uploader_name  TEXT NOT NULL,
    uploader_unit  TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (application_id, sha256),
    UNIQUE (application_id, licence_id)
);
CREATE INDEX materials_by_application ON materials (application_id, created_at);
