-- Screen recording linked to the call (issue 18): the screen video of a
-- recording, uploaded in byte ranges by the agent's screen client. The
-- file lives beside the recording's media (mediastore.Screen); this row
-- holds its metadata and which byte ranges arrived. A recording has at
-- most one screen video; deleting the recording's row deletes it.
CREATE TABLE screen_media (
    recording_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
    agent        TEXT COLLATE "C" NOT NULL DEFAULT '',
    started_at   TEXT COLLATE "C" NOT NULL DEFAULT '',
    ended_at     TEXT COLLATE "C" NOT NULL DEFAULT '',
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    codec        TEXT COLLATE "C" NOT NULL DEFAULT '',
    total_bytes  BIGINT  NOT NULL DEFAULT -1,
    held_bytes   BIGINT  NOT NULL DEFAULT 0,
    held         TEXT COLLATE "C" NOT NULL DEFAULT '',
    complete     BOOLEAN NOT NULL DEFAULT false,
    encrypted    BOOLEAN NOT NULL DEFAULT false,
    updated_at   TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE INDEX screen_media_held ON screen_media (recording_id) WHERE held_bytes > 0;
