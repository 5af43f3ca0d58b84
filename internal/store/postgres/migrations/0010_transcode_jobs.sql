-- 0010: the transcode queue. One job per recording that kept payloads raw
-- (needs_transcode): its state (queued, running, waiting, done, failed),
-- attempts, the last error and when it may run next (queued: backoff;
-- running: the end of the claim's lease). Plain SQL: the same statements
-- create the table in PostgreSQL.
CREATE TABLE transcode_jobs (
    recording_id    TEXT    COLLATE "C" NOT NULL PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at TEXT    COLLATE "C" NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

CREATE INDEX transcode_jobs_due ON transcode_jobs (state, next_attempt_at);
