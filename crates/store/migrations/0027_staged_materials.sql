-- Files added on the application form before it is filed (上传于申请表):
-- kept for whoever is filling the form in (their account, or the form's own
-- token when nobody is signed in), shown again when the form comes back,
-- and attached to the application they file next. The contents are in the
-- blob store already (by SHA-256), like any material's.
CREATE TABLE staged_materials (
    id         TEXT PRIMARY KEY,
    -- account:<id> | form:<digest of the browser's CSRF secret and the form's token>
    holder     TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES blobs (sha256),
    -- site_plan | business_licence | property_certificate | design | approval_document | other
    kind       TEXT NOT NULL,
    file_name  TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (holder, sha256)
);
CREATE INDEX staged_materials_by_holder ON staged_materials (holder, created_at);
