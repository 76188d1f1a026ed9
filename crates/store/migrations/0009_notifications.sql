-- In-app messages (站内消息): one row per account and event, written in the
-- same transaction as the change that causes it. `event_key` names the
-- event, so that an event reaches each account once however often it is
-- processed.
CREATE TABLE notifications (
    id          {{serial_pk}},
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    event_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    link        TEXT,
    created_at  BIGINT NOT NULL,
    read_at     BIGINT,
    UNIQUE (account_id, event_key)
);
CREATE INDEX notifications_by_account ON notifications (account_id, id);

-- Who holds a role for a unit, an enterprise or a hall (the recipients).
CREATE INDEX account_roles_by_scope ON account_roles (role, scope);
