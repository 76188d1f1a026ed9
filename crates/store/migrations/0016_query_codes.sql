-- The receipt's query code (查询码): eight characters that work instead of
-- the contact phone's last four digits in the public status lookup.
-- Applications from before have none and are looked up by phone digits.
ALTER TABLE applications ADD COLUMN query_code TEXT;
