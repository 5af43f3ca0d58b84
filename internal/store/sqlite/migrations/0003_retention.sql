-- 0003: pre-recording retention and the deletion audit log.
--
-- retention: '' (ordinary) | pending | kept | discard. keep_until is the
-- keep request deadline of a pending recording (NULL = not known yet), or
-- when it was marked discard; same time format as 0001.

ALTER TABLE recordings ADD COLUMN retention TEXT NOT NULL DEFAULT ''
    CHECK (retention IN ('', 'pending', 'kept', 'discard'));
ALTER TABLE recordings ADD COLUMN keep_until TEXT;
ALTER TABLE recordings ADD COLUMN retention_reason TEXT NOT NULL DEFAULT '';

CREATE INDEX recordings_retention ON recordings (retention);

-- One row per deleted recording, written in the transaction that deletes
-- it. recording_id is no foreign key: the recording is gone.
CREATE TABLE deletions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order
    recording_id TEXT    NOT NULL,
    call_uuid    TEXT    NOT NULL DEFAULT '',
    record_id    TEXT    NOT NULL DEFAULT '',
    recorded_dn  TEXT    NOT NULL DEFAULT '',
    tenant       TEXT    NOT NULL DEFAULT '',
    media_path   TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL DEFAULT '',
    started_at   TEXT,
    deleted_at   TEXT    NOT NULL
) STRICT;

CREATE INDEX deletions_deleted_at   ON deletions (deleted_at);
CREATE INDEX deletions_recording_id ON deletions (recording_id);
