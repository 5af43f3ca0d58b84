-- 0002: conversation segments (couples) and CTI correlation state.

CREATE TABLE couples (
    recording_id  TEXT    NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pos           INTEGER NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    this_dn       TEXT    NOT NULL DEFAULT '',
    other_dn      TEXT    NOT NULL DEFAULT '',
    conn_id       TEXT    NOT NULL DEFAULT '',
    call_uuid     TEXT    NOT NULL DEFAULT '',
    external_data TEXT    NOT NULL DEFAULT '{}', -- JSON object key -> value
    PRIMARY KEY (recording_id, pos)
) STRICT;

CREATE INDEX couples_conn_id ON couples (conn_id);

ALTER TABLE recordings ADD COLUMN correlation TEXT NOT NULL DEFAULT '';
