-- Materials of a pre-registration (一口登记): the network plans, site
-- drawings and survey records the utilities concerned (or the registering
-- department) add before anyone applies. The contents are in the blob
-- store (by SHA-256) like any material's; when an application is linked to
-- the registration they become materials of the application too, so its
-- parties see them without uploading again (一次上传、多方共享).
CREATE TABLE pre_registration_materials (
    id                  TEXT PRIMARY KEY,
    pre_registration_id TEXT NOT NULL REFERENCES pre_registrations (id),
    -- The concerned unit it was added for (absent: the registering department).
    unit_code           TEXT,
    sha256              TEXT NOT NULL REFERENCES blobs (sha256),
    -- site_plan | business_licence | property_certificate | design | approval_document | other
    kind                TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    media_type          TEXT NOT NULL,
    size                BIGINT NOT NULL,
    uploaded_by         TEXT,
    uploader_name       TEXT NOT NULL,
    uploader_unit       TEXT,
    created_at          BIGINT NOT NULL,
    UNIQUE (pre_registration_id, sha256)
);
CREATE INDEX pre_registration_materials_by_registration
    ON pre_registration_materials (pre_registration_id, created_at);
