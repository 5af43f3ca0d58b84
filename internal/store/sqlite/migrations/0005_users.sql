-- 0005: users of the API / web UI, their sessions and API tokens, and the
-- audit log. Same time format as 0001.

-- Names are unique ignoring ASCII case (COLLATE NOCASE): "Alice" and
-- "alice" are one user, looked up either way.
CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    role          TEXT    NOT NULL,
    tenant        TEXT    NOT NULL DEFAULT '',
    agent_id      TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT;

-- token_hash is the hex sha256 of the token; the token is never stored.
-- Deleting a user deletes its sessions.
CREATE TABLE sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_name  TEXT NOT NULL COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('ui', 'api')),
    csrf       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_user_name  ON sessions (user_name);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Append-only: the store has no update or delete of audit rows, and these
-- triggers refuse one done by hand through SQL.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- append order
    at           TEXT    NOT NULL,
    user_name    TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL DEFAULT '',
    tenant       TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL,
    recording_id TEXT    NOT NULL DEFAULT '', -- no foreign key: recordings get deleted, their audit stays
    detail       TEXT    NOT NULL DEFAULT '',
    remote       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_at           ON audit (at);
CREATE INDEX audit_user_name    ON audit (user_name COLLATE NOCASE, id);
CREATE INDEX audit_recording_id ON audit (recording_id, id);
CREATE INDEX audit_action       ON audit (action, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
