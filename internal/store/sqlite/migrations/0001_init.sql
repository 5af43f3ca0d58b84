-- 0001: recordings and their children.
--
-- Times are TEXT in a fixed-width RFC 3339 form, UTC, nanoseconds:
-- 2006-01-02T15:04:05.000000000Z. Fixed width makes text order equal time
-- order, so range filters and ORDER BY work on the text. NULL = zero time.

CREATE TABLE recordings (
    id                TEXT    NOT NULL PRIMARY KEY,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    status_reason     TEXT    NOT NULL DEFAULT '',
    call_uuid         TEXT    NOT NULL DEFAULT '',
    record_id         TEXT    NOT NULL DEFAULT '',
    siprec_session_id TEXT    NOT NULL DEFAULT '',
    recorded_dn       TEXT    NOT NULL DEFAULT '',
    other_dn          TEXT    NOT NULL DEFAULT '',
    started_at        TEXT,
    ended_at          TEXT,
    duration_ms       INTEGER NOT NULL DEFAULT 0,
    channels          INTEGER NOT NULL DEFAULT 0,
    codecs            TEXT    NOT NULL DEFAULT '[]', -- JSON array of encoding names
    format            TEXT    NOT NULL DEFAULT '',
    media_path        TEXT    NOT NULL DEFAULT '',
    size_bytes        INTEGER NOT NULL DEFAULT 0,
    sha256            TEXT    NOT NULL DEFAULT '',
    needs_transcode   INTEGER NOT NULL DEFAULT 0,
    metadata          TEXT    NOT NULL DEFAULT '',
    metadata_problem  TEXT    NOT NULL DEFAULT '',
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;

CREATE INDEX recordings_call_uuid   ON recordings (call_uuid);
CREATE INDEX recordings_record_id   ON recordings (record_id);
CREATE INDEX recordings_started_at  ON recordings (started_at);
CREATE INDEX recordings_status      ON recordings (status);
CREATE INDEX recordings_recorded_dn ON recordings (recorded_dn);
CREATE INDEX recordings_other_dn    ON recordings (other_dn);

CREATE TABLE sip_call_ids (
    recording_id TEXT    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    sip_call_id  TEXT    NOT NULL,
    PRIMARY KEY (recording_id, pos)
) STRICT;

CREATE INDEX sip_call_ids_sip_call_id ON sip_call_ids (sip_call_id);

CREATE TABLE parties (
    recording_id   TEXT    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pos            INTEGER NOT NULL,
    channel        INTEGER NOT NULL,
    role           TEXT    NOT NULL DEFAULT '',
    dn             TEXT    NOT NULL DEFAULT '',
    label          TEXT    NOT NULL DEFAULT '',
    aor            TEXT    NOT NULL DEFAULT '',
    name           TEXT    NOT NULL DEFAULT '',
    participant_id TEXT    NOT NULL DEFAULT '',
    sip_call_id    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (recording_id, pos)
) STRICT;

CREATE INDEX parties_dn ON parties (dn);

CREATE TABLE segments (
    recording_id TEXT    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    channel      INTEGER NOT NULL, -- -1 = all channels
    start_ms     INTEGER NOT NULL,
    end_ms       INTEGER NOT NULL,
    PRIMARY KEY (recording_id, pos)
) STRICT;

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT, -- append order
    recording_id TEXT    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    type         TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL,
    channel      INTEGER NOT NULL,
    detail       TEXT    NOT NULL DEFAULT '',
    at           TEXT
) STRICT;

CREATE INDEX events_recording_id ON events (recording_id, seq);

CREATE TABLE external_data (
    recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL, -- never empty: empty values are not stored
    PRIMARY KEY (recording_id, key)
) STRICT;

CREATE INDEX external_data_key_value ON external_data (key, value);
