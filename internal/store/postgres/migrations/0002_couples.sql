-- 0002: conversation segments (couples) and CTI correlation state.

CREATE TABLE couples (
    recording_id  TEXT    COLLATE "C" NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pos           INTEGER NOT NULL,
    start_ms      BIGINT  NOT NULL,
    end_ms        BIGINT  NOT NULL,
    this_dn       TEXT    COLLATE "C" NOT NULL DEFAULT '',
    other_dn      TEXT    COLLATE "C" NOT NULL DEFAULT '',
    conn_id       TEXT    COLLATE "C" NOT NULL DEFAULT '',
    call_uuid     TEXT    COLLATE "C" NOT NULL DEFAULT '',
    external_data TEXT    COLLATE "C" NOT NULL DEFAULT '{}', -- JSON object key -> value
    PRIMARY KEY (recording_id, pos)
);

CREATE INDEX couples_conn_id ON couples (conn_id);

ALTER TABLE recordings ADD COLUMN correlation TEXT COLLATE "C" NOT NULL DEFAULT '';
