-- Screen recording linked to the call (issue 18): the screen video of a
-- recording, uploaded in byte ranges by the agent's screen client. The
-- file lives beside the recording's media (mediastore.Screen); this row
-- holds its metadata and which byte ranges arrived. A recording has at
-- most one screen video; deleting the recording's row deletes it.
CREATE TABLE screen_media (
    recording_id TEXT NOT NULL PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
    agent        TEXT NOT NULL DEFAULT '',
    started_at   TEXT NOT NULL DEFAULT '',
    ended_at     TEXT NOT NULL DEFAULT '',
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    codec        TEXT NOT NULL DEFAULT '',
    total_bytes  INTEGER NOT NULL DEFAULT -1,
    held_bytes   INTEGER NOT NULL DEFAULT 0,
    held         TEXT NOT NULL DEFAULT '',
    complete     INTEGER NOT NULL DEFAULT 0,
    encrypted    INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX screen_media_held ON screen_media (recording_id) WHERE held_bytes > 0;
